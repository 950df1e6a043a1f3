"""The published layers: GeoJSON written from the store as one consistent set.

The layers are the product's exchange format (downloads, other GIS tools).  They are
written from a committed store state into a new folder ``data/layersets/<build>/``, and
``data/layers`` (a symlink) is switched to it in one atomic ``rename``: a reader of
``data/layers/*`` sees the old set or the new one, never a mix.  The previous set is kept
for readers still inside it; older ones and any leftover temporary folder are removed.

``places.geojson``
    one point per mentioned place: ``place_id, name, kind, group, country, source,
    mentions, articles, first_date, last_date, confidence, corrected``.
``mentions.geojson``
    one point per placed mention: ``place_id, name, kind, article_id, start, end, text,
    passage_start, passage_end, confidence, correction``.  The sentence is
    ``articles.json``'s text between ``passage_start`` and ``passage_end``: quotes are not
    copied, so the layers grow with the text, not with mentions × quotes.
``routes.geojson``, ``articles.json``, ``claim_check.json``, ``manifest.json``.

Only what changed is written (:func:`publish_store`).  Every file of a set is complete, but
a file equal to the previous set's is a hard link to it, and the two per-article files
(``mentions.geojson``, ``articles.json``, in article id order) are spliced: the byte ranges
of the articles that did not change are copied from the previous set's file, and only the
changed articles are rendered.  The set's hidden ``.parts.json`` records each article's
byte range in those two files, the store revision the set was written from (with that
revision's random token) and each file's size and modification time; the store marks
every article whose rows changed with the revision that changed them
(:meth:`geo.store.Store.changed_since`).  A previous set
whose files or index do not match what it recorded is not reused: everything is rendered.
Files are never modified once written (a linked file belongs to two sets).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import operator
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo import _fault
from geo.model import KIND_GROUPS, Article, Place, PlaceStats, StoredMention, to_xy
from geo.store import Store

if TYPE_CHECKING:
    import geopandas as gpd

CRS = "EPSG:4326"
LAYERS = "layers"
SETS = "layersets"
MANIFEST = "manifest.json"
#: The hidden index of a set written from the store (see the module's doc).
INDEX = ".parts.json"
FILES = (
    "places.geojson",
    "mentions.geojson",
    "routes.geojson",
    "articles.json",
    "claim_check.json",
)
#: Bytes read from the previous set's file at a time when splicing.
COPY_BYTES = 4 * 1024 * 1024


def layers_dir(data_dir: Path) -> Path:
    """The published layers of the atlas in ``data_dir`` (a symlink to the current set)."""
    return data_dir / LAYERS


def _dumps(value: object, *, indent: int | None = None) -> str:
    seps = (",", ":") if indent is None else (",", ": ")
    return json.dumps(value, ensure_ascii=False, separators=seps, indent=indent, allow_nan=False)


def _point(lat: float, lon: float) -> dict[str, Any]:
    x, y = to_xy(lat, lon)
    return {"type": "Point", "coordinates": [x, y]}


def feature_collection(features: Sequence[Mapping[str, Any]]) -> str:
    """RFC 7946 GeoJSON text, one feature per line (diffable, streamable)."""
    return _collection([_dumps(f) for f in features])


def _collection(lines: Sequence[str]) -> str:
    body = ",\n".join(lines)
    return f'{{"type":"FeatureCollection","features":[\n{body}\n]}}\n'


def place_stats(
    mentions: Sequence[StoredMention], places: Mapping[str, Place], dates: Mapping[str, str]
) -> list[PlaceStats]:
    """What the places layer says of each place that placed mentions name (the store
    computes the same in one query: :meth:`geo.store.Store.place_stats`)."""
    groups: dict[str, list[StoredMention]] = {}
    for m in mentions:
        if m.place_id is not None and m.place_id in places:
            groups.setdefault(m.place_id, []).append(m)
    out = []
    for pid, items in groups.items():
        days = sorted(d for d in (dates.get(m.article_id, "") for m in items) if d)
        out.append(
            PlaceStats(
                places[pid], len(items), len({m.article_id for m in items}),
                days[0] if days else "", days[-1] if days else "",
                min(m.confidence for m in items), any(m.correction for m in items),
            )
        )  # fmt: skip
    return out


def stats_features(stats: Iterable[PlaceStats]) -> list[dict[str, Any]]:
    """One feature per place, most mentioned first (then by name and id)."""
    out = []
    for s in stats:
        p = s.place
        props: dict[str, Any] = {
            "place_id": p.id, "name": p.name, "kind": p.kind,
            "group": KIND_GROUPS.get(p.kind, "region"), "country": p.country,
            "source": p.source, "mentions": s.mentions, "articles": s.articles,
            "first_date": s.first_date, "last_date": s.last_date,
            "confidence": round(s.confidence, 3), "corrected": s.corrected,
        }  # fmt: skip
        out.append({"type": "Feature", "properties": props, "geometry": _point(p.lat, p.lon)})
    out.sort(key=_by_mentions)
    return out


def place_features(
    mentions: Sequence[StoredMention], places: Mapping[str, Place], dates: Mapping[str, str]
) -> list[dict[str, Any]]:
    """One feature per place that placed mentions name, most mentioned first."""
    return stats_features(place_stats(mentions, places, dates))


def _by_mentions(feature: Mapping[str, Any]) -> tuple[int, str, str]:
    props = feature["properties"]
    return (-int(props["mentions"]), str(props["name"]), str(props["place_id"]))


def article_records(articles: Sequence[Article]) -> list[dict[str, object]]:
    """Article metadata and text, as ``articles.json`` holds them."""
    return [
        {"id": a.id, "title": a.title, "outlet": a.outlet, "author": a.author, "date": a.date,
         "date_approximate": a.date_approximate, "url": a.url, "text": a.text}
        for a in articles
    ]  # fmt: skip


_ENCODE = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode


def article_json(article: Article) -> str:
    """One article's record as ``articles.json`` (indented by one) lists it: the same
    text as that record inside ``json.dumps(records, indent=1)``, written field by field."""
    (record,) = article_records([article])
    fields = ",\n".join(f"  {_ENCODE(k)}: {_ENCODE(v)}" for k, v in record.items())
    return f" {{\n{fields}\n }}"


def layer_texts(st: Store) -> dict[str, str]:
    """Every layer file's text, from one committed state of the store, rendered whole in
    memory (what :func:`publish_store` writes, for tests and small atlases)."""
    lines = [line for _, line in st.mention_features()]
    records = [article_json(a) for a in st.full_articles()]
    return {
        "places.geojson": _places_text(st),
        "mentions.geojson": _collection(lines),
        "routes.geojson": _routes_text(st),
        "articles.json": "[\n" + ",\n".join(records) + "\n]\n" if records else "[]\n",
        "claim_check.json": _dumps(st.claim(), indent=1) + "\n",
    }


def _places_text(st: Store) -> str:
    return feature_collection(stats_features(st.place_stats()))


def _routes_text(st: Store) -> str:
    return feature_collection(
        [{"type": "Feature", "properties": props, "geometry": geom} for props, geom in st.routes()]
    )


# -- writing a set ----------------------------------------------------------------------------


class _LayerFile:
    """A new layer file written in pieces: rendered bytes, and byte ranges copied from the
    previous set's file of the same name (runs of adjacent ranges copied at once).  Keeps
    the SHA-256 of what it wrote and the position, as if every piece were written."""

    def __init__(self, path: Path, source: Path | None = None) -> None:
        self.path = path
        self._fh = path.open("wb")
        self._source = source.open("rb") if source else None
        self._sha = hashlib.sha256()
        self._run: tuple[int, int] | None = None
        self.pos = 0

    def write(self, data: bytes) -> None:
        """Append rendered bytes."""
        self._flush_run()
        self._put(data)

    def copy(self, start: int, end: int) -> None:
        """Append the bytes ``start:end`` of the previous set's file."""
        if self._run and self._run[1] == start:
            self._run = (self._run[0], end)
        else:
            self._flush_run()
            self._run = (start, end)
        self.pos += end - start

    def _flush_run(self) -> None:
        if self._run is None:
            return
        if self._source is None:
            raise RuntimeError(f"{self.path.name}: a copy without a previous file")
        start, end = self._run
        self._run = None
        self.pos -= end - start
        while start < end:
            data = os.pread(self._source.fileno(), min(COPY_BYTES, end - start), start)
            if not data:
                raise OSError(f"{self._source.name!r} ended early: it was changed")
            self._put(data)
            start += len(data)

    def _put(self, data: bytes) -> None:
        self._fh.write(data)
        self._sha.update(data)
        self.pos += len(data)

    def close(self) -> str:
        """Finish the file (synced to disk); returns its SHA-256."""
        self._flush_run()
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.discard()
        return self._sha.hexdigest()

    def discard(self) -> None:
        """Close the files (what was written stays, in the temporary folder)."""
        self._fh.close()
        if self._source:
            self._source.close()


def _write_synced(path: Path, text: str) -> str:
    out = _LayerFile(path)
    try:
        out.write(text.encode("utf-8"))
        return out.close()
    finally:
        out.discard()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _file_stat(path: Path) -> list[int]:
    """What tells a file changed after it was written: its size and modification time (a
    copy that keeps the time, as ``cp -p`` or a backup does, keeps the content too)."""
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


@dataclass(frozen=True, slots=True)
class _Previous:
    """The published set the new one may reuse, as its index describes it."""

    folder: Path
    revision: int
    ids: list[str]
    files: dict[str, dict[str, Any]]

    def reusable(self, name: str) -> bool:
        """Whether the set's ``name`` is still the file its index describes."""
        entry = self.files.get(name)
        try:
            return entry is not None and _file_stat(self.folder / name) == entry["stat"]
        except OSError:
            return False

    def parts(self, name: str) -> dict[str, tuple[int, int]]:
        """Article id -> its byte range in the set's per-article file ``name``."""
        flat = self.files[name]["parts"]
        return {a: (flat[2 * i], flat[2 * i + 1]) for i, a in enumerate(self.ids)}


def _previous(data_dir: Path, st: Store) -> _Previous | None:
    """The published set, if it was written from this store's history and its index reads
    (a store built afresh has another id; one put back from a backup lacks the token of
    the revision the set was written from)."""
    folder = layers_dir(data_dir)
    store_id = st.layer_state()[0]
    try:
        index = json.loads((folder / INDEX).read_text(encoding="utf-8"))
        if not store_id or index["store"] != store_id:
            return None
        if not index["token"] or st.revision_token(int(index["revision"])) != index["token"]:
            return None
        ids, files = index["ids"], index["files"]
        ok = isinstance(ids, list) and isinstance(files, dict)
        ok = ok and all(len(files[n]["parts"]) == 2 * len(ids) for n in _PER_ARTICLE)
        return _Previous(folder.resolve(), int(index["revision"]), ids, files) if ok else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True, slots=True)
class _Format:
    """How a per-article file is laid out: ``head``, the articles' parts joined by ``sep``,
    ``tail``; ``empty`` when there is no article."""

    head: bytes
    sep: bytes
    tail: bytes
    empty: bytes


_PER_ARTICLE = {
    "mentions.geojson": _Format(
        b'{"type":"FeatureCollection","features":[\n', b",\n", b"\n]}\n",
        b'{"type":"FeatureCollection","features":[\n\n]}\n',
    ),
    "articles.json": _Format(b"[\n", b",\n", b"\n]\n", b"[]\n"),
}  # fmt: skip


def _splice(
    out: _LayerFile,
    fmt: _Format,
    ids: Sequence[str],
    fresh: Iterator[tuple[str, bytes]],
    kept: Mapping[str, tuple[int, int]],
) -> list[int]:
    """Write a per-article file: for each article of ``ids`` (in order) its part, copied
    from the previous file when ``kept`` has its range there, else from ``fresh`` (the
    rendered parts of the others, in the same order; an article with no part has none).
    Returns the articles' byte ranges in the new file, flat (start, end, start, end…)."""
    if not ids:
        out.write(fmt.empty)
        return []
    out.write(fmt.head)
    parts: list[int] = []
    wrote = False
    nxt = next(fresh, None)
    for art_id in ids:
        old = kept.get(art_id)
        if old is not None:
            start, end = old
            if start < end:
                if wrote and start > len(fmt.head):  # copy its separator with it
                    out.copy(start - len(fmt.sep), end)
                else:
                    out.write(fmt.sep if wrote else b"")
                    out.copy(start, end)
                wrote = True
            parts += (out.pos - (end - start), out.pos)
        elif nxt is not None and nxt[0] == art_id:
            out.write(fmt.sep if wrote else b"")
            parts.append(out.pos)
            out.write(nxt[1])
            parts.append(out.pos)
            wrote = True
            nxt = next(fresh, None)
        else:
            parts += (out.pos, out.pos)
    if nxt is not None:
        raise RuntimeError(f"layer rows out of article order at {nxt[0]!r}")
    out.write(fmt.tail)
    return parts


def _fresh_parts(st: Store, name: str, ids: list[str] | None) -> Iterator[tuple[str, bytes]]:
    """The rendered parts of the articles ``ids`` (all when ``None``) of file ``name``."""
    if name == "articles.json":
        for article in st.full_articles(ids):
            yield article.id, article_json(article).encode("utf-8")
        return
    rows = st.mention_features(ids)
    for art_id, group in itertools.groupby(rows, key=operator.itemgetter(0)):
        yield art_id, ",\n".join(line for _, line in group).encode("utf-8")


def _link(src: Path, dst: Path) -> None:
    """``dst`` as a hard link to ``src`` (a copy where links are not supported)."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
        fd = os.open(dst, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_per_article(
    path: Path, st: Store, ids: list[str], prev: _Previous | None, dirty: set[str]
) -> dict[str, Any]:
    """Write ``mentions.geojson`` or ``articles.json``, reusing what it can of ``prev``'s."""
    name = path.name
    kept: dict[str, tuple[int, int]] = {}
    if prev is not None and prev.reusable(name):
        if ids == prev.ids and dirty.isdisjoint(ids):  # nothing changed: the same file
            _link(prev.folder / name, path)
            return {**prev.files[name], "stat": _file_stat(path)}
        kept = {a: r for a, r in prev.parts(name).items() if a not in dirty}
    todo = [a for a in ids if a not in kept] if kept else None
    out = _LayerFile(path, prev.folder / name if prev and kept else None)
    try:
        parts = _splice(out, _PER_ARTICLE[name], ids, _fresh_parts(st, name, todo), kept)
        digest = out.close()
    finally:
        out.discard()
    return {"sha256": digest, "stat": _file_stat(path), "parts": parts}


def _write_whole(path: Path, text: str, prev: _Previous | None) -> dict[str, Any]:
    """Write a small file rendered whole; a link to ``prev``'s when it is the same."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if prev is not None and prev.reusable(path.name) and prev.files[path.name]["sha256"] == digest:
        _link(prev.folder / path.name, path)
    else:
        _write_synced(path, text)
    return {"sha256": digest, "stat": _file_stat(path)}


def _write_from_store(
    folder: Path, st: Store, data_dir: Path
) -> tuple[dict[str, str], dict[str, Any]]:
    """Write every layer file of the store's state into ``folder``; returns the files'
    digests and the set's index."""
    store_id, revision = st.layer_state()
    prev = _previous(data_dir, st)
    changed = st.changed_since(prev.revision) if prev else (set(), set())
    dirty = dict(zip(_PER_ARTICLE, changed, strict=True))
    ids = st.article_ids()
    whole: dict[str, Callable[[Store], str]] = {
        "places.geojson": _places_text,
        "routes.geojson": _routes_text,
        "claim_check.json": lambda s: _dumps(s.claim(), indent=1) + "\n",
    }
    entries = {}
    for number, name in enumerate(FILES):
        if number == 2:
            _fault.point("publish-files")
        if name in _PER_ARTICLE:
            entries[name] = _write_per_article(folder / name, st, ids, prev, dirty[name])
        else:
            entries[name] = _write_whole(folder / name, whole[name](st), prev)
    index = {
        "store": store_id, "revision": revision, "token": st.revision_token(revision),
        "ids": ids, "files": entries,
    }  # fmt: skip
    return {n: e["sha256"] for n, e in entries.items()}, index


def publish_store(data_dir: Path, st: Store, *, name: str) -> Path:
    """Write the layers of ``st``'s state (read inside one snapshot) as a new set and make
    it the published one, atomically; only what changed since the published set is
    rendered (see the module's doc).  The caller holds the write lock."""
    return _publish(data_dir, name, lambda folder: _write_from_store(folder, st, data_dir))


def publish(data_dir: Path, files: Mapping[str, str], *, name: str) -> Path:
    """Write ``files`` (name -> text) as a new layer set and make it the published one,
    atomically.  The set has no index: the next :func:`publish_store` renders everything."""

    def write(folder: Path) -> tuple[dict[str, str], None]:
        digests = {}
        for number, (file_name, text) in enumerate(files.items()):
            if number == 2:
                _fault.point("publish-files")
            digests[file_name] = _write_synced(folder / file_name, text)
        return digests, None

    return _publish(data_dir, name, write)


def _publish(
    data_dir: Path,
    name: str,
    write: Callable[[Path], tuple[dict[str, str], dict[str, Any] | None]],
) -> Path:
    """Fill a temporary folder with ``write``, add the manifest (and index), sync, rename it
    to ``layersets/<name>``, and only then replace the ``layers`` symlink (``rename`` over
    it).  A failure anywhere before that last step (a full disk, a kill) leaves the old set
    published."""
    sets = data_dir / SETS
    sets.mkdir(parents=True, exist_ok=True)
    final = sets / name
    tmp = sets / f".tmp-{name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        digests, index = write(tmp)
        manifest = {"build": name, "written": time.strftime("%Y-%m-%dT%H:%M:%S"), "files": digests}
        _write_synced(tmp / MANIFEST, _dumps(manifest, indent=1) + "\n")
        if index is not None:
            _write_synced(tmp / INDEX, _dumps(index) + "\n")
        _fsync_dir(tmp)
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fault.point("publish-renamed")
    previous = _switch(data_dir, final)
    _fault.point("switched")
    _clean(sets, keep={final.name, previous})
    return final


def _switch(data_dir: Path, target: Path) -> str:
    """Point ``layers`` at ``target``; returns the name of the set it pointed at before."""
    link = layers_dir(data_dir)
    previous = Path(os.readlink(link)).name if link.is_symlink() else ""
    if link.is_dir() and not link.is_symlink():  # a folder from before the store: move it
        previous = f"legacy-{time.strftime('%Y%m%d%H%M%S')}"
        link.rename(data_dir / SETS / previous)
    tmp_link = data_dir / f".{LAYERS}.{os.getpid()}.tmp"
    tmp_link.unlink(missing_ok=True)
    tmp_link.symlink_to(Path(SETS) / target.name, target_is_directory=True)
    os.replace(tmp_link, link)
    _fsync_dir(data_dir)
    return previous


def _clean(sets: Path, *, keep: set[str]) -> None:
    """Remove every set but the ones in ``keep`` (the new one, and the one published
    before it, which readers may still be in), temporary folders and stale links."""
    for path in sets.iterdir():
        if path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
    for leftover in sets.parent.glob(f".{LAYERS}.*.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()


def published_build(data_dir: Path) -> str:
    """The build id of the published layer set ('' when none is)."""
    try:
        manifest = json.loads((layers_dir(data_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return str(manifest.get("build", "")) if isinstance(manifest, dict) else ""


def is_published(data_dir: Path, build_id: str) -> bool:
    """Whether the published set is whole and was written from build ``build_id``."""
    folder = layers_dir(data_dir)
    return (
        bool(build_id)
        and published_build(data_dir) == build_id
        and all((folder / f).is_file() for f in FILES)
    )


def read_layer(path: Path) -> gpd.GeoDataFrame:
    """Read a published GeoJSON layer as a GeoDataFrame (EPSG:4326)."""
    import geopandas as gpd  # noqa: PLC0415  (a build never needs it: it writes JSON)

    data = json.loads(path.read_text(encoding="utf-8"))
    return gpd.GeoDataFrame.from_features(data["features"], crs=CRS)
