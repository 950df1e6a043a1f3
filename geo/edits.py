"""The analyst's changes to the atlas: add articles, correct places, undo a correction.

Each change is checked first, then made under the atlas's write lock together with an
incremental build (:func:`geo.build.build_after`), all or nothing: if the build fails, the
saved article files are removed and ``articles.toml`` or ``corrections.toml`` is restored.
A correction parses nothing (corrections are an overlay over the parsed mentions), so it
costs one store transaction and one layer publish.  The dashboard and ``python -m geo add``
/ ``correct`` both come through here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from geo import corrections, store
from geo._atomic import atomic_write_text
from geo.build import BuildReport, build_after, built_from_jsonl
from geo.corpus import (
    check_new_metadata,
    check_new_texts,
    check_upload,
    first_line,
    save_articles,
)
from geo.errors import BadInput, UnknownPlace
from geo.gazetteer import Gazetteer, normalize
from geo.gazetteer import load as load_gazetteer
from geo.model import Correction, Mention, Place, Resolution
from geo.parser import Geoparser
from geo.settings import Settings

ParseResult = tuple[list[Resolution], list[Mention]]


@dataclass(frozen=True, slots=True)
class Fix:
    """What a correction asks for: the span, and a place id, or coordinates and a name,
    or neither (not a place)."""

    article_id: str
    start: int
    end: int
    place_id: str | None = None
    at: tuple[float, float] | None = None
    name: str = ""
    kind: str = corrections.DEFAULT_KIND
    scope: str = "mention"
    note: str = ""


# -- adding articles --------------------------------------------------------------------------


def add_articles(
    cfg: Settings,
    files: Sequence[tuple[str, bytes]],
    meta: Mapping[str, object],
    *,
    wait: bool = True,
    parser: Geoparser | None = None,
) -> tuple[list[str], BuildReport]:
    """Check, save and build new articles; returns their ids and the build's report.

    Parameters
    ----------
    cfg
        Settings: the article folder (``seeds_dir``), the data folder, the size limit.
    files
        ``(name, bytes)`` per article; the name is only quoted in messages.
    meta
        ``title, outlet, author, date, date_approximate, url`` for every one of them.
    wait
        Wait for a running build instead of failing with :class:`geo._lock.AtlasBusy`.
    parser
        A loaded geoparser to parse with (the dashboard keeps one); by default the build
        loads its own.  It must be loaded from the settings' data folder.

    Raises
    ------
    BadInput
        If a file or the metadata is bad (nothing is saved).
    """
    if not files:
        raise BadInput("no article to add; give at least one .txt or .md file or some text")
    if built_from_jsonl(cfg):
        raise BadInput(
            "this atlas is built from JSON lines (python -m geo build --jsonl): add the "
            "article to those files and build again (an article saved into "
            f"{str(cfg.seeds_dir)!r} would not be part of it)"
        )
    checked = check_new_metadata(meta)
    texts = [check_upload(name, data, limit=cfg.max_upload_bytes) for name, data in files]
    check_new_texts(cfg.seeds_dir, [(n, t) for (n, _), t in zip(files, texts, strict=True)])
    ids: list[str] = []

    metas = [_with_title(checked, t) for t in texts]

    def change() -> Callable[[], None]:
        new, undo = save_articles(cfg.seeds_dir, list(zip(texts, metas, strict=True)))
        ids.extend(new)
        return undo

    parse_many = None
    if parser is not None:
        loaded = parser

        def parse_many(items: Sequence[tuple[str, str]]) -> Iterator[ParseResult]:
            return (loaded.parse_all(text, article_id=art_id) for art_id, text in items)

    what = f"adding {len(texts)} article(s)"
    report = build_after(cfg, change, what=what, wait=wait, parse_many=parse_many)
    return ids, report


def _with_title(meta: Mapping[str, object], text: str) -> Mapping[str, object]:
    """Without a title, a Markdown heading on the first line is the title, its ``#``s off
    (otherwise the build titles the article with its first line, as for any file)."""
    line = first_line(text)
    if meta.get("title") or not line.startswith("#"):
        return meta
    title = line.lstrip("#").strip()
    return {**meta, "title": title} if title else meta


# -- corrections ------------------------------------------------------------------------------


def find_places(gaz: Gazetteer, query: str, *, limit: int = 10) -> list[Place]:
    """Gazetteer records named ``query`` (any of their names), then records with a name
    starting with it; most important first."""
    key = normalize(query)
    if not key:
        return []
    found = {p.id: p for p in gaz.candidates(query, limit=limit)}
    if len(found) < limit and len(key) >= 3:
        for name in sorted(n for n in gaz.names() if n.startswith(key) and n != key)[:limit]:
            found.update((p.id, p) for p in gaz.candidates(name, limit=2))
    return list(found.values())[:limit]


def _place(
    cfg: Settings, fix: Fix, existing: Sequence[Correction], gaz: Gazetteer | None
) -> Place | None:
    if fix.at is not None:
        taken = [p for c in existing if (p := corrections.place_of(c)) is not None]
        lat, lon = fix.at
        return corrections.custom_place(fix.name, lat, lon, kind=fix.kind, taken=taken)
    if fix.place_id is None:
        return None
    for c in existing:  # a place already given by hand
        if c.place_id == fix.place_id and (p := corrections.place_of(c)) is not None:
            return p
    if fix.place_id.startswith(corrections.USER_PREFIX):
        raise UnknownPlace(f"no place {fix.place_id!r} was given by hand; use --at and --name")
    if gaz is None:  # a runner-up is in the store already: no gazetteer to load
        with store.Store(store.store_path(cfg.data_dir)) as st:
            known = st.place(fix.place_id)
        if known is not None and known.source != "user":
            return known
        gaz = load_gazetteer(cfg.data_dir, cache_dir=cfg.cache_dir)
    try:
        return gaz.get(fix.place_id)
    except UnknownPlace:
        msg = f"no gazetteer record has id {fix.place_id!r}; find one with the dashboard's search"
        raise UnknownPlace(msg) from None


def correct(
    cfg: Settings, fix: Fix, *, gazetteer: Gazetteer | None = None, wait: bool = True
) -> tuple[Correction, BuildReport]:
    """Check a correction, save it in ``corrections.toml`` and build; returns the saved
    correction and the build's report.

    Raises
    ------
    BadInput
        If the article is not in the atlas, the span is outside its text, the coordinates
        are out of range or the scope is unknown (nothing is saved).
    UnknownPlace
        If the place id is in neither the atlas nor the gazetteer.
    """
    with store.Store(store.store_path(cfg.data_dir)) as st:
        article = st.article(fix.article_id)
    if article is None:
        raise BadInput(f"no article {fix.article_id!r} in the atlas; list them in the dashboard")
    path = corrections.corrections_path(cfg.data_dir)
    place = _place(cfg, fix, corrections.load(path), gazetteer)
    new = corrections.make(article, (fix.start, fix.end), place, scope=fix.scope, note=fix.note)
    saved: list[Correction] = []

    def change() -> Callable[[], None]:
        items = corrections.added(corrections.load(path), new)
        saved.append(items[-1])
        return _save(path, items)

    report = build_after(cfg, change, what=f"correcting {new.text!r}", wait=wait)
    return saved[0], report


def undo(cfg: Settings, correction_id: str, *, wait: bool = True) -> tuple[Correction, BuildReport]:
    """Remove a correction from ``corrections.toml`` and build; returns the removed one.

    Raises
    ------
    BadInput
        If there is no correction with that id.
    """
    path = corrections.corrections_path(cfg.data_dir)
    removed: list[Correction] = []

    def change() -> Callable[[], None]:
        items = corrections.load(path)
        kept = corrections.without(items, correction_id)
        removed.extend(c for c in items if c.id == correction_id)
        return _save(path, kept)

    report = build_after(cfg, change, what=f"undoing correction {correction_id!r}", wait=wait)
    return removed[0], report


def _save(path: Path, items: Sequence[Correction]) -> Callable[[], None]:
    """Save ``items``; returns a function that puts the file back as it was."""
    old = path.read_text(encoding="utf-8") if path.is_file() else None
    corrections.save(path, items)

    def restore() -> None:
        if old is None:
            path.unlink(missing_ok=True)
        else:
            atomic_write_text(path, old)

    return restore
