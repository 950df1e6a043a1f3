"""News Atlas dashboard: ``streamlit run app.py``.

Widgets, caching and rendering only; the page logic lives in :mod:`geo.dashboard`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit_folium import st_folium

from geo import assets, dashboard, mapview, settings
from geo.dashboard import Filters, Layers, Selection
from geo.errors import GeoError

STATIC_DIR = Path(__file__).resolve().parent / "static"
BASEMAP_URL = "/app/static/basemap"

st.set_page_config(page_title="News Atlas", page_icon="🗺️", layout="wide")


@st.cache_resource(show_spinner=False, max_entries=2)
def _layers(store_file: str, version: int) -> Layers:
    return dashboard.load_layers(Path(store_file))


def _atlas(cfg: settings.Settings) -> Layers:
    """The atlas as last committed (built first on a fresh clone)."""
    version = dashboard.data_version(cfg)
    if version is None:
        from geo.build import ensure_built  # noqa: PLC0415  (only a fresh clone needs it)

        with st.spinner("Building the atlas from the articles…"):
            report = ensure_built(cfg)
        for warning in report.warnings if report else ():
            st.warning(warning)
        version = dashboard.data_version(cfg) or 0
    return _layers(str(dashboard.store_file(cfg)), version)


@st.cache_resource(show_spinner=False)
def _basemap(data_dir: str) -> mapview.BaseMap:
    basemap = mapview.load_basemap(Path(data_dir))
    if assets.publish_basemap(Path(data_dir), STATIC_DIR):  # fetched, not inlined
        return replace(basemap, url_base=BASEMAP_URL)
    return basemap


def _select(kind: str, item_id: str | None, *, focus: bool = False) -> None:
    st.session_state.selection = Selection(kind, item_id) if item_id else None
    if focus and kind == "place":
        st.session_state.focus = item_id


def _on_search() -> None:
    query = st.session_state.search
    if not query.strip():  # a cleared search box: no message, and the map lets go
        st.session_state.search_hits, st.session_state.focus = None, None
        return
    hits = dashboard.search_places(st.session_state.layers.places, query)
    st.session_state.search_hits = hits
    if hits:
        _select("place", hits[0], focus=True)


def _on_pick(key: str) -> None:
    _select("place", st.session_state[key], focus=True)


def _sidebar(lay: Layers) -> tuple[Filters, bool]:
    side = st.sidebar
    side.title("News Atlas")
    side.text_input("Find a place", key="search", on_change=_on_search, placeholder="A place name")
    hits = st.session_state.get("search_hits")
    if hits == []:
        side.caption("No place of that name in the articles.")
    elif hits:
        names = dict(zip(lay.places["place_id"], lay.places["name"], strict=True))
        side.caption("Found: " + ", ".join(names[h] for h in hits))
    titles = {k: a.title for k, a in lay.articles.items()}
    chosen = side.multiselect(
        "Articles", list(titles), format_func=titles.__getitem__, placeholder="All articles"
    )
    labels = dashboard.GROUP_LABELS
    groups = side.multiselect(
        "Kinds of place", list(labels), default=list(labels), format_func=labels.__getitem__
    )
    top = max(int(lay.places["mentions"].max()) if not lay.places.empty else 1, 2)
    least = side.slider("Minimum mentions", 1, min(top, 30), 1)
    cluster = side.toggle("Cluster markers", value=False)
    filters = Filters(
        articles=frozenset(chosen) or None,
        groups=frozenset(groups),
        min_mentions=least,
        keep=st.session_state.get("focus"),
    )
    return filters, cluster


def _map(lay: Layers, places: Any, filters: Filters, cluster: bool) -> None:
    map_routes = dashboard.filter_routes(lay.map_routes, filters)
    options = mapview.MapOptions(cluster=cluster, selected=st.session_state.get("focus"))
    m = mapview.build_map(places, map_routes, _basemap(str(_cfg().data_dir)), options)
    # render=False: st_folium renders the map itself; the extra full-page render is not needed
    out = st_folium(
        m, key="map", use_container_width=True, height=620, render=False,
        returned_objects=list(mapview.RETURNED_OBJECTS),
    )  # fmt: skip
    clicked, st.session_state.last_click = dashboard.click_selection(
        out, st.session_state.get("last_click")
    )
    if clicked is not None:
        st.session_state.selection = clicked


def _more() -> None:
    st.session_state.panel_limit = _limit() + dashboard.PANEL_PAGE


def _limit() -> int:
    return int(st.session_state.get("panel_limit", dashboard.PANEL_PAGE))


def _panel(lay: Layers, filters: Filters) -> None:
    sel = st.session_state.get("selection")
    if sel != st.session_state.get("panel_for"):  # a new selection starts at the first page
        st.session_state.panel_for, st.session_state.panel_limit = sel, dashboard.PANEL_PAGE
    if sel is None:
        st.info("Click a place or a route on the map, or find a place in the sidebar.")
        return
    if sel.kind == "route":
        st.markdown(dashboard.route_panel_html(lay, sel.id), unsafe_allow_html=True)
        return
    panel = dashboard.place_panel(lay, sel.id, articles=filters.articles, limit=_limit())
    st.markdown(dashboard.place_panel_html(panel), unsafe_allow_html=True)
    if panel.passages > len(panel.contexts):
        st.button("More passages", key="more_passages", on_click=_more)
    if panel.others:
        names = dict(panel.others)
        st.selectbox(
            "Other places in these passages", list(names), index=None, key="pick_other",
            format_func=names.__getitem__, on_change=_on_pick, args=("pick_other",),
        )  # fmt: skip


def _reader(lay: Layers) -> None:
    titles = {k: a.title for k, a in lay.articles.items()}
    art_id = st.selectbox("Article", list(titles), format_func=titles.__getitem__, key="reader")
    if art_id is None:
        return
    names = dict(dashboard.article_places(lay, art_id))
    st.selectbox(
        "Show a place of this article on the map", list(names), index=None,
        key="pick_reader", format_func=names.__getitem__, on_change=_on_pick,
        args=("pick_reader",),
    )  # fmt: skip
    st.markdown(dashboard.reader_html(lay, art_id), unsafe_allow_html=True)


def _table(places: Any, routes: Any) -> None:
    table = dashboard.places_table(places)
    st.dataframe(table, hide_index=True, width="stretch")
    cols = st.columns(4)
    downloads = (
        ("Places GeoJSON", dashboard.to_geojson(places), "places.geojson", "application/geo+json"),
        ("Places CSV", dashboard.to_csv(table), "places.csv", "text/csv"),
        ("Routes GeoJSON", dashboard.to_geojson(routes), "routes.geojson", "application/geo+json"),
        ("Routes CSV", dashboard.to_csv(dashboard.routes_table(routes)), "routes.csv", "text/csv"),
    )
    for col, (label, data, name, mime) in zip(cols, downloads, strict=True):
        col.download_button(label, data, file_name=name, mime=mime, key=f"dl-{name}")


def _claim(lay: Layers) -> None:
    origins = dashboard.claim_origins(lay.claim)
    if not origins:
        st.info("No claim check in the routes file.")
        return
    st.markdown(dashboard.claim_quote_html(lay), unsafe_allow_html=True)
    origin = st.selectbox("Origin port", origins, key="claim_origin")
    row = dashboard.claim_row(lay.claim, origin)
    arctic_via, suez_via = (lay.claim.get(k, "") for k in ("arctic_via", "suez_via"))
    a, b, c, d = st.columns(4)
    a.metric(f"Arctic route, via {arctic_via}", f"{row['arctic_km']:,.0f} km")
    b.metric(f"Southern route, via {suez_via}", f"{row['suez_km']:,.0f} km")
    c.metric("Saving", f"{row['saving_share']:.0%}", f"{row['saving_km']:,.0f} km shorter")
    d.metric("Claimed in the article", f"{float(row['claimed_share']):.0%}")


def _cfg() -> settings.Settings:
    return settings.load()


def main() -> None:
    """The page."""
    st.session_state.runs = st.session_state.get("runs", 0) + 1
    cfg = _cfg()
    lay = _atlas(cfg)
    st.session_state.layers = lay
    dashboard.forget_stale(st.session_state, lay)
    filters, cluster = _sidebar(lay)
    places = dashboard.filter_places(lay, filters)
    routes = dashboard.filter_routes(lay.routes, filters)
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.caption(f"{len(places)} places · {len(routes)} routes · offline base map")
        _map(lay, places, filters, cluster)
    with right:
        _panel(lay, filters)
    reader, table, claim = st.tabs(["Reader", "Table", "Claim check"])
    with reader:
        _reader(lay)
    with table:
        _table(places, routes)
    with claim:
        _claim(lay)
    # Script-run counter for the benchmark (a number only; hidden).
    st.markdown(
        f"<div id='news-atlas-runs' data-runs='{int(st.session_state.runs)}' hidden></div>",
        unsafe_allow_html=True,
    )


try:
    main()
except GeoError as err:
    st.error(str(err))
