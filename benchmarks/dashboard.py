"""Dashboard benchmark: the served app in headless Chromium (/usr/bin/chromium).

    .venv/bin/python benchmarks/dashboard.py --articles 800 [--screenshot docs/screenshot.png]

Builds (once; cached under ``benchmarks/out/``, see ``benchmarks/corpora.py``) the corpus of
5, 800 or 10,000 articles, serves the app on it as ``make run`` does, and measures, each the
median of three:

* first visit -> map drawn: a fresh server (started three times), a fresh browser context,
  from navigation to the places drawn in the map (markers or clusters);
* reload -> map drawn: the same page reloaded (browser cache warm, a new session);
* click -> side panel: a real click on a marker (Vladivostok, Pyongyang, Rajin) until the
  side panel shows that place;
* date change -> redrawn: the end of the date range moved by keyboard (down to its start,
  then back to the last month, then down again) until the map shows the new places;
* map document: the largest websocket message of a page open (the map element) and the
  places' data file the map fetches (``static/places/``, cached by the browser); and the
  bytes received for a click (a reference to the cached map, not the map again).

It also checks what the issue asks besides speed: one script run per page open and none per
click (the app's hidden run counter), no rerun on pan or zoom (run counter and messages sent),
and no request beyond 127.0.0.1 (Chromium resolves no other host; any attempt is counted).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

import corpora
from conftest import CHROMIUM, CHROMIUM_ARGS, MAP_IFRAME, is_local, serve_app, wait_healthy
from playwright.sync_api import Browser, Page, sync_playwright
from test_browser import click_place, map_frame, panel, runs, zoom_to_place

from geo import dashboard
from geo.dashboard import Filters

#: Every host but 127.0.0.1 fails to resolve (Chromium's own switch).
OFFLINE_RESOLVER = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
PLACES = ("Vladivostok", "Pyongyang", "Rajin")
TIMEOUT = 120_000
END_THUMB = 'input[aria-label="Dates — end"]'
#: From the page: the map iframe (same origin) holds ``count`` places, drawn.
COUNT_JS = """(count) => {
    const f = document.querySelector('iframe[title="streamlit_folium.st_folium"]');
    const w = f && f.contentWindow;
    if (!w || !w.map || !w.NewsAtlas || w.NewsAtlas.count !== count) { return false; }
    return w.document.querySelectorAll('path.leaflet-interactive, .marker-cluster').length > 0;
}"""
MOVES_JS = "() => { window.__moves = 0; window.map.on('moveend', () => { window.__moves += 1; }); }"


@dataclass
class Wire:
    """Websocket frames seen by a page (sizes in bytes)."""

    received: list[int] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        def on_ws(ws: Any) -> None:
            ws.on("framereceived", lambda p: self.received.append(len(p)))
            ws.on("framesent", lambda p: self.sent.append(len(p)))

        page.on("websocket", on_ws)


@dataclass
class Figures:
    first: list[float] = field(default_factory=list)
    reload: list[float] = field(default_factory=list)
    click: list[float] = field(default_factory=list)
    click_bytes: list[int] = field(default_factory=list)
    change: list[float] = field(default_factory=list)
    message: int = 0
    data_file: int = 0
    runs_per_open: list[int] = field(default_factory=list)
    runs_per_click: list[int] = field(default_factory=list)
    fragment_runs_per_click: list[int] = field(default_factory=list)
    pan_zoom: str = ""
    outside: list[str] = field(default_factory=list)


def _until_drawn(page: Page, action: Callable[[], object], count: int) -> float:
    """Seconds from ``action`` until the map shows ``count`` places."""
    t0 = time.perf_counter()
    action()
    page.wait_for_function(COUNT_JS, arg=count, timeout=TIMEOUT)
    return time.perf_counter() - t0


def _new_page(browser: Browser, figs: Figures) -> tuple[Page, Wire]:
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    wire = Wire()
    wire.attach(page)
    page.on("request", lambda r: None if is_local(r.url) else figs.outside.append(r.url))
    page.on("response", lambda r: _data_file(r, figs))
    return page, wire


def _data_file(response: Any, figs: Figures) -> None:
    """The size of the places' data file (fetched by the map, see MapOptions.places_url)."""
    if "/app/static/places/" in response.url and response.status == 200:
        figs.data_file = max(figs.data_file, len(response.body()))


@contextmanager
def _server(env: dict[str, str]) -> Iterator[str]:
    log = ROOT / "benchmarks" / "out" / "streamlit.log"
    with serve_app(env, log, preload=True) as (url, proc):
        wait_healthy(url, proc, timeout=300)
        yield url


def _first_visits(browser: Browser, env: dict[str, str], figs: Figures, total: int) -> None:
    for _ in range(3):
        with _server(env) as url:
            page, wire = _new_page(browser, figs)
            figs.first.append(_until_drawn(page, lambda u=url, p=page: p.goto(u), total))
            figs.message = max(figs.message, max(wire.received, default=0))
            page.close()


def _settle(page: Page, wire: Wire, quiet_ms: int = 1500) -> None:
    """Wait until the app is idle: no script run and no message for ``quiet_ms``."""
    state = (runs(page), len(wire.received), len(wire.sent))
    for _ in range(20):
        page.wait_for_timeout(quiet_ms)
        now = (runs(page), len(wire.received), len(wire.sent))
        if now == state:
            return
        state = now


def _reloads(page: Page, wire: Wire, figs: Figures, total: int) -> None:
    for _ in range(3):
        figs.reload.append(_until_drawn(page, page.reload, total))
        _settle(page, wire)
        figs.runs_per_open.append(runs(page))


def _clicks(page: Page, wire: Wire, figs: Figures, lay: dashboard.Layers) -> None:
    for name in PLACES:
        row = lay.places[lay.places["name"] == name].iloc[0]
        _settle(page, wire)
        before, got, frag = runs(page), len(wire.received), _fragment_runs(page)
        marker = zoom_to_place(page, row["place_id"], row["lat"], row["lon"]).locator(
            f'path[data-place-id="{row["place_id"]}"]'
        )
        t0 = time.perf_counter()
        marker.click(timeout=TIMEOUT)
        panel(page, "data-place-id", row["place_id"])
        figs.click.append(time.perf_counter() - t0)
        _settle(page, wire)
        figs.runs_per_click.append(runs(page) - before)
        figs.fragment_runs_per_click.append(_fragment_runs(page) - frag)
        figs.click_bytes.append(sum(wire.received[got:]))


def _fragment_runs(page: Page) -> int:
    runs_ = page.locator("#news-atlas-panel-runs").get_attribute("data-runs")
    return int(runs_ or 0)


def _date_changes(page: Page, figs: Figures, lay: dashboard.Layers, months: list[str]) -> None:
    counts = {
        key: len(dashboard.filter_places(lay, Filters(groups=frozenset(dashboard.GROUP_LABELS),
                                                      months=rng)))
        for key, rng in (("Home", (months[0], months[0])), ("End", None))
    }  # fmt: skip
    thumb = page.locator(END_THUMB)
    for key in ("Home", "End", "Home"):
        thumb.focus()
        figs.change.append(_until_drawn(page, lambda k=key: thumb.press(k), counts[key]))
    thumb.focus()
    _until_drawn(page, lambda: thumb.press("End"), counts["End"])


def _pan_zoom(page: Page, wire: Wire) -> str:
    frame = map_frame(page)
    frame.evaluate(MOVES_JS)
    _settle(page, wire)
    runs0, sent0 = runs(page), len(wire.sent)
    box = page.locator(MAP_IFRAME).bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.6
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 120, y - 60, steps=8)
    page.mouse.up()
    frame.wait_for_function("() => window.__moves >= 1", timeout=TIMEOUT)
    page.mouse.wheel(0, -300)
    frame.wait_for_function("() => window.__moves >= 2", timeout=TIMEOUT)
    _settle(page, wire)
    runs1, sent1 = runs(page), len(wire.sent)
    verdict = "no rerun" if (runs0, sent0) == (runs1, sent1) else "RERUN"
    return f"{verdict} (script runs {runs0} -> {runs1}, messages sent {sent0} -> {sent1})"


def _screenshot(page: Page, lay: dashboard.Layers, path: Path) -> None:
    row = lay.places[lay.places["name"] == PLACES[0]].iloc[0]
    click_place(page, row["place_id"], row["lat"], row["lon"])
    panel(page, "data-place-id", row["place_id"])
    map_frame(page).evaluate("() => { window.map.setZoom(4, {animate: false}); }")
    page.wait_for_timeout(500)  # let the tiles of the offline base map settle for the picture
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s" if values else "-"


def _report(n: int, lay: dashboard.Layers, figs: Figures) -> None:
    print(f"corpus: {n} articles, {len(lay.places)} places, {len(lay.routes)} routes")
    rows = [
        ("first visit -> map drawn", _median(figs.first), figs.first),
        ("reload -> map drawn", _median(figs.reload), figs.reload),
        ("click -> side panel", _median(figs.click), figs.click),
        ("date change -> redrawn", _median(figs.change), figs.change),
    ]
    for label, med, values in rows:
        print(f"{label:28} {med:>8}   ({', '.join(f'{v:.2f}' for v in values)})")
    print(f"{'map document (ws message)':28} {figs.message / 1024:,.0f} KiB")
    print(f"{'places data file (fetched)':28} {figs.data_file / 1024:,.0f} KiB")
    print(f"{'bytes received per click':28} {', '.join(f'{b:,}' for b in figs.click_bytes)}")
    print(f"{'script runs per page open':28} {figs.runs_per_open}")
    print(f"{'full runs per click':28} {figs.runs_per_click}")
    print(f"{'map+panel runs per click':28} {figs.fragment_runs_per_click}")
    print(f"{'pan + zoom':28} {figs.pan_zoom}")
    print(f"{'requests beyond 127.0.0.1':28} {len(figs.outside)} {sorted(set(figs.outside))[:5]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, choices=corpora.SIZES, default=5)
    parser.add_argument("--screenshot", type=Path, help="save the dashboard after a click")
    args = parser.parse_args()
    env = corpora.ensure_corpus(args.articles)
    lay = dashboard.load_layers(Path(env["NEWS_ATLAS_DATA"]) / "atlas.sqlite")
    months = list(dict.fromkeys(dashboard.timeline(lay.articles)["month"]))
    total, figs = len(lay.places), Figures()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, OFFLINE_RESOLVER]
        )
        _first_visits(browser, env, figs, total)
        with _server(env) as url:
            page, wire = _new_page(browser, figs)
            _until_drawn(page, lambda: page.goto(url), total)
            _reloads(page, wire, figs, total)
            _clicks(page, wire, figs, lay)
            _date_changes(page, figs, lay, months)
            figs.pan_zoom = _pan_zoom(page, wire)
            if args.screenshot:
                _screenshot(page, lay, args.screenshot)
        browser.close()
    _report(args.articles, lay, figs)


if __name__ == "__main__":
    main()
