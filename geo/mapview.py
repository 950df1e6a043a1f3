"""The folium map: offline base map, places by kind group, routes, legend and controls.

:func:`build_map` is pure (data in, ``folium.Map`` out); :func:`load_basemap` is the one
loader that reads files.  Everything taken from the data is HTML-escaped by :func:`esc`,
which also turns the characters that matter inside the JavaScript template literals folium
writes popups and tooltips into (backtick, ``$``, backslash) into character references, so
neither ``</script>`` nor a backtick in a news sentence can end the script or the string.

Clicks (the contract with the app)
----------------------------------
Every place marker carries a GeoJSON ``feature`` with ``properties.place_id`` (routes carry
``properties.route_id``).  streamlit-folium 0.27 sets ``last_active_drawing`` to
``layer.toGeoJSON()`` of the clicked layer, which returns that feature, and counts clicks on
objects in ``last_object_clicked_count``.  The app calls::

    out = st_folium(m, key="map", returned_objects=list(RETURNED_OBJECTS), ...)
    place_id = clicked_place_id(out)

with ``RETURNED_OBJECTS = ("last_active_drawing", "last_object_clicked_count")``.  Pan and
zoom change neither value, so they do not rerun the app; a second click on the same marker
changes the count, so it does.  The base map is not interactive, so a click on land or sea
returns nothing.

Layer choice and view across reruns
-----------------------------------
When the map script changes (e.g. a new ``selected`` place), st_folium mounts a new map.
With ``MapOptions.persist_key`` set, the map stores the chosen base layer, the hidden
overlays and the view in the browser's ``localStorage`` (the component iframe has the app's
origin) and restores them on the next mount; the view is restored only when neither
``center`` nor ``selected`` is given.  The app may instead pass the state itself:
``base_layer``, ``hidden_overlays`` (overlay names, see :func:`overlay_names`), ``center``
and ``zoom``.
"""

from __future__ import annotations

import html
import json
import math
import numbers
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium
import folium.plugins
import geopandas as gpd
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template

from geo.assets import DEFAULT_ASSET_BASE, localize_assets
from geo.corpus import plain
from geo.errors import BadInput, DataFileError
from geo.model import Excerpt, to_latlon

#: Kind group -> (legend label, colour); the order is the legend's.
GROUP_STYLES = {
    "country": ("Countries", "#d62728"),
    "region": ("Regions, islands & mountains", "#2ca02c"),
    "water": ("Seas, straits & rivers", "#1f9fd0"),
    "city": ("Cities & ports", "#1f3b99"),
    "facility": ("Facilities", "#9467bd"),
}
#: Route mode -> colour.
MODE_COLOURS = {"sea": "#0b61a4", "rail": "#7b1fa2", "road": "#e65100", "air": "#c62828"}
#: Route statuses drawn dashed.
DASHED = frozenset({"planned", "proposed"})
OFFLINE_LAYER = "Offline (Natural Earth)"
#: Online tile layers: name -> (URL template, attribution).
TILE_LAYERS = {
    "OpenStreetMap": (
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "&copy; <a href='https://www.openstreetmap.org/copyright'>OpenStreetMap</a> contributors",
    ),
    "CartoDB Positron": (
        "https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png",
        "&copy; OpenStreetMap contributors &copy; <a href='https://carto.com/attributions'>"
        "CARTO</a>",
    ),
    "Esri World Imagery": (
        "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/"
        "tile/{z}/{y}/{x}",
        "Tiles &copy; Esri &mdash; Source: Esri, Maxar, Earthstar Geographics, and the GIS "
        "User Community",
    ),
}
BASE_LAYERS = (OFFLINE_LAYER, *TILE_LAYERS)
#: What the app asks ``st_folium`` to return: the clicked feature only.  Its initial value
#: equals the default, so opening the page sends nothing back (no second script run).
RETURNED_OBJECTS = ("last_active_drawing",)
TILE_NOTICE = "Online tiles unavailable — offline base map still works"
OCEAN, LAND, BORDER, COAST = "#c6dbea", "#f4f1ea", "#a8a39a", "#5b7f99"
MAX_QUOTES = 3
#: Leaflet panes: base map under the routes (overlayPane, 400), places above them.
BASEMAP_PANE, PLACES_PANE = "news-atlas-basemap", "news-atlas-places"
_FIRST_QUOTE_CHARS = 600
#: folium's markercluster assets (names and URLs; :func:`localize_assets` vendors them).
_MARKERCLUSTER = (
    dict(folium.plugins.MarkerCluster.default_js)["markerclusterjs"],
    dict(folium.plugins.MarkerCluster.default_css)["markerclustercss"],
    dict(folium.plugins.MarkerCluster.default_css)["markerclusterdefaultcss"],
)
# folium and branca are untyped: reach their untyped callables through ``Any``.
_folium: Any = folium
_plugins: Any = folium.plugins


def _add(parent: Any, child: Any) -> None:
    parent.add_child(child)


@dataclass(frozen=True, slots=True)
class BaseMap:
    """The bundled base map: GeoJSON FeatureCollections as loaded from ``data/basemap``.

    With ``url_base`` (e.g. ``/app/static/basemap``, see :func:`geo.assets.publish_basemap`)
    the map fetches ``countries.geojson`` and ``coastline.geojson`` from there instead of
    carrying them inline: about 1 MB less on every Streamlit rerun, and cached by the browser.
    """

    countries: Mapping[str, Any]
    coastline: Mapping[str, Any]
    url_base: str | None = None


@dataclass(frozen=True, slots=True)
class MapOptions:
    """How to draw the map; every field is optional.

    Attributes
    ----------
    cluster : bool or None
        Cluster the place markers (one cluster layer per kind group); None: only when more
        than :data:`CLUSTER_ABOVE` places are drawn.
    selected : str or None
        ``place_id`` to ring and center on.
    center : (lat, lon) or None
        Initial center; default: ``selected``, else the extent of the places.
    zoom : int or None
        Initial zoom; default 5 with a center, else fitted to the places.
    asset_base : str
        URL prefix of ``static/vendor`` (see :mod:`geo.assets`).
    base_layer : str
        One of :data:`BASE_LAYERS`, shown first.
    hidden_overlays : collection of str
        Overlay names (:func:`overlay_names`) to start hidden.
    persist_key : str or None
        ``localStorage`` key to remember layers and view in the browser; None disables it.
    places_url : str or None
        URL of :func:`place_data` for these places: the browser fetches the places from there
        (and caches them) instead of reading them inline from the map script.
    """

    cluster: bool | None = None
    selected: str | None = None
    center: tuple[float, float] | None = None
    zoom: int | None = None
    asset_base: str = DEFAULT_ASSET_BASE
    base_layer: str = OFFLINE_LAYER
    hidden_overlays: Collection[str] = field(default_factory=frozenset)
    persist_key: str | None = "news-atlas-map"
    places_url: str | None = None


def esc(value: object) -> str:
    """Escape ``value`` for HTML that folium puts inside a JS template literal.

    ``html.escape(..., quote=True)`` plus character references for the backtick, ``$`` and
    backslash, which would otherwise end or alter the template literal.  Bidirectional
    control characters are removed (a U+202E would reverse the text shown after it).
    """
    text = html.escape(plain(str(value)), quote=True)
    return text.replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


#: Base maps read, by their files' path, size and modification time (see :func:`load_basemap`).
_BASEMAPS: dict[tuple[tuple[str, int, int], ...], BaseMap] = {}


def load_basemap(data_dir: Path) -> BaseMap:
    """Read ``data_dir/basemap/{countries,coastline}.geojson`` (once while the files stay
    the same: ``geo.serve`` reads them while the server starts, the page reuses them).

    Raises
    ------
    DataFileError
        If a file is missing or is not a GeoJSON FeatureCollection; rebuild it with
        ``scripts/build_basemap.py``.
    """
    paths = [Path(data_dir) / "basemap" / f"{name}.geojson" for name in ("countries", "coastline")]
    try:
        key = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in paths)
    except OSError:
        key = ()
    if key and key in _BASEMAPS:
        return _BASEMAPS[key]
    layers = [_read_feature_collection(p) for p in paths]
    basemap = BaseMap(countries=layers[0], coastline=layers[1])
    if key:
        _BASEMAPS.clear()
        _BASEMAPS[key] = basemap
    return basemap


def _read_feature_collection(path: Path) -> Mapping[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        msg = f"cannot read base map {str(path)!r}: {err}; run scripts/build_basemap.py"
        raise DataFileError(msg) from err
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        msg = f"base map {str(path)!r} is not a GeoJSON FeatureCollection"
        raise DataFileError(msg)
    return data


def clicked_place_id(value: Mapping[str, Any] | None) -> str | None:
    """Return the ``place_id`` of the clicked marker from ``st_folium``'s return value."""
    return _clicked_property(value, "place_id")


def clicked_route_id(value: Mapping[str, Any] | None) -> str | None:
    """Return the ``route_id`` of the clicked route from ``st_folium``'s return value."""
    return _clicked_property(value, "route_id")


def click_stamp(value: Mapping[str, Any] | None) -> str | None:
    """The stamp the browser put on the clicked feature: new on every click, even on the
    same marker twice (see :data:`PLACES_JS`)."""
    return _clicked_property(value, "click")


def _clicked_property(value: Mapping[str, Any] | None, key: str) -> str | None:
    feature = (value or {}).get("last_active_drawing") or {}
    props = feature.get("properties") if isinstance(feature, Mapping) else None
    found = props.get(key) if isinstance(props, Mapping) else None
    return found if isinstance(found, str) else None


def overlay_names(routes: gpd.GeoDataFrame | None = None) -> list[str]:
    """Names of the overlays as the layer control shows them (kind groups, then routes)."""
    names = [esc(label) for label, _ in GROUP_STYLES.values()]
    if routes is not None:
        names += [_route_layer_name(r) for r in routes.itertuples(index=False)]
    return names


def _json_list(value: object, column: str) -> list[Any]:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return []
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except ValueError as err:
        raise BadInput(f"column {column!r} holds invalid JSON {value!r}") from err
    if not isinstance(parsed, list):
        raise BadInput(f"column {column!r} must hold a JSON list, got {value!r}")
    return parsed


def highlight(
    text: str, spans: Iterable[tuple[object, object]], *, title: str = "", style: str = ""
) -> str:
    """``text`` escaped, with each ``text[start:end]`` wrapped in ``<mark>``; spans that are
    not integer offsets inside the text, or that overlap an earlier one, are skipped."""
    out, pos = [], 0
    attr = (f" style='{style}'" if style else "") + (f" title='{esc(title)}'" if title else "")
    good = {(a, b) for a, b in spans if isinstance(a, int) and isinstance(b, int)}
    for start, end in sorted(good):
        if start < pos or not 0 <= start < end <= len(text):
            continue
        out += [esc(text[pos:start]), f"<mark{attr}>{esc(text[start:end])}</mark>"]
        pos = end
    out.append(esc(text[pos:]))
    return "".join(out).replace("\n", "<br>")


#: Fields of one place row in the map document, in order (see :func:`place_rows`).
PLACE_FIELDS = (
    "id", "name", "kind", "country", "mentions", "passages", "first", "last", "lat", "lon",
    "quotes",
)  # fmt: skip
#: Characters of a popup's quote: a window around the place's first mention in its first
#: passage (the side panel has the whole passages).
QUOTE_CHARS = 160
#: Characters of quote text a map carries beyond every place's first quote: the second and
#: third quotes go to the most mentioned places while they fit (measured: 75 places take
#: them all, 1,400 places about half, 10,000 places none; see the README's figures).
QUOTE_BUDGET = 400_000
#: Above this many places drawn, markers are clustered unless the app says otherwise.
CLUSTER_ABOVE = 2000


def quote_window(
    sentence: str, spans: Sequence[tuple[int, int]], *, chars: int = QUOTE_CHARS
) -> tuple[str, int, int]:
    """A window of at most about ``chars`` characters of ``sentence`` around its first span,
    cut at spaces and marked with ellipses: ``(text, start, end)`` of the span in it.

    A sentence without a usable span gives its first ``chars`` characters and ``(0, 0)``.
    """
    text = " ".join(sentence.split(" "))
    good = [(a, b) for a, b in spans if 0 <= a < b <= len(text)]
    a, b = good[0] if good else (0, 0)
    if len(text) <= chars:
        return text, a, b
    room = max(chars - (b - a), 0)
    lo = max(0, a - room // 2)
    hi = min(len(text), max(b, lo + chars))
    lo = max(0, min(lo, hi - chars))
    if lo > 0:
        cut = text.find(" ", lo, a)
        lo = cut + 1 if cut >= 0 else lo
    if hi < len(text):
        cut = text.rfind(" ", b, hi)
        hi = cut if cut > b else hi
    head, tail = ("…" if lo > 0 else ""), ("…" if hi < len(text) else "")
    return head + text[lo:hi] + tail, a - lo + len(head), b - lo + len(head)


def _excerpts(quotes: object) -> list[Excerpt]:
    if not isinstance(quotes, list | tuple):
        return []
    return [q for q in quotes if isinstance(q, Excerpt)][:MAX_QUOTES]


def _quote_row(quote: Excerpt) -> list[Any]:
    text, a, b = quote_window(quote.sentence, quote.spans)
    return [text, a, b, quote.article_id, quote.date]


def _int(value: object) -> int:
    return int(float(value)) if _finite(value) else 0  # type: ignore[arg-type]


def _popup_quotes(places: gpd.GeoDataFrame, budget: int) -> list[list[list[Any]]]:
    """Each place's popup quotes: its first, then (in row order) a second and a third while
    their text fits in ``budget`` characters."""
    excerpts = [_excerpts(q) for q in places.get("quotes", [()] * len(places))]
    chosen = [[_quote_row(ex[0])] if ex else [] for ex in excerpts]
    for rank in range(1, MAX_QUOTES):
        for mine, ex in zip(chosen, excerpts, strict=True):
            extra = _quote_row(ex[rank]) if len(ex) > rank else None
            if extra is not None and len(extra[0]) <= budget:
                mine.append(extra)
                budget -= len(extra[0])
    return chosen


def place_rows(places: gpd.GeoDataFrame, *, budget: int = QUOTE_BUDGET) -> list[list[Any]]:
    """The places as compact rows for the browser, fields as :data:`PLACE_FIELDS`.

    ``quotes`` holds ``[text, mark start, mark end, article id, date]`` (see
    :func:`quote_window`) for the place's first quote (of ``places.quotes``), and for its
    second and third while ``budget`` characters last (the rows' order decides who gets
    them first).  Dates are ``""`` when no dated article mentions the place; lat/lon are
    rounded to 1e-4°.
    """
    quotes = _popup_quotes(places, budget)
    out = []
    for row, mine in zip(places.itertuples(index=False), quotes, strict=True):
        lat, lon = _latlon(row.geometry)
        out.append([
            str(row.place_id), str(row.name), str(row.kind), str(row.country or ""),
            _int(row.mentions), _int(getattr(row, "passages", 0)),
            str(getattr(row, "first_date", "") or ""), str(getattr(row, "last_date", "") or ""),
            round(lat, 4), round(lon, 4), mine,
        ])  # fmt: skip
    return out


def script_json(value: object) -> str:
    """``value`` as compact JSON that is safe inside an inline ``<script>``: ``<``, ``>``,
    ``&`` and the JS line separators are written as ``\\u`` escapes, so no string in the data
    can close the script or start markup."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char in ("<", ">", "&", "\u2028", "\u2029"):
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def _route_quote_html(quote: Mapping[str, Any]) -> str:
    text = str(quote.get("text", ""))[:_FIRST_QUOTE_CHARS]
    source = esc(quote.get("title") or quote.get("article_id", ""))
    return f"<li style='margin:0 0 6px'>{esc(text)}<br><small>{source}</small></li>"


def route_popup_html(row: Any) -> str:
    """Popup HTML for one route: title, mode, status, period, length and quotes."""
    quotes = [q for q in _json_list(row.quotes, "quotes") if isinstance(q, Mapping)]
    items = "".join(_route_quote_html(q) for q in quotes[:MAX_QUOTES])
    more = len(quotes) - MAX_QUOTES
    more_html = f"<div><i>+{more} more in the side panel</i></div>" if more > 0 else ""
    period = f" · {esc(row.period)}" if row.period else ""
    length = f" · {float(row.length_km):,.0f} km" if _finite(row.length_km) else ""
    return (
        f"<div style='max-height:280px;overflow:auto'><b>{esc(row.title)}</b>"
        f"<div style='color:#555'>{esc(row.mode)} · {esc(row.status)}{period}{length}</div>"
        f"<div>{esc(row.description)}</div>"
        f"<ol style='padding-left:18px;margin:6px 0 0'>{items}</ol>{more_html}</div>"
    )


def _finite(value: object) -> bool:
    return isinstance(value, numbers.Real) and math.isfinite(float(value))


class _FeatureTag(MacroElement):
    """Gives its parent layer a GeoJSON ``feature`` so ``toGeoJSON()`` carries the ids, and
    stamps it on each click (as the place markers are, see :data:`PLACES_JS`)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.feature = {{ this.feature|tojson }};
            {{ this._parent.get_name() }}.on("click", function (e) {
                NewsAtlas.report(e.target);
            });
        {% endmacro %}
        """
    )

    def __init__(self, properties: Mapping[str, str]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "FeatureTag"
        self.feature = {"type": "Feature", "properties": dict(properties)}


class _FetchedGeoJson(MacroElement):
    """A base-map layer fetched after the map is up, drawn on a canvas (fast for 1,700
    polygons and lines), under everything else and never in the way of a click."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            fetch({{ this.url|tojson }})
                .then(function (r) { return r.json(); })
                .then(function (data) {
                    L.geoJSON(data, {
                        style: {{ this.style|tojson }},
                        interactive: false,
                        pane: {{ this.pane|tojson }},
                        renderer: L.canvas({pane: {{ this.pane|tojson }}})
                    }).addTo({{ this._parent.get_name() }});
                });
        {% endmacro %}
        """
    )

    def __init__(self, url: str, style: Mapping[str, object], pane: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "FetchedGeoJson"
        self.url, self.style, self.pane = url, dict(style), pane


def _radius(mentions: object) -> float:
    count = _int(mentions) or 1
    return min(4.0 + 3.0 * math.sqrt(max(count, 1)), 24.0)


def _latlon(point: Any) -> tuple[float, float]:
    return to_latlon(float(point.x), float(point.y))


class _RawScript(Element):
    """Script text added to the figure as it is: branca would otherwise compile every
    element's output as a Jinja template (slow for a large data block, and news text holding
    ``{{`` would be read as template code)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


class _RawMacro(MacroElement):
    """A MacroElement whose ``script`` macro output goes into the figure uncompiled."""

    def render(self, **kwargs: Any) -> str:
        figure: Any = self.get_root()
        script = self._template.module.__dict__["script"](self, kwargs)
        figure.script.add_child(_RawScript(script), name=self.get_name())
        for child in self._children.values():
            child.render(**kwargs)
        return ""


#: The browser side of the places: markers, tooltips and popups made from a row's fields.
#: Every text goes in with ``textContent``; nothing from the data is parsed as HTML.
PLACES_JS = """
(function () {
  if (window.NewsAtlas) { return; }
  var seq = 0;
  var FIELDS = %(fields)s;
  function el(tag, text, css) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (css) { node.style.cssText = css; }
    return node;
  }
  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }
  function radius(n) { return Math.min(4 + 3 * Math.sqrt(Math.max(n, 1)), 24); }
  function quote(q) {
    var box = el("blockquote", null, "margin:6px 0 0;padding-left:8px;border-left:3px solid #ccc");
    box.className = "news-atlas-quote";
    box.appendChild(document.createTextNode(q[0].slice(0, q[1])));
    if (q[2] > q[1]) {
      box.appendChild(el("mark", q[0].slice(q[1], q[2]), "background:#ffe066;padding:0 1px"));
    }
    box.appendChild(document.createTextNode(q[0].slice(q[2])));
    var title = NewsAtlas.articles[q[3]] || q[3];
    var src = el("div", [title, q[4]].filter(Boolean).join(" · "), "color:#555;font-size:11px");
    box.appendChild(src);
    return box;
  }
  function when(p) {
    if (!p.first) { return "Mentioned in undated articles only"; }
    if (p.first === p.last) { return "Mentioned " + p.first; }
    return "First mentioned " + p.first + " · last " + p.last;
  }
  function popup(p) {
    var div = el("div", null, "max-height:280px;overflow:auto;min-width:220px");
    div.className = "news-atlas-popup";
    div.setAttribute("data-place-id", p.id);
    div.appendChild(el("b", p.name));
    var facts = [p.kind, p.country, plural(p.mentions, "mention")].filter(Boolean);
    div.appendChild(el("div", facts.join(" · "), "color:#555"));
    div.appendChild(el("div", when(p), "color:#555"));
    p.quotes.forEach(function (q) { div.appendChild(quote(q)); });
    var rest = p.passages > p.quotes.length
      ? plural(p.passages, "passage") + " in all: the side panel lists them"
      : "The side panel shows the passages in full";
    div.appendChild(el("div", rest, "font-style:italic;margin-top:4px"));
    return div;
  }
  function marker(p, style) {
    var m = L.circleMarker([p.lat, p.lon], {
      radius: radius(p.mentions), color: "#ffffff", weight: 1, fill: true,
      fillColor: style.colour, fillOpacity: 0.85, pane: style.pane
    });
    m.feature = {type: "Feature", properties: {place_id: p.id, kind: "place"},
                 geometry: {type: "Point", coordinates: [p.lon, p.lat]}};
    m.bindTooltip(function () { return el("span", p.name); }, {sticky: false});
    m.bindPopup(function () { return popup(p); }, {maxWidth: 360});
    m.on("click", function () { report(m); });
    return m;
  }
  // A click stamps the feature (so the same marker clicked twice is two values) and reports
  // it to Streamlit at once, as st_folium would 250 ms later (its debounce): st_folium then
  // finds the value already sent and sends nothing more.
  function report(layer) {
    seq += 1;
    layer.feature.properties.click = Date.now() + "-" + seq;
    var g = window.__GLOBAL_DATA__;
    if (!g || !window.Streamlit || !g.returned_objects
        || g.returned_objects.join() !== "last_active_drawing") { return; }
    var data = {last_active_drawing: layer.toGeoJSON()};
    g.previous_data = data;
    window.Streamlit.setComponentValue(data);
  }
  var fetched = {};
  // Rows inline (data.rows), or one fetch of every group's rows (data.url) shared by all.
  function addPlaces(group, data) {
    if (!data.url) { draw(group, data, data.rows); return; }
    if (!fetched[data.url]) {
      fetched[data.url] = fetch(data.url).then(function (r) {
        if (!r.ok) { throw new Error("places " + r.status); }
        return r.json();
      });
    }
    fetched[data.url].then(function (all) {
      Object.assign(NewsAtlas.articles, all.articles);
      draw(group, data, all.groups[data.group] || []);
    }, function () {
      if (NewsAtlas.failed) { return; }
      NewsAtlas.failed = true;  // say so once, on the map
      var notice = L.control({position: "topright"});
      notice.onAdd = function () {
        return el("div", "The places could not be loaded: reload the page",
                  "background:#fff3cd;padding:4px 8px;border-radius:4px;font:13px sans-serif");
      };
      notice.addTo(group._map || window.map);
    });
  }
  function draw(group, data, rows) {
    var target = group;
    if (data.cluster) {
      target = L.markerClusterGroup({chunkedLoading: true, showCoverageOnHover: false,
                                     maxClusterRadius: 50, disableClusteringAtZoom: 9});
      group.addLayer(target);
    }
    var layers = rows.map(function (row) {
      var p = {};
      FIELDS.forEach(function (f, i) { p[f] = row[i]; });
      return marker(p, data);
    });
    if (data.cluster) {
      target.addLayers(layers);
      layers.forEach(function (m) {
        // the searched place: open its cluster once the map is up
        if (m.feature.properties.place_id === data.selected) {
          setTimeout(function () { if (target._map) { target.zoomToShowLayer(m); } }, 0);
        }
      });
    } else { layers.forEach(function (m) { target.addLayer(m); }); }
    NewsAtlas.count += layers.length;
  }
  window.NewsAtlas = {addPlaces: addPlaces, popup: popup, report: report, articles: {},
                      count: 0};
})();
"""


class _PlaceScript(_RawMacro):
    """Defines ``window.NewsAtlas`` (see :data:`PLACES_JS`) and the quoted articles' titles."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this.code }}
        NewsAtlas.articles = {{ this.articles }};
        {% endmacro %}
        """
    )

    def __init__(self, articles: Mapping[str, str]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "NewsAtlasPlaces"
        self.code = PLACES_JS % {"fields": json.dumps(list(PLACE_FIELDS))}
        self.articles = script_json(dict(articles))


class _PlaceRows(JSCSSMixin, _RawMacro):
    """One kind group's places, drawn into its parent FeatureGroup by ``NewsAtlas``."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        NewsAtlas.addPlaces({{ this._parent.get_name() }}, {{ this.payload }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        rows: list[list[Any]] | str,
        colour: str,
        *,
        group: str,
        opts: MapOptions,
        cluster: bool,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "PlaceRows"
        data: dict[str, Any] = {
            "colour": colour, "pane": PLACES_PANE, "cluster": cluster,
            "selected": opts.selected, "group": group,
        }  # fmt: skip
        data.update({"url": rows} if isinstance(rows, str) else {"rows": rows})
        self.payload = script_json(data)
        self.default_js = [("markerclusterjs", _MARKERCLUSTER[0])] if cluster else []
        names = ("markerclustercss", "markerclusterdefaultcss")
        css = list(zip(names, _MARKERCLUSTER[1:], strict=True))
        self.default_css = css if cluster else []


def _route_layer_name(row: Any) -> str:
    return esc(row.title or row.route_id)


def _route_locations(geometry: Any) -> list[Any]:
    """Leaflet (lat, lon) lists; longitudes are kept as given (continuous across 180°)."""
    lines = geometry.geoms if geometry.geom_type == "MultiLineString" else [geometry]
    paths = [[to_latlon(float(x), float(y)) for x, y, *_ in line.coords] for line in lines]
    return paths[0] if len(paths) == 1 else paths


def route_layer(row: Any, *, show: bool = True) -> folium.FeatureGroup:
    """One route as its own overlay, coloured by mode and dashed when planned/proposed."""
    group = folium.FeatureGroup(name=_route_layer_name(row), show=show)
    line = _folium.PolyLine(
        _route_locations(row.geometry),
        color=MODE_COLOURS.get(row.mode, "#444444"),
        weight=4,
        opacity=0.85,
        dash_array="10 8" if row.status in DASHED else None,
        tooltip=folium.Tooltip(esc(row.title), sticky=True),
        popup=folium.Popup(route_popup_html(row), max_width=380, lazy=True),
    )
    _add(line, _FeatureTag({"route_id": str(row.route_id), "kind": "route"}))
    _add(group, line)
    return group


def _quoted_titles(places: gpd.GeoDataFrame, rows: list[list[Any]]) -> dict[str, str]:
    """Article id -> title of the articles the popups quote."""
    ids = {q[3] for r in rows for q in r[-1]}
    titles: dict[str, str] = {}
    for quotes in places.get("quotes", ()):
        for q in quotes if isinstance(quotes, list | tuple) else ():
            if isinstance(q, Excerpt) and q.article_id in ids:
                titles.setdefault(q.article_id, q.title)
    return titles


def _grouped(places: gpd.GeoDataFrame) -> dict[str, list[list[Any]]]:
    rows = place_rows(places)
    groups = list(places["group"]) if "group" in places else []
    out: dict[str, list[list[Any]]] = {key: [] for key in GROUP_STYLES}
    for row, group in zip(rows, groups, strict=True):
        if group in out:
            out[group].append(row)
    return out


def place_data(places: gpd.GeoDataFrame) -> str:
    """The places as the browser fetches them with ``MapOptions.places_url``: JSON of
    ``{"groups": {kind group: rows (see place_rows)}, "articles": {id: title}}``."""
    groups = _grouped(places)
    rows = [r for group in groups.values() for r in group]
    data = {"groups": groups, "articles": _quoted_titles(places, rows)}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _place_layers(
    places: gpd.GeoDataFrame, opts: MapOptions
) -> tuple[_PlaceScript, list[folium.FeatureGroup]]:
    cluster = opts.cluster if opts.cluster is not None else len(places) > CLUSTER_ABOVE
    groups = _grouped(places) if opts.places_url is None else {}
    layers = []
    for key, (label, colour) in GROUP_STYLES.items():
        name = esc(label)
        layer = folium.FeatureGroup(name=name, show=name not in opts.hidden_overlays)
        rows = opts.places_url or groups[key]
        _add(layer, _PlaceRows(rows, colour, group=key, opts=opts, cluster=cluster))
        layers.append(layer)
    inline = [r for group in groups.values() for r in group]
    return _PlaceScript(_quoted_titles(places, inline)), layers


def _base_layers(basemap: BaseMap, opts: MapOptions) -> list[folium.map.Layer]:
    offline = folium.FeatureGroup(
        name=OFFLINE_LAYER, overlay=False, show=opts.base_layer == OFFLINE_LAYER
    )
    styles = {
        "countries": {"color": BORDER, "weight": 0.6, "fillColor": LAND, "fillOpacity": 1},
        "coastline": {"color": COAST, "weight": 0.9, "fill": False},
    }
    for name, data in (("countries", basemap.countries), ("coastline", basemap.coastline)):
        if basemap.url_base:
            url = f"{basemap.url_base}/{name}.geojson"
            _FetchedGeoJson(url, styles[name], BASEMAP_PANE).add_to(offline)
            continue
        folium.GeoJson(
            dict(data), name=name, control=False, interactive=False, pane=BASEMAP_PANE,
            style=styles[name],
        ).add_to(offline)  # fmt: skip
    layers: list[folium.map.Layer] = [offline]
    for name, (url, attribution) in TILE_LAYERS.items():
        layers.append(
            folium.TileLayer(
                url, attr=attribution, name=name, show=opts.base_layer == name, max_zoom=19
            )
        )
    return layers


class _Behaviour(MacroElement):
    """Ocean background, the tile-error notice, the legend and layer/view persistence.

    Rendered after the layer control; names are resolved at render time, so st_folium's
    renaming of folium variables keeps working.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var control = {{ this.control.get_name() }};
            var offline = {{ this.offline.get_name() }};
            var tiles = [{% for t in this.tiles %}{{ t.get_name() }}, {% endfor %}];
            var cfg = {{ this.config|tojson }};
            map.getContainer().style.background = cfg.ocean;
            var legend = L.control({position: "bottomright"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "news-atlas-legend");
                div.innerHTML = cfg.legend;
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            legend.addTo(map);
            var notice = L.control({position: "bottomleft"});
            notice.onAdd = function () {
                var div = L.DomUtil.create("div", "news-atlas-tile-notice");
                div.textContent = cfg.notice;
                div.style.cssText = cfg.notice_css;
                return div;
            };
            var shown = false;
            tiles.forEach(function (t) {
                t.on("tileerror", function () {
                    if (!shown && map.hasLayer(t)) { notice.addTo(map); shown = true; }
                });
            });
            map.on("baselayerchange", function () {
                if (shown) { notice.remove(); shown = false; }
            });
            var store = null;
            try { store = cfg.key ? window.localStorage : null; } catch (e) { store = null; }
            if (!store) { return; }
            function save() {
                var c = map.getCenter();
                var state = {base: null, hidden: [], view: [c.lat, c.lng, map.getZoom()]};
                control._layers.forEach(function (o) {
                    if (!o.overlay && map.hasLayer(o.layer)) { state.base = o.name; }
                    if (o.overlay && !map.hasLayer(o.layer)) { state.hidden.push(o.name); }
                });
                try { store.setItem(cfg.key, JSON.stringify(state)); } catch (e) {}
            }
            function restore() {
                var state = null;
                try { state = JSON.parse(store.getItem(cfg.key)); } catch (e) { state = null; }
                if (!state) { return; }
                var base = control._layers.filter(function (o) {
                    return !o.overlay && o.name === state.base;
                })[0];
                control._layers.forEach(function (o) {
                    if (!o.overlay && base && o !== base) { map.removeLayer(o.layer); }
                    if (o.overlay && (state.hidden || []).indexOf(o.name) >= 0) {
                        map.removeLayer(o.layer);
                    }
                });
                if (base) { map.addLayer(base.layer); }
                if (cfg.restore_view && state.view) {
                    map.setView([state.view[0], state.view[1]], state.view[2]);
                }
            }
            restore();
            map.on("baselayerchange overlayadd overlayremove moveend", save);
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        control: folium.LayerControl,
        base: Sequence[folium.map.Layer],
        config: Mapping[str, Any],
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "NewsAtlasBehaviour"
        self.control = control
        self.offline = base[0]
        self.tiles = list(base[1:])
        self.config = dict(config)


#: Mention counts the size legend shows.
SIZE_STEPS = (1, 10, 50)


def size_legend_html() -> str:
    """Circles as large as the markers of 1, 10 and 50 mentions (radius 4 + 3·√n px)."""
    items = []
    for n in SIZE_STEPS:
        d = round(2 * _radius(n))
        circle = (
            f"display:inline-block;width:{d}px;height:{d}px;border-radius:50%;"
            "border:1px solid #555;vertical-align:middle;margin:0 4px 0 6px"
        )
        items.append(f"<span style='{circle}'></span>{n}")
    return f"<div style='margin-top:4px'>Mentions:{''.join(items)}</div>"


def legend_html() -> str:
    """The legend: kind groups (circle colours) and route styles (mode colours, dashes)."""
    dot = "display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:5px"
    rows = [
        f"<div><span style='{dot};background:{colour}'></span>{esc(label)}</div>"
        for label, colour in GROUP_STYLES.values()
    ]
    bar = "display:inline-block;width:22px;margin-right:5px;vertical-align:middle"
    rows += [
        f"<div><span style='{bar};border-top:3px solid {colour}'></span>{esc(mode)} route</div>"
        for mode, colour in MODE_COLOURS.items()
    ]
    rows.append(
        f"<div><span style='{bar};border-top:3px dashed #444'></span>planned / proposed</div>"
    )
    rows.append(size_legend_html())
    box = (
        "background:rgba(255,255,255,.9);padding:6px 8px;border-radius:4px;"
        "font:12px/1.5 sans-serif;box-shadow:0 0 4px rgba(0,0,0,.3)"
    )
    # A <details> block: open at first, folded away with one click when it hides markers.
    return (
        f"<details open style='{box}'><summary style='cursor:pointer'><b>Legend</b></summary>"
        f"{''.join(rows)}</details>"
    )


def _config(opts: MapOptions) -> dict[str, Any]:
    return {
        "ocean": OCEAN,
        "legend": legend_html(),
        "notice": TILE_NOTICE,
        "notice_css": "background:#fff3cd;color:#664d03;border:1px solid #e0b84f;"
        "padding:4px 8px;border-radius:4px;font:13px sans-serif",
        "key": opts.persist_key,
        "restore_view": opts.center is None and opts.selected is None,
    }


def _selected_row(places: gpd.GeoDataFrame, place_id: str | None) -> Any | None:
    if place_id is None or places.empty:
        return None
    rows = places[places["place_id"] == place_id]
    return next(rows.itertuples(index=False), None)


def _new_map(places: gpd.GeoDataFrame, opts: MapOptions, selected: Any | None) -> folium.Map:
    center = _latlon(selected.geometry) if selected is not None else opts.center
    m = folium.Map(
        location=list(center) if center is not None else [20.0, 0.0],
        zoom_start=opts.zoom or (6 if center is not None else 3),
        tiles=None,
        control_scale=True,
        world_copy_jump=False,
    )
    # Leaflet and jQuery (folium's popups use it) only: the map uses no Bootstrap, Font
    # Awesome or awesome-markers (circle markers, plain HTML popups), and each file not
    # loaded is time saved every time Streamlit mounts the map.
    m.options["maxZoom"] = 18  # markercluster needs one (folium passes max_zoom to tiles only)
    m.default_js = [a for a in m.default_js if a[0] in ("leaflet", "jquery")]
    m.default_css = [a for a in m.default_css if a[0] == "leaflet_css"]
    if center is None and not places.empty:
        minx, miny, maxx, maxy = (float(v) for v in places.total_bounds)
        bounds = [to_latlon(minx, miny), to_latlon(maxx, maxy)]
        m.fit_bounds(bounds, padding=(30, 30), max_zoom=8)  # one place: not an endless zoom
    return m


def _selected_ring(selected: Any) -> folium.CircleMarker:
    ring = folium.CircleMarker(
        location=_latlon(selected.geometry),
        radius=_radius(selected.mentions) + 6,
        color="#111111",
        weight=3,
        fill=False,
        class_name="news-atlas-selected",
    )
    # folium's path_options drops these; a ring that took clicks would hide its marker.
    ring.options.update(interactive=False, pane=PLACES_PANE)
    return ring


def _add_plugins(m: folium.Map) -> None:
    _add(m, _plugins.Fullscreen(position="topleft"))
    measure = _plugins.MeasureControl(
        position="topleft",
        primary_length_unit="kilometers",
        secondary_length_unit="miles",
        primary_area_unit="sqkilometers",
    )
    _add(m, measure)
    _add(m, _plugins.MousePosition(position="bottomleft", separator=", ", num_digits=3))


def build_map(
    places: gpd.GeoDataFrame,
    routes: gpd.GeoDataFrame | None,
    basemap: BaseMap,
    options: MapOptions | None = None,
) -> folium.Map:
    """Build the News Atlas map (pure: no I/O; assets are linked, see :mod:`geo.assets`).

    Parameters
    ----------
    places : geopandas.GeoDataFrame
        The places layer (``geo.layers``): Point (lon, lat) geometry and the columns
        ``place_id, name, kind, group, country, mentions, quotes`` (JSON list of
        ``{article_id, title, outlet, date, sentence, hl_start, hl_end}``), among others.
    routes : geopandas.GeoDataFrame or None
        The routes layer: (Multi)LineString with continuous (unwrapped) longitudes and
        ``route_id, title, mode, status, period, length_km, quotes, description``.
    basemap : BaseMap
        From :func:`load_basemap`.
    options : MapOptions, optional
        Clustering, selection, view, asset URL prefix, initial layers.

    Returns
    -------
    folium.Map
        Base layers (offline first and default, then OpenStreetMap, CartoDB Positron, Esri
        World Imagery), one overlay per kind group and per route, legend, fullscreen,
        measure (km), mouse position and scale controls.  See the module docstring for what
        the app reads back from ``st_folium``.

    Raises
    ------
    BadInput
        If ``options.base_layer`` is unknown or a JSON column is malformed.
    """
    opts = options or MapOptions()
    if opts.base_layer not in BASE_LAYERS:
        raise BadInput(f"unknown base layer {opts.base_layer!r}; use one of {BASE_LAYERS}")
    selected = _selected_row(places, opts.selected)
    m = _new_map(places, opts, selected)
    _add(m, folium.map.CustomPane(BASEMAP_PANE, z_index=250, pointer_events=False))
    _add(m, folium.map.CustomPane(PLACES_PANE, z_index=450, pointer_events=True))
    base = _base_layers(basemap, opts)
    script, place_layers = _place_layers(places, opts)
    _add(m, script)
    for layer in [*base, *place_layers]:
        layer.add_to(m)
    for row in routes.itertuples(index=False) if routes is not None else ():
        route_layer(row, show=_route_layer_name(row) not in opts.hidden_overlays).add_to(m)
    if selected is not None:
        _selected_ring(selected).add_to(m)
    _add_plugins(m)
    control = folium.LayerControl(collapsed=True)
    _add(m, control)
    _add(m, _Behaviour(control, base, _config(opts)))
    return localize_assets(m, opts.asset_base)
