"""The evidence pack: the current view of the atlas as one self-contained HTML file.

The file carries everything it needs: Leaflet's JS and CSS (from ``static/vendor``), the
offline base map (``data/basemap``), the places, routes and claim check of the view as
JSON, and the quotes as escaped HTML.  It fetches nothing (its Content-Security-Policy
forbids any request), so it opens from disk with no network and shows the same thing in
ten years.  It says what it was made from: the build, when, the filters and the articles.

:func:`collect` reads the store into an :class:`Evidence`; :func:`render` turns that into
HTML (pure); :func:`write_pack` does both and writes the file atomically.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shapely.geometry import mapping, shape

from geo import routes, store
from geo._atomic import atomic_write_text
from geo.corpus import DATE
from geo.dashboard import highlight
from geo.errors import BadInput
from geo.mapview import BORDER, COAST, GROUP_STYLES, LAND, MODE_COLOURS, OCEAN, esc
from geo.model import KIND_GROUPS, Article, Excerpt, Place

ROOT = Path(__file__).resolve().parent.parent
LEAFLET = ROOT / "static" / "vendor" / "leaflet"
#: Quotes given per place (the rest are counted).
MAX_QUOTES = 50
_DATE_FORMS = ("YYYY", "YYYY-MM", "YYYY-MM-DD")


@dataclass(frozen=True, slots=True)
class View:
    """What to export: some articles (``None``: all) and a date range (inclusive, ISO
    dates or their prefixes; empty: open); ``undated`` keeps the undated articles whatever
    the range (as the dashboard's switch does)."""

    articles: frozenset[str] | None = None
    date_from: str = ""
    date_to: str = ""
    undated: bool = False


@dataclass(frozen=True, slots=True)
class PlaceEvidence:
    """A place of the view with its quotes."""

    place: Place
    mentions: int
    corrected: bool
    passages: int
    quotes: tuple[Excerpt, ...]


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything an evidence pack shows."""

    build_id: int
    made: str
    view: View
    articles: tuple[Article, ...]
    places: tuple[PlaceEvidence, ...]
    routes: tuple[tuple[dict[str, Any], dict[str, Any]], ...]
    claim: Mapping[str, Any] = field(default_factory=dict)


def check_date(value: str, what: str) -> str:
    """Return ``value`` if it is empty or an article date (:data:`geo.corpus.DATE`).

    Raises
    ------
    BadInput
        If it is not.
    """
    if value and not DATE.fullmatch(value):
        raise BadInput(f"{what} {value!r} is not a date ({', '.join(_DATE_FORMS)})")
    return value


def in_range(date: str, view: View) -> bool:
    """Whether an article dated ``date`` (maybe only a year or month) may fall within the
    view's date range; an undated article is in the view without a range, or when the view
    keeps undated articles."""
    if not (view.date_from or view.date_to):
        return True
    if not date:
        return view.undated
    first, last = date, date + "\uffff"  # "2023-09" covers 2023-09-01 .. 2023-09-30
    return (not view.date_from or last >= view.date_from) and (
        not view.date_to or first <= view.date_to + "\uffff"
    )


def chosen_articles(articles: Iterable[Article], view: View) -> list[Article]:
    """The articles of the view, by id.

    Raises
    ------
    BadInput
        If the view names an article the atlas does not hold.
    """
    items = list(articles)
    if view.articles is not None:
        missing = sorted(view.articles - {a.id for a in items})
        if missing:
            raise BadInput(f"no article {missing[0]!r} in the atlas; see the dashboard's list")
    return [
        a
        for a in items
        if (view.articles is None or a.id in view.articles) and in_range(a.date, view)
    ]


def collect(st: store.Store, view: View, *, max_quotes: int = MAX_QUOTES) -> Evidence:
    """Read the view's articles, places (with quotes), routes and claim check from one
    committed state of the store."""
    check_date(view.date_from, "--from")
    check_date(view.date_to, "--to")
    with st.snapshot():
        arts = chosen_articles(st.articles(), view)
        ids = [a.id for a in arts]
        mentions = [m for i in ids for m in st.mentions(i) if m.place_id]
        counts: dict[str, int] = {}
        corrected: set[str] = set()
        for m in mentions:
            if m.place_id is None:
                continue
            counts[m.place_id] = counts.get(m.place_id, 0) + 1
            if m.correction:
                corrected.add(m.place_id)
        records = st.places(counts)
        places = tuple(
            PlaceEvidence(
                records[pid],
                n,
                pid in corrected,
                st.count_passages(pid, ids),
                tuple(st.excerpts(pid, articles=ids, limit=max_quotes)),
            )
            for pid, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            if pid in records
        )
        chosen = set(ids)
        kept = tuple(
            (p, g)
            for p, g in st.routes()
            if any(str(q.get("article_id")) in chosen for q in p.get("quotes", []))
        )
        made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return Evidence(st.build_id(), made, view, tuple(arts), places, kept, st.claim())


# -- HTML -------------------------------------------------------------------------------------

_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)
_CSS = f"""
body{{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:0 16px;color:#222}}
#map{{height:560px;background:{OCEAN};border:1px solid #bbb}}
table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:2px 6px;text-align:left}}
mark{{background:#ffe066;padding:0 1px}} .src{{color:#555;font-size:13px}}
.corrected{{color:#a0522d;font-size:13px}} h3{{margin:18px 0 4px}} li{{margin:0 0 8px}}
"""
_JS = """
(function () {
  const data = JSON.parse(document.getElementById("atlas-data").textContent);
  const map = L.map("map", {worldCopyJump: false, attributionControl: false});
  window.map = map;
  const spots = data.places.map((p) => [p.lat, p.lon]);
  if (spots.length) { map.fitBounds(spots, {padding: [30, 30], maxZoom: 6}); }
  else { map.setView([30, 100], 2); }
  L.geoJSON(data.countries, {style: {color: data.style.border, weight: 0.6,
    fillColor: data.style.land, fillOpacity: 1}, interactive: false}).addTo(map);
  L.geoJSON(data.coastline, {style: {color: data.style.coast, weight: 0.8},
    interactive: false}).addTo(map);
  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }
  function quote(q) {
    const li = el("li");
    let at = 0;
    for (const [a, b] of q.spans) {
      li.appendChild(document.createTextNode(q.sentence.slice(at, a)));
      li.appendChild(el("mark", q.sentence.slice(a, b)));
      at = b;
    }
    li.appendChild(document.createTextNode(q.sentence.slice(at)));
    li.appendChild(el("div", [q.title, q.outlet, q.date].filter(Boolean).join(" · "), "src"));
    return li;
  }
  L.geoJSON(data.routes, {
    style: (f) => ({color: f.properties.colour, weight: 3, opacity: 0.8,
                    dashArray: f.properties.dashed ? "6 6" : null}),
    onEachFeature: (f, layer) => layer.bindPopup(() => {
      const box = el("div");
      box.appendChild(el("b", f.properties.title));
      const list = el("ol");
      for (const q of f.properties.quotes) { list.appendChild(el("li", q)); }
      box.appendChild(list);
      return box;
    }),
  }).addTo(map);
  for (const p of data.places) {
    const marker = L.circleMarker([p.lat, p.lon], {radius: p.radius, color: "#fff",
      weight: 1, fillColor: p.colour, fillOpacity: 0.85}).addTo(map);
    marker.feature = {properties: {place_id: p.id}};
    marker.bindTooltip(p.name);
    marker.bindPopup(() => {
      const box = el("div");
      box.appendChild(el("b", p.name));
      box.appendChild(el("div", p.facts, "src"));
      const list = el("ol");
      for (const q of p.quotes) { list.appendChild(quote(q)); }
      box.appendChild(list);
      return box;
    }, {maxWidth: 360});
  }
  document.body.setAttribute("data-map-ready", String(spots.length));
})();
"""


def _json_script(value: object) -> str:
    """JSON text safe inside ``<script type="application/json">``."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _quote_json(ex: Excerpt) -> dict[str, object]:
    return {"sentence": ex.sentence, "spans": [list(s) for s in ex.spans], "title": ex.title,
            "outlet": ex.outlet, "date": ex.date}  # fmt: skip


def _facts(p: PlaceEvidence) -> str:
    where = ", ".join(v for v in (p.place.kind, p.place.country) if v)
    plural = "" if p.mentions == 1 else "s"
    fixed = " · corrected by an analyst" if p.corrected else ""
    return f"{where} · {p.mentions} mention{plural} · {p.place.lat:.3f}, {p.place.lon:.3f}{fixed}"


def map_data(ev: Evidence, basemap: Mapping[str, Any]) -> dict[str, Any]:
    """What the pack's map draws (JSON): base map, places with popup quotes, routes."""
    places = [
        {"id": p.place.id, "name": p.place.name, "lat": p.place.lat, "lon": p.place.lon,
         "colour": GROUP_STYLES.get(KIND_GROUPS.get(p.place.kind, "region"), ("", "#555"))[1],
         "radius": min(4 + 2 * p.mentions ** 0.5, 18), "facts": _facts(p),
         "quotes": [_quote_json(q) for q in p.quotes[:3]]}
        for p in ev.places
    ]  # fmt: skip
    features = []
    for props, geom in ev.routes:
        line = routes.unwrap_geometry(shape(geom))
        quotes = [str(q.get("text", "")) for q in props.get("quotes", []) if isinstance(q, dict)]
        features.append({"type": "Feature", "geometry": mapping(line), "properties": {
            "route_id": props.get("route_id", ""), "title": str(props.get("title", "")),
            "colour": MODE_COLOURS.get(str(props.get("mode")), "#444"),
            "dashed": props.get("status") in ("planned", "proposed"), "quotes": quotes,
        }})  # fmt: skip
    return {
        "countries": basemap["countries"], "coastline": basemap["coastline"],
        "places": places, "routes": {"type": "FeatureCollection", "features": features},
        "style": {"land": LAND, "border": BORDER, "coast": COAST},
    }  # fmt: skip


def _link(url: str) -> str:
    if url.startswith(("http://", "https://")):
        return f"<a href='{esc(url)}' rel='noreferrer noopener'>{esc(url)}</a>"
    return esc(url)


def _source(ex: Excerpt) -> str:
    bits = [esc(v) for v in (ex.title or ex.article_id, ex.outlet, ex.date) if v]
    if ex.url:
        bits.append(_link(ex.url))
    return " · ".join(bits)


def _made_from(ev: Evidence) -> str:
    v = ev.view
    chosen = "all articles" if v.articles is None else f"{len(v.articles)} chosen article(s)"
    dates = f"{v.date_from or '…'} to {v.date_to or '…'}" if v.date_from or v.date_to else "any"
    if v.undated and dates != "any":
        dates += ", and undated articles"
    rows = "".join(
        f"<tr><td>{esc(a.id)}</td><td>{esc(a.title)}</td><td>{esc(a.outlet)}</td>"
        f"<td>{esc(a.author)}</td><td>{esc(a.date)}{' (approx.)' if a.date_approximate else ''}"
        f"</td><td>{_link(a.url)}</td></tr>"
        for a in ev.articles
    )
    return (
        f"<section id='made-from'><h2>Made from</h2><p>News Atlas build {ev.build_id}, "
        f"exported {esc(ev.made)}. Filters: {esc(chosen)}; dates {esc(dates)}. "
        f"{len(ev.articles)} articles, {len(ev.places)} places, {len(ev.routes)} routes.</p>"
        "<table><tr><th>id</th><th>title</th><th>outlet</th><th>author</th><th>date</th>"
        f"<th>URL</th></tr>{rows}</table></section>"
    )


def _places_html(ev: Evidence) -> str:
    out = []
    for p in ev.places:
        fixed = " <span class='corrected'>(corrected)</span>" if p.corrected else ""
        quotes = "".join(
            f"<li>{highlight(q.sentence, q.spans)}<div class='src'>{_source(q)}</div></li>"
            for q in p.quotes
        )
        more = p.passages - len(p.quotes)
        rest = f"<p class='src'>…and {more} more passages.</p>" if more > 0 else ""
        out.append(
            f"<div class='place' data-place-id='{esc(p.place.id)}'><h3>{esc(p.place.name)}"
            f"{fixed}</h3><div class='src'>{esc(_facts(p))}</div><ol>{quotes}</ol>{rest}</div>"
        )
    return f"<section id='places'><h2>Places and their quotes</h2>{''.join(out)}</section>"


def _routes_html(ev: Evidence) -> str:
    titles = {a.id: a.title for a in ev.articles}
    out = []
    for props, _ in ev.routes:
        quotes = "".join(
            f"<li>“{esc(q.get('text', ''))}”<div class='src'>"
            f"{esc(titles.get(str(q.get('article_id')), q.get('article_id', '')))}</div></li>"
            for q in props.get("quotes", [])
            if isinstance(q, dict)
        )
        length = props.get("length_km")
        km = f" · {float(length):,.0f} km" if isinstance(length, int | float) else ""
        facts = " · ".join(
            esc(props.get(k, "")) for k in ("mode", "status", "period") if props.get(k)
        )
        out.append(
            f"<div class='route'><h3>{esc(props.get('title', ''))}</h3><div class='src'>"
            f"{facts}{km}</div><ol>{quotes}</ol></div>"
        )
    return f"<section id='routes'><h2>Routes and their quotes</h2>{''.join(out)}</section>"


def _claim_html(claim: Mapping[str, Any], titles: Mapping[str, str]) -> str:
    rows = [r for r in claim.get("rows", []) if isinstance(r, dict)]
    if not rows:
        return ""
    quote = claim.get("quote") or {}
    source = esc(titles.get(str(quote.get("article_id")), quote.get("article_id", "")))
    share = claim.get("claimed_share")
    claimed = f"{float(share):.0%}" if isinstance(share, int | float) else "?"
    body = "".join(
        f"<tr><td>{esc(r.get('origin', ''))}</td><td>{float(r['arctic_km']):,.0f}</td>"
        f"<td>{float(r['suez_km']):,.0f}</td><td>{_saving(r)}</td><td>{esc(claimed)}</td></tr>"
        for r in rows
    )
    return (
        f"<section id='claim'><h2>Claim check</h2><blockquote>“{esc(quote.get('text', ''))}”"
        f"<div class='src'>{source}</div></blockquote><table><tr><th>origin</th>"
        f"<th>Arctic route via {esc(claim.get('arctic_via', ''))} (km)</th>"
        f"<th>southern route via {esc(claim.get('suez_via', ''))} (km)</th><th>saving</th>"
        f"<th>claimed</th></tr>{body}</table></section>"
    )


def _saving(row: Mapping[str, Any]) -> str:
    arctic, suez = float(row["arctic_km"]), float(row["suez_km"])
    return f"{(suez - arctic) / suez:.0%}" if suez else "–"


def render(ev: Evidence, basemap: Mapping[str, Any], leaflet: tuple[str, str]) -> str:
    """The evidence pack's HTML (pure): ``leaflet`` is Leaflet's (JS, CSS) text."""
    js, css = leaflet
    titles = {a.id: a.title for a in ev.articles}
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{_CSP}\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>News Atlas evidence pack (build {ev.build_id})</title>"
        f"<style>{css}</style><style>{_CSS}</style><script>{js}</script></head><body>"
        f"<h1>News Atlas — evidence pack</h1><div id='map'></div>{_made_from(ev)}"
        f"{_places_html(ev)}{_routes_html(ev)}{_claim_html(ev.claim, titles)}"
        "<script type='application/json' id='atlas-data'>"
        f"{_json_script(map_data(ev, basemap))}</script><script>{_JS}</script></body></html>\n"
    )


def load_assets(data_dir: Path) -> tuple[dict[str, Any], tuple[str, str]]:
    """The offline base map (``data/basemap``) and Leaflet's (JS, CSS) from ``static``."""
    from geo.mapview import load_basemap  # noqa: PLC0415

    base = load_basemap(data_dir)
    js = (LEAFLET / "leaflet.js").read_text(encoding="utf-8")
    css = (LEAFLET / "leaflet.css").read_text(encoding="utf-8")
    if "</script" in js.lower() or "</style" in css.lower():
        raise BadInput("static/vendor/leaflet cannot be inlined (it holds a closing tag)")
    return {"countries": base.countries, "coastline": base.coastline}, (js, css)


def pack(data_dir: Path, view: View) -> str:
    """The evidence pack of ``view`` over the atlas in ``data_dir``, as HTML text."""
    basemap, leaflet = load_assets(data_dir)
    with store.Store(store.store_path(data_dir)) as st:
        ev = collect(st, view)
    return render(ev, basemap, leaflet)


def write_pack(data_dir: Path, view: View, out: Path) -> Evidence:
    """Write the evidence pack of ``view`` to ``out`` atomically; returns what it holds."""
    basemap, leaflet = load_assets(data_dir)
    with store.Store(store.store_path(data_dir)) as st:
        ev = collect(st, view)
    atomic_write_text(out, render(ev, basemap, leaflet))
    return ev


def describe(ev: Evidence, out: Path | str) -> str:
    """One line saying what a pack holds."""
    return (
        f"wrote {out}: {len(ev.articles)} articles, {len(ev.places)} places, "
        f"{len(ev.routes)} routes (build {ev.build_id})"
    )
