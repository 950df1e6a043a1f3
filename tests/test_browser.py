"""The served dashboard in a real headless Chromium (Playwright, Debian's /usr/bin/chromium).

Every wait is on page state (selectors, ``wait_for_function``) with a timeout, never a sleep.
Requests that would leave 127.0.0.1 are recorded and aborted (tests stay offline); only tile
requests of the online base layers may appear among them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MAP_IFRAME,
    ROOT,
    AtlasData,
    is_local,
    is_tile,
    serve_app,
    wait_healthy,
)
from playwright.sync_api import Frame, Page, Route, expect, sync_playwright

from geo import dashboard

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


def map_frame(page: Page) -> Frame:
    """The st_folium iframe, once its Leaflet map has drawn its place markers."""
    handle = page.wait_for_selector(MAP_IFRAME, timeout=TIMEOUT)
    frame = handle.content_frame()
    assert frame is not None
    frame.wait_for_selector(".leaflet-container", timeout=TIMEOUT)
    frame.wait_for_function(
        "() => window.map && document.querySelectorAll("
        "'.news-atlas-places-pane path.leaflet-interactive, path.leaflet-interactive').length > 10",
        timeout=TIMEOUT,
    )
    return frame


def click_place(page: Page, place_id: str, lat: float, lon: float) -> Frame:
    """Zoom the map to a place (no rerun) and click its marker like a user."""
    frame = map_frame(page)
    frame.evaluate(
        "([lat, lon]) => { window.map.closePopup(); window.map.setView([lat, lon], 8, "
        "{animate: false}); }",
        [lat, lon],
    )
    frame.wait_for_function(TAG_JS, timeout=TIMEOUT)
    expect(frame.locator(".leaflet-popup")).to_have_count(0, timeout=TIMEOUT)  # faded out
    frame.locator(f'path[data-place-id="{place_id}"]').click(timeout=TIMEOUT)
    return frame


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

            def offline(route: Route) -> None:
                if is_local(route.request.url):
                    route.continue_()
                else:
                    route.abort("internetdisconnected")

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
    frame = click_place(page, vlad["place_id"], vlad["lat"], vlad["lon"])
    page.screenshot(path=str(ARTIFACTS / "click.png"))
    popup = frame.locator(".leaflet-popup-content")
    expect(popup).to_contain_text(QUOTE, timeout=TIMEOUT)
    side = panel(page, "data-place-id", vlad["place_id"])
    expect(side).to_contain_text(QUOTE, timeout=TIMEOUT)
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


def test_screenshot(browser_page: tuple[Page, list[str]]) -> None:
    page, _ = browser_page
    map_frame(page)
    path = Path(ARTIFACTS / "dashboard.png")
    page.screenshot(path=str(path), full_page=False)
    assert path.stat().st_size > 10_000
