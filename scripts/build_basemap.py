"""Build the bundled offline base map (``data/basemap/``) from the Natural Earth extracts.

Usage::

    python scripts/build_basemap.py [NE_DIR] [OUT_DIR]
    # defaults: ../shared/naturalearth  data/basemap

Like scripts/build_gazetteer.py, it reads the shared Natural Earth folder; the app reads the compact
files written here (``countries.geojson``, ``coastline.geojson``).  Both come from the 1:50m
layers, simplified with the same tolerance (so coast and land fill line up) and rounded to
3 decimals (~110 m); countries keep only ``name`` and ``iso_a2``.  Borders are Natural
Earth's de facto ones except where an admin-1 unit's ISO 3166-2 code names another country
(Crimea and Sevastopol are drawn in Ukraine).  The tolerance is chosen so
that the two files together stay near 1.1 MB: they are embedded in every rendered map.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import geopandas as gpd
import shapely

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SRC = Path(__file__).resolve().parent.parent.parent / "shared" / "naturalearth"
TOLERANCE = 0.05  # degrees (~5 km): invisible at the zoom levels where 1:50m data is used
GRID = 0.001  # 3 decimals


def _compact(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    geoms = gdf.geometry.simplify(TOLERANCE, preserve_topology=True)
    geoms = shapely.set_precision(geoms.values, GRID)
    out = gdf.copy()
    out["geometry"] = geoms
    return out[~out.geometry.is_empty].reset_index(drop=True)


def countries(src: Path) -> gpd.GeoDataFrame:
    """Country polygons with ``name`` and ``iso_a2`` ("" where Natural Earth has -99)."""
    gdf = gpd.read_file(src / "admin_0_countries_50m.geojson")
    iso = gdf["iso_a2_eh"].where(gdf["iso_a2_eh"].str.len() == 2, gdf["iso_a2"])
    gdf = gdf.assign(iso_a2=iso.where(iso.str.len() == 2, "").fillna(""))
    return _compact(_by_codes(gdf[["name", "iso_a2", "geometry"]], src))


def _by_codes(gdf: gpd.GeoDataFrame, src: Path) -> gpd.GeoDataFrame:
    """Move the admin-1 units whose codes name another country than Natural Earth's de facto
    one (Crimea and Sevastopol: UA-43, UA-40, drawn inside Russia) to the country of their
    codes, by the gazetteer's rule (``build_gazetteer.admin1_country``)."""
    from build_gazetteer import admin1_country  # the same rule as the gazetteer

    units = gpd.read_file(src / "admin_1_states_provinces_50m.geojson")
    code = units.apply(admin1_country, axis=1)
    moved = units[code != units["iso_a2"]]
    out = gdf.copy()
    for (de_facto, de_jure), group in moved.groupby([moved["iso_a2"], code[moved.index]]):
        area = shapely.union_all(group.geometry.values)
        src_rows, dst_rows = out["iso_a2"] == de_facto, out["iso_a2"] == de_jure
        if src_rows.sum() == 1 and dst_rows.sum() == 1:
            out.loc[src_rows, "geometry"] = out.loc[src_rows].geometry.difference(area)
            out.loc[dst_rows, "geometry"] = out.loc[dst_rows].geometry.union(area)
    return out


def coastline(src: Path) -> gpd.GeoDataFrame:
    """Coastline lines, no properties."""
    gdf = gpd.read_file(src / "coastline_50m.geojson")
    return _compact(gdf[["geometry"]])


def write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> int:
    """Write ``gdf`` as compact RFC 7946 GeoJSON (no ids, no whitespace); return its size."""
    data = json.loads(gdf.to_json(drop_id=True, to_wgs84=False))
    data.pop("bbox", None)
    for feature in data["features"]:
        feature.pop("bbox", None)
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)  # atomic: the old file stays whole until the new one is complete
    return len(text.encode("utf-8"))


def main(argv: list[str]) -> int:
    """Command-line entry point."""
    src = Path(argv[1]) if len(argv) > 1 else DEFAULT_SRC
    out = Path(argv[2]) if len(argv) > 2 else ROOT / "data" / "basemap"
    out.mkdir(parents=True, exist_ok=True)
    for name, gdf in (("countries", countries(src)), ("coastline", coastline(src))):
        size = write_geojson(gdf, out / f"{name}.geojson")
        print(f"{name}.geojson: {len(gdf)} features, {size / 1024:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
