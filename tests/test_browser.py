"""The served dashboard in a real headless Chromium (Playwright, Debian's /usr/bin/chromium).

Every wait is on page state (selectors, ``wait_for_function``) with a timeout, never a sleep.
Requests that would leave 127.0.0.1 are recorded and aborted (tests stay offline); only tile
requests of the online base layers may appear among them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MAP_IFRAME,
    ROOT,
    AtlasData,
    is_local,
    is_tile,
    offline,
    serve_app,
    wait_healthy,
)
from playwright.sync_api import Frame, Page, expect, sync_playwright
from shapely.geometry import Point
from test_mapview import TINY_BASEMAP

from geo import dashboard, mapview
from geo.model import Excerpt

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "tests" / "artifacts"
QUOTE = "armoured train are expected to arrive in the port of Vladivostok"
TRAIN_ROUTE = "kim-armoured-train-2023"
TRAIN_LABEL = "armoured train to the Russian Far East"
TIMEOUT = 30_000

#: Counts the connected SVG paths of the layers whose GeoJSON feature has ``key == value``.
PATHS_JS = """([key, value, shown]) => {
    let n = 0;
    window.map.eachLayer((l) => {
        const p = l.feature && l.feature.properties;
        if (p && p[key] === value && l._path && l._path.isConnected) { n += 1; }
    });
    return shown ? n > 0 : n === 0;
}"""
#: Tags the SVG path of every place/route layer with data-place-id / data-route-id.
TAG_JS = """() => {
    let n = 0;
    window.map.eachLayer((l) => {
        const p = l.feature && l.feature.properties;
        if (!p || !l._path) { return; }
        if (p.place_id) { l._path.setAttribute("data-place-id", p.place_id); n += 1; }
        if (p.route_id) { l._path.setAttribute("data-route-id", p.route_id); }
    });
    return n;
}"""


#: From the app's page: whether the map (in the component iframe, same origin) has drawn a
#: marker for a place id (``shown``) or not.  The iframe is looked up afresh each time: a
#: filter change mounts a new one.
MARKER_JS = """([placeId, shown]) => {
    const frame = document.querySelector('iframe[title="streamlit_folium.st_folium"]');
    const win = frame && frame.contentWindow;
    if (!win || !win.map || !win.NewsAtlas || !win.NewsAtlas.count) { return false; }
    let found = false;
    win.map.eachLayer((l) => {
        const p = l.feature && l.feature.properties;
        if (p && p.place_id === placeId) { found = true; }
    });
    return found === shown;
}"""


#: In the map's frame: its places are drawn (markers or clusters), in a frame at its full
#: height (the component sets it after the first render: until then, zooming to a place
#: centres it in a sliver of a frame that the legend and other markers cover).
DRAWN_JS = """() => window.map && window.NewsAtlas && window.NewsAtlas.count > 0
    && document.querySelectorAll('path.leaflet-interactive, .marker-cluster').length > 0
    && window.innerHeight >= 600 && window.map.getSize().y >= 600"""


def runs(page: Page) -> int:
    """Full script runs of the page so far (the app's hidden counter)."""
    return int(page.locator("#news-atlas-runs").get_attribute("data-runs") or 0)


def map_frame(page: Page) -> Frame:
    """The st_folium iframe, once its Leaflet map has drawn its place markers."""
    handle = page.wait_for_selector(MAP_IFRAME, timeout=TIMEOUT)
    frame = handle.content_frame()
    assert frame is not None
    frame.wait_for_selector(".leaflet-container", timeout=TIMEOUT)
    frame.wait_for_function(DRAWN_JS, timeout=TIMEOUT)
    return frame


def click_place(page: Page, place_id: str, lat: float, lon: float) -> Frame:
    """Zoom the map to a place (no rerun) and click its marker like a user."""
    frame = zoom_to_place(page, place_id, lat, lon)
    frame.locator(f'path[data-place-id="{place_id}"]').click(timeout=TIMEOUT)
    return frame


def zoom_to_place(page: Page, place_id: str, lat: float, lon: float) -> Frame:
    """Zoom the map to a place, close enough that no cluster hides its marker, with its
    popup closed; the marker's path carries ``data-place-id``."""
    frame = map_frame(page)
    frame.evaluate(
        "([lat, lon]) => { window.map.closePopup(); window.map.setView([lat, lon], 10, "
        "{animate: false}); }",
        [lat, lon],
    )
    frame.wait_for_function(
        "(id) => (" + TAG_JS + ")() && document.querySelector(`path[data-place-id='${id}']`)",
        arg=place_id,
        timeout=TIMEOUT,
    )
    expect(frame.locator(".leaflet-popup")).to_have_count(0, timeout=TIMEOUT)  # faded out
    return frame


#: Opens the popup and tooltip of the only place of a map file.
OPEN_POPUP_JS = """() => {
    let marker = null;
    Object.values(window).forEach((v) => {
        if (v instanceof L.Map) {
            v.eachLayer((l) => { if (l.feature && l.feature.properties.place_id) { marker = l; } });
        }
    });
    marker.openTooltip();
    marker.openPopup();
}"""
#: Fits the map to a route and returns the container point of a vertex half-way along it.
ROUTE_POINT_JS = """(routeId) => {
    const map = window.map;
    let found = null;
    map.eachLayer((l) => {
        const p = l.feature && l.feature.properties;
        if (p && p.route_id === routeId && l.getLatLngs) { found = l; }
    });
    map.eachLayer((l) => { if (l.closePopup) { l.closePopup(); } });
    map.closePopup();
    map.fitBounds(found.getBounds(), {animate: false, padding: [40, 40]});
    const pts = found.getLatLngs().flat(Infinity);
    const pt = map.latLngToContainerPoint(pts[Math.floor(pts.length / 2)]);
    return {x: pt.x, y: pt.y};
}"""


def click_route(page: Page, route_id: str) -> None:
    """Fit the map to a route (no rerun) and click on its line like a user."""
    frame = map_frame(page)
    point = frame.evaluate(ROUTE_POINT_JS, route_id)
    expect(frame.locator(".leaflet-popup")).to_have_count(0, timeout=TIMEOUT)  # faded out
    frame.locator(".leaflet-container").click(position=point, timeout=TIMEOUT)


def panel(page: Page, attr: str, value: str) -> Any:
    """The side panel of a place or route, once shown."""
    locator = page.locator(f".news-atlas-panel[{attr}='{value}']")
    locator.wait_for(timeout=TIMEOUT)
    return locator


def toggle_overlay(frame: Frame, label: str, key: str, value: str) -> None:
    """Uncheck then recheck an overlay in the layer control; its paths go and come back."""
    frame.locator(".leaflet-control-layers").hover()
    box = frame.locator(".leaflet-control-layers-overlays label", has_text=label).locator("input")
    assert frame.evaluate(PATHS_JS, [key, value, True])
    box.uncheck()
    frame.wait_for_function(PATHS_JS, arg=[key, value, False], timeout=TIMEOUT)
    box.check()
    frame.wait_for_function(PATHS_JS, arg=[key, value, True], timeout=TIMEOUT)


@pytest.fixture(scope="module")
def browser_page(atlas: AtlasData) -> Iterator[tuple[Page, list[str]]]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Served as `make run` serves it: python -m geo.serve (streamlit run app.py, preloaded).
    with serve_app(atlas.env, ARTIFACTS / "streamlit.log", preload=True) as (url, proc):
        wait_healthy(url, proc)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            requests: list[str] = []
            page.on("request", lambda req: requests.append(req.url))

            page.route("**/*", offline)
            page.goto(url, timeout=TIMEOUT)
            try:
                yield page, requests
            finally:
                page.screenshot(path=str(ARTIFACTS / "dashboard.png"))
                browser.close()


def test_click_marker_popup_and_side_panel(
    browser_page: tuple[Page, list[str]], atlas: AtlasData
) -> None:
    page, _ = browser_page
    lay = dashboard.load_layers(atlas.store)
    vlad = lay.places[lay.places["name"] == "Vladivostok"].iloc[0]
    map_frame(page)
    assert runs(page) == 1, "the page opens with one script run"
    frame = click_place(page, vlad["place_id"], vlad["lat"], vlad["lon"])
    page.screenshot(path=str(ARTIFACTS / "click.png"))
    popup = frame.locator(".leaflet-popup-content")
    expect(popup).to_contain_text(QUOTE, timeout=TIMEOUT)
    expect(popup).to_contain_text("Mentioned 2023-09")  # first and last: September 2023
    side = panel(page, "data-place-id", vlad["place_id"])
    expect(side).to_contain_text(QUOTE, timeout=TIMEOUT)
    assert runs(page) == 1, "a click reruns the map-and-panel fragment, not the page"
    expect(side).to_contain_text("Kim's armoured train heads for Vladivostok")
    expect(side.locator("mark").first).to_have_text("Vladivostok")

    # a route click shows the route, and a second click on the marker brings the place back
    click_route(page, TRAIN_ROUTE)
    expect(panel(page, "data-route-id", TRAIN_ROUTE)).to_contain_text("rail")
    click_place(page, vlad["place_id"], vlad["lat"], vlad["lon"])
    expect(panel(page, "data-place-id", vlad["place_id"])).to_contain_text(QUOTE)

    # after a search the map is mounted anew; clicking the marker still selects it
    search = page.get_by_label("Find a place")
    search.fill("moscow")
    search.press("Enter")
    moscow = lay.places[lay.places["name"] == "Moscow"].iloc[0]["place_id"]
    panel(page, "data-place-id", moscow)
    click_place(page, vlad["place_id"], vlad["lat"], vlad["lon"])
    expect(panel(page, "data-place-id", vlad["place_id"])).to_contain_text(QUOTE)
    page.screenshot(path=str(ARTIFACTS / "panel.png"))


def test_layer_control_and_base_layers(
    browser_page: tuple[Page, list[str]], atlas: AtlasData
) -> None:
    page, requests = browser_page
    lay = dashboard.load_layers(atlas.store)
    vlad = lay.places[lay.places["name"] == "Vladivostok"].iloc[0]["place_id"]
    frame = map_frame(page)
    frame.evaluate("() => { window.map.setView([43, 131], 5, {animate: false}); }")
    toggle_overlay(frame, TRAIN_LABEL, "route_id", TRAIN_ROUTE)
    toggle_overlay(frame, "Cities & ports", "place_id", vlad)
    frame.locator(".leaflet-control-layers").hover()
    frame.locator(".leaflet-control-layers-base label", has_text="CartoDB Positron").click()
    notice = frame.locator(".news-atlas-tile-notice")
    expect(notice).to_be_visible(timeout=TIMEOUT)  # tiles are aborted: the notice shows
    frame.locator(".leaflet-control-layers").hover()
    frame.locator(".leaflet-control-layers-base label", has_text="Offline").click()
    expect(notice).to_have_count(0, timeout=TIMEOUT)
    outside = [url for url in requests if not is_local(url)]
    assert any(is_tile(url) for url in outside), "switching the base layer requested tiles"
    assert [url for url in outside if not is_tile(url)] == []


def test_date_range_takes_places_away_and_back(
    browser_page: tuple[Page, list[str]], atlas: AtlasData
) -> None:
    page, _ = browser_page
    lay = dashboard.load_layers(atlas.store)
    vlad = lay.places[lay.places["name"] == "Vladivostok"].iloc[0]["place_id"]
    map_frame(page)
    page.wait_for_function(MARKER_JS, arg=[vlad, True], timeout=TIMEOUT)
    high = page.locator('input[aria-label="Dates — end"]')
    high.focus()
    high.press("Home")  # down to the low end: July 2023, before Kim's visit
    expect(high).to_have_attribute("aria-valuetext", "2023-07", timeout=TIMEOUT)
    page.wait_for_function(MARKER_JS, arg=[vlad, False], timeout=TIMEOUT)
    summer = dashboard.filter_places(lay, dashboard.Filters(months=("2023-07", "2023-07")))
    caption = page.get_by_text(" places · ", exact=False).first
    expect(caption).to_contain_text(f"{len(summer)} places", timeout=TIMEOUT)
    high.focus()
    high.press("End")
    page.wait_for_function(MARKER_JS, arg=[vlad, True], timeout=TIMEOUT)
    expect(caption).to_contain_text(f"{len(lay.places)} places", timeout=TIMEOUT)


def test_popups_and_tooltips_show_nasty_text_as_text(
    browser_page: tuple[Page, list[str]], tmp_path: Path
) -> None:
    """A map file with adversarial names and quotes, opened from disk: the popup shows
    them literally and runs nothing."""
    page, _ = browser_page
    vendor = (ROOT / "static" / "vendor").as_uri()
    nasty = "Rason ' \" ` </script><img src=x onerror=window.__pwned=1> ${x}"
    places = gpd.GeoDataFrame(
        {"place_id": ["x:1"], "name": [nasty], "kind": ["city"], "group": ["city"],
         "country": ["<b>KP</b>"], "mentions": [2], "passages": [2],
         "first_date": ["2023-09"], "last_date": ["2024-06"],
         "quotes": [(Excerpt("a1", nasty, "", "2023-09", "", 0, nasty + " said.", ((0, 5),)),)]},
        geometry=[Point(130.3, 42.25)], crs="EPSG:4326",
    )  # fmt: skip
    m = mapview.build_map(places, None, TINY_BASEMAP, mapview.MapOptions(asset_base=vendor))
    html_file = tmp_path / "map.html"
    m.save(str(html_file))
    browser = page.context.browser
    assert browser is not None
    other = browser.new_page()
    try:
        other.route("http*://**/*", lambda route: route.abort())
        other.goto(html_file.as_uri())
        other.wait_for_function("() => window.NewsAtlas && window.NewsAtlas.count === 1")
        other.evaluate(OPEN_POPUP_JS)
        content = other.locator(".leaflet-popup-content")
        expect(content).to_contain_text(nasty, timeout=TIMEOUT)
        expect(content).to_contain_text("<b>KP</b>")
        assert content.locator("img, script, b > b").count() == 0
        assert other.evaluate("() => window.__pwned") is None
    finally:
        other.close()


def test_screenshot(browser_page: tuple[Page, list[str]]) -> None:
    page, _ = browser_page
    map_frame(page)
    path = Path(ARTIFACTS / "dashboard.png")
    page.screenshot(path=str(path), full_page=False)
    assert path.stat().st_size > 10_000
