"""geo._stfolium: the cached map document is what st_folium itself would send."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import streamlit_folium
from test_mapview import TINY_BASEMAP, places, routes  # noqa: F401  (fixtures)

from geo import _stfolium, mapview

_HEX_ID = re.compile(r"[0-9a-f]{32}")


def _normal(text: str) -> str:
    return _HEX_ID.sub("ID", text)


def _captured(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(streamlit_folium, "_component_func", lambda **kw: seen.update(kw))
    return seen


def test_document_matches_st_folium(
    monkeypatch: pytest.MonkeyPatch,
    places: gpd.GeoDataFrame,  # noqa: F811
    routes: gpd.GeoDataFrame,  # noqa: F811
) -> None:
    seen = _captured(monkeypatch)
    fresh = mapview.build_map(places, routes, TINY_BASEMAP)
    streamlit_folium.st_folium(fresh, key="map", returned_objects=["last_active_drawing"])
    doc = _stfolium.map_document(mapview.build_map(places, routes, TINY_BASEMAP), key="map")
    assert _normal(doc.script) == _normal(seen["script"])
    assert _normal(doc.header) == _normal(seen["header"])
    assert doc.html == seen["html"]
    assert list(doc.css_links) == seen["css_links"] and list(doc.js_links) == seen["js_links"]
    assert "NewsAtlas.addPlaces(" in doc.script
    assert doc.size == sum(len(s.encode()) for s in (doc.script, doc.header, doc.html))


def test_show_map_sends_the_document_and_returns_the_click_only(
    monkeypatch: pytest.MonkeyPatch,
    places: gpd.GeoDataFrame,  # noqa: F811
) -> None:
    seen = _captured(monkeypatch)
    doc = _stfolium.map_document(mapview.build_map(places, None, TINY_BASEMAP), key="map")
    value = _stfolium.show_map(doc, height=500, returned_objects=mapview.RETURNED_OBJECTS)
    assert value == {"last_active_drawing": None}  # the default: nothing clicked yet
    assert seen["script"] == doc.script and seen["key"] == doc.component_key
    assert seen["default"] == {"last_active_drawing": None}
    assert seen["returned_objects"] == ["last_active_drawing"]
    # the same document twice is the same component (the browser keeps its map)
    again = _stfolium.map_document(mapview.build_map(places, None, TINY_BASEMAP), key="map")
    assert _normal(again.script) == _normal(doc.script)


def test_a_document_is_stable_however_often_it_is_sent(
    monkeypatch: pytest.MonkeyPatch,
    places: gpd.GeoDataFrame,  # noqa: F811
) -> None:
    seen = _captured(monkeypatch)
    doc = _stfolium.map_document(mapview.build_map(places, None, TINY_BASEMAP), key="map")
    first = dict(_stfolium.show_map(doc, height=500, returned_objects=["last_active_drawing"]))
    args = dict(seen)
    _stfolium.show_map(doc, height=500, returned_objects=["last_active_drawing"])
    assert seen == args and first == {"last_active_drawing": None}


def test_no_second_run_on_open() -> None:
    """st_folium's map reports its value at once on mount unless it equals the default:
    asking for the clicked feature only (null until a click) keeps the page at one run."""
    assert mapview.RETURNED_OBJECTS == ("last_active_drawing",)
    js = Path(streamlit_folium.__file__).parent / "frontend" / "build" / "static" / "js"
    bundle = next(js.glob("main.*.js")).read_text(encoding="utf-8")
    assert "last_active_drawing:null" in bundle.replace(" ", "")
