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
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo import _fault
from geo.model import KIND_GROUPS, Article, Place, StoredMention, to_xy
from geo.store import Store

if TYPE_CHECKING:
    import geopandas as gpd

CRS = "EPSG:4326"
LAYERS = "layers"
SETS = "layersets"
MANIFEST = "manifest.json"
FILES = (
    "places.geojson",
    "mentions.geojson",
    "routes.geojson",
    "articles.json",
    "claim_check.json",
)


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
    lines = ",\n".join(_dumps(f) for f in features)
    return f'{{"type":"FeatureCollection","features":[\n{lines}\n]}}\n'


def place_features(
    mentions: Sequence[StoredMention], places: Mapping[str, Place], dates: Mapping[str, str]
) -> list[dict[str, Any]]:
    """One feature per place that placed mentions name, most mentioned first."""
    groups: dict[str, list[StoredMention]] = {}
    for m in mentions:
        if m.place_id is not None and m.place_id in places:
            groups.setdefault(m.place_id, []).append(m)
    out = []
    for pid, items in groups.items():
        p = places[pid]
        days = sorted(d for d in (dates.get(m.article_id, "") for m in items) if d)
        props: dict[str, Any] = {
            "place_id": pid, "name": p.name, "kind": p.kind,
            "group": KIND_GROUPS.get(p.kind, "region"), "country": p.country,
            "source": p.source, "mentions": len(items),
            "articles": len({m.article_id for m in items}),
            "first_date": days[0] if days else "", "last_date": days[-1] if days else "",
            "confidence": round(min(m.confidence for m in items), 3),
            "corrected": any(m.correction for m in items),
        }  # fmt: skip
        out.append({"type": "Feature", "properties": props, "geometry": _point(p.lat, p.lon)})
    out.sort(key=_by_mentions)
    return out


def _by_mentions(feature: Mapping[str, Any]) -> tuple[int, str]:
    props = feature["properties"]
    return (-int(props["mentions"]), str(props["name"]))


def mention_features(
    mentions: Sequence[StoredMention], places: Mapping[str, Place]
) -> list[dict[str, Any]]:
    """One feature per placed mention, in article and text order."""
    out = []
    for m in mentions:
        p = places.get(m.place_id) if m.place_id else None
        if p is None:
            continue
        props = {
            "place_id": p.id, "name": p.name, "kind": p.kind, "article_id": m.article_id,
            "start": m.start, "end": m.end, "text": m.text, "passage_start": m.passage_start,
            "passage_end": m.passage_end, "confidence": m.confidence,
            "correction": m.correction,
        }  # fmt: skip
        out.append({"type": "Feature", "properties": props, "geometry": _point(p.lat, p.lon)})
    return out


def article_records(articles: Sequence[Article]) -> list[dict[str, object]]:
    """Article metadata and text, as ``articles.json`` holds them."""
    return [
        {"id": a.id, "title": a.title, "outlet": a.outlet, "author": a.author, "date": a.date,
         "date_approximate": a.date_approximate, "url": a.url, "text": a.text}
        for a in articles
    ]  # fmt: skip


def layer_files(st: Store) -> dict[str, str]:
    """Every layer file's text, from one committed state of the store."""
    mentions = st.mentions()
    places = st.places(m.place_id for m in mentions if m.place_id)
    full = st.articles(with_text=True)
    dates = {a.id: a.date for a in full}
    route_features = [
        {"type": "Feature", "properties": props, "geometry": geom} for props, geom in st.routes()
    ]
    return {
        "places.geojson": feature_collection(place_features(mentions, places, dates)),
        "mentions.geojson": feature_collection(mention_features(mentions, places)),
        "routes.geojson": feature_collection(route_features),
        "articles.json": _dumps(article_records(full), indent=1) + "\n",
        "claim_check.json": _dumps(st.claim(), indent=1) + "\n",
    }


def _write_synced(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(data_dir: Path, files: Mapping[str, str], *, name: str) -> Path:
    """Write ``files`` as a new layer set and make it the published one, atomically.

    The set is written into a temporary folder, synced, renamed to ``layersets/<name>``,
    and only then is the ``layers`` symlink replaced (``rename`` over it).  A failure
    anywhere before that last step (a full disk, a kill) leaves the old set published.
    The caller holds the write lock.
    """
    sets = data_dir / SETS
    sets.mkdir(parents=True, exist_ok=True)
    final = sets / name
    tmp = sets / f".tmp-{name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for number, (file_name, text) in enumerate(files.items()):
            if number == 2:
                _fault.point("publish-files")
            _write_synced(tmp / file_name, text)
        digests = {n: hashlib.sha256(t.encode("utf-8")).hexdigest() for n, t in files.items()}
        manifest = {"build": name, "written": time.strftime("%Y-%m-%dT%H:%M:%S"), "files": digests}
        _write_synced(tmp / MANIFEST, _dumps(manifest, indent=1) + "\n")
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
