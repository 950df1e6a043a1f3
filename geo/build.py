"""``python -m geo build``: the article folder -> the atlas store -> the GeoJSON layers.

A build is incremental and all or nothing:

1. It takes the atlas's write lock (:mod:`geo._lock`): one writer at a time; a second build
   stops at once with a message naming the running one (or waits, with ``wait=True``).
2. It reads and checks every article, then parses only the new or changed ones: an
   article is kept as stored when its content hash and the parser's version key (the
   gazetteer, curated and recognizer files and the parser's code) are both unchanged.
   Routes are redrawn only when the routes file, the version key or a quoted article
   changed.
3. It writes everything in one store transaction (:mod:`geo.store`): readers see the old
   atlas until the commit, and a kill before it leaves the old atlas as it was.
4. It publishes the layers from the committed store as one new set, switched to in one
   atomic step (:func:`geo.layers.publish`).  A kill after the commit and before the
   switch leaves the old set published; the next build sees that and publishes.

An atlas built from JSON lines (:mod:`geo.ingest`, ``build --jsonl``) keeps its articles in
the store: a build of it reads no folder (:func:`geo.ingest.rebuild_stored`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from geo import _fault, corrections, layers, store
from geo._lock import writer_lock
from geo.corpus import check_folder, passage_at, passages, read_corpus
from geo.errors import DataFileError
from geo.geocode import online_fallback
from geo.model import (
    Article,
    Correction,
    Mention,
    Passage,
    Place,
    Resolution,
    StoredMention,
)
from geo.parser import Geoparser, load_parser
from geo.settings import Settings

ROUTES_FILE = "routes.yaml"
#: Folders of ``data/`` whose files a parse depends on.
PARSER_DATA = ("gazetteer", "recognizer")
#: Modules whose code a parse depends on.
PARSER_CODE = ("corpus", "gazetteer", "recognize", "resolve", "parser", "geocode", "model")
_GEO = Path(__file__).resolve().parent

#: Parses articles: ``(id, text)`` pairs in, ``(resolved, unplaced)`` per article out, in order.
ParseMany = Callable[[Sequence[tuple[str, str]]], Iterable[tuple[list[Resolution], list[Mention]]]]


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What a build did."""

    out_dir: Path
    articles: int
    mentions: int
    places: int
    routes: int
    parsed: int = 0
    removed: int = 0
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def warning(self) -> str:
        """All warnings in one line (empty when there are none)."""
        return "; ".join(self.warnings)

    def __str__(self) -> str:
        text = (
            f"built {self.places} places from {self.mentions} mentions in {self.articles} "
            f"articles ({self.parsed} parsed, {self.removed} removed), and {self.routes} "
            f"routes -> {self.out_dir}"
        )
        return "\n".join([text, *(f"warning: {w}" for w in self.warnings)])


def content_hash(article: Article) -> str:
    """The SHA-256 of an article's text: a changed text is parsed again."""
    return hashlib.sha256(article.text.encode("utf-8", "surrogatepass")).hexdigest()


def version_key(data_dir: Path, *, online: bool = False) -> str:
    """A key over everything a parse depends on besides the text: the gazetteer, curated
    and recognizer files, the parser's code, and whether the online fallback is on."""
    digest = hashlib.sha256(b"news-atlas-parser\0" + (b"online" if online else b"offline"))
    files = [p for d in PARSER_DATA for p in sorted((data_dir / d).rglob("*")) if p.is_file()]
    files += [_GEO / f"{name}.py" for name in PARSER_CODE]
    for path in files:
        digest.update(path.name.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:32]


def stored_mentions(
    article: Article,
    resolved: Sequence[Resolution],
    unplaced: Sequence[Mention],
    sents: list[Passage] | None = None,
) -> list[StoredMention]:
    """The store's mentions of one parsed article (placed and unplaced), in text order
    (``sents``: the article's passages, if already split)."""
    sents = passages(article) if sents is None else sents
    out = []
    for res in resolved:
        m = res.mention
        out.append(_stored(sents, m, res.place.id, res.confidence, res.alternatives))
    out += [_stored(sents, m, None, 0.0, ()) for m in unplaced]
    return sorted(out, key=lambda s: (s.start, s.end))


def _stored(
    sents: list[Any], m: Mention, place_id: str | None, conf: float, alts: Sequence[Place]
) -> StoredMention:
    sent = passage_at(sents, m.start)
    p_start, p_end = (sent.start, sent.end) if sent else (m.start, m.end)
    return StoredMention(
        article_id=m.article_id, start=m.start, end=m.end, text=m.text,
        passage_start=p_start, passage_end=p_end, place_id=place_id,
        confidence=round(float(conf), 4), candidates=tuple(a.id for a in alts),
        parsed_place_id=place_id,
    )  # fmt: skip


@dataclass(slots=True)
class _Parser:
    """Loads the geoparser on first use: a build with nothing to parse never loads it."""

    cfg: Settings
    _parser: Geoparser | None = None
    warnings: list[str] = field(default_factory=list)

    def get(self) -> Geoparser:
        if self._parser is None:
            fallback = online_fallback(self.cfg)
            self._parser = load_parser(
                self.cfg.data_dir, cache_dir=self.cfg.cache_dir, fallback=fallback
            )
        return self._parser

    def parse_many(
        self, items: Iterable[tuple[str, str]]
    ) -> Iterable[tuple[list[Resolution], list[Mention]]]:
        parser = self.get()
        for art_id, text in items:
            yield parser.parse_all(text, article_id=art_id)

    def finish(self) -> None:
        fallback = self._parser.fallback if self._parser else None
        error = getattr(fallback, "error", None)
        if error:
            self.warnings.append(f"{error} (built offline)")


def _routes_key(data_dir: Path, key: str, hashes: Mapping[str, str]) -> str:
    """A key over what the routes depend on: the routes file, the parser version and the
    texts of the articles the routes file quotes."""
    path = data_dir / ROUTES_FILE
    raw = path.read_bytes() if path.is_file() else b""
    quoted = sorted(_quoted_articles(raw) & hashes.keys())
    digest = hashlib.sha256(raw + key.encode())
    for art_id in quoted:
        digest.update(f"{art_id}\0{hashes[art_id]}\0".encode())
    return digest.hexdigest()[:32]


def _quoted_articles(raw: bytes) -> set[str]:
    """The article ids the routes file's quotes name (``article:`` values, at any depth).
    A file YAML cannot read names none here: drawing the routes then reports it."""
    import yaml  # noqa: PLC0415

    try:  # libyaml's loader where PyYAML has it: 15 times faster on the routes file
        data = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return set()
    found: set[str] = set()
    todo: list[object] = [data]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            found.update(str(v) for k, v in item.items() if k == "article")
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return found


def _route_pairs(
    data_dir: Path, parser: Geoparser, articles: Sequence[Article]
) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], dict[str, Any], list[str]]:
    """The routes as (properties, geometry) pairs, the claim check, and warnings."""
    texts = {a.id: a.text for a in articles}
    titles = {a.id: a.title for a in articles}
    path = data_dir / ROUTES_FILE
    if not path.is_file():
        raise DataFileError(f"routes file {str(path)!r} is missing; restore it from git")
    from shapely.geometry import mapping  # noqa: PLC0415  (only when routes are redrawn)

    from geo import routes  # noqa: PLC0415  (pyproj, shapely, yaml: only when redrawn)

    frame = routes.build_routes(path, parser.gazetteer, texts)
    pairs = []
    for row in frame.to_dict(orient="records"):
        geom = row.pop("geometry")
        row["waypoints"] = json.loads(row["waypoints"])
        row["quotes"] = [
            {**q, "title": titles.get(str(q.get("article_id")), "")}
            for q in json.loads(row["quotes"])
        ]
        pairs.append((row, dict(mapping(geom))))
    skipped = frame.attrs.get("skipped", [])
    notes = (
        [f"left out {len(skipped)} routes whose articles are not in the corpus"] if skipped else []
    )
    return pairs, _claim(path, parser, texts), notes


def _claim(path: Path, parser: Geoparser, texts: Mapping[str, str]) -> dict[str, Any]:
    from geo import routes  # noqa: PLC0415

    raw = routes.read_routes_file(path)
    if "claim_check" not in raw:
        return {"rows": []}
    spec = routes.parse_claim_spec(raw)
    if spec.quote.article_id not in texts:  # a corpus without the claim's article
        return {"rows": []}
    routes.check_quote(spec.quote, texts, "claim_check")
    table = routes.claim_table(spec, parser.gazetteer.lookup)
    return {
        "claimed_share": spec.claimed_share,
        "arctic_via": spec.arctic_via,
        "suez_via": spec.suez_via,
        "quote": {"article_id": spec.quote.article_id, "text": spec.quote.text},
        "rows": table.to_dict(orient="records"),
    }


@dataclass(frozen=True, slots=True)
class _State:
    """What the store holds before a build."""

    hashes: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    meta: Mapping[str, Article] = field(default_factory=dict)
    routes_key: str = ""
    build_id: str = ""
    corrections_key: str = ""
    corpus: str = ""


def _read_state(path: Path, *, articles: bool = True) -> _State:
    """Stored (hash, version) and metadata per article (unless not ``articles``), the
    routes key, the build id and where the corpus comes from."""
    if not path.is_file():
        return _State()
    with store.Store(path) as st, st.snapshot():
        meta = {a.id: a for a in st.articles()} if articles else {}
        return _State(
            st.hashes() if articles else {}, meta, st.meta("routes_key"), st.meta("build_id"),
            st.meta("corrections_key"), st.meta("corpus"),
        )  # fmt: skip


def _usable_state(path: Path, *, articles: bool = True) -> tuple[_State, list[str]]:
    """The store's state; a store that cannot be read (a corrupt file, another schema) is
    moved aside with a warning and built afresh: everything in it comes from the article
    folder and the data files, so nothing is lost."""
    try:
        return _read_state(path, articles=articles), []
    except (DataFileError, sqlite3.DatabaseError) as err:
        aside = path.with_name(f"{path.name}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
        for suffix in ("", "-wal", "-shm"):
            part = Path(f"{path}{suffix}")
            if part.exists():
                part.rename(f"{aside}{suffix}")
        return _State(), [f"{err}: moved it to {str(aside)!r} and built the atlas afresh"]


@dataclass(slots=True)
class _Plan:
    articles: list[Article]
    todo: list[Article]
    removed: list[str]
    meta_changed: list[Article]
    hashes: dict[str, str]
    key: str
    skipped: list[str]
    corrections: list[Correction] = field(default_factory=list)
    corrections_key: str = ""


def _plan(cfg: Settings, folder: Path, state: _State) -> _Plan:
    articles, skipped = read_corpus(folder)
    key = version_key(cfg.data_dir, online=cfg.online)
    hashes = {a.id: content_hash(a) for a in articles}
    todo = [a for a in articles if state.hashes.get(a.id) != (hashes[a.id], key)]
    parsing = {a.id for a in todo}
    retitled = [
        a for a in articles if a.id not in parsing and state.meta.get(a.id) != replace(a, text="")
    ]
    removed = sorted(set(state.hashes) - set(hashes))
    fixes = corrections.load(corrections.corrections_path(cfg.data_dir))
    return _Plan(
        articles, todo, removed, retitled, hashes, key, skipped, fixes, corrections_key(fixes)
    )


def corrections_key(fixes: Sequence[Correction]) -> str:
    """A key over the corrections: a build lays them again when it changes."""
    return hashlib.sha256(corrections.dumps(fixes).encode()).hexdigest()[:32] if fixes else ""


def build(
    cfg: Settings,
    *,
    seeds_dir: Path | None = None,
    wait: bool = False,
    parse_many: ParseMany | None = None,
) -> BuildReport:
    """Bring the store and the published layers up to date with the articles.

    Parameters
    ----------
    cfg
        Settings (data folder, cache, online fallback).
    seeds_dir
        The article folder (default: the settings' ``seeds_dir``).
    wait
        Wait for a running build instead of stopping with :class:`geo._lock.AtlasBusy`.
    parse_many
        Parses the changed articles (default: in this process); see :data:`ParseMany`.
    """
    folder = seeds_dir or cfg.seeds_dir
    check_folder(folder)  # before the lock and the store: bad input leaves no trace
    with writer_lock(cfg.data_dir, "a build", wait=wait):
        return _build_locked(cfg, folder, parse_many)


def _build_locked(cfg: Settings, folder: Path, parse_many: ParseMany | None) -> BuildReport:
    path = store.store_path(cfg.data_dir)
    if _read_corpus_kind(path) == "jsonl":  # its articles are in the store, not the folder
        from geo import ingest  # noqa: PLC0415  (ingest imports this module)

        return ingest.rebuild_stored(cfg, _chunked(parse_many) if parse_many else None, folder)
    state, healed = _usable_state(path)
    plan = _plan(cfg, folder, state)
    plan.skipped[:0] = healed
    build_id = state.build_id
    lazy = _Parser(cfg)
    parsed = []
    if plan.todo:  # the parser (and its gazetteer) is loaded only when there is work
        results = (parse_many or lazy.parse_many)([(a.id, a.text) for a in plan.todo])
        parsed = list(zip(plan.todo, results, strict=True))
    new_routes_key = _routes_key(cfg.data_dir, plan.key, plan.hashes)
    route_data = None
    if new_routes_key != state.routes_key:
        route_data = _route_pairs(cfg.data_dir, lazy.get(), plan.articles)
    lazy.finish()
    _fault.point("parsed")
    changed = bool(parsed or plan.removed or route_data or plan.meta_changed)
    changed |= plan.corrections_key != state.corrections_key
    if changed or not layers.is_published(cfg.data_dir, build_id):
        try:
            build_id = _commit(path, plan, parsed, route_data, new_routes_key)
        except sqlite3.Error as err:
            raise DataFileError(f"cannot write the atlas store {str(path)!r}: {err}") from err
        _fault.point("committed")
        _publish(cfg.data_dir, path, build_id)
    return report(cfg, path, len(parsed), len(plan.removed), [*plan.skipped, *lazy.warnings])


def report(
    cfg: Settings, path: Path, parsed: int, removed: int, warnings: list[str]
) -> BuildReport:
    """The report of a build that has committed and published: the store's counts, and
    ``warnings`` with the store's own (routes, corrections)."""
    with store.Store(path) as st, st.snapshot():
        counts = st.counts()
        warnings = [*warnings, *json.loads(st.meta("warnings", "[]"))]
        warnings += json.loads(st.meta("correction_warnings", "[]"))
    return BuildReport(
        layers.layers_dir(cfg.data_dir), counts["articles"], counts["mentions"],
        counts["places"], counts["routes"], parsed, removed, tuple(warnings),
    )  # fmt: skip


def _read_corpus_kind(path: Path) -> str:
    """'jsonl' for an atlas whose corpus came from JSON lines (``build --jsonl``)."""
    try:
        return _read_state(path, articles=False).corpus
    except (DataFileError, sqlite3.DatabaseError):
        return ""  # the build moves it aside and says so


def _chunked(
    parse_many: ParseMany,
) -> Callable[[Iterable[tuple[str, str]]], Iterator[tuple[list[Resolution], list[Mention]]]]:
    """``parse_many`` fed a stream a few hundred articles at a time."""

    def stream(
        items: Iterable[tuple[str, str]],
    ) -> Iterator[tuple[list[Resolution], list[Mention]]]:
        it = iter(items)
        while batch := list(itertools.islice(it, 256)):
            yield from parse_many(batch)

    return stream


def _commit(
    path: Path,
    plan: _Plan,
    parsed: Sequence[tuple[Article, tuple[list[Resolution], list[Mention]]]],
    route_data: tuple[list[Any], dict[str, Any], list[str]] | None,
    routes_key: str,
) -> str:
    """Write one build into the store in one transaction; returns its build id."""
    with store.write(path) as w:
        w.delete_articles(plan.removed)
        for art in plan.meta_changed:
            w.update_metadata(art)
        for art, (resolved, unplaced) in parsed:
            w.put_places(p for r in resolved for p in (r.place, *r.alternatives))
            sents = passages(art)
            w.put_article(
                art, content_hash=plan.hashes[art.id], parsed_with=plan.key,
                passages=sents, mentions=stored_mentions(art, resolved, unplaced, sents),
            )  # fmt: skip
        if route_data is not None:
            _put_routes(w, route_data, routes_key)
        return _finish(w, plan.corrections, plan.corrections_key)


def _put_routes(
    w: store.StoreWriter, route_data: tuple[list[Any], dict[str, Any], list[str]], key: str
) -> None:
    pairs, claim, notes = route_data
    w.put_routes(pairs)
    w.set_meta("claim", json.dumps(claim, ensure_ascii=False))
    w.set_meta("routes_key", key)
    w.set_meta("warnings", json.dumps(notes, ensure_ascii=False))


def _finish(w: store.StoreWriter, fixes: Sequence[Correction], fixes_key: str) -> str:
    """The last steps of every build's transaction: the corrections laid over the parse,
    unused places dropped, the next build id; returns the build id."""
    _apply_corrections(w, fixes, fixes_key)
    w.drop_unused_places()
    build_id = str(int(w.meta("build_id", "0") or 0) + 1)
    w.set_meta("build_id", build_id)
    _fault.point("store-write")
    return build_id


def _apply_corrections(w: store.StoreWriter, fixes: Sequence[Correction], key: str) -> None:
    """Lay the corrections over the parsed mentions, from scratch (nothing is parsed).
    Only the mentions a correction can reach are read: those of the corrected articles,
    and those of the words of corpus-wide corrections."""
    w.reset_corrections()
    ids = {c.article_id for c in fixes}
    texts = {c.text for c in fixes if c.scope == "corpus"}
    mentions = w.mentions(articles=ids, texts=texts) if fixes else []
    fixed = corrections.apply(fixes, mentions, w.articles(ids))
    known = w.known_places(p.id for p in fixed.places)
    w.put_places(p for p in fixed.places if p.id not in known)
    for art_id, start, end, place_id, correction_id in fixed.updates:
        w.set_place(art_id, (start, end), place_id, correction_id)
    for mention in fixed.added:
        w.add_mention(mention)
    w.set_meta("correction_warnings", json.dumps(list(fixed.warnings), ensure_ascii=False))
    w.set_meta("corrections_key", key)


def _publish(data_dir: Path, path: Path, build_id: str) -> None:
    """Publish the layers of the committed store (only what changed is written)."""
    with store.Store(path) as st, st.snapshot():
        layers.publish_store(data_dir, st, name=build_id)


def built_from_jsonl(cfg: Settings) -> bool:
    """Whether the atlas's corpus is a JSON-lines input (``build --jsonl``), not the article
    folder: an article saved into the folder would not be part of it."""
    return _usable_state(store.store_path(cfg.data_dir), articles=False)[0].corpus == "jsonl"


def ensure_built(cfg: Settings) -> BuildReport | None:
    """Build the atlas when there is no committed build yet (a fresh clone), waiting for a
    build already running; returns the report if this call built it."""
    path = store.store_path(cfg.data_dir)
    try:
        if _read_state(path, articles=False).build_id and layers.published_build(cfg.data_dir):
            return None
    except (DataFileError, sqlite3.DatabaseError):
        pass  # the build moves it aside and says so

    return build(cfg, wait=True)


def build_after(
    cfg: Settings,
    change: Callable[[], Callable[[], None]],
    *,
    what: str,
    wait: bool = True,
    parse_many: ParseMany | None = None,
) -> BuildReport:
    """Change the atlas's inputs and build, under one hold of the write lock, all or
    nothing: ``change()`` makes the change (saves an article, a correction) and returns a
    function that takes it back, which is called if the build fails.  ``parse_many``: as
    for :func:`build` (a server passes its loaded parser's).

    Raises
    ------
    AtlasBusy
        If another writer holds the lock and ``wait`` is false.
    """
    with writer_lock(cfg.data_dir, what, wait=wait):
        undo = change()
        try:
            return _build_locked(cfg, cfg.seeds_dir, parse_many)
        except BaseException:
            undo()
            raise
