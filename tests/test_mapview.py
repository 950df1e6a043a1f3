"""Render the folium map offline and check assets, layers, escaping and coordinates."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

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


#: One kind group's places as the map script carries them (one line of JSON each).
_ROWS = re.compile(r"^\s*NewsAtlas\.addPlaces\((\w+), (.*)\);$", re.M)
#: The quoted articles' titles.
_TITLES = re.compile(r"^\s*NewsAtlas\.articles = (.*);$", re.M)


def _payloads(page: str) -> list[dict[str, Any]]:
    return [json.loads(data) for _, data in _ROWS.findall(page)]


def _rows(page: str) -> dict[str, dict[str, Any]]:
    """Place id -> its row as a dict of :data:`mapview.PLACE_FIELDS`."""
    rows = [row for payload in _payloads(page) for row in payload["rows"]]
    return {r[0]: dict(zip(mapview.PLACE_FIELDS, r, strict=True)) for r in rows}


def _without_data(page: str) -> str:
    return _TITLES.sub("", _ROWS.sub("", page))


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
        assert raw not in _without_data(page), raw
    for raw in ("</script>", "<img", "<script>alert"):
        assert raw not in "".join(_ROWS.findall(page)[0]) + "".join(_TITLES.findall(page)), raw
    assert page.count("</script>") == page.count("<script")
    # the route popups are HTML made on the server: escaped there
    assert "&#96;tick&#96;" in page and "&#36;{x}" in page and "&#92;u0041" in page


def test_place_data_is_script_safe_json_that_decodes_to_the_text(page: str) -> None:
    rows = _rows(page)
    rason = rows["gn:2039557"]
    assert rason["name"] == "Rason </script><img src=x onerror=alert(1)>"
    text, start, end, art, _ = rason["quotes"][0]
    assert "`tick` ${x} \\u0041 </script><script>alert(1)</script>" in text
    assert text[start:end] == "Rason" or start == end
    titles = json.loads(_TITLES.findall(page)[0])
    assert titles[art].startswith("Officials said ’quoted’ “double” 'single' \"dq\" `tick`")
    data = "".join(_ROWS.findall(page)[0][1] for _ in range(1)) + _TITLES.findall(page)[0]
    assert "<" not in data and ">" not in data and "&" not in data


def test_script_json_escapes_what_could_end_a_script() -> None:
    nasty = "a</script><!-- & \u2028 \u2029 `${x}`"
    text = mapview.script_json({"k": nasty})
    assert json.loads(text) == {"k": nasty}
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        assert raw not in text


def test_the_browser_builds_popups_from_text_only() -> None:
    """Popups and tooltips are DOM made with textContent: no innerHTML from the data."""
    js = mapview.PLACES_JS
    assert "textContent" in js
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js
    assert "bindTooltip(function" in js and "bindPopup(function" in js


def _by_id(rows: list[list[Any]]) -> dict[str, dict[str, Any]]:
    return {r[0]: dict(zip(mapview.PLACE_FIELDS, r, strict=True)) for r in rows}


def test_place_rows_carry_dates_counts_and_quotes(places: gpd.GeoDataFrame) -> None:
    frame = places.assign(first_date="2023-07-28", last_date="2024-06")
    rows = _by_id(mapview.place_rows(frame))
    korea = rows["gn:1873107"]
    assert (korea["name"], korea["kind"], korea["country"]) == ("North Korea", "country", "KP")
    assert (korea["mentions"], korea["passages"]) == (12, 7)
    assert (korea["first"], korea["last"]) == ("2023-07-28", "2024-06")
    assert len(korea["quotes"]) == mapview.MAX_QUOTES == 3
    text, start, end, art, date = korea["quotes"][0]
    assert text[start:end] == "North Korea" and (art, date) == ("a1", "2024-06-19")
    assert rows["gn:2017370"]["quotes"] == []  # no quote: the popup points to the panel


def test_second_and_third_quotes_only_while_the_budget_lasts(places: gpd.GeoDataFrame) -> None:
    rows = _by_id(mapview.place_rows(places, budget=0))
    assert all(len(r["quotes"]) == (1 if r["passages"] else 0) for r in rows.values())
    some = _by_id(mapview.place_rows(places, budget=40))
    assert len(some["gn:1873107"]["quotes"]) == 2  # "Pyongyang and North Korea signed." fits


@pytest.mark.parametrize(
    ("sentence", "span"),
    [
        ("short one with Place in it", (15, 20)),
        ("word " * 60 + "Place" + " word" * 60, (300, 305)),
        ("Place" + " word" * 80, (0, 5)),
        ("word " * 80 + "Place", (400, 405)),
    ],
)
def test_quote_window_keeps_the_mark_inside(sentence: str, span: tuple[int, int]) -> None:
    text, start, end = mapview.quote_window(sentence, [span])
    assert text[start:end] == "Place"
    assert len(text) <= mapview.QUOTE_CHARS + 2
    assert text.strip("…") in sentence


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
    vlad = _rows(page)["gn:2013348"]
    assert (vlad["lat"], vlad["lon"]) == (43.1, 131.9)
    assert "L.circleMarker([p.lat, p.lon]" in mapview.PLACES_JS
    assert '"coordinates": [p.lon, p.lat]' not in mapview.PLACES_JS  # GeoJSON: (lon, lat)
    assert "coordinates: [p.lon, p.lat]" in mapview.PLACES_JS


def test_route_across_antimeridian_stays_continuous(page: str) -> None:
    line = re.search(r"L\.polyline\(\s*(\[\[43\.1, 131\.9\].*?\]\])", page, re.S)
    assert line, "Northern Sea Route not drawn"
    coords = json.loads(line.group(1))
    assert coords == [[43.1, 131.9], [45.0, 150.0], [55.0, 170.0], [60.5, 185.2], [65.8, 190.5]]
    multi = re.search(r"L\.polyline\(\s*(\[\[\[42\.43, 130\.64\].*?\]\]\])", page, re.S)
    assert multi and len(json.loads(multi.group(1))) == 2


def test_markers_carry_their_place_id(page: str, places: gpd.GeoDataFrame) -> None:
    assert sorted(_rows(page)) == sorted(places["place_id"])
    for payload, (label, colour) in zip(
        _payloads(page), mapview.GROUP_STYLES.values(), strict=True
    ):
        assert payload["colour"] == colour, label
    assert "properties: {place_id: p.id" in mapview.PLACES_JS
    assert '"route_id": "r-bering"' in page


def test_clicked_ids_from_st_folium_value() -> None:
    value = {
        "last_active_drawing": {
            "type": "Feature",
            "properties": {"place_id": "gn:2013348", "kind": "place", "click": "17-1"},
            "geometry": {"type": "Point", "coordinates": [131.9, 43.1]},
        },
    }
    assert mapview.clicked_place_id(value) == "gn:2013348"
    assert mapview.click_stamp(value) == "17-1"
    assert mapview.clicked_route_id(value) is None
    assert mapview.clicked_place_id(None) is None
    assert mapview.click_stamp({"last_active_drawing": None}) is None
    assert mapview.RETURNED_OBJECTS == ("last_active_drawing",)


def test_selected_place_is_ringed_and_centered(places: gpd.GeoDataFrame) -> None:
    m = build_map(places, None, TINY_BASEMAP, MapOptions(selected="gn:2013348"))
    page = m.get_root().render()
    assert m.location == [43.1, 131.9]
    rings = [
        json.loads(o)
        for o in re.findall(r"L\.circleMarker\(\s*\[43\.1, 131\.9\],\s*(\{.*?\})\s*\)", page, re.S)
    ]
    assert len(rings) == 1
    assert rings[0].get("className") == "news-atlas-selected" and rings[0]["interactive"] is False
    assert '"restore_view": false' in page


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


def test_load_basemap_reads_files_once_while_they_stay_the_same(tmp_path: Path) -> None:
    folder = tmp_path / "basemap"
    folder.mkdir()
    for name in ("countries", "coastline"):
        (folder / f"{name}.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    first = load_basemap(tmp_path)
    assert load_basemap(tmp_path) is first  # read while the server starts, reused by the page
    (folder / "coastline.geojson").write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
        '"geometry": {"type": "Point", "coordinates": [1, 2]}}]}'
    )
    again = load_basemap(tmp_path)
    assert again is not first and len(again.coastline["features"]) == 1


def _many(places: gpd.GeoDataFrame, n: int) -> gpd.GeoDataFrame:
    many = gpd.GeoDataFrame(
        [places.iloc[i % len(places)].to_dict() for i in range(n)], crs="EPSG:4326"
    )
    many["place_id"] = [f"x:{i}" for i in range(n)]
    many["geometry"] = [Point(-170 + (i % 340), -60 + (i // 340) * 0.1) for i in range(n)]
    return many


def test_places_are_data_not_folium_objects(places: gpd.GeoDataFrame) -> None:
    """No folium object, template or popup HTML per place: the size grows by the data only."""
    m = build_map(_many(places, 60), None, TINY_BASEMAP)
    page = _without_data(m.get_root().render())
    assert len(_rows(m.get_root().render())) == 60
    assert page.count("L.circleMarker(") == page.count("bindPopup(") == 1  # in PLACES_JS
    assert len(list(m._children)) < 30


def test_ten_thousand_places_stay_within_the_budget_and_cluster(
    places: gpd.GeoDataFrame,
) -> None:
    many = _many(places, 10_000)
    page = build_map(many, None, TINY_BASEMAP).get_root().render()
    assert len(page.encode("utf-8")) < 3e6
    assert all(p["cluster"] for p in _payloads(page))
    assert "leaflet.markercluster.js" in page
    few = build_map(_many(places, 100), None, TINY_BASEMAP).get_root().render()
    assert not any(p["cluster"] for p in _payloads(few))
    forced = build_map(_many(places, 100), None, TINY_BASEMAP, MapOptions(cluster=True))
    assert all(p["cluster"] for p in _payloads(forced.get_root().render()))


def test_panes_keep_places_clickable_above_routes(page: str) -> None:
    """Routes (overlayPane, z 400) must not cover places; the base map lies under both."""
    panes = dict(re.findall(r'createPane\(\s*"([\w-]+)"\);\s*\S+\.style\.zIndex = (\d+);', page))
    assert int(panes[mapview.BASEMAP_PANE]) < 400 < int(panes[mapview.PLACES_PANE]) < 600
    assert {p["pane"] for p in _payloads(page)} == {mapview.PLACES_PANE}
    assert "pane: style.pane" in mapview.PLACES_JS


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
    assert "/app/static/basemap" not in inline
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


def test_one_place_is_fitted_at_a_bounded_zoom(places: gpd.GeoDataFrame) -> None:
    """Without a tile layer the map has no maximum zoom: one place would fit at infinity."""
    page = build_map(places.iloc[:1], None, TINY_BASEMAP).get_root().render()
    assert re.search(
        r'fitBounds\(\s*\[\[43\.1, 131\.9\], \[43\.1, 131\.9\]\],\s*\{[^}]*"maxZoom": 8', page
    )


def test_legend_shows_marker_sizes() -> None:
    legend = mapview.legend_html()
    for n in mapview.SIZE_STEPS:
        d = round(2 * min(4 + 3 * n**0.5, 24))  # radius capped at 24 px
        assert f"width:{d}px;height:{d}px" in legend and f"</span>{n}" in legend


def test_map_has_a_max_zoom_for_the_clusters(places: gpd.GeoDataFrame) -> None:
    """markercluster throws "Map has no maxZoom specified" on a map without tile layers."""
    page = build_map(places, None, TINY_BASEMAP, MapOptions(cluster=True)).get_root().render()
    assert re.search(r'"maxZoom": 18', page)


def test_a_click_is_reported_at_once_and_once() -> None:
    """The click goes to Streamlit without st_folium's 250 ms debounce, and st_folium's own
    (debounced) report then finds the same value already sent."""
    js = mapview.PLACES_JS
    assert "window.Streamlit.setComponentValue(data)" in js
    assert "g.previous_data = data" in js
    assert 'g.returned_objects.join() !== "last_active_drawing"' in js


def test_places_fetched_from_a_url_leave_the_map_script_small(places: gpd.GeoDataFrame) -> None:
    many = _many(places, 2000)
    url = "/app/static/places/abc.json"
    page = build_map(many, None, TINY_BASEMAP, MapOptions(places_url=url)).get_root().render()
    payloads = _payloads(page)
    assert [p["url"] for p in payloads] == [url] * len(mapview.GROUP_STYLES)
    assert [p["group"] for p in payloads] == list(mapview.GROUP_STYLES)
    assert all("rows" not in p for p in payloads)
    assert len(page.encode("utf-8")) < 60_000
    data = json.loads(mapview.place_data(many))
    ids = [r[0] for rows in data["groups"].values() for r in rows]
    assert sorted(ids) == sorted(many["place_id"])
    assert set(data["groups"]) == set(mapview.GROUP_STYLES)
    quoted = {q[3] for rows in data["groups"].values() for r in rows for q in r[-1]}
    assert quoted and set(data["articles"]) == quoted


def test_publish_places_names_files_by_content_and_keeps_the_newest(tmp_path: Path) -> None:
    static = tmp_path / "static"
    name = assets.publish_places('{"groups": {}}', static)
    assert name and (static / "places" / name).read_text() == '{"groups": {}}'
    assert assets.publish_places('{"groups": {}}', static) == name
    names = set()
    for i in range(assets.KEEP_PLACE_FILES + 8):
        names.add(assets.publish_places(f'{{"n": {i}}}', static))
        assets.keep_places(name, static)  # a map still shows it
    assert len(names) == assets.KEEP_PLACE_FILES + 8
    files = list((static / "places").glob("*.json"))
    assert len(files) == assets.KEEP_PLACE_FILES and (static / "places" / name) in files
    (tmp_path / "ro").write_text("a file, not a folder")
    assert assets.publish_places("{}", tmp_path / "ro") is None


def test_publish_bundle_joins_the_map_scripts_in_their_order(
    places: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    static = tmp_path / "static"
    static.mkdir()
    (static / "vendor").symlink_to(ROOT / "static" / "vendor")
    m = build_map(_many(places, 2500), None, TINY_BASEMAP, MapOptions(places_url="/x.json"))
    js = (src for e in _elements(m) for _, src in getattr(e, "default_js", []))
    links = list(dict.fromkeys(js))
    assert len(links) >= 4  # Leaflet, markercluster, fullscreen, measure, ...
    name = assets.publish_bundle(links, static)
    assert name and assets.publish_bundle(links, static) == name  # named by content
    text = (static / "bundles" / name).read_text(encoding="utf-8")
    files = [static / "vendor" / url.removeprefix("/app/static/vendor/") for url in links]
    assert text == "".join(f"{f.read_text(encoding='utf-8')}\n;\n" for f in files)
    assert text.index("Leaflet 1.9") < text.index("Leaflet.markercluster")
    assert assets.publish_bundle([*links, "https://cdn.example/x.js"], static) is None
    (tmp_path / "ro").write_text("a file, not a folder")
    assert assets.publish_bundle(links, tmp_path / "ro") is None


def _elements(element: Any) -> list[Any]:
    return [element, *(e for c in element._children.values() for e in _elements(c))]
