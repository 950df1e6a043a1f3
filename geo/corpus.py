"""Articles and their passages.

:func:`load_articles` is the only function here that reads the disk, and the analyst
loop's :func:`save_articles` (with :func:`next_article_ids` and :func:`check_new_texts`,
which read the folder) the only one that writes to it; the rest are pure.
An article's id is its file name's prefix before the first ``_`` (``003_e34f.txt`` -> ``003``),
or the whole stem when there is none.  ``articles.toml`` beside the texts adds metadata.
"""

from __future__ import annotations

import collections
import datetime
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
#: Fields an ``articles.toml`` entry may have (``note`` is for the people who keep it).
METADATA_FIELDS = (*_FIELDS, "date_approximate", "note")
#: An article date: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (a prefix for approximate dates).
DATE = re.compile(r"\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?")
#: Bidirectional embedding, override and isolate controls: shown in a title or an outlet
#: they would reorder the text around them (U+202E reverses what follows).
BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))

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


def plain(text: str) -> str:
    """``text`` without bidirectional control characters (see :data:`BIDI_CONTROLS`)."""
    return text.translate(BIDI_CONTROLS)


def check_metadata(entry: Mapping[str, object], where: str) -> dict[str, object]:
    """Validate one ``articles.toml`` entry; returns it with dates as ``YYYY[-MM[-DD]]``.

    Raises
    ------
    DataFileError
        Naming ``where`` (the file and entry), the field and what is wrong with it.
    """
    return {key: _field(key, value, where) for key, value in entry.items()}


def _field(key: str, value: object, where: str) -> object:
    if key not in METADATA_FIELDS:
        raise DataFileError(f"{where}: unknown field {key!r}; use {', '.join(METADATA_FIELDS)}")
    if key == "date_approximate":
        if not isinstance(value, bool):
            msg = f"{where}: field 'date_approximate' must be true or false, not {value!r}"
            raise DataFileError(msg)
        return value
    if key == "date" and type(value) is datetime.date:  # an unquoted TOML date
        return value.isoformat()
    if not isinstance(value, str):
        raise DataFileError(f"{where}: field {key!r} must be a string, not {value!r}")
    if key == "date" and value and not DATE.fullmatch(value):
        msg = f"{where}: field 'date' is {value!r}; write YYYY, YYYY-MM or YYYY-MM-DD"
        raise DataFileError(msg)
    return value


def make_article(art_id: str, text: str, meta: Mapping[str, object] | None = None) -> Article:
    """Build an :class:`Article` from its text and optional (checked) metadata; bidi
    control characters are removed from the metadata."""
    meta = meta or {}
    values = {f: plain(str(meta.get(f, ""))) for f in _FIELDS}
    if not values["title"]:
        values["title"] = plain(first_line(text)) or art_id
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
    """Load every ``*.txt`` in ``folder`` (sorted by name), with metadata where present;
    empty and binary files are left out (see :func:`read_corpus` for which)."""
    return read_corpus(folder)[0]


def check_folder(folder: Path) -> None:
    """Raise :class:`BadInput` naming ``folder`` if it is not a folder of articles."""
    if not folder.is_dir():
        raise BadInput(f"article folder {str(folder)!r} does not exist")


def read_corpus(folder: Path) -> tuple[list[Article], list[str]]:
    """Every article of ``folder`` and a warning for each file left out.

    A file that is empty (or only whitespace) or holds NUL bytes (not text) is left out
    with a warning naming it; everything else that is wrong stops the load.

    Raises
    ------
    BadInput
        If the folder is missing, a file is not UTF-8, or two files share an id.
    DataFileError
        If ``articles.toml`` is malformed (naming the entry and field).
    """
    check_folder(folder)
    meta_path = folder / METADATA_FILE
    meta = read_metadata(meta_path)
    articles, skipped = [], []
    for path in sorted(folder.glob("*.txt")):
        art_id = article_id(path)
        text = _read_text(path)
        if "\x00" in text or not text.strip():
            what = "holds NUL bytes (not a text file)" if "\x00" in text else "is empty"
            skipped.append(f"left out {str(path)!r}: it {what}")
            continue
        entry = meta.get(art_id)
        where = f"{str(meta_path)!r} entry [{art_id!r}]"
        articles.append(make_article(art_id, text, check_metadata(entry, where) if entry else None))
    ids = [a.id for a in articles]
    dupes = sorted(i for i, n in collections.Counter(ids).items() if n > 1)
    if dupes:
        raise BadInput(f"article ids {dupes!r} occur twice in {str(folder)!r}; rename the files")
    return articles, skipped


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


def check_new_metadata(meta: Mapping[str, object]) -> dict[str, object]:
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
    match = DATE.fullmatch(date)
    if date and (not match or (not approximate and not match.group(3))):
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
    check_folder(folder)
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
