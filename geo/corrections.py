"""Corrections: an analyst's fixes of mentions' places, kept in ``data/corrections.toml``.

The file is meant to be read and reviewed by people (and diffed in git)::

    [[correction]]
    id = "c-3fa9b2"
    article = "004"
    start = 1234
    end = 1240
    text = "Ussuri"
    place = "ne:1159122531"      # or  place = ""  with  not_a_place = true
    name = "Ussuri"
    kind = "river"
    lat = 44.5912
    lon = 134.1286
    scope = "mention"            # mention | article | corpus
    created = "2026-12-01T14:30:00Z"
    note = "the river, not the town"

Corrections are an overlay over the parsed mentions: every build applies them all
(:func:`apply`) after parsing, so re-parsing keeps them and applying them parses nothing.
:func:`load` and :func:`save` are the only functions here that touch the disk.
"""

from __future__ import annotations

import math
import re
import secrets
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from geo._atomic import atomic_write_text
from geo.corpus import passage_at, passages, toml_string
from geo.errors import BadInput, DataFileError
from geo.model import KINDS, SCOPES, Article, Correction, Place, StoredMention

CORRECTIONS_FILE = "corrections.toml"
#: Prefix of the ids of places given by coordinates.
USER_PREFIX = "user:"
#: Kind of a place given by coordinates when none is said.
DEFAULT_KIND = "city"
_HEADER = """\
# Corrections of the atlas's places, one [[correction]] per fix (see geo/corrections.py).
# Written by `python -m geo correct` and the dashboard; every build applies them all.
# scope: "mention" (this span), "article" (these words in this article), "corpus" (anywhere).
"""


def corrections_path(data_dir: Path) -> Path:
    """Where the corrections of the atlas in ``data_dir`` are kept."""
    return data_dir / CORRECTIONS_FILE


# -- checking input ---------------------------------------------------------------------------


def check_latlon(lat: float, lon: float) -> tuple[float, float]:
    """Return ``(lat, lon)`` if they are finite degrees in range.

    Raises
    ------
    BadInput
        If either is out of range or not a finite number.
    """
    if not (isinstance(lat, int | float) and math.isfinite(lat) and -90 <= lat <= 90):
        raise BadInput(f"latitude {lat!r} is not a number of degrees from -90 to 90")
    if not (isinstance(lon, int | float) and math.isfinite(lon) and -180 <= lon <= 180):
        raise BadInput(f"longitude {lon!r} is not a number of degrees from -180 to 180")
    return float(lat), float(lon)


def parse_at(value: str) -> tuple[float, float]:
    """Read ``"LAT,LON"`` (decimal degrees) as a checked ``(lat, lon)``.

    Raises
    ------
    BadInput
        If it is not two comma-separated numbers in range.
    """
    parts = value.split(",")
    try:
        if len(parts) != 2:
            raise ValueError(value)
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        msg = f"--at {value!r} is not LAT,LON in decimal degrees (e.g. 44.6,134.1)"
        raise BadInput(msg) from None
    return check_latlon(lat, lon)


def slug(name: str) -> str:
    """A lower-case ASCII slug of a name ("Port of Rajin" -> "port-of-rajin")."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "place"


def custom_place(
    name: str, lat: float, lon: float, *, kind: str = DEFAULT_KIND, taken: Iterable[Place] = ()
) -> Place:
    """A place the gazetteer lacks, given by a name and coordinates: id ``user:<slug>``
    (``user:<slug>-2``… when another place given by hand has that slug elsewhere).

    Raises
    ------
    BadInput
        If the name is empty, the kind unknown or the coordinates out of range.
    """
    name = " ".join(name.split())
    if not name:
        raise BadInput("a place given by coordinates needs a name (--name)")
    if kind not in KINDS:
        raise BadInput(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    lat, lon = check_latlon(lat, lon)
    others = {p.id: p for p in taken}
    base, n = f"{USER_PREFIX}{slug(name)}", 1
    place_id = base
    while place_id in others and (others[place_id].lat, others[place_id].lon) != (lat, lon):
        n += 1
        place_id = f"{base}-{n}"
    return Place(place_id, name, kind, round(lat, 6), round(lon, 6), source="user")


def make(
    article: Article,
    span: tuple[int, int],
    place: Place | None,
    *,
    scope: str = "mention",
    note: str = "",
    now: datetime | None = None,
) -> Correction:
    """A new correction of the words at ``span`` of ``article`` to ``place`` (``None``:
    not a place), with a fresh id.

    Raises
    ------
    BadInput
        If the span is out of the article's text or blank, or the scope is unknown.
    """
    start, end = span
    size = len(article.text)
    if not (0 <= start < end <= size):
        raise BadInput(
            f"span {start}..{end} is not inside article {article.id!r} "
            f"(0..{size}); give START < END within the text"
        )
    text = article.text[start:end]
    if not text.strip():
        raise BadInput(f"span {start}..{end} of article {article.id!r} is blank: {text!r}")
    if scope not in SCOPES:
        raise BadInput(f"scope {scope!r} is not one of {', '.join(SCOPES)}")
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fields: dict[str, Any] = {}
    if place is not None:
        fields = {"name": place.name, "kind": place.kind, "lat": place.lat, "lon": place.lon}
        fields["country"] = place.country
    return Correction(
        id=f"c-{secrets.token_hex(3)}", article_id=article.id, start=start, end=end,
        text=text, place_id=place.id if place else None, scope=scope, created=stamp,
        note=" ".join(note.split()), **fields,
    )  # fmt: skip


def place_of(c: Correction) -> Place | None:
    """The place record a correction chooses (``None`` for "not a place")."""
    if c.place_id is None or c.lat is None or c.lon is None:
        return None
    source = "user" if c.place_id.startswith(USER_PREFIX) else "correction"
    return Place(c.place_id, c.name, c.kind, c.lat, c.lon, c.country, source=source)


def _same(a: Correction, b: Correction) -> bool:
    """Whether two corrections say the same thing (ids, times and notes aside)."""
    return replace(a, id="", created="", note="") == replace(b, id="", created="", note="")


def added(items: Sequence[Correction], new: Correction) -> list[Correction]:
    """``items`` with ``new`` at the end (its id made unique); unchanged when the last
    correction already says the same (a double click saves one correction)."""
    if items and _same(items[-1], new):
        return list(items)
    ids = {c.id for c in items}
    while new.id in ids:
        new = replace(new, id=f"c-{secrets.token_hex(3)}")
    return [*items, new]


def without(items: Sequence[Correction], correction_id: str) -> list[Correction]:
    """``items`` without the correction ``correction_id``.

    Raises
    ------
    BadInput
        If there is no correction with that id.
    """
    kept = [c for c in items if c.id != correction_id]
    if len(kept) == len(items):
        raise BadInput(
            f"no correction with id {correction_id!r}; list them with `python -m geo corrections`"
        )
    return kept


# -- applying them ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Applied:
    """What the corrections do to the stored mentions.

    ``updates`` are ``(article_id, start, end, place_id or None, correction id)`` for
    mentions the parser found; ``added`` are mentions the parser missed that a correction
    places; ``places`` the records the corrections need; ``warnings`` name the corrections
    that no longer match their article (left out, never dropped from the file).
    """

    updates: tuple[tuple[str, int, int, str | None, str], ...]
    added: tuple[StoredMention, ...]
    places: tuple[Place, ...]
    warnings: tuple[str, ...]


_BREADTH = {"corpus": 0, "article": 1, "mention": 2}


def stale(c: Correction, articles: Mapping[str, Article]) -> str:
    """Why a correction no longer matches its article ('' when it does)."""
    art = articles.get(c.article_id)
    if art is None:
        return f"correction {c.id!r}: article {c.article_id!r} is no longer in the corpus"
    found = art.text[c.start : c.end]
    if found != c.text:
        return (
            f"correction {c.id!r}: article {c.article_id!r} has {found!r} at {c.start}..{c.end}, "
            f"not {c.text!r}; undo it (`python -m geo correct --undo {c.id}`) and correct again"
        )
    return ""


def apply(
    items: Sequence[Correction],
    mentions: Sequence[StoredMention],
    articles: Mapping[str, Article],
) -> Applied:
    """Apply corrections to stored mentions (a pure function).

    On the very words a correction was made on, the later correction wins, whatever its
    scope (the analyst pointed at them last).  Elsewhere a narrower scope wins over a wider
    one (an article's correction over the corpus's), and among the same scope the later.
    A correction of words the parser did not find adds a mention.  A correction whose span
    no longer holds its words is left out, with a warning.
    """
    by_span = {(m.article_id, m.start, m.end): m for m in mentions}
    chosen: dict[tuple[str, int, int], Correction] = {}
    warnings = []
    live = []
    for c in items:
        why = stale(c, articles)
        if why:
            warnings.append(why)
        else:
            live.append(c)
    for c in sorted(live, key=lambda c: _BREADTH[c.scope]):  # stable: file order kept
        for key in _targets(c, mentions):
            chosen[key] = c
    for c in live:  # the words each was made on, in file order
        chosen[(c.article_id, c.start, c.end)] = c
    updates, new = [], []
    for key, c in sorted(chosen.items()):
        if key in by_span:
            updates.append((*key, c.place_id, c.id))
        elif c.place_id is not None:
            new.append(_new_mention(c, articles[c.article_id]))
    used = {c.place_id for c in chosen.values()}
    places = tuple(p for c in live if c.place_id in used and (p := place_of(c)) is not None)
    return Applied(tuple(updates), tuple(new), tuple(dict((p.id, p) for p in places).values()),
                   tuple(warnings))  # fmt: skip


def _targets(c: Correction, mentions: Sequence[StoredMention]) -> list[tuple[str, int, int]]:
    if c.scope == "mention":
        return []
    return [
        (m.article_id, m.start, m.end)
        for m in mentions
        if m.text == c.text and (c.scope == "corpus" or m.article_id == c.article_id)
    ]


def _new_mention(c: Correction, article: Article) -> StoredMention:
    sent = passage_at(passages(article), c.start)
    p_start, p_end = (sent.start, sent.end) if sent else (c.start, c.end)
    return StoredMention(
        article_id=c.article_id, start=c.start, end=c.end, text=c.text,
        passage_start=p_start, passage_end=max(p_end, c.end), place_id=c.place_id,
        confidence=1.0, correction=c.id,
    )  # fmt: skip


# -- the file ---------------------------------------------------------------------------------

_FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": str, "article": str, "start": int, "end": int, "text": str, "place": str,
    "not_a_place": bool, "name": str, "kind": str, "lat": (int, float), "lon": (int, float),
    "country": str, "scope": str, "created": str, "note": str,
}  # fmt: skip
_REQUIRED = ("id", "article", "start", "end", "text", "scope")


def load(path: Path) -> list[Correction]:
    """Read and check a corrections file (a missing file holds none).

    Raises
    ------
    DataFileError
        If it is not valid TOML or an entry is malformed; the message names the file,
        the entry and the field.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise DataFileError(f"corrections file {str(path)!r} is not valid TOML: {err}") from err
    extra = sorted(set(data) - {"correction"})
    if extra:
        raise DataFileError(f"{str(path)!r}: unknown tables {extra!r}; use [[correction]] only")
    entries = data.get("correction", [])
    if not isinstance(entries, list):
        raise DataFileError(f"{str(path)!r}: 'correction' must be an array of tables")
    out = [_entry(e, f"{str(path)!r} correction #{n}", n) for n, e in enumerate(entries, 1)]
    ids = [c.id for c in out]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise DataFileError(f"{str(path)!r}: correction ids {dupes!r} occur twice; rename one")
    return out


def _entry(entry: object, where: str, number: int) -> Correction:
    if not isinstance(entry, dict):
        raise DataFileError(f"{where} is not a table")
    for key, value in entry.items():
        want = _FIELDS.get(key)
        if want is None:
            raise DataFileError(f"{where}: unknown field {key!r}; known: {', '.join(_FIELDS)}")
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise DataFileError(f"{where}: field {key!r} = {value!r} has the wrong type")
    missing = [k for k in _REQUIRED if k not in entry]
    if missing:
        raise DataFileError(f"{where}: missing field(s) {', '.join(missing)}")
    where = f"{where} ({entry['id']!r})"
    try:
        return _checked(entry)
    except BadInput as err:
        raise DataFileError(f"{where}: {err}") from None


def _checked(e: Mapping[str, Any]) -> Correction:
    if e["scope"] not in SCOPES:
        raise BadInput(f"field 'scope' = {e['scope']!r} is not one of {', '.join(SCOPES)}")
    if not 0 <= e["start"] < e["end"]:
        raise BadInput(f"fields 'start', 'end' = {e['start']}, {e['end']}: need 0 <= start < end")
    if len(e["text"]) != e["end"] - e["start"]:
        raise BadInput(f"field 'text' = {e['text']!r} is not end - start characters long")
    common = {
        "id": e["id"], "article_id": e["article"], "start": e["start"], "end": e["end"],
        "text": e["text"], "scope": e["scope"], "created": e.get("created", ""),
        "note": e.get("note", ""),
    }  # fmt: skip
    place = e.get("place", "")
    if e.get("not_a_place", False):
        if place:
            raise BadInput(f"field 'place' = {place!r} and not_a_place = true contradict")
        return Correction(place_id=None, **common)
    if not place:
        raise BadInput("needs field 'place' (a place id) or not_a_place = true")
    for key in ("name", "kind", "lat", "lon"):
        if key not in e:
            raise BadInput(f"missing field {key!r} of place {place!r}")
    if e["kind"] not in KINDS:
        raise BadInput(f"field 'kind' = {e['kind']!r} is not one of {', '.join(KINDS)}")
    lat, lon = check_latlon(e["lat"], e["lon"])
    return Correction(
        place_id=place, name=e["name"], kind=e["kind"], lat=lat, lon=lon,
        country=e.get("country", ""), **common,
    )  # fmt: skip


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return toml_string(str(value))


def dumps(items: Iterable[Correction]) -> str:
    """The text of a corrections file holding ``items``, in order."""
    parts = [_HEADER]
    for c in items:
        rows: list[tuple[str, object]] = [
            ("id", c.id), ("article", c.article_id), ("start", c.start), ("end", c.end),
            ("text", c.text), ("place", c.place_id or ""),
        ]  # fmt: skip
        if c.place_id is None:
            rows.append(("not_a_place", True))
        else:
            rows += [("name", c.name), ("kind", c.kind), ("lat", c.lat), ("lon", c.lon)]
            rows += [("country", c.country)] if c.country else []
        rows += [("scope", c.scope), ("created", c.created)]
        rows += [("note", c.note)] if c.note else []
        body = "\n".join(f"{k} = {_value(v)}" for k, v in rows)
        parts.append(f"\n[[correction]]\n{body}\n")
    return "".join(parts)


def save(path: Path, items: Sequence[Correction]) -> None:
    """Write the corrections file atomically (readers see the old file or the new)."""
    text = dumps(items)
    _check_readable(text, path)
    atomic_write_text(path, text)


def _check_readable(text: str, path: Path) -> None:
    """Check that ``text`` reads back as the corrections file it is meant to be."""
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:  # a bug here, never the user's input
        raise DataFileError(f"refusing to write an unreadable {str(path)!r}: {err}") from err


def describe(c: Correction) -> str:
    """One line for a list of corrections."""
    target = (
        "not a place"
        if c.place_id is None
        else f"{c.name} ({c.kind}, {c.lat:.4f}, {c.lon:.4f}) [{c.place_id}]"
    )
    note = f" — {c.note}" if c.note else ""
    return (
        f"{c.id}  {c.article_id} {c.start}..{c.end} {c.text!r} -> {target}; "
        f"scope {c.scope}; {c.created}{note}"
    )
