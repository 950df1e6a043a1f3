"""News Atlas dashboard: ``streamlit run app.py``.

Widgets, caching and rendering only; the page logic lives in :mod:`geo.dashboard`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import altair as alt
import streamlit as st

from geo import _stfolium, analyst, assets, dashboard, edits, mapview, settings
from geo.dashboard import Filters, Layers, Selection, View
from geo.errors import GeoError

STATIC_DIR = Path(__file__).resolve().parent / "static"
BASEMAP_URL = "/app/static/basemap"
PLACES_URL = "/app/static/places"
BUNDLES_URL = "/app/static/bundles"
#: Rows of the places table shown (most mentioned first); the downloads have every place.
TABLE_ROWS = 1000

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
            st.markdown(analyst.notice_html(warning, "warning"), unsafe_allow_html=True)
        version = dashboard.data_version(cfg) or 0
    return _layers(str(dashboard.store_file(cfg)), version)


def _lay_key(lay: Layers) -> tuple[str, int]:
    return (str(lay.store), lay.build_id)


# Caches keyed on what they depend on: the atlas build, the filters (and the map options).
_KEYS: dict[Any, Callable[[Any], Any]] = {Layers: _lay_key, Filters: dashboard.filters_key}


@st.cache_resource(show_spinner=False, max_entries=16, hash_funcs=_KEYS)
def _view(lay: Layers, filters: Filters) -> View:
    return dashboard.view(lay, filters)


@st.cache_resource(show_spinner=False, max_entries=16, hash_funcs=_KEYS)
def _map_document(
    lay: Layers, filters: Filters, cluster: bool | None, focus: str | None
) -> tuple[_stfolium.MapDocument, str | None]:
    """The map document and the name of the places' data file it fetches (None: inline)."""
    view = _view(lay, filters)
    data = dashboard.map_place_data(lay, filters, view.places)
    name = assets.publish_places(data, STATIC_DIR)
    url = f"{PLACES_URL}/{name}" if name else None  # fetched and cached by the browser
    options = mapview.MapOptions(cluster=cluster, selected=focus, places_url=url)
    m = mapview.build_map(view.places, view.map_routes, _basemap(str(_cfg().data_dir)), options)
    doc = _stfolium.map_document(m, key="map")
    bundle = assets.publish_bundle(doc.js_links, STATIC_DIR)  # one request, not six in a row
    return (replace(doc, js_links=(f"{BUNDLES_URL}/{bundle}",)) if bundle else doc), name


@st.cache_resource(show_spinner=False, max_entries=2, hash_funcs=_KEYS)
def _timeline(lay: Layers) -> Any:
    return dashboard.timeline(lay.articles)


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


def _timeline_filter(lay: Layers) -> tuple[tuple[str, str] | None, bool, Callable[[], object]]:
    """Month range and undated switch, and how to draw the histogram of the articles over
    time in its place under them (called once the map is on its way: see :func:`main`)."""
    side = st.sidebar
    counts = _timeline(lay)
    months = list(dict.fromkeys(counts["month"]))
    undated = dashboard.undated_count(lay.articles)
    keep_undated = side.toggle(f"Include undated articles ({undated})", value=True, key="undated")
    if len(months) < 2:
        return None, keep_undated, lambda: None
    lo, hi = side.select_slider("Dates", months, value=(months[0], months[-1]), key="months")
    slot = side.empty()
    side.caption("Articles per month; pale: dates known to the month only.")
    full = (lo, hi) == (months[0], months[-1])
    chart = partial(slot.altair_chart, _histogram(counts, lo, hi), height=130, key="timeline")
    return (None if full else (lo, hi)), keep_undated, chart


def _histogram(counts: Any, lo: str, hi: str) -> Any:
    inside = (alt.datum.month >= lo) & (alt.datum.month <= hi)
    colours = alt.Scale(domain=["exact", "approximate"], range=["#1f3b99", "#9db4e8"])
    return (
        alt.Chart(counts.assign(day=counts["month"] + "-01"))
        .mark_bar()
        .encode(
            x=alt.X("yearmonth(day):T", title=None, axis=alt.Axis(format="%b %y", tickCount=4)),
            y=alt.Y("sum(articles):Q", title=None, axis=alt.Axis(tickCount=3)),
            color=alt.Color("precision:N", scale=colours, legend=None),
            opacity=alt.condition(inside, alt.value(1.0), alt.value(0.2)),
            tooltip=["month", "precision", "articles"],
        )
    )


def _article_options(titles: dict[str, str], key: str, where: Any) -> list[str]:
    """The articles picker ``key`` lists: every one up to ``dashboard.PICKER_LIMIT``, above
    it those whose title holds what a box above the picker asks for (the chosen ones stay)."""
    query = ""
    if len(titles) > dashboard.PICKER_LIMIT:
        query = where.text_input(
            "Narrow the article list", key=f"{key}_query",
            placeholder=f"{len(titles):,} articles: part of a title",
        )  # fmt: skip
    chosen = st.session_state.get(key)
    keep = chosen if isinstance(chosen, list) else [chosen] if chosen else []
    return dashboard.picker_options(titles, query, keep=keep)


def _sidebar(lay: Layers) -> tuple[Filters, bool | None, Callable[[], object]]:
    side = st.sidebar
    side.title("News Atlas")
    side.text_input("Find a place", key="search", on_change=_on_search, placeholder="A place name")
    hits = st.session_state.get("search_hits")
    if hits == []:
        side.caption("No place of that name in the articles.")
    elif hits:
        names = dict(zip(lay.places["place_id"], lay.places["name"], strict=True))
        side.caption("Found: " + ", ".join(names[h] for h in hits))
    months, undated, histogram = _timeline_filter(lay)
    titles = {k: a.title for k, a in lay.articles.items()}
    chosen = side.multiselect(
        "Articles", _article_options(titles, "articles", side), key="articles",
        format_func=titles.__getitem__, placeholder="All articles",
    )  # fmt: skip
    labels = dashboard.GROUP_LABELS
    groups = side.multiselect(
        "Kinds of place", list(labels), default=list(labels), format_func=labels.__getitem__
    )
    top = max(int(lay.places["mentions"].max()) if not lay.places.empty else 1, 2)
    least = side.slider("Minimum mentions", 1, min(top, 30), 1)
    cluster = side.radio(
        "Markers", ("Auto", "Clustered", "Each place"), key="cluster",
        help=f"Auto clusters them above {mapview.CLUSTER_ABOVE:,} places.",
    )  # fmt: skip
    filters = Filters(
        articles=frozenset(chosen) or None,
        groups=frozenset(groups),
        min_mentions=least,
        keep=st.session_state.get("focus"),
        months=months,
        undated=undated,
    )
    return filters, {"Clustered": True, "Each place": False}.get(str(cluster)), histogram


def _map(lay: Layers, filters: Filters, cluster: bool | None) -> None:
    doc, places_file = _map_document(lay, filters, cluster, st.session_state.get("focus"))
    if places_file:
        assets.keep_places(places_file, STATIC_DIR)
    out = _stfolium.show_map(doc, height=620, returned_objects=mapview.RETURNED_OBJECTS)
    clicked, st.session_state.last_click = dashboard.click_selection(
        out, st.session_state.get("last_click")
    )
    if clicked is not None:
        st.session_state.selection = clicked


@st.fragment
def _map_and_panel(lay: Layers, filters: Filters, cluster: bool | None) -> None:
    """The map and the side panel: a click on the map reruns this, not the page (the map
    document is cached, so the rerun sends the browser a reference to it, not the map)."""
    if st.session_state.pop("rerun_app", False):  # an edit made in the panel changed the atlas
        st.rerun(scope="app")
    st.session_state.panel_runs = st.session_state.get("panel_runs", 0) + 1
    view = _view(lay, filters)
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.caption(f"{len(view.places)} places · {len(view.routes)} routes · offline base map")
        _map(lay, filters, cluster)
    with right:
        _panel(lay, filters)
    # Run counter of this fragment for the benchmark (a number only; hidden).
    st.markdown(
        f"<div id='news-atlas-panel-runs' data-runs='{int(st.session_state.panel_runs)}' hidden>"
        "</div>",
        unsafe_allow_html=True,
    )


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
    articles = dashboard.allowed_articles(lay, filters)
    panel = dashboard.place_panel(lay, sel.id, articles=articles, limit=_limit())
    st.markdown(dashboard.place_panel_html(panel), unsafe_allow_html=True)
    _corrections(panel)
    if panel.passages > len(panel.contexts):
        st.button("More passages", key="more_passages", on_click=_more)
    if panel.others:
        names = dict(panel.others)
        st.selectbox(
            "Other places in these passages", list(names), index=None, key="pick_other",
            format_func=names.__getitem__, on_change=_on_pick, args=("pick_other",),
        )  # fmt: skip


def _reader(lay: Layers, articles: frozenset[str] | None) -> None:
    titles = {k: a.title for k, a in lay.articles.items() if articles is None or k in articles}
    options = _article_options(titles, "reader", st)
    art_id = st.selectbox("Article", options, format_func=titles.__getitem__, key="reader")
    if art_id is None:
        return
    names = dict(dashboard.article_places(lay, art_id))
    st.selectbox(
        "Show a place of this article on the map", list(names), index=None,
        key="pick_reader", format_func=names.__getitem__, on_change=_on_pick,
        args=("pick_reader",),
    )  # fmt: skip
    st.markdown(dashboard.reader_html(lay, art_id), unsafe_allow_html=True)


@st.cache_resource(show_spinner=False, max_entries=16, hash_funcs=_KEYS)
def _places_table(lay: Layers, filters: Filters) -> Any:
    return dashboard.places_table(_view(lay, filters).places)


def _table(lay: Layers, filters: Filters) -> None:
    view, table = _view(lay, filters), _places_table(lay, filters)
    if len(table) > TABLE_ROWS:  # a long table is a long message on every page open
        st.caption(
            f"The {TABLE_ROWS:,} most mentioned of {len(table):,} places; the downloads have all."
        )
    st.dataframe(table.head(TABLE_ROWS), hide_index=True, width="stretch")
    geojson, csv = "application/geo+json", "text/csv"
    downloads = (  # made when clicked, not on every run
        ("Places GeoJSON", partial(dashboard.to_geojson, view.places), "places.geojson", geojson),
        ("Places CSV", partial(dashboard.to_csv, table), "places.csv", csv),
        ("Routes GeoJSON", partial(dashboard.to_geojson, view.routes), "routes.geojson", geojson),
        ("Routes CSV", partial(_routes_csv, view.routes), "routes.csv", csv),
    )
    for col, (label, data, name, mime) in zip(st.columns(4), downloads, strict=True):
        col.download_button(label, data, file_name=name, mime=mime, key=f"dl-{name}")


def _routes_csv(routes: Any) -> str:
    return dashboard.to_csv(dashboard.routes_table(routes))


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


# -- the analyst loop: add articles, correct places, export (page logic in geo/analyst.py) ----


def _can_edit(cfg: settings.Settings) -> bool:
    return settings.edits_allowed(cfg, st.get_option("server.address"))


@st.cache_resource(show_spinner=False, max_entries=1)
def _loaded_parser(data_dir: str, cache_dir: str, version: str) -> Any:
    from geo.geocode import online_fallback  # noqa: PLC0415
    from geo.parser import load_parser  # noqa: PLC0415

    fallback = online_fallback(_cfg())
    return load_parser(Path(data_dir), cache_dir=Path(cache_dir), fallback=fallback)


def _parser() -> Any:
    """The geoparser, kept loaded for uploads and the gazetteer search (reloaded when the
    parser's data or code change: the build's version key)."""
    from geo.build import version_key  # noqa: PLC0415

    cfg = _cfg()
    version = version_key(cfg.data_dir, online=cfg.online)
    return _loaded_parser(str(cfg.data_dir), str(cfg.cache_dir), version)


# The callbacks below call no Streamlit element until their change is made and the page
# state set: an element call is where Streamlit stops a run for the next one (a click, the
# map's value), and that must not cut a callback short.  ``edits`` counts the clicks done.


def _done() -> None:
    st.session_state.edits = int(st.session_state.get("edits", 0)) + 1


def _on_add() -> None:
    state, cfg = st.session_state, _cfg()
    _done()
    if not _can_edit(cfg):  # the form is not shown then; a forged click changes nothing
        return
    files = [(f.name, f.getvalue()) for f in state.get("add_files") or []]
    if state.get("add_text", "").strip():
        files.append(("the pasted text", state.add_text.encode("utf-8")))
    meta = {k: state.get(f"add_{k}", "") for k in ("title", "outlet", "author", "date", "url")}
    meta["date_approximate"] = bool(state.get("add_approximate"))
    try:
        ids, _ = edits.add_articles(cfg, files, meta, parser=_parser())
    except GeoError as err:
        state.add_error = str(err)
        return
    before = set(state.layers.places["place_id"]) if "layers" in state else set()
    first = analyst.first_place(_atlas(cfg), ids, before)
    if first:
        _select("place", first, focus=True)
    st.toast(f"Added article(s) {', '.join(ids)}: now on the map.")


def _add_articles(cfg: settings.Settings) -> None:
    """The upload form, sent when its box is opened (a rerun): nine widgets fewer for the
    browser to fetch and draw on every page open."""
    box = st.sidebar.expander("Add articles", key="add_box", on_change="rerun")
    if not _can_edit(cfg):
        box.caption(analyst.EDITS_OFF)
        return
    if not box.open:
        return
    with box.form("add_form", clear_on_submit=True):
        st.text_area("Paste an article's text", key="add_text", height=120)
        st.file_uploader(
            f"…or upload .txt / .md files (UTF-8, at most {cfg.max_upload_mb:g} MB each)",
            type=["txt", "md"], accept_multiple_files=True,
            key="add_files",
        )  # fmt: skip
        st.text_input("Title", key="add_title")
        st.text_input("Outlet", key="add_outlet")
        st.text_input("Author", key="add_author")
        st.text_input("Date (YYYY-MM-DD)", key="add_date")
        st.checkbox("The date is approximate (YYYY-MM or YYYY allowed)", key="add_approximate")
        st.text_input("URL", key="add_url")
        st.form_submit_button("Add to the atlas", on_click=_on_add)
    error = st.session_state.pop("add_error", "")
    if error:
        box.markdown(analyst.notice_html(error), unsafe_allow_html=True)


def _on_correct(place_id: str) -> None:
    state, cfg = st.session_state, _cfg()
    _done()
    if not _can_edit(cfg):
        return
    try:
        fix = analyst.fix_from(state, place_id)
        gaz = _parser().gazetteer if state.get("fix_how") == "search" else None
        saved, _ = edits.correct(cfg, fix, gazetteer=gaz)
    except GeoError as err:
        state.correct_error = str(err)
        return
    _select("place", saved.place_id, focus=True)
    state.rerun_app = True  # the atlas changed: the whole page, not only the fragment
    st.toast(f"Saved correction {saved.id}.")


def _on_undo(correction_id: str) -> None:
    state, cfg = st.session_state, _cfg()
    _done()
    if not _can_edit(cfg):
        return
    try:
        gone, _ = edits.undo(cfg, correction_id)
    except GeoError as err:
        state.correct_error = str(err)
        return
    state.rerun_app = True
    st.toast(f"Undid correction {gone.id}.")  # ids only: a toast renders markdown


def _corrections(panel: dashboard.PlacePanel) -> None:
    """Correct this place (or one mention of it), and undo corrections, in the panel."""
    cfg = _cfg()
    error = st.session_state.pop("correct_error", "")
    if error:
        st.markdown(analyst.notice_html(error), unsafe_allow_html=True)
    editable = _can_edit(cfg)
    for c in analyst.corrections_of(analyst.corrections_list(cfg), panel.place_id):
        left, right = st.columns([4, 1])
        left.markdown(analyst.correction_html(c, lead="Corrected: "), unsafe_allow_html=True)
        if editable:
            right.button("Undo this", key=f"undo-here-{c.id}", on_click=_on_undo, args=(c.id,))
    if not editable:
        st.caption(analyst.EDITS_OFF)
        return
    lay = st.session_state.layers
    with st.expander("Correct this place", expanded=False):
        mentions = analyst.place_mentions(lay, panel.place_id)
        st.selectbox(
            "Which mention", list(mentions), format_func=mentions.__getitem__, key="fix_mention"
        )
        st.radio(
            "Apply to", list(analyst.SCOPE_LABELS), format_func=analyst.SCOPE_LABELS.__getitem__,
            key="fix_scope", horizontal=True,
        )  # fmt: skip
        how = st.radio(
            "It is", list(analyst.HOW), format_func=analyst.HOW.__getitem__, key="fix_how"
        )
        _choice(how, panel)
        st.text_input("Note (optional)", key="fix_note")
        st.button("Save correction", key="fix_save", on_click=_on_correct, args=(panel.place_id,))
    _undo_list(cfg)


def _choice(how: str, panel: dashboard.PlacePanel) -> None:
    if how == "runner_up":
        names = {p.id: analyst.place_label(p) for p in panel.alternatives}
        st.selectbox("Runner-up", list(names), format_func=names.__getitem__, key="fix_runner_up")
    elif how == "search":
        query = st.text_input("Search the gazetteer by name", key="fix_query")
        found = edits.find_places(_parser().gazetteer, query) if query.strip() else []
        names = {p.id: analyst.place_label(p) for p in found}
        if query and not names:
            st.caption("No gazetteer record of that name.")
        st.selectbox("Record", list(names), format_func=names.__getitem__, key="fix_record")
    elif how == "coordinates":
        a, b = st.columns(2)
        a.number_input("Latitude", -90.0, 90.0, 0.0, format="%.5f", key="fix_lat")
        b.number_input("Longitude", -180.0, 180.0, 0.0, format="%.5f", key="fix_lon")
        st.text_input("Name", key="fix_name")
        kinds = analyst.PLACE_KINDS
        st.selectbox("Kind", kinds, index=kinds.index("city"), key="fix_kind")


def _undo_list(cfg: settings.Settings) -> None:
    items = analyst.corrections_list(cfg)
    if not items:
        return
    with st.expander(f"Corrections ({len(items)})", expanded=False):
        for warning in analyst.stale_warnings(st.session_state.layers):
            st.markdown(analyst.notice_html(warning, "warning"), unsafe_allow_html=True)
        for c in items:
            left, right = st.columns([5, 1])
            left.markdown(analyst.correction_html(c), unsafe_allow_html=True)
            right.button("Undo", key=f"undo-{c.id}", on_click=_on_undo, args=(c.id,))


def _export(lay: Layers, filters: Filters) -> None:
    """A download button for the evidence pack of the current view."""
    done = int(st.session_state.get("edits", 0))  # for the browser tests: clicks done
    st.markdown(
        f"<div id='news-atlas-edits' data-edits='{done}' hidden></div>", unsafe_allow_html=True
    )
    view = analyst.view_of(filters)
    key = (lay.build_id, view)
    if st.session_state.get("pack_for") != key:
        st.session_state.pack_for, st.session_state.pack = key, None
    if st.session_state.pack is None and st.button("Make the evidence pack", key="make_pack"):
        with st.spinner("Writing the evidence pack…"):
            st.session_state.pack = analyst.evidence_pack(_cfg(), view)
    if st.session_state.pack is not None:
        st.download_button(
            "Download the evidence pack (HTML)", st.session_state.pack,
            file_name=f"news-atlas-evidence-{lay.build_id}.html", mime="text/html",
            key="dl-pack",
        )  # fmt: skip


#: The tabs under the map, each drawn only while it is open (choosing one reruns the page).
TABS = ("Reader", "Table", "Claim check")


def _tabs(lay: Layers, filters: Filters) -> None:
    """Reader, table and claim check.  Only the open tab is sent: the table's grid (1.2 MB
    of the browser's code) and the claim check's metrics are not fetched and drawn on
    every page open, only when chosen."""
    tabs = st.tabs(list(TABS), key="tab", on_change="rerun")
    draw = (
        lambda: _reader(lay, _view(lay, filters).articles),
        lambda: _table(lay, filters),
        lambda: _claim(lay),
    )
    for tab, show in zip(tabs, draw, strict=True):
        if tab.open is not False:  # None: not tracked (every tab drawn)
            with tab:
                show()


def _cfg() -> settings.Settings:
    return settings.load()


def main() -> None:
    """The page."""
    st.session_state.runs = st.session_state.get("runs", 0) + 1
    cfg = _cfg()
    lay = _atlas(cfg)
    st.session_state.layers = lay
    dashboard.forget_stale(st.session_state, lay)
    filters, cluster, histogram = _sidebar(lay)
    _map_and_panel(lay, filters, cluster)
    # The browser fetches each kind of element's code as it meets it, a few files at a time:
    # the histogram's chart library (0.8 MB, some 20 files) and the upload form's widgets
    # come after the map's, not before them.  Both stay where they were in the sidebar.
    histogram()
    _add_articles(cfg)
    _export(lay, filters)
    _tabs(lay, filters)
    # Script-run counter for the benchmark (a number only; hidden).
    st.markdown(
        f"<div id='news-atlas-runs' data-runs='{int(st.session_state.runs)}' hidden></div>",
        unsafe_allow_html=True,
    )


try:
    main()
except GeoError as err:
    st.error(str(err))
