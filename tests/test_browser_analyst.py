"""The analyst loop in a real headless Chromium: upload an article and see its place with
its quote; correct "the Ussuri incident" from the place the parser draws to its runner-up
(the issue's town of Lesozavodsk to the river; the parser has drawn the river since, so now
from one Ussuri river record to the other) and see the map and the panel change, kept
across a reload, and undo it; export the evidence pack and open it from
``file://`` with the network blocked.

Every wait is on page state, never a sleep.  Requests that would leave 127.0.0.1 are
aborted.  The served atlas is a private copy: these tests change it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from analyst_data import own_copy, ussuri_places
from conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MAP_IFRAME,
    ROOT,
    AtlasData,
    offline,
    serve_app,
    wait_healthy,
)
from playwright.sync_api import Browser, Frame, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from geo import corrections, dashboard

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "tests" / "artifacts"
TIMEOUT = 30_000
CLICK_TIMEOUT = 15_000
NEW_ARTICLE = (
    "Grain barges on the Amur.\n\n"
    "Grain barges wait at Khabarovsk while the river ice breaks up, traders said.\n"
)
NEW_QUOTE = "Grain barges wait at Khabarovsk while the river ice breaks up"
USSURI_QUOTE = "known as the Ussuri incident"

#: Whether the map holds (``shown``) or lacks a layer whose feature has ``place_id``.
HAS_PLACE_JS = """([placeId, shown]) => {
    if (!window.map) { return false; }
    let n = 0;
    window.map.eachLayer((l) => {
        const p = l.feature && l.feature.properties;
        if (p && p.place_id === placeId) { n += 1; }
    });
    return shown ? n > 0 : n === 0;
}"""


@pytest.fixture(scope="module")
def server(
    atlas: AtlasData, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[AtlasData, str]]:
    data = own_copy(atlas, tmp_path_factory.mktemp("analyst-browser"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serve_app(data.env, ARTIFACTS / "streamlit-analyst.log") as (url, proc):
        wait_healthy(url, proc)
        yield data, url


@pytest.fixture(scope="module")
def served(server: tuple[AtlasData, str]) -> AtlasData:
    return server[0]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def page(server: tuple[AtlasData, str], browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
    pg = context.new_page()

    pg.route("**/*", offline)
    pg.goto(server[1], timeout=TIMEOUT)
    try:
        yield pg
    finally:
        pg.screenshot(path=str(ARTIFACTS / "analyst.png"), full_page=True)
        context.close()


def map_frame(page: Page) -> Frame:
    """The map's iframe, once Leaflet has drawn its markers."""
    frame = page.wait_for_selector(MAP_IFRAME, timeout=TIMEOUT).content_frame()
    assert frame is not None
    frame.wait_for_function(
        "() => window.map && document.querySelectorAll('path.leaflet-interactive').length > 10",
        timeout=TIMEOUT,
    )
    return frame


def wait_place(page: Page, place_id: str, *, shown: bool = True) -> None:
    """Wait until the map (a new iframe after a rerun, maybe) has or lacks the place."""
    page.wait_for_function(
        """([sel, placeId, shown]) => {
            const frame = document.querySelector(sel);
            const win = frame && frame.contentWindow;
            if (!win || !win.map) { return false; }
            let n = 0;
            win.map.eachLayer((l) => {
                const p = l.feature && l.feature.properties;
                if (p && p.place_id === placeId) { n += 1; }
            });
            return shown ? n > 0 : n === 0;
        }""",
        arg=[MAP_IFRAME, place_id, shown],
        timeout=TIMEOUT,
    )


def panel(page: Page, place_id: str) -> object:
    locator = page.locator(f".news-atlas-panel[data-place-id='{place_id}']")
    locator.wait_for(timeout=TIMEOUT)
    return locator


def idle(page: Page) -> None:
    """Wait until the app has finished its script run (a click during one may be lost)."""
    page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=TIMEOUT)


def published(data: AtlasData, name_or_id: str) -> bool:
    """Whether the published places layer (what the map draws) has the place."""
    text = (data.layers_dir / "places.geojson").read_text(encoding="utf-8")
    return f'"name":"{name_or_id}"' in text or f'"place_id":"{name_or_id}"' in text


def edits_done(page: Page) -> int:
    """How many add/correct/undo clicks the app has carried out (a hidden counter)."""
    return int(page.locator("#news-atlas-edits").get_attribute("data-edits") or 0)


def click_until(page: Page, button: str, done: Callable[[], bool], attempts: int = 3) -> None:
    """Click a button once the app is idle and wait until the app has carried the click
    out (its counter of edits went up, and ``done()``).  A click that lands while a
    script run is starting (the map's first value) can be dropped by Streamlit: if the
    counter has not moved within a while, click again (a repeated add or correction is
    refused or saved once, so a click that was only slow does no harm)."""
    for _ in range(attempts):
        idle(page)
        before = edits_done(page)
        page.get_by_role("button", name=button, exact=True).click()
        try:
            page.wait_for_function(
                "(n) => Number(document.querySelector('#news-atlas-edits').dataset.edits) > n",
                arg=before,
                timeout=CLICK_TIMEOUT,
            )
        except PlaywrightTimeout:
            continue
        alerts = page.locator("[data-testid='stAlert']").all_inner_texts()
        assert done(), f"{button!r} was carried out but its effect is not there: {alerts}"
        return
    raise AssertionError(f"{button!r} did nothing in {attempts} clicks")


def find(page: Page, name: str) -> None:
    search = page.get_by_label("Find a place")
    search.fill(name)
    search.press("Enter")


def test_upload_an_article_and_see_its_new_place_with_its_quote(page: Page, served: AtlasData):
    lay = dashboard.load_layers(served.store)
    assert "Khabarovsk" not in set(lay.places["name"])
    map_frame(page)
    page.get_by_text("Add articles").click()
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "amur.txt", "mimeType": "text/plain", "buffer": NEW_ARTICLE.encode()}]
    )
    expect(page.get_by_text("amur.txt")).to_be_visible(timeout=TIMEOUT)
    page.get_by_label("Title").fill("Barges <b>wait</b>")
    page.get_by_label("Date (YYYY-MM-DD)").fill("2024-04-20")
    click_until(page, "Add to the atlas", lambda: published(served, "Khabarovsk"))
    lay = dashboard.load_layers(served.store)
    khabarovsk = lay.places[lay.places["name"] == "Khabarovsk"].iloc[0]["place_id"]
    side = panel(page, khabarovsk)
    expect(side).to_contain_text(NEW_QUOTE, timeout=TIMEOUT)  # type: ignore[attr-defined]
    expect(side).to_contain_text("Barges <b>wait</b>")  # type: ignore[attr-defined]
    wait_place(page, khabarovsk)


def test_correct_the_ussuri_mention_reload_and_undo(page: Page, served: AtlasData):
    map_frame(page)
    before, after = ussuri_places()  # the parser's choice and its runner-up
    find(page, before.name)
    side = panel(page, before.id)
    expect(side).to_contain_text(USSURI_QUOTE)  # type: ignore[attr-defined]
    page.get_by_text("Correct this place").click()
    picker = page.get_by_role("combobox", name="Runner-up")
    expect(picker).to_have_value(re.compile(re.escape(f"[{after.id}]")), timeout=TIMEOUT)
    click_until(page, "Save correction", lambda: published(served, after.id))
    side = panel(page, after.id)
    expect(side).to_contain_text(USSURI_QUOTE, timeout=TIMEOUT)  # type: ignore[attr-defined]
    expect(side).to_contain_text(after.kind)  # type: ignore[attr-defined]
    fixed = page.locator(".news-atlas-correction", has_text="Corrected:")
    expect(fixed).to_contain_text(f"“Ussuri” in 004 → {after.name} ({after.kind})")
    wait_place(page, after.id)
    wait_place(page, before.id, shown=False)
    (saved,) = corrections.load(corrections.corrections_path(served.cfg.data_dir))
    assert saved.place_id == after.id and saved.text == "Ussuri"

    page.reload(timeout=TIMEOUT)  # kept across a reload
    map_frame(page)
    wait_place(page, after.id)
    wait_place(page, before.id, shown=False)
    find(page, after.name)
    panel(page, after.id)
    page.get_by_text("Corrections (1)").click()
    item = page.locator(f".news-atlas-correction[data-correction-id='{saved.id}']").last
    expect(item).to_contain_text("Ussuri", timeout=TIMEOUT)
    click_until(page, "Undo", lambda: published(served, before.id))
    wait_place(page, before.id)
    wait_place(page, after.id, shown=False)
    assert corrections.load(corrections.corrections_path(served.cfg.data_dir)) == []


def test_export_the_evidence_pack_and_open_it_offline(page: Page, browser: Browser, tmp_path: Path):
    map_frame(page)
    idle(page)
    page.get_by_role("button", name="Make the evidence pack").click()
    button = page.get_by_role("button", name="Download the evidence pack (HTML)")
    expect(button).to_be_visible(timeout=TIMEOUT)
    with page.expect_download(timeout=TIMEOUT) as info:
        button.click()
    path = tmp_path / "pack.html"
    info.value.save_as(path)
    context = browser.new_context(offline=True)
    requests: list[str] = []
    try:
        pack = context.new_page()
        pack.on("request", lambda req: requests.append(req.url))
        pack.route(
            "**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort()
        )
        pack.goto(path.as_uri(), timeout=TIMEOUT)
        pack.wait_for_function(
            "() => Number(document.body.getAttribute('data-map-ready')) > 10 && "
            "document.querySelectorAll('path.leaflet-interactive').length > 10",
            timeout=TIMEOUT,
        )
        expect(pack.locator("#places")).to_contain_text(NEW_QUOTE)
        expect(pack.locator("#places")).to_contain_text("Barges <b>wait</b>")
        expect(pack.locator("#made-from")).to_contain_text("Filters: all articles")
        pack.screenshot(path=str(ARTIFACTS / "evidence-pack.png"))
    finally:
        context.close()
    assert [u for u in requests if not u.startswith("file:")] == []
