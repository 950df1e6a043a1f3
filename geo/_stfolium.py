"""The map in Streamlit: ``st_folium``'s component, fed a map document rendered once.

``streamlit_folium.st_folium`` renders its folium map again on every script run (about
0.3 s for 10,000 places) and, the first time it sees a map object, renames the map's
variables, so that a map object cached across runs gives a different script on its second
run (and the component is mounted anew).  :func:`map_document` does that rendering once,
with the same helpers, into a frozen :class:`MapDocument` that the app caches;
:func:`show_map` hands it to the same component on every run.  Pinned to streamlit-folium
0.27.4 (``requirements.txt``), whose private helpers these are; ``tests/test_mapview.py``
checks that the document matches what ``st_folium`` itself would send.

Only the app imports this module (it registers nothing, but it imports Streamlit).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import folium
import streamlit_folium as _sf

_streamlit_folium: Any = _sf


@dataclass(frozen=True, slots=True)
class MapDocument:
    """What the ``st_folium`` component needs to draw one map."""

    script: str
    header: str
    html: str
    map_id: str
    css_links: tuple[str, ...]
    js_links: tuple[str, ...]
    component_key: str

    @property
    def size(self) -> int:
        """Bytes of text sent to the browser (script, header and HTML)."""
        return sum(len(s.encode("utf-8")) for s in (self.script, self.header, self.html))


def _walk(element: Any) -> Iterator[Any]:
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


def _links(m: folium.Map) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The CSS and JS links of ``m``'s elements, in ``st_folium``'s order (depth first)."""
    css = [href for e in _walk(m) for _, href in getattr(e, "default_css", [])]
    js = [src for e in _walk(m) for _, src in getattr(e, "default_js", [])]
    return tuple(dict.fromkeys(css)), tuple(dict.fromkeys(js))


def map_document(m: folium.Map, *, key: str) -> MapDocument:
    """Render ``m`` as ``st_folium(m, key=key)`` would (the map object is used up: render a
    new one for another document)."""
    sf, fig = _streamlit_folium, cast(Any, m)
    fig.get_root().render()
    fig.render()
    html, header = sf._get_html(m), sf._get_header(m)
    script = sf._get_map_string(m)
    css, js = _links(m)
    return MapDocument(
        script=script,
        header=header,
        html=html,
        map_id=sf.get_full_id(m),
        css_links=css,
        js_links=js,
        component_key=sf.generate_js_hash(script, key, False),
    )


def show_map(
    doc: MapDocument, *, height: int, returned_objects: Sequence[str]
) -> Mapping[str, Any]:
    """Draw ``doc`` in the ``st_folium`` component and return its value: the
    ``returned_objects`` as the browser last reported them (None until it reports)."""
    defaults = dict.fromkeys(returned_objects)
    value = _streamlit_folium._component_func(
        script=doc.script,
        header=doc.header,
        html=doc.html,
        id=doc.map_id,
        key=doc.component_key,
        height=height,
        width=None,
        returned_objects=list(returned_objects),
        default=defaults,
        zoom=None,
        center=None,
        feature_group=None,
        return_on_hover=False,
        layer_control=None,
        pixelated=False,
        css_links=list(doc.css_links),
        js_links=list(doc.js_links),
        wrap_longitude=False,
    )
    return value if isinstance(value, Mapping) else defaults
