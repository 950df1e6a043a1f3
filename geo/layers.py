"""Resolved mentions -> GeoDataFrames and GeoJSON files.

Two point layers come out of the geoparser (EPSG:4326, longitudes in [-180, 180]):

``places``
    one feature per place: ``place_id, name, kind, group, country, source, confidence,
    mentions, article_ids, quotes, alternatives, lat, lon`` (lists are JSON-encoded strings,
    because GeoJSON properties and GeoDataFrame columns stay flat).
``mentions``
    one feature per mention: ``place_id, name, kind, article_id, start, end, text, sentence,
    sentence_start, hl_start, hl_end, confidence``.

Writing is atomic: every file goes to a temporary name first and is renamed into place.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from geo._atomic import atomic_write_text
from geo.corpus import passage_at, passages
from geo.model import KIND_GROUPS, Article, Place, Resolution, to_xy

CRS = "EPSG:4326"
PLACE_COLUMNS = (
    "place_id", "name", "kind", "group", "country", "source", "confidence", "mentions",
    "article_ids", "quotes", "alternatives", "lat", "lon",
)  # fmt: skip
MENTION_COLUMNS = (
    "place_id", "name", "kind", "article_id", "start", "end", "text", "sentence",
    "sentence_start", "hl_start", "hl_end", "confidence",
)  # fmt: skip


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def mention_rows(article: Article, resolutions: Sequence[Resolution]) -> list[dict[str, object]]:
    """One row per resolved mention of ``article``, with the sentence that contains it."""
    sentences = passages(article)
    rows = []
    for res in resolutions:
        m, p = res.mention, res.place
        sent = passage_at(sentences, m.start)
        s_start, s_text = (sent.start, sent.text) if sent else (m.start, m.text)
        rows.append({
            "place_id": p.id, "name": p.name, "kind": p.kind, "article_id": article.id,
            "start": m.start, "end": m.end, "text": m.text, "sentence": s_text,
            "sentence_start": s_start, "hl_start": m.start - s_start, "hl_end": m.end - s_start,
            "confidence": res.confidence, "geometry": Point(to_xy(p.lat, p.lon)),
        })  # fmt: skip
    return rows


def mentions_frame(
    articles: Sequence[Article], resolved: Mapping[str, Sequence[Resolution]]
) -> gpd.GeoDataFrame:
    """The mentions layer for all articles."""
    rows = [r for a in articles for r in mention_rows(a, resolved.get(a.id, ()))]
    return gpd.GeoDataFrame(
        rows, columns=[*MENTION_COLUMNS, "geometry"], geometry="geometry", crs=CRS
    )


def _quote(row: Mapping[str, object], article: Article | None) -> dict[str, object]:
    return {
        "article_id": row["article_id"],
        "title": article.title if article else "",
        "outlet": article.outlet if article else "",
        "date": article.date if article else "",
        "sentence": row["sentence"],
        "hl_start": row["hl_start"],
        "hl_end": row["hl_end"],
        "start": row["start"],
        "end": row["end"],
    }


def _alternatives(places: Iterable[Place]) -> list[dict[str, object]]:
    return [
        {"name": p.name, "kind": p.kind, "country": p.country, "lat": p.lat, "lon": p.lon,
         "source": p.source}
        for p in places
    ]  # fmt: skip


def places_frame(
    articles: Sequence[Article], resolved: Mapping[str, Sequence[Resolution]]
) -> gpd.GeoDataFrame:
    """The places layer: one feature per distinct place, with its quotes and mentions."""
    by_id = {a.id: a for a in articles}
    groups: dict[str, list[tuple[Resolution, dict[str, object]]]] = {}
    for art in articles:
        res_list = resolved.get(art.id, ())
        for res, row in zip(res_list, mention_rows(art, res_list), strict=True):
            groups.setdefault(res.place.id, []).append((res, row))
    rows = []
    for place_id, items in groups.items():
        place = items[0][0].place
        seen: set[tuple[object, object]] = set()
        quotes = []
        for _, row in items:
            key = (row["article_id"], row["sentence_start"])
            if key not in seen:
                seen.add(key)
                quotes.append(_quote(row, by_id.get(str(row["article_id"]))))
        rows.append({
            "place_id": place_id, "name": place.name, "kind": place.kind,
            "group": KIND_GROUPS.get(place.kind, "region"), "country": place.country,
            "source": place.source,
            "confidence": round(min(r.confidence for r, _ in items), 3),
            "mentions": len(items),
            "article_ids": _dumps(sorted({str(r["article_id"]) for _, r in items})),
            "quotes": _dumps(quotes),
            "alternatives": _dumps(_alternatives(items[0][0].alternatives)),
            "lat": place.lat, "lon": place.lon, "geometry": Point(to_xy(place.lat, place.lon)),
        })  # fmt: skip
    frame = pd.DataFrame(rows, columns=[*PLACE_COLUMNS, "geometry"])
    frame = frame.sort_values(["mentions", "name"], ascending=[False, True], ignore_index=True)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=CRS)


def articles_records(articles: Sequence[Article]) -> list[dict[str, object]]:
    """Article metadata and text, for the reader view and quotes."""
    return [
        {"id": a.id, "title": a.title, "outlet": a.outlet, "author": a.author, "date": a.date,
         "date_approximate": a.date_approximate, "url": a.url, "text": a.text}
        for a in articles
    ]  # fmt: skip


def to_geojson(frame: gpd.GeoDataFrame) -> str:
    """A GeoDataFrame as RFC 7946 GeoJSON text (EPSG:4326, no feature ids)."""
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(CRS)
    return str(frame.to_json(drop_id=True, ensure_ascii=False))


def read_layer(path: Path, columns: Sequence[str] = ()) -> gpd.GeoDataFrame:
    """Read a GeoJSON layer written by :func:`write_layers`.

    ``columns`` are guaranteed to exist, so an empty layer (a corpus with no places yet)
    reads as an empty table of the right shape rather than one with no columns at all.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    frame = gpd.GeoDataFrame.from_features(data["features"], crs=CRS)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        frame = gpd.GeoDataFrame(
            frame.reindex(columns=[*frame.columns.drop("geometry"), *missing, "geometry"]),
            geometry="geometry",
            crs=CRS,
        )
    return frame


MANIFEST = "manifest.json"


def write_layers(out_dir: Path, files: Mapping[str, str]) -> None:
    """Write every ``name -> text`` file into ``out_dir``, each one atomically, and then
    :data:`MANIFEST` (the SHA-256 of each file) last.

    All content is produced before this is called, so a failing build never reaches it
    and the last good layers stay as they were.  Readers key their caches on the manifest,
    which changes only once the whole set is in place.
    """
    for name, text in files.items():
        atomic_write_text(out_dir / name, text)
    digests = {n: hashlib.sha256(t.encode("utf-8")).hexdigest() for n, t in files.items()}
    atomic_write_text(out_dir / MANIFEST, json.dumps({"files": digests}, indent=1) + "\n")
