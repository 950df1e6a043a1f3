"""Page logic of the dashboard's analyst loop: adding articles, correcting places, undoing
corrections and exporting the evidence pack.

``app.py`` keeps the widgets; what they show and what their values mean is decided here,
in pure functions over the layers and the widgets' state (tested without Streamlit).  The
changes themselves go through :mod:`geo.edits`, the same code as the command line.
Everything returned as HTML is escaped (:func:`geo.mapview.esc`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from geo import corrections, export
from geo.dashboard import Filters, Layers
from geo.edits import Fix
from geo.errors import BadInput
from geo.mapview import esc
from geo.model import KINDS, Correction, Place
from geo.settings import Settings
from geo.store import Store

#: Shown instead of the forms when the dashboard is served beyond this machine.
EDITS_OFF = (
    "Adding and correcting are off: this dashboard is served beyond this machine. "
    "Set NEWS_ATLAS_ALLOW_EDITS=1 to turn them on."
)
SCOPE_LABELS = {
    "mention": "this mention",
    "article": "these words in this article",
    "corpus": "these words everywhere",
}
#: What a correction says the words are.
HOW = {
    "runner_up": "a runner-up",
    "search": "a gazetteer record",
    "coordinates": "a place at coordinates",
    "not_a_place": "not a place",
}
#: Kinds a place given by coordinates may have (the gazetteer's).
PLACE_KINDS = KINDS


def first_place(lay: Layers, article_ids: list[str], known: Collection[str] = ()) -> str | None:
    """The place to show after adding articles: the first (in text order) that they
    mention and that is not in ``known`` (the places on the map before), else the first."""
    rows = lay.mentions[lay.mentions["article_id"].isin(article_ids)]
    if rows.empty:
        return None
    ordered = [str(p) for p in rows.sort_values(["article_id", "start"])["place_id"]]
    return next((p for p in ordered if p not in known), ordered[0])


def place_mentions(lay: Layers, place_id: str) -> dict[str, str]:
    """The mentions of a place: ``"article:start:end"`` -> a label, in article and text order."""
    rows = lay.mentions[lay.mentions["place_id"] == place_id].sort_values(["article_id", "start"])
    out = {}
    for art, start, end, text in zip(
        rows["article_id"], rows["start"], rows["end"], rows["text"], strict=True
    ):
        title = lay.articles[art].title if art in lay.articles else art
        out[f"{art}:{int(start)}:{int(end)}"] = f"{title}: “{text}” ({int(start)}–{int(end)})"
    return out


def place_label(p: Place) -> str:
    """A one-line label of a place record for a picker."""
    where = ", ".join(v for v in (p.kind, p.country) if v)
    return f"{p.name} ({where}; {p.lat:.3f}, {p.lon:.3f}) [{p.id}]"


def _span(key: object) -> tuple[str, int, int]:
    parts = str(key or "").rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise BadInput("choose the mention to correct")
    return parts[0], int(parts[1]), int(parts[2])


def fix_from(state: Mapping[str, Any], place_id: str) -> Fix:
    """The correction the panel's widgets ask for (``fix_*`` keys of the session state).

    Raises
    ------
    BadInput
        If a choice is missing (no mention, no runner-up or record, no name).
    """
    art, start, end = _span(state.get("fix_mention"))
    scope = str(state.get("fix_scope") or "mention")
    note = str(state.get("fix_note") or "")
    how = state.get("fix_how") or "runner_up"
    base = Fix(art, start, end, scope=scope, note=note)
    if how in ("runner_up", "search"):
        chosen = state.get("fix_runner_up" if how == "runner_up" else "fix_record")
        if not chosen:
            raise BadInput(f"choose {HOW[how]} first")
        if chosen == place_id:
            raise BadInput("that is the place already drawn; choose another")
        return Fix(art, start, end, place_id=str(chosen), scope=scope, note=note)
    if how == "coordinates":
        at = corrections.check_latlon(float(state["fix_lat"]), float(state["fix_lon"]))
        name = str(state.get("fix_name") or "")
        kind = str(state.get("fix_kind") or corrections.DEFAULT_KIND)
        return Fix(art, start, end, at=at, name=name, kind=kind, scope=scope, note=note)
    return base


def corrections_list(cfg: Settings) -> list[Correction]:
    """The saved corrections, newest first."""
    return corrections.load(corrections.corrections_path(cfg.data_dir))[::-1]


def corrections_of(items: list[Correction], place_id: str | None) -> list[Correction]:
    """The corrections that chose ``place_id``."""
    return [c for c in items if c.place_id == place_id]


def correction_html(c: Correction, *, lead: str = "") -> str:
    """One correction, escaped, for the list with Undo buttons (``lead`` before it)."""
    target = "not a place" if c.place_id is None else f"{esc(c.name)} ({esc(c.kind)})"
    note = f" — <i>{esc(c.note)}</i>" if c.note else ""
    return (
        f"<div class='news-atlas-correction' data-correction-id='{esc(c.id)}'>"
        f"<small>{esc(lead)}<b>“{esc(c.text)}”</b> in {esc(c.article_id)} → {target}; "
        f"{esc(SCOPE_LABELS.get(c.scope, c.scope))}; {esc(c.created)}{note} "
        f"<code>{esc(c.id)}</code></small></div>"
    )


_NOTICE = {"error": ("#fdecea", "#8a1f11"), "warning": ("#fff8e1", "#6d4c00")}


def notice_html(text: str, kind: str = "error") -> str:
    """A message (an error quoting the user's input, a build warning) as one escaped HTML
    block: never markdown, which would render a link or image written in a file name."""
    back, fore = _NOTICE.get(kind, _NOTICE["error"])
    return (
        f"<div class='news-atlas-{esc(kind)}' style='background:{back};color:{fore};"
        f"padding:8px 12px;border-radius:6px;margin:4px 0'>{esc(' '.join(text.split()))}</div>"
    )


def stale_warnings(lay: Layers) -> list[str]:
    """The last build's warnings about corrections that no longer match their article."""
    with Store(lay.store) as st:
        value = json.loads(st.meta("correction_warnings", "[]") or "[]")
    return [str(v) for v in value] if isinstance(value, list) else []


def view_of(filters: Filters) -> export.View:
    """The evidence pack's view of the sidebar's filters: the chosen articles, the month
    range and the undated switch, so the pack holds the articles the page shows."""
    date_from, date_to = filters.months if filters.months else ("", "")
    return export.View(filters.articles, date_from, date_to, undated=filters.undated)


def evidence_pack(cfg: Settings, view: export.View) -> str:
    """The evidence pack of ``view`` as HTML text (for the download button)."""
    return export.pack(cfg.data_dir, view)
