"""Dashboard benchmark: served app in headless Chromium (/usr/bin/chromium).

    .venv/bin/python benchmarks/dashboard.py [--screenshot docs/screenshot.png]

Measures, against the layers in ``NEWS_ATLAS_DATA`` (default ``data/``; the app builds them
when missing, and that build is then part of the first figure):

* server start -> map drawn (markers in the DOM), and page open -> map drawn;
* marker click -> the side panel of that place (three different places);
* payload: the largest websocket message the browser receives (the map element) and all
  bytes received over the websocket on the first load, beside the layer file sizes;
* pan and zoom -> no rerun: the app's hidden script-run counter and the number of
  websocket messages the browser *sends* (a rerun needs one) are compared before and after
  a drag and a wheel zoom, observed for 1 s after the last ``moveend`` (st_folium debounces
  its updates by 250 ms).

Requests that would leave 127.0.0.1 fail: Chromium resolves no other host
(``--host-resolver-rules``), and any such request is counted and printed.  The tests block
them with Playwright's request interception instead, which also switches the browser's HTTP
cache off and sends every request through the test process: fine for checking behaviour,
but it would add that detour to every asset of a page load measured here.  Targets: map within 3 s
of opening, panel within 1 s of a click, payload < 2 MB, no rerun on pan/zoom.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    is_local,
    serve_app,
    wait_healthy,
)
from playwright.sync_api import Page, sync_playwright
from test_browser import click_place, map_frame, panel

from geo import dashboard, settings

#: Every host but 127.0.0.1 fails to resolve (Chromium's own switch).
OFFLINE_RESOLVER = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"

PLACES = ("Vladivostok", "Pyongyang", "Rajin")
MOVES_JS = "() => { window.__moves = 0; window.map.on('moveend', () => { window.__moves += 1; }); }"


def _runs(page: Page) -> int:
    return int(page.locator("#news-atlas-runs").get_attribute("data-runs") or 0)


def _kb(n: float) -> str:
    return f"{n / 1024:,.0f} KiB"


def _settle(page: Page, sent: list[int], quiet_ms: int = 1500, limit_s: float = 15.0) -> None:
    """Wait until the app is idle: no script run and no message for ``quiet_ms``."""
    deadline = time.perf_counter() + limit_s
    state = (_runs(page), len(sent))
    while time.perf_counter() < deadline:
        page.wait_for_timeout(quiet_ms)
        now = (_runs(page), len(sent))
        if now == state:
            return
        state = now


def _pan_zoom(page: Page, sent: list[int]) -> tuple[int, int, int, int]:
    frame = map_frame(page)
    frame.evaluate(MOVES_JS)
    _settle(page, sent)  # the last click's rerun must be over before counting
    runs0, sent0 = _runs(page), len(sent)
    box = page.locator('iframe[title="streamlit_folium.st_folium"]').bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.6
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 120, y - 60, steps=8)
    page.mouse.up()
    frame.wait_for_function("() => window.__moves >= 1", timeout=10_000)
    page.mouse.wheel(0, -300)
    frame.wait_for_function("() => window.__moves >= 2", timeout=10_000)
    page.wait_for_timeout(1000)  # observation window: longer than st_folium's 250 ms debounce
    return runs0, _runs(page), sent0, len(sent)


def _clicks(page: Page, folder: Path, screenshot: Path | None) -> list[float]:
    lay = dashboard.load_layers(folder)
    clicks = []
    for name in PLACES:
        row = lay.places[lay.places["name"] == name].iloc[0]
        frame = click_place(page, row["place_id"], row["lat"], row["lon"])
        t0 = time.perf_counter()
        panel(page, "data-place-id", row["place_id"])
        clicks.append(time.perf_counter() - t0)
        assert frame.locator(".leaflet-popup-content").count() == 1
    if screenshot:
        row = lay.places[lay.places["name"] == PLACES[0]].iloc[0]
        click_place(page, row["place_id"], row["lat"], row["lon"])
        panel(page, "data-place-id", row["place_id"])
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot))
    return clicks


def _open(page: Page) -> float:
    """Seconds from navigation to the map's markers."""
    t0 = time.perf_counter()
    page.reload()
    map_frame(page)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--screenshot", type=Path, help="save the dashboard after a click")
    parser.add_argument(
        "--no-preload", action="store_true", help="plain `streamlit run app.py` (no geo.serve)"
    )
    args = parser.parse_args()
    cfg = settings.load()
    folder = dashboard.layers_dir(cfg)
    log = ROOT / "benchmarks" / "out" / "streamlit.log"
    t_start = time.perf_counter()
    with serve_app({"NEWS_ATLAS_ONLINE": "0"}, log, preload=not args.no_preload) as (url, proc):
        wait_healthy(url, proc, timeout=300)
        t_healthy = time.perf_counter()
        with sync_playwright() as pw:
            # Hosts other than 127.0.0.1 do not resolve: the browser stays offline without
            # Playwright's request interception, which would switch its HTTP cache off and
            # add a round trip through this process to every request.
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, OFFLINE_RESOLVER]
            )
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            received: list[int] = []
            sent: list[int] = []

            def on_ws(ws: object) -> None:
                ws.on("framereceived", lambda p: received.append(len(p)))  # type: ignore[attr-defined]
                ws.on("framesent", lambda p: sent.append(len(p)))  # type: ignore[attr-defined]

            outside: list[str] = []
            page.on("websocket", on_ws)
            page.on("request", lambda r: None if is_local(r.url) else outside.append(r.url))
            t_open = time.perf_counter()
            page.goto(url)
            map_frame(page)
            t_map = time.perf_counter()
            first_load, largest = sum(received), max(received, default=0)
            warm = [_open(page) for _ in range(3)]
            clicks = _clicks(page, folder, args.screenshot)
            runs0, runs1, sent0, sent1 = _pan_zoom(page, sent)
            browser.close()

    files = {p.name: p.stat().st_size for p in sorted(folder.iterdir()) if p.is_file()}
    basemap = sum(p.stat().st_size for p in (cfg.data_dir / "basemap").glob("*.geojson"))
    print(f"server start -> healthy        {t_healthy - t_start:6.2f} s")
    print(f"server start -> map drawn      {t_map - t_start:6.2f} s")
    print(
        f"page open    -> map drawn      {t_map - t_open:6.2f} s first, "
        f"{statistics.median(warm):.2f} s median of {len(warm)} reloads   (target < 3 s)"
    )
    print(
        f"click -> side panel            {statistics.median(clicks):6.2f} s median, "
        f"max {max(clicks):.2f} s over {len(clicks)} places   (target < 1 s)"
    )
    print(f"largest websocket message      {_kb(largest)}   (the map element; target < 2 MB)")
    print(f"websocket bytes on first load  {_kb(first_load)}")
    print("layer files                    " + ", ".join(f"{k} {_kb(v)}" for k, v in files.items()))
    print(f"base map GeoJSON               {_kb(basemap)}")
    verdict = "no rerun" if (runs0, sent0) == (runs1, sent1) else "RERUN"
    print(
        f"pan + zoom                     {verdict}: script runs {runs0} -> {runs1}, "
        f"messages sent {sent0} -> {sent1}"
    )
    print(
        f"requests beyond 127.0.0.1      {len(outside)} (blocked){'' if not outside else ': '}"
        + ", ".join(sorted(set(outside))[:5])
    )


if __name__ == "__main__":
    main()
