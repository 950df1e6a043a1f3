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
from collections.abc import Collection, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

import geopandas as gpd
import pandas as pd

from geo import build, layers, mapview, routes
from geo.corpus import passage_at, passages
from geo.errors import DataFileError, UnknownPlace
from geo.gazetteer import normalize
from geo.mapview import GROUP_STYLES, clicked_place_id, clicked_route_id, esc
from geo.model import Article, Passage
from geo.settings import Settings

#: Kind group -> label, as the legend and the kind filter show them.
GROUP_LABELS = {key: label for key, (label, _) in GROUP_STYLES.items()}
#: Columns of the places table (and its CSV export).
TABLE_COLUMNS = ("name", "kind", "group", "country", "mentions", "confidence", "lat", "lon")
ROUTE_TABLE_COLUMNS = ("route_id", "title", "mode", "status", "period", "length_km")
_CSV_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Layers:
    """Everything the dashboard reads from ``data/layers``."""

    places: gpd.GeoDataFrame
    mentions: gpd.GeoDataFrame
    routes: gpd.GeoDataFrame
    map_routes: gpd.GeoDataFrame
    articles: Mapping[str, Article]
    sentences: Mapping[str, tuple[Passage, ...]]
    claim: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Filters:
    """What the sidebar asks for; ``None`` means no restriction."""

    articles: frozenset[str] | None = None
    groups: frozenset[str] | None = None
    min_mentions: int = 1
    keep: str | None = None


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
    alternatives: tuple[Mapping[str, Any], ...]
    contexts: tuple[Context, ...]
    others: tuple[tuple[str, str], ...] = field(default_factory=tuple)


# -- loading ----------------------------------------------------------------------------------


def layers_dir(cfg: Settings) -> Path:
    """The folder the build writes to and the dashboard reads from."""
    return cfg.data_dir / build.LAYERS_DIR


def layers_stamp(cfg: Settings) -> tuple[int, int] | None:
    """Size and mtime of the layers' manifest (written last by a build), or None when a
    layer file or the manifest is missing: the layers to load change only with it."""
    folder = layers_dir(cfg)
    if not all((folder / name).is_file() for name in (*build.FILES, layers.MANIFEST)):
        return None
    stat = (folder / layers.MANIFEST).stat()
    return (stat.st_size, stat.st_mtime_ns)


def ensure_layers(cfg: Settings) -> build.BuildReport | None:
    """Build the layers when any file is missing (a fresh clone); return the report if built."""
    if layers_stamp(cfg) is not None:
        return None
    return build.build(cfg)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        msg = f"cannot read layer file {str(path)!r}: {err}; rebuild with `python -m geo build`"
        raise DataFileError(msg) from err


def _article(record: Mapping[str, Any]) -> Article:
    names = ("id", "text", "title", "outlet", "author", "date", "url")
    values = {k: str(record.get(k, "") or "") for k in names}
    return Article(**values, date_approximate=bool(record.get("date_approximate", False)))


def load_layers(folder: Path) -> Layers:
    """Read the five layer files of ``folder``.

    Raises
    ------
    DataFileError
        If a file is missing or malformed; rebuild the layers with ``python -m geo build``.
    """
    frames = {}
    shapes = {
        "places": layers.PLACE_COLUMNS,
        "mentions": layers.MENTION_COLUMNS,
        "routes": routes.COLUMNS[:-1],  # all but geometry
    }
    for name, columns in shapes.items():
        path = folder / f"{name}.geojson"
        data = _read_json(path)  # a clear message for a missing or broken file
        if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
            msg = f"layer file {str(path)!r} is not a GeoJSON FeatureCollection; rebuild it"
            raise DataFileError(msg)
        frames[name] = layers.read_layer(path, columns)
    records = _read_json(folder / "articles.json")
    if not isinstance(records, list):
        raise DataFileError(f"{str(folder / 'articles.json')!r} must hold a JSON list")
    articles = {a.id: a for a in (_article(r) for r in records if isinstance(r, Mapping))}
    claim = _read_json(folder / "claim_check.json")
    return Layers(
        places=frames["places"],
        mentions=frames["mentions"],
        routes=frames["routes"],
        map_routes=routes.unwrap_routes(frames["routes"]),
        articles=articles,
        sentences={k: tuple(passages(a)) for k, a in articles.items()},
        claim=claim if isinstance(claim, Mapping) else {},
    )


# -- filters and search -----------------------------------------------------------------------


def json_list(value: object) -> list[Any]:
    """A JSON-encoded list column value as a list (empty for missing or malformed)."""
    if isinstance(value, list):
        return value
    if not isinstance(value, str) or not value:
        return []
    try:
        parsed = json.loads(value)
    except ValueError:
        return []
    return parsed if isinstance(parsed, list) else []


def _quotes_in(value: object, ids: Collection[str]) -> str:
    kept = [q for q in json_list(value) if isinstance(q, Mapping) and q.get("article_id") in ids]
    return json.dumps(kept, ensure_ascii=False, separators=(",", ":"))


def filter_places(lay: Layers, filters: Filters) -> gpd.GeoDataFrame:
    """The places to draw: mentioned in the chosen articles, of the chosen groups, and with at
    least ``min_mentions`` mentions there (mentions and quotes count those articles only).
    ``filters.keep`` (the searched place) is always kept."""
    places = lay.places.copy()
    if filters.articles is not None:
        ids = filters.articles
        counts = lay.mentions[lay.mentions["article_id"].isin(ids)].groupby("place_id").size()
        places["mentions"] = places["place_id"].map(counts).fillna(0).astype(int)
        places["quotes"] = [_quotes_in(q, ids) for q in places["quotes"]]
    ok = places["mentions"] >= max(int(filters.min_mentions), 1)
    if filters.groups is not None:
        ok &= places["group"].isin(filters.groups)
    if filters.keep is not None:
        ok |= places["place_id"] == filters.keep
    return places[ok].reset_index(drop=True)


def route_articles(row: Any) -> set[str]:
    """Ids of the articles a route's quotes come from."""
    return {str(q.get("article_id")) for q in json_list(row.quotes) if isinstance(q, Mapping)}


def filter_routes(frame: gpd.GeoDataFrame, filters: Filters) -> gpd.GeoDataFrame:
    """Routes quoted from at least one of the chosen articles (all without an article filter)."""
    if filters.articles is None or frame.empty:
        return frame
    keep = [bool(route_articles(r) & filters.articles) for r in frame.itertuples(index=False)]
    return frame[keep].reset_index(drop=True)


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
    """A new click from ``st_folium``'s value, and the marker to compare the next one with.

    ``last`` is what the previous run returned.  A click is new when the click count or the
    clicked id changed, so a second click on the same marker counts too; a map remount resets
    the count to None, which is remembered without selecting anything.
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
    marker = (value.get("last_object_clicked_count"), found)
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


def _neighbours(sents: Sequence[Passage], current: Passage) -> tuple[str, str]:
    idx = next((i for i, s in enumerate(sents) if s.start == current.start), -1)
    if idx < 0:
        return "", ""
    before = sents[idx - 1].text if idx > 0 else ""
    after = sents[idx + 1].text if idx + 1 < len(sents) else ""
    return before, after


def _sentence(
    lay: Layers, art_id: str, s_start: int, rows: pd.DataFrame
) -> tuple[str, list[tuple[int, int]], str, str]:
    """The sentence, the mention spans in it, and the sentences before and after."""
    sents = lay.sentences.get(art_id, ())
    sent = passage_at(list(sents), s_start)
    if sent is None:  # layers from other articles: fall back to the stored sentence
        pairs = zip(rows["hl_start"], rows["hl_end"], strict=True)
        return str(rows["sentence"].iloc[0]), [(int(a), int(b)) for a, b in pairs], "", ""
    pairs = zip(rows["start"], rows["end"], strict=True)
    spans = [(int(a) - sent.start, int(b) - sent.start) for a, b in pairs]
    return (sent.text, spans, *_neighbours(sents, sent))


def _contexts(lay: Layers, place_id: str) -> list[Context]:
    mentions = lay.mentions
    own = mentions[mentions["place_id"] == place_id]
    out = []
    for (art_id, s_start), rows in own.groupby(["article_id", "sentence_start"], sort=True):
        art = lay.articles.get(str(art_id))
        sentence, spans, before, after = _sentence(lay, str(art_id), int(s_start), rows)
        same = mentions[
            (mentions["article_id"] == art_id)
            & (mentions["sentence_start"] == s_start)
            & (mentions["place_id"] != place_id)
        ]
        out.append(
            Context(
                article_id=str(art_id),
                title=art.title if art else str(art_id),
                outlet=art.outlet if art else "",
                date=art.date if art else "",
                before=before,
                sentence_html=highlight(sentence, spans),
                after=after,
                others=tuple(dict(zip(same["place_id"], same["name"], strict=True)).items()),
            )
        )
    return out


def _row(frame: pd.DataFrame, column: str, value: str, what: str) -> Any:
    rows = frame[frame[column] == value]
    if rows.empty:
        raise UnknownPlace(f"no {what} with id {value!r} in the layers; rebuild them")
    return next(rows.itertuples(index=False))


def place_panel(lay: Layers, place_id: str) -> PlacePanel:
    """Everything the side panel shows about one place, across all articles.

    Raises
    ------
    UnknownPlace
        If ``place_id`` is not in the places layer.
    """
    row = _row(lay.places, "place_id", place_id, "place")
    contexts = tuple(_contexts(lay, place_id))
    others = dict(pair for c in contexts for pair in c.others)
    return PlacePanel(
        place_id=place_id,
        name=str(row.name),
        kind=str(row.kind),
        country=str(row.country or ""),
        mentions=int(row.mentions),
        confidence=float(row.confidence),
        source=str(row.source or ""),
        alternatives=tuple(a for a in json_list(row.alternatives) if isinstance(a, Mapping)),
        contexts=contexts,
        others=tuple(sorted(others.items(), key=lambda kv: kv[1])),
    )


def _alt_html(alt: Mapping[str, Any]) -> str:
    where = ", ".join(esc(alt.get(k)) for k in ("kind", "country") if alt.get(k))
    lat, lon = alt.get("lat"), alt.get("lon")
    coords = f" ({float(lat):.2f}, {float(lon):.2f})" if _is_num(lat) and _is_num(lon) else ""
    return f"<li>{esc(alt.get('name', ''))} <small>{where}{coords}</small></li>"


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
    return (
        f"<div class='news-atlas-panel' data-place-id='{esc(panel.place_id)}'>"
        f"<h3 style='margin:0'>{esc(panel.name)}</h3>"
        f"<div>{esc(panel.kind)}{country} · {panel.mentions} mention{plural} · "
        f"geocoding confidence {panel.confidence:.2f}"
        f"{' · ' + esc(panel.source) if panel.source else ''}</div>{alts_html}"
        f"<div><b>Passages ({len(panel.contexts)})</b></div>"
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
    art = lay.articles.get(article_id)
    if art is None:
        raise UnknownPlace(f"no article {article_id!r} in the layers; rebuild them")
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
    """A layer frame as RFC 7946 GeoJSON (the routes as stored: split at the antimeridian)."""
    return layers.to_geojson(gpd.GeoDataFrame(frame, geometry="geometry", crs=layers.CRS))


def forget_stale(state: MutableMapping[str, Any], lay: Layers) -> None:
    """Drop a selection, focus or search result that the (rebuilt) layers no longer hold."""
    places = set(lay.places["place_id"])
    routes_ = set(lay.routes["route_id"])
    sel = state.get("selection")
    if isinstance(sel, Selection) and sel.id not in (places if sel.kind == "place" else routes_):
        state["selection"] = None
    if state.get("focus") not in places:
        state["focus"] = None
    hits = state.get("search_hits")
    if hits:
        state["search_hits"] = [h for h in hits if h in places]
