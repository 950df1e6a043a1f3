"""Render the folium map offline and check assets, layers, escaping and coordinates."""

from __future__ import annotations

import json
import re
from pathlib import Path

import folium
import geopandas as gpd
import pytest
from shapely.geometry import Point

from geo import assets, mapview
from geo.errors import BadInput, DataFileError, GeoError
from geo.mapview import BaseMap, MapOptions, build_map, load_basemap
from geo.model import Excerpt

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
VENDOR = ROOT / "static" / "vendor"
NASTY_RAW = ("<img src=x onerror", "</script><script>alert", "`tick`")

TINY_BASEMAP = BaseMap(
    countries={
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "Testland", "iso_a2": "TL"},
                "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
            }
        ],
    },
    coastline={"type": "FeatureCollection", "features": []},
)


def _excerpts(value: str) -> tuple[Excerpt, ...]:
    """The fixture's quotes as the store gives them: Excerpt records."""
    return tuple(
        Excerpt(q["article_id"], q["title"], q["outlet"], q["date"], "", 0, q["sentence"],
                ((q["hl_start"], q["hl_end"]),))
        for q in json.loads(value)
    )  # fmt: skip


@pytest.fixture(scope="module")
def places() -> gpd.GeoDataFrame:
    frame = gpd.read_file(DATA / "mapview_places.geojson")
    frame["quotes"] = [_excerpts(v) for v in frame["quotes"]]
    frame["passages"] = [len(q) for q in frame["quotes"]]
    return frame


@pytest.fixture(scope="module")
def routes() -> gpd.GeoDataFrame:
    return gpd.read_file(DATA / "mapview_routes.geojson")


@pytest.fixture(scope="module")
def basemap() -> BaseMap:
    return load_basemap(ROOT / "data")


@pytest.fixture(scope="module")
def page(places: gpd.GeoDataFrame, routes: gpd.GeoDataFrame) -> str:
    return build_map(places, routes, TINY_BASEMAP).get_root().render()


def _script(page: str) -> str:
    """The inline map script (the last <script> block)."""
    return page.rsplit("<script>", 1)[1]


def _layer_control(page: str) -> tuple[list[str], list[str]]:
    block = re.search(r"base_layers : \{(.*?)\},\s*overlays :\s*\{(.*?)\},", page, re.S)
    assert block, "no layer control in the page"
    names = [re.findall(r'^\s*("(?:[^"\\]|\\.)*") :', part, re.M) for part in block.groups()]
    return [json.loads(n) for n in names[0]], [json.loads(n) for n in names[1]]


# -- assets -----------------------------------------------------------------------------------


def test_no_cdn_links_only_tile_templates(page: str) -> None:
    links = re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', page)
    assert links, "the page links no assets at all"
    assert all(link.startswith(assets.DEFAULT_ASSET_BASE + "/") for link in links), links
    urls = set(re.findall(r"https?://[^\s\"'`\\]+", page))
    tiles = {url for url, _ in mapview.TILE_LAYERS.values()}
    allowed = tiles | {"https://www.openstreetmap.org/copyright", "https://carto.com/attributions"}
    # leaflet-measure's own template mentions its issue tracker in a comment-like string.
    unexpected = {u for u in urls - allowed if not u.startswith("https://github.com/ljagis/")}
    assert not unexpected
    assert not any(u.endswith((".js", ".css")) for u in urls)


def test_every_vendored_file_exists_and_is_in_the_manifest() -> None:
    manifest = json.loads((VENDOR / "MANIFEST.json").read_text(encoding="utf-8"))
    listed = {f for pkg in manifest["packages"] for f in pkg["files"]}
    for rel in assets.VENDORED.values():
        assert (VENDOR / rel).is_file(), rel
        assert rel in listed, rel
    for pkg in manifest["packages"]:
        assert pkg["licence"] and pkg["version"], pkg["package"]
    assert not list(VENDOR.rglob("*.map")) and not list(VENDOR.rglob("*.tgz"))


def test_css_relative_urls_resolve_to_vendored_files() -> None:
    for css in VENDOR.rglob("*.css"):
        for ref in re.findall(r"url\(['\"]?([^'\")]+)['\"]?\)", css.read_text(encoding="utf-8")):
            if ref.startswith(("data:", "#")):
                continue
            assert (css.parent / ref).resolve().is_file(), f"{css.name}: {ref}"


def test_all_linked_assets_are_vendored(places: gpd.GeoDataFrame, routes: gpd.GeoDataFrame) -> None:
    page = build_map(places, routes, TINY_BASEMAP, MapOptions(cluster=True)).get_root().render()
    links = re.findall(r'(?:src|href)="(/app/static/vendor/[^"]+)"', page)
    assert any("markercluster" in link for link in links)
    for link in links:
        assert (VENDOR / link.removeprefix("/app/static/vendor/")).is_file(), link
    assert 'L.Icon.Default.imagePath = "/app/static/vendor/leaflet/images/"' in page


def test_asset_base_is_configurable(places: gpd.GeoDataFrame) -> None:
    opts = MapOptions(asset_base="/prefix/app/static/vendor/")
    page = build_map(places, None, TINY_BASEMAP, opts).get_root().render()
    assert '<script src="/prefix/app/static/vendor/leaflet/leaflet.js">' in page
    assert "/app/static/vendor/leaflet" not in page.replace("/prefix/app/static/vendor", "")


def test_unknown_asset_is_an_error() -> None:
    m = folium.Map(tiles=None)
    folium.plugins.Draw().add_to(m)
    with pytest.raises(GeoError, match="leaflet_draw_js"):
        assets.localize_assets(m)


# -- layers -----------------------------------------------------------------------------------


def test_offline_base_layer_is_first_and_default(page: str) -> None:
    base, _ = _layer_control(page)
    assert base == list(mapview.BASE_LAYERS)
    assert base[0] == "Offline (Natural Earth)"
    script = _script(page)
    # Online tile layers are created but not added to the map; the offline group is.
    for name in mapview.TILE_LAYERS:
        assert name in page
    tile_vars = re.findall(r"var (tile_layer_\w+) = L\.tileLayer", script)
    assert len(tile_vars) == 3
    assert all(f"{v}.addTo(" not in script for v in tile_vars)


def test_each_kind_group_and_route_is_an_overlay(page: str) -> None:
    _, overlays = _layer_control(page)
    groups = [label for label, _ in mapview.GROUP_STYLES.values()]
    assert overlays[: len(groups)] == [label.replace("&", "&amp;") for label in groups]
    assert len(overlays) == len(groups) + 2
    assert overlays[-1] == "Khasan–Rajin railway"
    assert overlays[-2].startswith("Northern Sea Route &#96; &lt;/script&gt;")


def test_hidden_overlays_and_base_layer_options(places: gpd.GeoDataFrame) -> None:
    opts = MapOptions(base_layer="OpenStreetMap", hidden_overlays={"Countries"})
    script = _script(build_map(places, None, TINY_BASEMAP, opts).get_root().render())
    osm = re.search(r"var (tile_layer_\w+) = L\.tileLayer\(\s*\"https://tile\.openstreet", script)
    assert osm and f"{osm.group(1)}.addTo(" in script
    with pytest.raises(BadInput, match="Google"):
        build_map(places, None, TINY_BASEMAP, MapOptions(base_layer="Google"))


def test_tile_error_notice_and_legend(page: str) -> None:
    assert 'on("tileerror"' in page
    assert json.dumps(mapview.TILE_NOTICE) in page
    assert "Cities \\u0026amp; ports\\u003c/div" in page  # legend html, JSON-encoded


def test_plugins_present(page: str) -> None:
    assert "L.control.fullscreen" in page
    assert "new L.Control.Measure(" in page and '"primaryLengthUnit": "kilometers"' in page
    assert "L.control.scale" in page


# -- escaping ---------------------------------------------------------------------------------


def test_nasty_strings_never_appear_raw(page: str) -> None:
    for raw in NASTY_RAW:
        assert raw not in page, raw
    assert page.count("</script>") == page.count("<script")
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#96;tick&#96;" in page and "&#36;{x}" in page and "&#92;u0041" in page
    assert "’quoted’ “double” &#x27;single&#x27; &quot;dq&quot;" in page


def test_backticks_cannot_close_template_literals(page: str) -> None:
    script = _script(page)
    for literal in re.findall(r"`(.*?)`", script, re.S):
        assert "${" not in literal
        assert "\\" not in literal


def test_popup_content(places: gpd.GeoDataFrame) -> None:
    korea = places[places["place_id"] == "gn:1873107"].iloc[0]
    popup = mapview.place_popup_html(korea)
    assert popup.count("<li") == mapview.MAX_QUOTES == 3
    assert "7 passages: the side panel lists them all" in popup
    assert "Pyongyang and <mark>North Korea</mark> signed." in popup
    assert "country · KP · 12 mentions" in popup
    assert "Summit — Outlet &lt;b&gt; — 2024-06-19" in popup


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, 3, "<mark>a&lt;b</mark> c"),
        (4, 5, "a&lt;b <mark>c</mark>"),
        (3, 99, "a&lt;b c"),
        (2, 2, "a&lt;b c"),
        (None, 1, "a&lt;b c"),
    ],
)
def test_highlight(start: object, end: object, expected: str) -> None:
    assert mapview.highlight("a<b c", [(start, end)]) == expected


# -- coordinates and click ids ----------------------------------------------------------------


def test_leaflet_gets_lat_lon(page: str) -> None:
    assert re.search(r"L\.circleMarker\(\s*\[43\.1, 131\.9\]", page)
    assert not re.search(r"L\.circleMarker\(\s*\[131\.9, 43\.1\]", page)


def test_route_across_antimeridian_stays_continuous(page: str) -> None:
    line = re.search(r"L\.polyline\(\s*(\[\[43\.1, 131\.9\].*?\]\])", page, re.S)
    assert line, "Northern Sea Route not drawn"
    coords = json.loads(line.group(1))
    assert coords == [[43.1, 131.9], [45.0, 150.0], [55.0, 170.0], [60.5, 185.2], [65.8, 190.5]]
    multi = re.search(r"L\.polyline\(\s*(\[\[\[42\.43, 130\.64\].*?\]\]\])", page, re.S)
    assert multi and len(json.loads(multi.group(1))) == 2


def test_markers_carry_their_place_id(page: str, places: gpd.GeoDataFrame) -> None:
    tags = re.findall(r"(circle_marker_\w+)\.feature = (\{.*?\});", page)
    ids = [json.loads(tag)["properties"]["place_id"] for _, tag in tags]
    assert sorted(ids) == sorted(places["place_id"])
    assert '"route_id": "r-bering"' in page


def test_clicked_ids_from_st_folium_value() -> None:
    value = {
        "last_active_drawing": {
            "type": "Feature",
            "properties": {"place_id": "gn:2013348", "kind": "place"},
            "geometry": {"type": "Point", "coordinates": [131.9, 43.1]},
        },
        "last_object_clicked_count": 2,
    }
    assert mapview.clicked_place_id(value) == "gn:2013348"
    assert mapview.clicked_route_id(value) is None
    assert mapview.clicked_place_id(None) is None
    assert mapview.clicked_place_id({"last_active_drawing": None}) is None
    assert mapview.RETURNED_OBJECTS == ("last_active_drawing", "last_object_clicked_count")


def test_selected_place_is_ringed_and_centered(places: gpd.GeoDataFrame) -> None:
    m = build_map(places, None, TINY_BASEMAP, MapOptions(selected="gn:2013348"))
    page = m.get_root().render()
    assert m.location == [43.1, 131.9]
    rings = [
        json.loads(o)
        for o in re.findall(r"L\.circleMarker\(\s*\[43\.1, 131\.9\],\s*(\{.*?\})\s*\)", page, re.S)
    ]
    assert len(rings) == 2
    assert any(
        o.get("className") == "news-atlas-selected" and o["interactive"] is False for o in rings
    )
    assert '"restore_view": false' in page


# -- base map and payload ---------------------------------------------------------------------


def test_load_basemap(basemap: BaseMap) -> None:
    names = {
        f["properties"]["name"]: f["properties"]["iso_a2"] for f in basemap.countries["features"]
    }
    assert names["North Korea"] == "KP" and names["Russia"] == "RU"
    assert basemap.coastline["features"]
    sizes = sum(p.stat().st_size for p in (ROOT / "data" / "basemap").glob("*.geojson"))
    assert sizes < 1.5e6


def test_basemap_draws_crimea_in_ukraine_as_its_iso_code_says(basemap: BaseMap) -> None:
    from shapely.geometry import Point, shape

    def country_at(lon: float, lat: float) -> str:
        for f in basemap.countries["features"]:
            if shape(f["geometry"]).contains(Point(lon, lat)):
                return str(f["properties"]["iso_a2"])
        return ""

    assert country_at(34.1, 45.3) == "UA"  # Simferopol (Natural Earth's de facto view: RU)
    assert country_at(33.53, 44.6) == "UA"  # Sevastopol
    assert country_at(37.6, 55.75) == "RU"  # Moscow
    assert country_at(36.6, 50.6) == "RU"  # Belgorod, across the Ukrainian border


def test_load_basemap_errors(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="build_basemap"):
        load_basemap(tmp_path)
    (tmp_path / "basemap").mkdir()
    for name in ("countries", "coastline"):
        (tmp_path / "basemap" / f"{name}.geojson").write_text('{"type": "Feature"}')
    with pytest.raises(DataFileError, match="FeatureCollection"):
        load_basemap(tmp_path)


def test_payload_for_sixty_markers(places: gpd.GeoDataFrame, basemap: BaseMap) -> None:
    many = gpd.GeoDataFrame(
        [places.iloc[i % len(places)].to_dict() for i in range(60)], crs="EPSG:4326"
    )
    many["place_id"] = [f"x:{i}" for i in range(60)]
    many["geometry"] = [Point(100 + i * 0.5, 30 + i * 0.3) for i in range(60)]
    page = build_map(many, None, basemap).get_root().render()
    assert page.count("L.circleMarker(") == 60
    assert len(page.encode("utf-8")) < 1.6e6


def test_panes_keep_places_clickable_above_routes(page: str) -> None:
    """Routes (overlayPane, z 400) must not cover places; the base map lies under both."""
    panes = dict(re.findall(r'createPane\(\s*"([\w-]+)"\);\s*\S+\.style\.zIndex = (\d+);', page))
    assert int(panes[mapview.BASEMAP_PANE]) < 400 < int(panes[mapview.PLACES_PANE]) < 600
    assert page.count(f'"pane": "{mapview.PLACES_PANE}"') == 7


def test_basemap_fetched_by_url_keeps_the_map_small(
    places: gpd.GeoDataFrame, basemap: BaseMap
) -> None:
    inline = build_map(places, None, basemap).get_root().render()
    linked = (
        build_map(
            places, None, BaseMap(basemap.countries, basemap.coastline, "/app/static/basemap")
        )
        .get_root()
        .render()
    )
    assert 'fetch("/app/static/basemap/countries.geojson")' in linked
    assert 'fetch("/app/static/basemap/coastline.geojson")' in linked
    assert "L.canvas(" in linked
    assert "fetch(" not in inline
    assert len(linked.encode("utf-8")) < len(inline.encode("utf-8")) - 900_000


def test_publish_basemap_copies_once_and_reports(tmp_path: Path) -> None:
    static = tmp_path / "static"
    assert assets.publish_basemap(ROOT / "data", static)
    copied = static / "basemap" / "countries.geojson"
    assert copied.read_bytes() == (ROOT / "data" / "basemap" / "countries.geojson").read_bytes()
    stamp = copied.stat().st_mtime_ns
    assert assets.publish_basemap(ROOT / "data", static)
    assert copied.stat().st_mtime_ns == stamp  # unchanged files are not rewritten
    assert not assets.publish_basemap(tmp_path / "nowhere", tmp_path / "static2")


def test_esc_removes_bidi_controls_and_escapes() -> None:
    shown = mapview.esc("Outlet \u202eevil\u202c <b>'x'</b> `t` $y")
    assert "\u202e" not in shown and "\u202c" not in shown
    assert shown == "Outlet evil &lt;b&gt;&#x27;x&#x27;&lt;/b&gt; &#96;t&#96; &#36;y"
