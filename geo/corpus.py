"""Articles and their passages.

:func:`load_articles` is the only function here that touches the disk; the rest are pure.
An article's id is its file name's prefix before the first ``_`` (``003_e34f.txt`` -> ``003``),
or the whole stem when there is none.  ``articles.toml`` beside the texts adds metadata.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path

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
