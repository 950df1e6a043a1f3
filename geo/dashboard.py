"""Page logic of the Streamlit dashboard: pure functions over the layer frames.

``app.py`` keeps the widgets and the caching; everything it shows is computed here, so it
can be unit-tested without Streamlit: loading (and, when missing, building) the layers,
filtering, place search, the side panels, the reader view, the claim check and the exports.

Everything returned as HTML is escaped with :func:`geo.mapview.esc` (``html.escape`` plus
backtick, ``$`` and backslash), holds no blank line (so Streamlit's markdown treats it as one
raw HTML block and applies no markdown, LaTeX or emoji syntax to news text) and is meant for
``st.markdown(..., unsafe_allow_html=True)``.
"""

from __future__ import annotations

import io
import json
import math
import threading
from collections.abc import Collection, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

import geopandas as gpd
import pandas as pd

from geo import layers, mapview, routes, store
from geo.errors import DataFileError, UnknownPlace
from geo.gazetteer import normalize
from geo.mapview import GROUP_STYLES, click_stamp, clicked_place_id, clicked_route_id, esc
from geo.model import KIND_GROUPS, Article, Excerpt, Place
from geo.settings import Settings
from geo.store import Store

#: Kind group -> label, as the legend and the kind filter show them.
GROUP_LABELS = {key: label for key, (label, _) in GROUP_STYLES.items()}
#: Columns of the places table (and its CSV export).
TABLE_COLUMNS = (
    "name", "kind", "group", "country", "mentions", "confidence", "lat", "lon", "corrected",
)  # fmt: skip
ROUTE_TABLE_COLUMNS = ("route_id", "title", "mode", "status", "period", "length_km")
_CSV_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Layers:
    """What the dashboard keeps in memory from one committed build of the store.

    ``places`` has one row per mentioned place (its record, ``mentions``, ``articles``,
    ``first_date``, ``last_date``, ``confidence``, ``passages``, and ``quotes``: the first
    few :class:`~geo.model.Excerpt` for its popup); ``mentions`` one compact row per placed
    mention (``article_id, place_id, name, start, end, passage_start, confidence, date``).
    Article texts and the rest of a place's passages are read from the store on demand.
    """

    store: Path
    build_id: int
    places: gpd.GeoDataFrame
    mentions: pd.DataFrame
    routes: gpd.GeoDataFrame
    map_routes: gpd.GeoDataFrame
    articles: Mapping[str, Article]
    claim: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Filters:
    """What the sidebar asks for; ``None`` means no restriction.

    ``months`` is an inclusive range of ``"YYYY-MM"`` months of the articles' dates (an
    approximate date counts in its month); ``undated`` keeps the articles without a date
    whatever the range.
    """

    articles: frozenset[str] | None = None
    groups: frozenset[str] | None = None
    min_mentions: int = 1
    keep: str | None = None
    months: tuple[str, str] | None = None
    undated: bool = True


@dataclass(frozen=True, slots=True)
class View:
    """What the filters leave: the places, the routes (as stored, and unwrapped for the
    map) and the allowed articles (None: all of them)."""

    places: gpd.GeoDataFrame
    routes: gpd.GeoDataFrame
    map_routes: gpd.GeoDataFrame
    articles: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class Selection:
    """The object whose side panel is shown: ``kind`` is ``"place"`` or ``"route"``."""

    kind: str
    id: str


@dataclass(frozen=True, slots=True)
class Context:
    """One sentence mentioning a place, with its neighbours and source."""

    article_id: str
    title: str
    outlet: str
    date: str
    before: str
    sentence_html: str
    after: str
    others: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class PlacePanel:
    """The side panel of one place."""

    place_id: str
    name: str
    kind: str
    country: str
    mentions: int
    confidence: float
    source: str
    alternatives: tuple[Place, ...]
    contexts: tuple[Context, ...]
    passages: int = 0
    others: tuple[tuple[str, str], ...] = field(default_factory=tuple)


# -- loading ----------------------------------------------------------------------------------

#: Quotes a popup shows; the side panel pages through the rest.
POPUP_QUOTES = mapview.MAX_QUOTES
#: Passages per page of the side panel.
PANEL_PAGE = 20


def store_file(cfg: Settings) -> Path:
    """The store the dashboard reads."""
    return store.store_path(cfg.data_dir)


def data_version(cfg: Settings) -> int | None:
    """The store's last committed build (what cached data is keyed on), or None when there
    is no usable store yet."""
    path = store_file(cfg)
    if not path.is_file():
        return None
    try:
        with Store(path) as st:
            return st.build_id() or None
    except DataFileError:
        return None


def _mention_stats(mentions: pd.DataFrame) -> pd.DataFrame:
    """Per place: mentions, articles, passages, lowest confidence, first and last date."""
    grouped = mentions.groupby("place_id")
    passages = mentions.drop_duplicates(["place_id", "article_id", "passage_start"])
    dated = mentions[mentions["date"] != ""].groupby("place_id")["date"]
    stats = pd.DataFrame({
        "mentions": grouped.size(),
        "articles": grouped["article_id"].nunique(),
        "passages": passages.groupby("place_id").size(),
        "confidence": grouped["confidence"].min().round(3),
    })  # fmt: skip
    stats["first_date"] = dated.min()
    stats["last_date"] = dated.max()
    return stats


def _with_stats(places: pd.DataFrame, stats: pd.DataFrame) -> pd.DataFrame:
    out = places.drop(columns=[c for c in stats.columns if c in places.columns])
    out = out.join(stats, on="place_id")
    for column in ("mentions", "articles", "passages"):
        out[column] = out[column].fillna(0).astype(int)
    for column in ("first_date", "last_date"):
        out[column] = out[column].fillna("").astype(str)
    return out


def _place_frame(st: Store, mentions: pd.DataFrame) -> gpd.GeoDataFrame:
    places = _with_stats(st.place_table(), _mention_stats(mentions))
    places["group"] = [KIND_GROUPS.get(k, "region") for k in places["kind"]]
    fixed = set(mentions.loc[mentions["correction"] != "", "place_id"])
    places["corrected"] = places["place_id"].isin(fixed)
    quotes = st.first_excerpts(POPUP_QUOTES)
    places["quotes"] = [quotes.get(pid, ()) for pid in places["place_id"]]
    places = places.sort_values(["mentions", "name"], ascending=[False, True], ignore_index=True)
    points = gpd.points_from_xy(places["lon"], places["lat"], crs=layers.CRS)
    return gpd.GeoDataFrame(places, geometry=points, crs=layers.CRS)


def _route_frame(st: Store) -> gpd.GeoDataFrame:
    features = [{"type": "Feature", "properties": p, "geometry": g} for p, g in st.routes()]
    frame = gpd.GeoDataFrame.from_features(features, crs=layers.CRS)
    if frame.empty:
        columns = [*routes.COLUMNS[:-1], "geometry"]
        return gpd.GeoDataFrame(columns=columns, geometry="geometry", crs=layers.CRS)
    return frame


#: Layers read ahead of the first visit (:func:`preload_layers`), by store and build.
_PRELOADED: dict[tuple[str, int], Layers] = {}
#: The map's place data (:func:`geo.mapview.place_data`) of the page opened afresh, made
#: ahead of the first visit with the layers, by store, build and filters.
_PREPARED: dict[tuple[str, int, str], str] = {}
_PRELOAD_LOCK = threading.Lock()


def default_filters() -> Filters:
    """What the sidebar asks for on a page opened afresh: every kind, every date, the
    undated articles kept."""
    return Filters(groups=frozenset(GROUP_LABELS))


def preload_layers(path: Path) -> None:
    """Read the atlas at ``path`` ahead of the first visit (``geo.serve`` runs this in a
    thread while Streamlit starts): the next :func:`load_layers` of the same build returns
    it instead of reading the store again, and :func:`map_place_data` the place data of
    :func:`default_filters`.  A missing or broken store is left for the page to report."""
    with _PRELOAD_LOCK:
        try:
            lay = _read_layers(path)
        except DataFileError:
            return
        _PRELOADED.clear()
        _PREPARED.clear()
        _PRELOADED[(str(path), lay.build_id)] = lay
        filters = default_filters()
        places = filter_places(lay, filters)
        _PREPARED[_prepared_key(lay, filters)] = mapview.place_data(places)


def _prepared_key(lay: Layers, filters: Filters) -> tuple[str, int, str]:
    return (str(lay.store), lay.build_id, filters_key(filters))


def map_place_data(lay: Layers, filters: Filters, places: gpd.GeoDataFrame) -> str:
    """:func:`geo.mapview.place_data` of ``places`` (the places ``filters`` leave of
    ``lay``): the one made ahead by :func:`preload_layers` when it is for these filters,
    handed over once."""
    with _PRELOAD_LOCK:
        text = _PREPARED.pop(_prepared_key(lay, filters), None)
    return mapview.place_data(places) if text is None else text


def load_layers(path: Path) -> Layers:
    """Read what the dashboard keeps in memory from the store at ``path``, all from one
    committed build (the preloaded one, see :func:`preload_layers`, when it is current).

    Raises
    ------
    DataFileError
        If there is no store there or it is not one; build with ``python -m geo build``.
    """
    with _PRELOAD_LOCK:
        if _PRELOADED:
            with Store(path) as st:
                current = (str(path), st.build_id())
            if current in _PRELOADED:
                return _PRELOADED.pop(current)
    return _read_layers(path)


def _read_layers(path: Path) -> Layers:
    with Store(path) as st, st.snapshot():
        mentions = st.mention_table()
        places = _place_frame(st, mentions)
        names = dict(zip(places["place_id"], places["name"], strict=True))
        mentions["name"] = mentions["place_id"].map(names)
        route_frame = _route_frame(st)
        return Layers(
            store=path,
            build_id=st.build_id(),
            places=places,
            mentions=mentions,
            routes=route_frame,
            map_routes=routes.unwrap_routes(route_frame),
            articles={a.id: a for a in st.articles()},
            claim=st.claim(),
        )


def json_list(value: object) -> list[Any]:
    """A list column value as a list (a JSON-encoded one decoded; empty when malformed)."""
    if isinstance(value, list | tuple):
        return list(value)
    if not isinstance(value, str) or not value:
        return []
    try:
        parsed = json.loads(value)
    except ValueError:
        return []
    return parsed if isinstance(parsed, list) else []


def article_month(date: str) -> str:
    """The ``"YYYY-MM"`` month of an article date (``"2023-09-13"``, ``"2023-09"``; a bare
    year counts as its January), or ``""`` when undated or unreadable."""
    text = date.strip()
    if len(text) >= 7 and text[:4].isdigit() and text[4] == "-" and text[5:7].isdigit():
        return text[:7] if "01" <= text[5:7] <= "12" else ""
    return f"{text}-01" if len(text) == 4 and text.isdigit() else ""


def allowed_articles(lay: Layers, filters: Filters) -> frozenset[str] | None:
    """The articles the filters leave (None: every article): the chosen ones, dated within
    ``filters.months`` or undated when ``filters.undated``."""
    if filters.months is None and filters.undated:
        return filters.articles
    ids = filters.articles if filters.articles is not None else lay.articles.keys()
    lo, hi = filters.months or ("0000-00", "9999-99")
    keep = set()
    for art_id in ids:
        art = lay.articles.get(art_id)
        month = article_month(art.date) if art else ""
        if (lo <= month <= hi) if month else filters.undated:
            keep.add(art_id)
    return frozenset(keep)


def filter_places(lay: Layers, filters: Filters) -> gpd.GeoDataFrame:
    """The places to draw: mentioned in the allowed articles (see :func:`allowed_articles`),
    of the chosen groups, and with at least ``min_mentions`` mentions there.  Counts, dates
    and popup quotes are those of the allowed articles; ``filters.keep`` (the searched
    place) is always kept."""
    places = lay.places
    allowed = allowed_articles(lay, filters)
    if allowed is not None:
        mentions = lay.mentions[lay.mentions["article_id"].isin(allowed)]
        places = _with_stats(places, _mention_stats(mentions))
        places["quotes"] = [
            tuple(q for q in quotes if q.article_id in allowed) for quotes in places["quotes"]
        ]
    ok = places["mentions"] >= max(int(filters.min_mentions), 1)
    if filters.groups is not None:
        ok &= places["group"].isin(filters.groups)
    if filters.keep is not None:
        ok |= places["place_id"] == filters.keep
    return gpd.GeoDataFrame(places[ok].reset_index(drop=True), crs=layers.CRS)


def route_articles(row: Any) -> set[str]:
    """Ids of the articles a route's quotes come from."""
    return {str(q.get("article_id")) for q in json_list(row.quotes) if isinstance(q, Mapping)}


def filter_routes(
    frame: gpd.GeoDataFrame, filters: Filters, lay: Layers | None = None
) -> gpd.GeoDataFrame:
    """Routes quoted from at least one of the allowed articles (:func:`allowed_articles`;
    without ``lay``, of ``filters.articles``); all of them when nothing is filtered."""
    allowed = allowed_articles(lay, filters) if lay is not None else filters.articles
    if allowed is None or frame.empty:
        return frame
    keep = [bool(route_articles(r) & allowed) for r in frame.itertuples(index=False)]
    return frame[keep].reset_index(drop=True)


def view(lay: Layers, filters: Filters) -> View:
    """The places, routes and articles that ``filters`` leave."""
    return View(
        places=filter_places(lay, filters),
        routes=filter_routes(lay.routes, filters, lay),
        map_routes=filter_routes(lay.map_routes, filters, lay),
        articles=allowed_articles(lay, filters),
    )


# -- timeline ---------------------------------------------------------------------------------


def month_range(first: str, last: str) -> list[str]:
    """Every ``"YYYY-MM"`` month from ``first`` to ``last``, both included."""
    if not (first and last) or first > last:
        return []
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while (current := f"{year:04d}-{month:02d}") <= last:
        out.append(current)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def timeline(articles: Mapping[str, Article]) -> pd.DataFrame:
    """Articles per month for the histogram: ``month`` (every month from the first to the
    last dated article), ``precision`` (``"exact"`` or ``"approximate"``) and ``articles``.
    Undated articles are not in it (see :func:`undated_count`)."""
    rows = [
        (article_month(a.date), "approximate" if a.date_approximate else "exact")
        for a in articles.values()
    ]
    dated = pd.DataFrame([r for r in rows if r[0]], columns=["month", "precision"])
    months = month_range(dated["month"].min(), dated["month"].max()) if len(dated) else []
    counts = dated.groupby(["month", "precision"]).size()
    full = pd.MultiIndex.from_product(
        [months, ["exact", "approximate"]], names=["month", "precision"]
    )
    out = counts.reindex(full, fill_value=0).rename("articles").reset_index()
    # Plain Python strings: Vega-Lite in the browser reads no Arrow string views.
    return out.astype({"month": object, "precision": object})


def undated_count(articles: Mapping[str, Article]) -> int:
    """How many articles have no usable date."""
    return sum(1 for a in articles.values() if not article_month(a.date))


def filters_key(filters: Filters) -> str:
    """A stable text key of ``filters`` (for caches keyed on what the map depends on)."""
    fields = {
        "articles": sorted(filters.articles) if filters.articles is not None else None,
        "groups": sorted(filters.groups) if filters.groups is not None else None,
        "min_mentions": filters.min_mentions,
        "keep": filters.keep,
        "months": filters.months,
        "undated": filters.undated,
    }
    return json.dumps(fields, sort_keys=True)


# -- search and clicks ------------------------------------------------------------------------


#: Most articles an article picker lists at once (the sidebar's filter and the reader's):
#: 10,000 titles are 270 KB that the browser receives and draws on every page open, more
#: than the map.  Above it, a box narrows the list by title.
PICKER_LIMIT = 300


def picker_options(
    titles: Mapping[str, str], query: str, *, keep: Iterable[str] = (), limit: int = PICKER_LIMIT
) -> list[str]:
    """The article ids a picker lists: those of ``keep`` that are in ``titles`` (the ones
    already chosen stay choosable), then, in their order, the ids whose title holds
    ``query`` (case- and accent-insensitive; every title when it is blank), ``limit`` in all
    (or every kept one, if they are more)."""
    kept = list(dict.fromkeys(k for k in keep if k in titles))
    key = normalize(query)
    out = set(kept)
    for art_id, title in titles.items():
        if len(kept) >= limit:
            break
        if art_id not in out and (not key or key in normalize(title)):
            kept.append(art_id)
    return kept


def search_places(places: pd.DataFrame, query: str, *, limit: int = 5) -> list[str]:
    """Place ids whose name matches ``query`` (case- and accent-insensitive), best first.

    Exact names first, then names starting with the query, then names with a word starting
    with it, then any substring; ties go to the most mentioned place.
    """
    key = normalize(query)
    if not key:
        return []
    ranked = []
    columns = (places["place_id"], places["name"], places["mentions"])
    for pid, name, count in zip(*columns, strict=True):
        norm = normalize(str(name))
        if norm == key:
            rank = 0
        elif norm.startswith(key):
            rank = 1
        elif any(word.startswith(key) for word in norm.split()):
            rank = 2
        elif key in norm:
            rank = 3
        else:
            continue
        ranked.append((rank, -int(count), str(name), str(pid)))
    return [pid for *_, pid in sorted(ranked)[:limit]]


def click_selection(
    out: Mapping[str, Any] | None, last: tuple[object, object] | None
) -> tuple[Selection | None, tuple[object, object]]:
    """A new click from the map component's value, and the marker to compare the next one
    with.

    ``last`` is what the previous run returned.  A click is new when its stamp (see
    :func:`geo.mapview.click_stamp`: one per click, so a second click on the same marker
    counts too) or the clicked id changed; a value without a stamp selects nothing.
    """
    value = out or {}
    pid, rid = clicked_place_id(value), clicked_route_id(value)
    found = (
        Selection("place", pid)
        if isinstance(pid, str)
        else Selection("route", rid)
        if isinstance(rid, str)
        else None
    )
    marker = (click_stamp(value), found)
    if marker == last or not marker[0] or found is None:
        return None, marker
    return found, marker


# -- HTML -------------------------------------------------------------------------------------

_MARK = "background:#ffe066;padding:0 1px"


def highlight(text: str, spans: Iterable[tuple[int, int]], *, title: str = "") -> str:
    """``text`` escaped with its spans marked (see :func:`geo.mapview.highlight`), line
    breaks kept: the side panel's and the reader's form."""
    marked = mapview.highlight(text, spans, title=title, style=_MARK)
    return marked.replace("\n", "<br>")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _context(lay: Layers, st: Store, ex: Excerpt, place_id: str) -> Context:
    before, after = st.neighbours(ex.article_id, ex.passage_start)
    mentions = lay.mentions
    same = mentions[
        (mentions["article_id"] == ex.article_id)
        & (mentions["passage_start"] == ex.passage_start)
        & (mentions["place_id"] != place_id)
    ]
    return Context(
        article_id=ex.article_id,
        title=ex.title or ex.article_id,
        outlet=ex.outlet,
        date=ex.date,
        before=before,
        sentence_html=highlight(ex.sentence, ex.spans),
        after=after,
        others=tuple(dict(zip(same["place_id"], same["name"], strict=True)).items()),
    )


def _row(frame: pd.DataFrame, column: str, value: str, what: str) -> Any:
    rows = frame[frame[column] == value]
    if rows.empty:
        raise UnknownPlace(f"no {what} with id {value!r} in the atlas; rebuild it")
    return next(rows.itertuples(index=False))


def place_panel(
    lay: Layers,
    place_id: str,
    *,
    articles: Collection[str] | None = None,
    limit: int = PANEL_PAGE,
) -> PlacePanel:
    """The side panel of one place: its first ``limit`` passages (in ``articles``, if
    given), each with the sentences around it, read from the store.

    Raises
    ------
    UnknownPlace
        If ``place_id`` is not in the places layer.
    """
    row = _row(lay.places, "place_id", place_id, "place")
    with Store(lay.store) as st, st.snapshot():
        total = st.count_passages(place_id, articles)
        page = st.excerpts(place_id, articles=articles, limit=max(int(limit), 1))
        contexts = tuple(_context(lay, st, ex, place_id) for ex in page)
        alternatives = tuple(st.candidates_of(place_id))
    others = dict(pair for c in contexts for pair in c.others)
    return PlacePanel(
        place_id=place_id,
        name=str(row.name),
        kind=str(row.kind),
        country=str(row.country or ""),
        mentions=int(row.mentions),
        confidence=float(row.confidence),
        source=str(row.source or ""),
        alternatives=alternatives,
        contexts=contexts,
        passages=total,
        others=tuple(sorted(others.items(), key=lambda kv: kv[1])),
    )


def _alt_html(alt: Place) -> str:
    where = ", ".join(esc(v) for v in (alt.kind, alt.country) if v)
    coords = f" ({alt.lat:.2f}, {alt.lon:.2f})" if _is_num(alt.lat) and _is_num(alt.lon) else ""
    return f"<li>{esc(alt.name)} <small>{where}{coords}</small></li>"


def _is_num(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and math.isfinite(float(value))


def _context_html(ctx: Context) -> str:
    source = " · ".join(esc(v) for v in (ctx.title, ctx.outlet, ctx.date) if v)
    grey = "color:#666"
    before = f"<span style='{grey}'>{esc(_one_line(ctx.before))}</span> " if ctx.before else ""
    after = f" <span style='{grey}'>{esc(_one_line(ctx.after))}</span>" if ctx.after else ""
    also = ", ".join(esc(name) for _, name in ctx.others)
    also_html = f"<div><small>Also here: {also}</small></div>" if also else ""
    return (
        f"<li style='margin:0 0 10px'><div>{before}<span>{ctx.sentence_html}</span>{after}</div>"
        f"<div><small><b>{source}</b></small></div>{also_html}</li>"
    )


def place_panel_html(panel: PlacePanel) -> str:
    """The place panel as one escaped HTML block."""
    country = f" · {esc(panel.country)}" if panel.country else ""
    alts = "".join(_alt_html(a) for a in panel.alternatives)
    alts_html = (
        f"<div><b>Runner-up candidates</b><ul>{alts}</ul></div>"
        if alts
        else "<div><small>No runner-up candidates.</small></div>"
    )
    items = "".join(_context_html(c) for c in panel.contexts)
    plural = "" if panel.mentions == 1 else "s"
    total = max(panel.passages, len(panel.contexts))
    shown = f"{len(panel.contexts)} of {total}" if total > len(panel.contexts) else f"{total}"
    return (
        f"<div class='news-atlas-panel' data-place-id='{esc(panel.place_id)}'>"
        f"<h3 style='margin:0'>{esc(panel.name)}</h3>"
        f"<div>{esc(panel.kind)}{country} · {panel.mentions} mention{plural} · "
        f"geocoding confidence {panel.confidence:.2f}"
        f"{' · ' + esc(panel.source) if panel.source else ''}</div>{alts_html}"
        f"<div><b>Passages ({shown})</b></div>"
        f"<ol style='padding-left:20px'>{items}</ol></div>"
    )


def route_panel_html(lay: Layers, route_id: str) -> str:
    """The side panel of one route: title, mode, status, period, length and its quotes.

    Raises
    ------
    UnknownPlace
        If ``route_id`` is not in the routes layer.
    """
    row = _row(lay.routes, "route_id", route_id, "route")
    items = []
    for quote in json_list(row.quotes):
        if not isinstance(quote, Mapping):
            continue
        art = lay.articles.get(str(quote.get("article_id")))
        title = art.title if art else str(quote.get("article_id", ""))
        items.append(
            f"<li style='margin:0 0 8px'>“{esc(_one_line(str(quote.get('text', ''))))}”"
            f"<div><small><b>{esc(title)}</b></small></div></li>"
        )
    length = f"{float(row.length_km):,.0f} km" if _is_num(row.length_km) else "length unknown"
    facts = " · ".join(esc(v) for v in (row.mode, row.status, row.period) if v)
    return (
        f"<div class='news-atlas-panel' data-route-id='{esc(route_id)}'>"
        f"<h3 style='margin:0'>{esc(row.title)}</h3><div>{facts} · {length}</div>"
        f"<div>{esc(row.description or '')}</div><div><b>Quotes</b></div>"
        f"<ol style='padding-left:20px'>{''.join(items)}</ol></div>"
    )


def article_places(lay: Layers, article_id: str) -> list[tuple[str, str]]:
    """(place_id, name) of the places an article mentions, in order of first mention."""
    rows = lay.mentions[lay.mentions["article_id"] == article_id].sort_values("start")
    return list(dict(zip(rows["place_id"], rows["name"], strict=True)).items())


def reader_html(lay: Layers, article_id: str) -> str:
    """An article's text, escaped, with every resolved mention highlighted.

    Raises
    ------
    UnknownPlace
        If the article is not in the layers.
    """
    if article_id not in lay.articles:
        raise UnknownPlace(f"no article {article_id!r} in the atlas; rebuild it")
    with Store(lay.store) as st:
        art = st.article(article_id)
    if art is None:  # removed by a build since the page loaded
        raise UnknownPlace(f"article {article_id!r} is no longer in the atlas; reload the page")
    rows = lay.mentions[lay.mentions["article_id"] == article_id]
    lead = len(art.text) - len(art.text.lstrip())  # the spans count from the unstripped text
    spans = [
        (int(a) - lead, int(b) - lead) for a, b in zip(rows["start"], rows["end"], strict=True)
    ]
    meta = " · ".join(esc(v) for v in (art.outlet, art.author, art.date) if v)
    return (
        f"<div class='news-atlas-reader'><h3 style='margin:0'>{esc(art.title)}</h3>"
        f"<div><small>{meta}</small></div><div style='line-height:1.6'>"
        f"{highlight(art.text.strip(), spans)}</div></div>"
    )


# -- claim check ------------------------------------------------------------------------------


def claim_origins(claim: Mapping[str, Any]) -> list[str]:
    """Origin ports of the claim check, in file order."""
    return [str(r["origin"]) for r in claim.get("rows", []) if isinstance(r, Mapping)]


def claim_row(claim: Mapping[str, Any], origin: str) -> dict[str, Any]:
    """One origin's Arctic and Suez distances, the saving in km and as a share.

    Raises
    ------
    UnknownPlace
        If ``origin`` is not one of :func:`claim_origins`.
    """
    for row in claim.get("rows", []):
        if isinstance(row, Mapping) and row.get("origin") == origin:
            arctic, suez = float(row["arctic_km"]), float(row["suez_km"])
            return {
                **row,
                "saving_km": suez - arctic,
                "saving_share": (suez - arctic) / suez if suez else 0.0,
            }
    raise UnknownPlace(f"no claim-check row for origin {origin!r}; use one of the list")


def claim_quote_html(lay: Layers) -> str:
    """The article's claim, quoted and escaped, with the article title."""
    quote = lay.claim.get("quote") or {}
    if not isinstance(quote, Mapping) or not quote.get("text"):
        return ""
    art = lay.articles.get(str(quote.get("article_id")))
    title = art.title if art else str(quote.get("article_id", ""))
    share = lay.claim.get("claimed_share")
    claimed = f" (claimed saving ≈ {float(share):.0%})" if _is_num(share) else ""
    return (
        f"<blockquote style='margin:0'>“{esc(_one_line(str(quote['text'])))}”"
        f"<div><small><b>{esc(title)}</b>{esc(claimed)}</small></div></blockquote>"
    )


# -- table and exports ------------------------------------------------------------------------


def places_table(places: pd.DataFrame) -> pd.DataFrame:
    """The places as a plain table (no geometry, no JSON columns)."""
    return pd.DataFrame(places[list(TABLE_COLUMNS)]).reset_index(drop=True)


def routes_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The routes as a plain table."""
    return pd.DataFrame(frame[list(ROUTE_TABLE_COLUMNS)]).reset_index(drop=True)


def _csv_safe(value: object) -> object:
    if isinstance(value, str) and value.startswith(_CSV_FORMULA):
        return "'" + value
    return value


def to_csv(table: pd.DataFrame) -> str:
    """CSV text; cells that a spreadsheet would run as a formula get a leading quote."""
    buf = io.StringIO()
    table.map(_csv_safe).to_csv(buf, index=False)
    return buf.getvalue()


def to_geojson(frame: gpd.GeoDataFrame) -> str:
    """A layer frame as RFC 7946 GeoJSON (the routes as stored: split at the antimeridian);
    columns of records (popup quotes) are left out, lists are kept as JSON arrays."""
    keep = [c for c in frame.columns if c != "quotes" or "route_id" in frame.columns]
    out = gpd.GeoDataFrame(frame[keep], geometry="geometry", crs=layers.CRS)
    if out.crs is not None and out.crs.to_epsg() != 4326:
        out = out.to_crs(layers.CRS)
    return str(out.to_json(drop_id=True, ensure_ascii=False))


def forget_stale(state: MutableMapping[str, Any], lay: Layers) -> None:
    """Drop a selection, focus or search result that the (rebuilt) atlas no longer holds."""
    places = set(lay.places["place_id"])
    routes_ = set(lay.routes["route_id"]) if "route_id" in lay.routes else set()
    sel = state.get("selection")
    if isinstance(sel, Selection) and sel.id not in (places if sel.kind == "place" else routes_):
        state["selection"] = None
    if state.get("focus") not in places:
        state["focus"] = None
    hits = state.get("search_hits")
    if hits:
        state["search_hits"] = [h for h in hits if h in places]
