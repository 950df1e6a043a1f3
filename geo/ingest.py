"""``python -m geo build --jsonl``: a large corpus of JSON lines -> the atlas store, streamed.

Each line is one article: ``{"id", "text"}`` and, optionally, the metadata fields an
``articles.toml`` entry may have (``title, outlet, author, date, date_approximate, url``),
checked the same way.  The input *is* the corpus: articles of the atlas that are not in it
are dropped (an atlas built from JSON lines is not also built from the article folder; see
:func:`geo.build.build`).

The corpus is never held in memory.  Lines are read in chunks; for each chunk the store is
asked for the stored hash, parser version and metadata of those ids only, unchanged
articles are skipped (or their metadata updated), and the new or changed ones go to the
parser (in this process, or on Dask through the same ``parse_many`` hook as the folder
build), whose results are written into the store as they come back, a bounded number of
chunks behind the reading.  Which ids the input holds is kept in a temporary SQLite table
(duplicates are found there, and removals at the end).  Everything happens inside one store
transaction, committed at the end: readers see the last build until then, and a bad line,
an error or a kill leaves the atlas as it was.
"""

from __future__ import annotations

import collections
import glob
import gzip
import itertools
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, cast

from geo import _fault, corrections, layers, store
from geo._lock import writer_lock
from geo._progress import Progress
from geo.build import (
    BuildReport,
    _finish,
    _Parser,
    _publish,
    _put_routes,
    _quoted_articles,
    _route_pairs,
    _routes_key,
    _usable_state,
    content_hash,
    corrections_key,
    report,
    stored_mentions,
    version_key,
)
from geo.corpus import check_metadata, make_article, passages
from geo.errors import BadInput, DataFileError
from geo.model import Article, Mention, Resolution
from geo.settings import Settings

#: Parses articles: ``(id, text)`` pairs in (read lazily), ``(resolved, unplaced)`` out.
StreamParse = Callable[
    [Iterable[tuple[str, str]]], Iterable[tuple[list[Resolution], list[Mention]]]
]
#: Articles compared with the store at a time, and their most characters.
CHUNK_ARTICLES = 500
CHUNK_CHARS = 2_000_000
#: Warnings listed one by one (empty texts left out); past that, only counted.
MAX_WARNINGS = 20


@dataclass(frozen=True, slots=True)
class Line:
    """One article of the input, where it is, and the size of its line."""

    article: Article
    where: str
    nbytes: int


def input_files(patterns: Sequence[str]) -> list[str]:
    """The files that ``patterns`` (paths or glob patterns) name, in order.

    Raises
    ------
    BadInput
        If a pattern matches nothing or a file is missing.
    """
    paths: list[str] = []
    for pattern in patterns:
        found = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not found:
            raise BadInput(f"no file matches {pattern!r}")
        for path in found:
            if not os.path.isfile(path):
                raise BadInput(f"cannot read {path!r}: no such file")
        paths += found
    return paths


def total_bytes(paths: Sequence[str]) -> int | None:
    """The input's size for the progress bar (a .gz's from its trailer), if known."""
    total = 0
    try:
        for path in paths:
            if path.endswith(".gz"):
                with open(path, "rb") as fh:
                    fh.seek(-4, os.SEEK_END)
                    total += int.from_bytes(fh.read(4), "little")
            else:
                total += os.path.getsize(path)
    except OSError:
        return None
    return total


def read_line(raw: bytes, where: str) -> Article | str | None:
    """The article of one JSON line; ``None`` for a blank line, a warning (``str``) for an
    article left out (an empty text, or one holding NUL characters).

    Raises
    ------
    BadInput
        Naming ``where`` and the problem: not UTF-8, not JSON, no string ``id`` or
        ``text``, a value JSON cannot hold (NaN, a lone surrogate), bad metadata.
    """
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadInput(f"{where}: not UTF-8 (byte {err.start})") from err
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise BadInput(f"{where}: not valid JSON ({err.msg})") from err
    if not isinstance(obj, dict):
        raise BadInput(f'{where}: expected an object {{"id": ..., "text": ...}}')
    art_id, text = obj.pop("id", None), obj.pop("text", None)
    if isinstance(art_id, int) and not isinstance(art_id, bool):
        art_id = str(art_id)
    if not isinstance(art_id, str) or not art_id.strip():
        raise BadInput(f"{where}: needs an 'id': a non-empty string (or an integer)")
    if not isinstance(text, str):
        raise BadInput(f"{where}: needs a string 'text'")
    for name, value in (("id", art_id), ("text", text), *obj.items()):
        _check_writable(where, name, value)
    meta = check_metadata(obj, where)
    if "\x00" in text or not text.strip():
        what = "holds NUL characters" if "\x00" in text else "is empty"
        return f"left out {where} (article {art_id!r}): its text {what}"
    return make_article(art_id, text, meta)


def _check_writable(where: str, name: str, value: object) -> None:
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError as err:
        raise BadInput(f"{where}: {name!r} has a lone surrogate, which UTF-8 cannot hold") from err
    except ValueError as err:
        raise BadInput(f"{where}: {name!r} is NaN or infinite; use a string") from err


def read_lines(paths: Sequence[str], warnings: list[str]) -> Iterator[Line]:
    """Every article of the JSON-lines files ``paths`` (``.gz`` too), read lazily;
    articles left out are reported in ``warnings``."""
    left_out = 0
    for path in paths:
        opener = gzip.open if path.endswith(".gz") else open
        try:
            with cast("IO[bytes]", opener(path, "rb")) as fh:
                for number, raw in enumerate(fh, start=1):
                    found = read_line(raw, f"{path!r} line {number}")
                    if isinstance(found, Article):
                        yield Line(found, f"{path!r} line {number}", len(raw))
                    elif found is not None:
                        left_out += 1
                        if left_out <= MAX_WARNINGS:
                            warnings.append(found)
        except (OSError, EOFError) as err:  # a missing, corrupt or truncated file
            raise BadInput(f"cannot read {path!r}: {err}") from err
    if left_out > MAX_WARNINGS:
        warnings.append(f"left out {left_out - MAX_WARNINGS:,} more empty articles")


def _chunks(lines: Iterable[Line]) -> Iterator[list[Line]]:
    chunk: list[Line] = []
    chars = 0
    for line in lines:
        chunk.append(line)
        chars += len(line.article.text)
        if len(chunk) >= CHUNK_ARTICLES or chars >= CHUNK_CHARS:
            yield chunk
            chunk, chars = [], 0
    if chunk:
        yield chunk


@dataclass(slots=True)
class _Counts:
    seen: int = 0
    parsed: int = 0
    retitled: int = 0
    removed: int = 0
    warnings: list[str] = field(default_factory=list)


class _NothingChanged(Exception):
    """Not an error: the atlas is up to date, the transaction is rolled back."""


def ingest(
    cfg: Settings,
    patterns: Sequence[str],
    *,
    wait: bool = False,
    parse_many: StreamParse | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Make the atlas's corpus the articles of the JSON-lines files ``patterns``, in one
    store transaction, and publish the layers.

    Parameters
    ----------
    cfg
        Settings (data folder, cache, online fallback).
    patterns
        JSON-lines files or glob patterns (``.gz`` too).
    wait
        Wait for a running build instead of stopping with :class:`geo._lock.AtlasBusy`.
    parse_many
        Parses the new and changed articles (default: in this process); it is called only
        if there is one, and reads its input lazily.
    progress
        Counts (and shows) the articles and bytes done.
    """
    paths = input_files(patterns)

    def lines(w: store.StoreWriter, warnings: list[str]) -> Iterable[Line]:
        return read_lines(paths, warnings)

    with writer_lock(cfg.data_dir, "a build", wait=wait):
        return _ingest_locked(cfg, lines, parse_many, progress)


def rebuild_stored(cfg: Settings, parse_many: StreamParse | None, folder: Path) -> BuildReport:
    """Build an atlas whose corpus came from JSON lines from the articles it stores: the
    corrections, routes and parser version are brought up to date, ``folder`` is not read
    (a warning says so).  The caller holds the write lock."""

    def lines(w: store.StoreWriter, warnings: list[str]) -> Iterable[Line]:
        warnings.append(
            f"the atlas's articles come from JSON lines: the folder {str(folder)!r} was not "
            "read (change them with `python -m geo build --jsonl FILE...`)"
        )
        return _stored_lines(w)

    return _ingest_locked(cfg, lines, parse_many, None)


def _stored_lines(w: store.StoreWriter) -> Iterator[Line]:
    after = ""
    while page := w.article_page(after, CHUNK_ARTICLES):
        for art in page:
            yield Line(art, f"stored article {art.id!r}", len(art.text))
        after = page[-1].id


def _ingest_locked(
    cfg: Settings,
    lines: Callable[[store.StoreWriter, list[str]], Iterable[Line]],
    parse_many: StreamParse | None,
    progress: Progress | None,
) -> BuildReport:
    path = store.store_path(cfg.data_dir)
    state, healed = _usable_state(path, articles=False)
    counts = _Counts(warnings=list(healed))
    lazy = _Parser(cfg)
    build_id = state.build_id
    try:
        build_id = _transaction(cfg, lines, parse_many or lazy.parse_many, lazy, counts, progress)
    except _NothingChanged:
        pass
    except sqlite3.Error as err:
        raise DataFileError(f"cannot write the atlas store {str(path)!r}: {err}") from err
    lazy.finish()
    if build_id != state.build_id or not layers.is_published(cfg.data_dir, build_id):
        _fault.point("committed")
        _publish(cfg.data_dir, path, build_id)
    return report(cfg, path, counts.parsed, counts.removed, [*counts.warnings, *lazy.warnings])


def _transaction(
    cfg: Settings,
    lines: Callable[[store.StoreWriter, list[str]], Iterable[Line]],
    parse_many: StreamParse,
    lazy: _Parser,
    counts: _Counts,
    progress: Progress | None,
) -> str:
    """Stream the input into one store transaction; returns the new build id (raises
    :class:`_NothingChanged`, rolling it back, when the atlas is already up to date)."""
    key = version_key(cfg.data_dir, online=cfg.online)
    fixes = corrections.load(corrections.corrections_path(cfg.data_dir))
    with store.write(store.store_path(cfg.data_dir)) as w:
        was_folder = bool(w.meta("build_id")) and w.meta("corpus") != "jsonl"
        _stream(w, lines(w, counts.warnings), key, parse_many, counts, progress)
        if not counts.seen:
            raise BadInput("the input holds no article: nothing built, the atlas left as it was")
        counts.removed = w.delete_unseen()
        _fault.point("parsed")
        redraw = _routes(cfg, w, key, lazy)
        changed = counts.parsed or counts.retitled or counts.removed or redraw or was_folder
        if not changed and corrections_key(fixes) == w.meta("corrections_key"):
            raise _NothingChanged
        w.set_meta("corpus", "jsonl")
        return _finish(w, fixes, corrections_key(fixes))


def _routes(cfg: Settings, w: store.StoreWriter, key: str, lazy: _Parser) -> bool:
    """Redraw the routes if the routes file, the parser or an article they quote changed;
    returns whether they were redrawn."""
    routes_file = cfg.data_dir / "routes.yaml"
    raw = routes_file.read_bytes() if routes_file.is_file() else b""
    quoted = w.articles(_quoted_articles(raw))
    routes_key = _routes_key(cfg.data_dir, key, w.hashes(list(quoted)))
    if routes_key == w.meta("routes_key"):
        return False
    _put_routes(w, _route_pairs(cfg.data_dir, lazy.get(), list(quoted.values())), routes_key)
    return True


def _stream(
    w: store.StoreWriter,
    lines: Iterable[Line],
    key: str,
    parse_many: StreamParse,
    counts: _Counts,
    progress: Progress | None,
) -> None:
    """Compare the input with the store chunk by chunk; parse the new and changed articles
    and write them as their results come back (in input order)."""
    pending: collections.deque[tuple[Article, str, int]] = collections.deque()

    def todo() -> Iterator[tuple[str, str]]:
        for chunk in _chunks(lines):
            counts.seen += len(chunk)
            twice = w.see([(line.article.id, line.where) for line in chunk])
            if twice:
                art_id, first, again = twice
                raise BadInput(f"{again}: article id {art_id!r} occurs twice (first at {first})")
            stored = w.stored([line.article.id for line in chunk])
            for line in chunk:
                art = line.article
                digest = content_hash(art)
                old = stored.get(art.id)
                if old is None or old[:2] != (digest, key):
                    pending.append((art, digest, line.nbytes))
                    yield art.id, art.text
                    continue
                if old[2] != replace(art, text=""):
                    w.update_metadata(art)
                    counts.retitled += 1
                if progress:
                    progress.update(1, line.nbytes)

    items = todo()
    first = next(items, None)
    if first is None:  # nothing to parse: no parser loaded, no cluster started
        return
    for resolved, unplaced in parse_many(itertools.chain([first], items)):
        art, digest, nbytes = pending.popleft()
        w.put_places(p for r in resolved for p in (r.place, *r.alternatives))
        sents = passages(art)
        w.put_article(
            art, content_hash=digest, parsed_with=key, passages=sents,
            mentions=stored_mentions(art, resolved, unplaced, sents),
        )  # fmt: skip
        counts.parsed += 1
        _fault.point("ingest-article")
        if progress:
            progress.update(1, nbytes)
