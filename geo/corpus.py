"""Articles and their passages.

:func:`load_articles` is the only function here that touches the disk; the rest are pure.
An article's id is its file name's prefix before the first ``_`` (``003_e34f.txt`` -> ``003``),
or the whole stem when there is none.  ``articles.toml`` beside the texts adds metadata.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import tempfile
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from geo._atomic import atomic_write_text
from geo.errors import BadInput, DataFileError
from geo.model import Article, Passage

METADATA_FILE = "articles.toml"
_FIELDS = ("title", "outlet", "author", "date", "url")

# Words after which a full stop does not end a sentence.
_ABBREVIATIONS = frozenset(
    str.split(
        """
        mr mrs ms dr st mt ft gen col lt sgt capt gov sen rep prof jr sr inc ltd co corp vs etc
        jan feb mar apr jun jul aug sep sept oct nov dec no fig al approx dept est u.s u.k e.g
        i.e
        """
    )
)
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]*[A-Z0-9])")
_PARAGRAPH = re.compile(r"\n\s*\n|\n")


def article_id(path: Path) -> str:
    """The id of the article stored at ``path``."""
    stem = path.stem
    head, sep, _ = stem.partition("_")
    return head if sep and head else stem


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        raise BadInput(
            f"article {str(path)!r} is not UTF-8 text (byte {err.start}); save it as UTF-8"
        ) from err


def read_metadata(path: Path) -> dict[str, dict[str, object]]:
    """Read ``articles.toml`` (a table per article id); a missing file is an empty table."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise DataFileError(f"article metadata {str(path)!r} is not valid TOML: {err}") from err
    bad = [k for k, v in data.items() if not isinstance(v, dict)]
    if bad:
        raise DataFileError(f'{str(path)!r}: entries {bad!r} must be tables like ["000"]')
    return data


def make_article(art_id: str, text: str, meta: Mapping[str, object] | None = None) -> Article:
    """Build an :class:`Article` from its text and optional metadata."""
    meta = meta or {}
    values = {f: str(meta.get(f, "")) for f in _FIELDS}
    if not values["title"]:
        values["title"] = first_line(text) or art_id
    return Article(
        id=art_id,
        text=text,
        date_approximate=bool(meta.get("date_approximate", False)),
        **values,
    )


def first_line(text: str, limit: int = 80) -> str:
    """The first non-empty line of ``text``, shortened to ``limit`` characters."""
    for raw in text.splitlines():
        line = raw.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
    return ""


def load_articles(folder: Path) -> list[Article]:
    """Load every ``*.txt`` in ``folder`` (sorted by name), with metadata where present."""
    if not folder.is_dir():
        raise BadInput(f"article folder {str(folder)!r} does not exist")
    meta = read_metadata(folder / METADATA_FILE)
    articles = []
    for path in sorted(folder.glob("*.txt")):
        art_id = article_id(path)
        entry = meta.get(art_id)
        articles.append(make_article(art_id, _read_text(path), entry))
    ids = [a.id for a in articles]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise BadInput(f"article ids {dupes!r} occur twice in {str(folder)!r}; rename the files")
    return articles


def _sentence_ends(text: str) -> Iterator[int]:
    for match in _BOUNDARY.finditer(text):
        word = re.search(r"([\w.]+)\.$", text[max(0, match.start() - 12) : match.start() + 1])
        token = word.group(1).lower() if word else ""
        if match.group().startswith(".") and (token in _ABBREVIATIONS or len(token) == 1):
            continue
        yield match.end()


def passages(article: Article) -> list[Passage]:
    """Split an article into sentences (within paragraphs), keeping character offsets.

    Every passage satisfies ``article.text[p.start:p.end] == p.text``; whitespace between
    sentences belongs to no passage.
    """
    out: list[Passage] = []
    text = article.text
    para_start = 0
    for number, para_end in enumerate(_paragraph_ends(text)):
        chunk = text[para_start:para_end]
        cuts = [0, *_sentence_ends(chunk), len(chunk)]
        for a, b in itertools.pairwise(cuts):
            seg = chunk[a:b]
            lead = len(seg) - len(seg.lstrip())
            body = seg.strip()
            if body:
                start = para_start + a + lead
                out.append(Passage(article.id, start, start + len(body), body, number))
        para_start = para_end
    return out


def _paragraph_ends(text: str) -> Iterator[int]:
    for match in _PARAGRAPH.finditer(text):
        yield match.end()
    yield len(text)


def passage_at(items: list[Passage], offset: int) -> Passage | None:
    """The passage containing character ``offset`` (``items`` sorted by start), if any."""
    lo, hi = 0, len(items)
    while lo < hi:
        mid = (lo + hi) // 2
        if items[mid].end <= offset:
            lo = mid + 1
        else:
            hi = mid
    if lo < len(items) and items[lo].start <= offset < items[lo].end:
        return items[lo]
    return None


# -- adding articles (the analyst loop: the dashboard's upload and `python -m geo add`) --------

#: Suffixes of the files an upload may be.
UPLOAD_SUFFIXES = (".txt", ".md")
_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")
_ARTICLE_FILE = re.compile(r"(\d+)_[0-9a-f]{16}\.txt")


def check_upload(name: str, data: bytes, *, limit: int) -> str:
    """The text of an uploaded article, checked: UTF-8, at most ``limit`` bytes, not blank.

    ``name`` (the uploaded file's name) is only quoted in messages; it never becomes a path.

    Raises
    ------
    BadInput
        If the file is too large, not UTF-8, empty or only NUL/blank characters; the message
        names the file and says what to do.
    """
    if len(data) > limit:
        raise BadInput(
            f"{name!r} is {len(data) / 1e6:.1f} MB; articles may be at most "
            f"{limit / 1e6:g} MB each (split it, or raise NEWS_ATLAS_MAX_UPLOAD_MB)"
        )
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        msg = f"{name!r} is not UTF-8 text (byte {err.start}); save it as UTF-8 and try again"
        raise BadInput(msg) from err
    if not text.replace("\x00", "").strip():
        raise BadInput(f"{name!r} is empty (no text); choose a file with the article's text")
    if "\x00" in text:
        raise BadInput(f"{name!r} holds NUL characters: it is not a text file")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check_metadata(meta: Mapping[str, object]) -> dict[str, object]:
    """Checked metadata of a new article: ``title, outlet, author, date, url`` (strings,
    one line each) and ``date_approximate``; empty fields are left out.

    Raises
    ------
    BadInput
        If a field is not one line, the date is not YYYY-MM-DD (YYYY-MM or YYYY when
        approximate) or the URL is not http(s).
    """
    out: dict[str, object] = {}
    for key in _FIELDS:
        value = str(meta.get(key) or "").strip()
        if any(ch in value for ch in "\n\r\x00"):
            raise BadInput(f"{key} {value!r} must be one line")
        if value:
            out[key] = value
    approximate = bool(meta.get("date_approximate", False))
    date = str(out.get("date", ""))
    match = _DATE.fullmatch(date)
    if date and (not match or (not approximate and not match.group(2))):
        form = "YYYY-MM-DD, YYYY-MM or YYYY" if approximate else "YYYY-MM-DD"
        raise BadInput(f"date {date!r} is not {form}; mark it approximate for a month or year")
    url = str(out.get("url", ""))
    if url and not re.fullmatch(r"https?://\S+", url):
        raise BadInput(f"url {url!r} is not an http(s) address")
    if approximate:
        out["date_approximate"] = True
    return out


def next_article_ids(folder: Path, count: int) -> list[str]:
    """``count`` new article ids for ``folder``: numbers after the highest one there,
    three digits at least, never the id of an article or metadata entry already there."""
    taken = {article_id(p) for p in folder.glob("*.txt")}
    taken |= set(read_metadata(folder / METADATA_FILE))
    numbers = [int(i) for i in taken if i.isdigit()]
    nxt = max(numbers, default=-1) + 1
    out: list[str] = []
    while len(out) < count:
        candidate = f"{nxt:03d}"
        if candidate not in taken:
            out.append(candidate)
        nxt += 1
    return out


def toml_string(value: str) -> str:
    """A TOML basic string holding ``value`` exactly (control characters escaped)."""
    body = "".join(
        "\\" + ch
        if ch in '"\\'
        else f"\\u{ord(ch):04x}"
        if ord(ch) < 0x20 or ord(ch) == 0x7F
        else ch
        for ch in value
    )
    return f'"{body}"'


def metadata_toml(art_id: str, meta: Mapping[str, object]) -> str:
    """One ``articles.toml`` table for a new article."""
    lines = [f"\n[{toml_string(art_id)}]"]
    for key, value in meta.items():
        if isinstance(value, bool):
            shown = "true" if value else "false"
        else:
            shown = toml_string(str(value))
        lines.append(f"{key} = {shown}")
    return "\n".join(lines) + "\n"


def save_articles(
    folder: Path, items: Sequence[tuple[str, Mapping[str, object]]]
) -> tuple[list[str], Callable[[], None]]:
    """Save new articles (text, checked metadata) into ``folder`` under new ids.

    Each text is written to a temporary file and linked to ``<id>_<hash>.txt`` (a link
    never replaces a file); then ``articles.toml`` is rewritten whole, atomically, with
    the new entries after the old text.  Returns the new ids and a function that takes
    it all back (removes the files, restores ``articles.toml``).  The caller holds the
    atlas's write lock.

    Raises
    ------
    BadInput
        If ``folder`` is not a folder of articles.
    """
    if not folder.is_dir():
        raise BadInput(f"article folder {str(folder)!r} does not exist")
    meta_path = folder / METADATA_FILE
    check_new_texts(folder, [(f"article {n}", text) for n, (text, _) in enumerate(items, 1)])
    old_meta = meta_path.read_text(encoding="utf-8") if meta_path.is_file() else None
    ids = next_article_ids(folder, len(items))
    written: list[Path] = []

    def undo() -> None:
        for path in written:
            path.unlink(missing_ok=True)
        if old_meta is None:
            meta_path.unlink(missing_ok=True)
        else:
            atomic_write_text(meta_path, old_meta)

    try:
        for art_id, (text, _) in zip(ids, items, strict=True):
            written.append(_link_new(folder, art_id, text))
        entries = "".join(metadata_toml(i, m) for i, (_, m) in zip(ids, items, strict=True))
        new_meta = (old_meta or "").rstrip("\n") + ("\n" if old_meta else "") + entries
        tomllib.loads(new_meta)  # never write a file the next build cannot read
        atomic_write_text(meta_path, new_meta)
    except BaseException:
        undo()
        raise
    return ids, undo


def check_new_texts(folder: Path, named: Sequence[tuple[str, str]]) -> None:
    """Refuse a text that is already an article of ``folder``, or given twice.

    Raises
    ------
    BadInput
        Naming the file (``named`` holds (name, text) pairs) and the article it repeats.
    """
    have = {_read_text(p).strip(): f"article {article_id(p)!r}" for p in folder.glob("*.txt")}
    for name, text in named:
        key = text.removeprefix("\ufeff").strip()
        if key in have:
            raise BadInput(f"{name!r} is already in the corpus as {have[key]}; nothing added")
        have[key] = repr(name)


def _link_new(folder: Path, art_id: str, text: str) -> Path:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    final = folder / f"{art_id}_{digest}.txt"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{art_id}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.link(tmp, final)  # fails if the name exists: never overwrites
    finally:
        Path(tmp).unlink(missing_ok=True)
    return final
