"""Routes described by the articles: data file -> :class:`Route` records -> lines on the map.

``data/routes.yaml`` names each route's waypoints by place name; they are resolved through the
gazetteer (passed in as a ``resolve`` callable), so neither the data file nor this module holds
a coordinate.  Each quote backing a route must occur verbatim in its article.

Geometry by mode:

``sea``
    the shortest path on the ``searoute`` maritime network between consecutive waypoints
    (intermediate waypoints such as "Bering Strait" steer it); ``arctic: true`` opens the
    Arctic passages, which searoute closes by default.
``air``
    the WGS 84 geodesic (great circle) between consecutive waypoints.
``rail``, ``road``
    the polyline through the stations and junctions, densified along geodesics.

Antimeridian.  Lines are first built *unwrapped*: consecutive points never differ by more than
180 degrees of longitude, so a route through the Bering Strait runs on past 180 (to about
191) and is continuous.  The geometry kept in the routes table, and written to GeoJSON, is
that line *split at the antimeridian* into a MultiLineString whose longitudes all lie in
[-180, 180] (RFC 7946, section 3.1.9).  :func:`unwrap_geometry` rejoins the parts into the
continuous line Leaflet needs.  Lengths are geodesic and the same
for either form.
"""

from __future__ import annotations

import itertools
import json
import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import yaml
from pyproj import Geod
from shapely.geometry import LineString, MultiLineString

from geo.errors import BadInput, DataFileError, UnknownPlace
from geo.model import Place, Quote, Route, to_xy

if TYPE_CHECKING:
    import pandas as pd
    from geopandas import GeoDataFrame

    from geo.gazetteer import Gazetteer

MODES = ("sea", "rail", "road", "air")
STATUSES = ("existing", "planned", "proposed")
#: Columns of the routes table, in order (the map module relies on them).
COLUMNS = (
    "route_id",
    "title",
    "mode",
    "status",
    "period",
    "length_km",
    "waypoints",
    "quotes",
    "description",
    "geometry",
)
#: Spacing of the points added along geodesics (air, rail, road), in km.
AIR_SPACING_KM = 50.0
GROUND_SPACING_KM = 20.0
#: searoute passages: its default closes the Arctic ("northwest" tags every Arctic edge).
ARCTIC_PASSAGE = "northwest"
SUEZ_PASSAGE = "suez"
#: searoute's network spans longitudes -180 to about 191 (nodes past 180 near the Bering Strait).
SEAROUTE_LON_LIMIT = 200.0

Resolve = Callable[[str], Place]
XY = tuple[float, float]
Line: TypeAlias = LineString | MultiLineString  # shapely is untyped: Any to mypy

_GEOD = Geod(ellps="WGS84")
_REQUIRED = ("id", "title", "mode", "status", "waypoints", "quotes")


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class ClaimSpec:
    """The distance claim to check: origins, destination, claimed saving and its source."""

    destination: str
    origins: tuple[str, ...]
    claimed_share: float
    quote: Quote
    arctic_via: str
    suez_via: str


@dataclass(frozen=True, slots=True)
class ClaimCheck:
    """Sea distances from one origin via the Arctic and via Suez, and the share saved."""

    origin: str
    destination: str
    arctic_km: float
    suez_km: float
    saving_share: float


# --------------------------------------------------------------------------- reading


def read_routes_file(path: Path) -> dict[str, Any]:
    """Read the routes YAML file into a mapping (the only I/O of this module).

    Raises
    ------
    DataFileError
        If the file is missing, is not YAML, or is not a mapping.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataFileError(f"routes file {str(path)!r} is missing") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise DataFileError(f"routes file {str(path)!r} is unreadable: {err}") from err
    if not isinstance(data, dict):
        raise DataFileError(f"routes file {str(path)!r} must be a mapping with a 'routes' list")
    return data


def parse_routes(data: Mapping[str, Any]) -> tuple[Route, ...]:
    """Turn the ``routes`` list of a parsed routes file into records.

    Raises
    ------
    DataFileError
        Naming the route and the problem: a missing field, a bad mode or status, a bad quote,
        fewer than two waypoints, or a duplicate id.
    """
    entries = data.get("routes")
    if not isinstance(entries, list) or not entries:
        raise DataFileError("routes file: 'routes' must be a non-empty list of routes")
    routes = tuple(_parse_route(entry, n) for n, entry in enumerate(entries, start=1))
    seen: set[str] = set()
    for route in routes:
        if route.id in seen:
            raise DataFileError(f"route {route.id!r}: duplicate id; give each route its own id")
        seen.add(route.id)
    return routes


def _parse_route(entry: object, number: int) -> Route:
    if not isinstance(entry, dict):
        raise DataFileError(f"route #{number}: expected a mapping, got {entry!r}")
    label = repr(entry["id"]) if isinstance(entry.get("id"), str) else f"#{number}"
    missing = [key for key in _REQUIRED if key not in entry]
    if missing:
        raise DataFileError(f"route {label}: missing field(s) {', '.join(missing)}")
    route_id = _text(entry, "id", label)
    mode, status = _text(entry, "mode", label), _text(entry, "status", label)
    if mode not in MODES:
        raise DataFileError(f"route {label}: mode {mode!r} is not one of {', '.join(MODES)}")
    if status not in STATUSES:
        raise DataFileError(f"route {label}: status {status!r} is not one of {', '.join(STATUSES)}")
    arctic = entry.get("arctic", False)
    if not isinstance(arctic, bool):
        raise DataFileError(f"route {label}: arctic must be true or false, not {arctic!r}")
    return Route(
        id=route_id,
        title=_text(entry, "title", label),
        mode=mode,
        status=status,
        waypoints=_waypoints(entry["waypoints"], label),
        quotes=_quotes(entry["quotes"], label),
        period=_period(entry.get("period", ""), label),
        description=_text(entry, "description", label, default=""),
        arctic=arctic,
    )


def _text(entry: Mapping[str, Any], key: str, label: str, *, default: str | None = None) -> str:
    value = entry.get(key, default)
    if not isinstance(value, str) or (default is None and not value.strip()):
        raise DataFileError(f"route {label}: {key} must be a non-empty string, not {value!r}")
    return value.strip()


def _period(value: object, label: str) -> str:
    if isinstance(value, date):  # an unquoted YAML date
        return value.isoformat()
    if not isinstance(value, str):
        raise DataFileError(f"route {label}: period must be a string, not {value!r}")
    return value.strip()


def _waypoints(value: object, label: str) -> tuple[str, ...]:
    if (
        not isinstance(value, list)
        or len(value) < 2
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        raise DataFileError(
            f"route {label}: waypoints must be a list of at least two place names, not {value!r}"
        )
    return tuple(v.strip() for v in value)


def _quotes(value: object, label: str) -> tuple[Quote, ...]:
    if not isinstance(value, list) or not value:
        raise DataFileError(f"route {label}: quotes must be a non-empty list of {{article, text}}")
    return tuple(parse_quote(q, f"route {label}") for q in value)


def parse_quote(value: object, where: str) -> Quote:
    """Parse one ``{article: "003", text: "..."}`` quote; ``where`` prefixes error messages."""
    if not isinstance(value, dict) or set(value) != {"article", "text"}:
        raise DataFileError(f"{where}: a quote must be {{article, text}}, not {value!r}")
    article, text = value["article"], value["text"]
    if not isinstance(article, str) or not article.strip():
        raise DataFileError(
            f"{where}: quote article {article!r} must be a quoted article id such as '003'"
            " (a bare 003 is read by YAML as the number 3)"
        )
    if not isinstance(text, str) or not text.strip():
        raise DataFileError(f"{where}: quote text must be a non-empty string, not {text!r}")
    return Quote(article_id=article, text=text.strip())


def parse_claim_spec(data: Mapping[str, Any]) -> ClaimSpec:
    """Parse the ``claim_check`` section of a routes file.

    Raises
    ------
    DataFileError
        If a field is missing or malformed.
    """
    raw = data.get("claim_check")
    where = "claim_check"
    if not isinstance(raw, dict):
        raise DataFileError(f"{where}: section missing or not a mapping")
    origins, share = raw.get("origins"), raw.get("claimed_share")
    destination = raw.get("destination")
    if not isinstance(destination, str) or not destination.strip():
        raise DataFileError(f"{where}: destination must be a place name, not {destination!r}")
    if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
        raise DataFileError(f"{where}: origins must be a list of place names, not {origins!r}")
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share < 1:
        raise DataFileError(f"{where}: claimed_share must be a number in (0, 1), not {share!r}")
    quote = parse_quote(raw.get("quote"), where)
    vias = [raw.get("arctic_via"), raw.get("suez_via")]
    if not all(isinstance(v, str) and v.strip() for v in vias):
        raise DataFileError(f"{where}: arctic_via and suez_via must be place names, not {vias!r}")
    arctic_via, suez_via = (str(v).strip() for v in vias)
    return ClaimSpec(destination.strip(), tuple(origins), float(share), quote, arctic_via, suez_via)


# --------------------------------------------------------------------------- validation


def _squash(text: str) -> str:
    return " ".join(text.split())


def quote_found(quote: str, article_text: str) -> bool:
    """Whether ``quote`` occurs verbatim in ``article_text``.

    Only whitespace is normalised (every run of spaces, tabs and newlines counts as one
    space); case, punctuation and curly quotes must match exactly.

    >>> quote_found("the  Tumen\\nRiver", "at the Tumen River to")
    True
    >>> quote_found("the tumen river", "at the Tumen River to")
    False
    """
    return _squash(quote) in _squash(article_text)


def check_quote(quote: Quote, articles: Mapping[str, str], where: str) -> None:
    """Raise :class:`DataFileError` unless ``quote`` occurs verbatim in its article."""
    text = articles.get(quote.article_id)
    if text is None:
        known = ", ".join(sorted(articles)) or "none"
        raise DataFileError(
            f"{where}: quote cites article {quote.article_id!r}, which is not among the "
            f"articles ({known})"
        )
    if not quote_found(quote.text, text):
        raise DataFileError(
            f"{where}: quote {quote.text!r} is not in article {quote.article_id!r}; "
            "copy the words exactly (only whitespace may differ)"
        )


def check_quotes(routes: Iterable[Route], articles: Mapping[str, str]) -> None:
    """Check every quote of every route against ``articles`` (article id -> text)."""
    for route in routes:
        for quote in route.quotes:
            check_quote(quote, articles, f"route {route.id!r}")


def check_places(routes: Iterable[Route], resolve: Resolve) -> None:
    """Check that every waypoint resolves; raise :class:`DataFileError` naming the route."""
    for route in routes:
        _resolve_all(route, resolve)


def _resolve_all(route: Route, resolve: Resolve) -> list[Place]:
    places = []
    for name in route.waypoints:
        try:
            places.append(resolve(name))
        except UnknownPlace as err:
            raise DataFileError(f"route {route.id!r}: waypoint {name!r}: {err}") from err
    return places


# --------------------------------------------------------------------------- geometry


def route_geometry(route: Route, resolve: Resolve) -> Line:
    """The route's line, split at the antimeridian (longitudes in [-180, 180]).

    A LineString, or a MultiLineString when the route crosses the 180th meridian;
    :func:`unwrap_geometry` gives the continuous form.
    """
    return split_antimeridian(route_coords(route, resolve))


def route_coords(route: Route, resolve: Resolve) -> list[XY]:
    """The route as one continuous ``(lon, lat)`` sequence, longitudes unwrapped.

    Raises
    ------
    DataFileError
        If a waypoint is unknown; :class:`BadInput` if searoute finds no sea path.
    """
    points = [to_xy(p.lat, p.lon) for p in _resolve_all(route, resolve)]
    if len(set(points)) < 2:
        raise DataFileError(
            f"route {route.id!r}: its waypoints {list(route.waypoints)!r} resolve to fewer than"
            " two distinct places"
        )
    if route.mode == "sea":
        try:
            return sea_path(points, arctic=route.arctic)[0]
        except BadInput as err:
            raise BadInput(f"route {route.id!r}: {err}") from err
    spacing = AIR_SPACING_KM if route.mode == "air" else GROUND_SPACING_KM
    return geodesic_path(points, spacing_km=spacing)


def geodesic_path(points: Sequence[XY], *, spacing_km: float) -> list[XY]:
    """Join ``(lon, lat)`` points by geodesics with a point every ``spacing_km`` at most."""
    out: list[XY] = [points[0]]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        dist_km = _GEOD.inv(x0, y0, x1, y1)[2] / 1000
        n_mid = max(0, math.ceil(dist_km / spacing_km) - 1)
        out.extend(_GEOD.npts(x0, y0, x1, y1, n_mid) if n_mid else [])
        out.append((x1, y1))
    return unwrap(_dedupe(out))


def sea_path(points: Sequence[XY], *, arctic: bool) -> tuple[list[XY], frozenset[str]]:
    """Chain searoute legs through ``points``; return the line and the passages used.

    The line starts and ends at the first and last point; intermediate points only steer the
    path (each leg runs between the network nodes nearest its ends).  searoute's network holds
    separate, unjoined copies of the nodes near the antimeridian (the Bering Strait node is at
    both -169.15 and 190.85), so each leg is tried from and to every copy of its ends and the
    shortest is kept.
    """
    coords: list[XY] = [points[0]]
    passages: set[str] = set()
    start = points[0]
    for end in points[1:]:
        legs = [_sea_leg(a, b, arctic) for a in _lon_copies(start) for b in _lon_copies(end)]
        leg, used, _ = min(legs, key=lambda found: found[2])
        coords.extend(leg)
        passages.update(used)
        start = leg[-1]
    coords.append(points[-1])
    return unwrap(_dedupe(coords)), frozenset(passages)


def _lon_copies(xy: XY) -> list[XY]:
    x = (xy[0] + 180.0) % 360.0 - 180.0
    return [
        (round(x + turn, 6), round(xy[1], 6))
        for turn in (0.0, 360.0, -360.0)
        if abs(x + turn) <= SEAROUTE_LON_LIMIT
    ]


@lru_cache(maxsize=512)
def _sea_leg(a: XY, b: XY, arctic: bool) -> tuple[tuple[XY, ...], frozenset[str], float]:
    import searoute  # noqa: PLC0415 - loads its network lazily; keep module import light

    restrictions = [] if arctic else [ARCTIC_PASSAGE]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        feature = searoute.searoute(a, b, restrictions=restrictions, return_passages=True)
    coords = tuple((float(x), float(y)) for x, y in feature["geometry"]["coordinates"])
    if len(coords) < 2:
        why = "; ".join(str(w.message) for w in caught) or "no path"
        raise BadInput(f"no sea path from {a} to {b} (arctic={arctic}): {why}")
    used = frozenset(feature["properties"].get("traversed_passages") or ())
    return coords, used, float(feature["properties"]["length"])


def _dedupe(coords: Iterable[XY]) -> list[XY]:
    out: list[XY] = []
    for xy in coords:
        if not out or not (math.isclose(out[-1][0], xy[0]) and math.isclose(out[-1][1], xy[1])):
            out.append((float(xy[0]), float(xy[1])))
    return out


def unwrap(coords: Sequence[XY]) -> list[XY]:
    """Shift longitudes by whole turns so consecutive points differ by at most 180 degrees.

    >>> unwrap([(179.0, 65.0), (-179.0, 66.0), (-170.0, 66.0)])
    [(179.0, 65.0), (181.0, 66.0), (190.0, 66.0)]
    """
    out: list[XY] = []
    for x, y in coords:
        turns = round((x - out[-1][0]) / 360.0) if out else 0
        out.append((x - 360.0 * turns, y))
    return out


def _world(x: float) -> int:
    return math.floor((x + 180.0) / 360.0)


def split_antimeridian(coords: Sequence[XY]) -> Line:
    """Split an unwrapped line where it crosses the antimeridian (RFC 7946, 3.1.9).

    Every part has longitudes in [-180, 180]; a part ending on +180 is followed by one
    starting on -180 at the same latitude (or the reverse).

    >>> split_antimeridian([(170.0, 60.0), (190.0, 70.0)]).wkt
    'MULTILINESTRING ((170 60, 180 65), (-180 65, -170 70))'
    """
    parts: list[list[XY]] = [[]]
    for i, (x, y) in enumerate(coords):
        if i:
            px, py = coords[i - 1]
            k0, k1 = _world(px), _world(x)
            if k0 != k1:
                edge = 180.0 + 360.0 * min(k0, k1)
                yb = py + (edge - px) / (x - px) * (y - py)
                parts[-1].append((edge - 360.0 * k0, yb))
                parts.append([(edge - 360.0 * k1, yb)])
        parts[-1].append((x - 360.0 * _world(x), y))
    lines = [p for p in (_dedupe(part) for part in parts) if len(p) >= 2]
    return LineString(lines[0]) if len(lines) == 1 else MultiLineString(lines)


def _parts(geom: Line) -> list[list[XY]]:
    lines = geom.geoms if isinstance(geom, MultiLineString) else [geom]
    return [[(float(x), float(y)) for x, y, *_ in line.coords] for line in lines]


def _joins(end: XY, start: XY) -> bool:
    return abs(end[0]) == 180.0 and end[0] == -start[0] and math.isclose(end[1], start[1])


def unwrap_geometry(geom: Line) -> Line:
    """Rejoin parts split at the antimeridian into continuous, unwrapped lines (for Leaflet)."""
    merged: list[list[XY]] = []
    for part in _parts(geom):
        if merged and _joins(merged[-1][-1], part[0]):
            merged[-1].extend(part)
        else:
            merged.append(part)
    lines = [_dedupe(unwrap(m)) for m in merged]
    return LineString(lines[0]) if len(lines) == 1 else MultiLineString(lines)


def length_km(geom: Line) -> float:
    """Geodesic (WGS 84) length in km; the same for the split and the unwrapped form."""
    return float(_GEOD.geometry_length(geom)) / 1000.0


# --------------------------------------------------------------------------- table


def routes_frame(routes: Iterable[Route], resolve: Resolve) -> GeoDataFrame:
    """The routes table (EPSG:4326) with exactly the columns in :data:`COLUMNS`."""
    from geopandas import GeoDataFrame  # noqa: PLC0415 - heavy import, only when building

    rows = []
    for route in routes:
        geom = route_geometry(route, resolve)
        rows.append(
            {
                "route_id": route.id,
                "title": route.title,
                "mode": route.mode,
                "status": route.status,
                "period": route.period,
                "length_km": round(length_km(geom), 1),
                "waypoints": json.dumps(list(route.waypoints), ensure_ascii=False),
                "quotes": json.dumps(
                    [{"article_id": q.article_id, "text": q.text} for q in route.quotes],
                    ensure_ascii=False,
                ),
                "description": route.description,
                "geometry": geom,
            }
        )
    return GeoDataFrame(rows, columns=list(COLUMNS), geometry="geometry", crs="EPSG:4326")


def unwrap_routes(routes: GeoDataFrame) -> GeoDataFrame:
    """A copy of a routes table with continuous, unwrapped lines: what the folium map draws.

    The routes layer file holds lines split at the antimeridian (longitudes in [-180, 180]);
    Leaflet needs each route as one continuous line, longitudes past 180 where it crosses.
    """
    out = routes.copy()
    out["geometry"] = [unwrap_geometry(g) for g in routes.geometry]
    return out


def build_routes(
    routes_path: Path, gazetteer: Gazetteer, articles: Mapping[str, str]
) -> GeoDataFrame:
    """Read, validate and draw the routes file: the routes layer as a GeoDataFrame.

    Parameters
    ----------
    routes_path
        ``data/routes.yaml``.
    gazetteer
        Resolves the waypoint names (``gazetteer.lookup``).
    articles
        Article id (``"003"``) -> article text, to check the quotes (route and claim ones).

    Raises
    ------
    DataFileError
        Naming the route and the problem (missing field, bad mode/status, unknown place,
        quote not in its article).
    """
    data = read_routes_file(routes_path)
    routes, skipped = applicable(parse_routes(data), articles)
    check_quotes(routes, articles)
    check_places(routes, gazetteer.lookup)
    frame = routes_frame(routes, gazetteer.lookup)
    frame.attrs["skipped"] = list(skipped)
    return frame


def applicable(
    routes: Sequence[Route], articles: Mapping[str, str]
) -> tuple[tuple[Route, ...], tuple[str, ...]]:
    """Split routes into those whose quoted articles are all in the corpus and the others.

    A corpus without the seed articles (``NEWS_ATLAS_SEEDS`` pointing elsewhere) still
    builds: the seed routes are left out, and their ids are returned so the build can say so.
    """
    kept = tuple(r for r in routes if all(q.article_id in articles for q in r.quotes))
    return kept, tuple(r.id for r in routes if r not in kept)


# --------------------------------------------------------------------------- claim check


def claim_check(
    origin: str,
    destination: str,
    resolve: Resolve,
    *,
    arctic_via: str,
    suez_via: str,
) -> ClaimCheck:
    """Compare the sea distance ``origin`` -> ``destination`` via the Arctic and via Suez.

    The Arctic path is forced through ``arctic_via`` with the Arctic passages open; the Suez
    path through ``suez_via`` with them closed.  Distances are geodesic lengths of the paths.

    Raises
    ------
    BadInput
        If a path does not take the passage it stands for (Arctic, Suez).
    """
    o, d = resolve(origin), resolve(destination)
    a_via, s_via = resolve(arctic_via), resolve(suez_via)
    ends = (to_xy(o.lat, o.lon), to_xy(d.lat, d.lon))
    arctic, a_used = sea_path([ends[0], to_xy(a_via.lat, a_via.lon), ends[1]], arctic=True)
    suez, s_used = sea_path([ends[0], to_xy(s_via.lat, s_via.lon), ends[1]], arctic=False)
    if ARCTIC_PASSAGE not in a_used or SUEZ_PASSAGE not in s_used:
        raise BadInput(
            f"claim check {origin!r} -> {destination!r}: paths used {sorted(a_used)} and "
            f"{sorted(s_used)}, expected the Arctic and Suez"
        )
    arctic_km = length_km(LineString(arctic))
    suez_km = length_km(LineString(suez))
    return ClaimCheck(o.name, d.name, arctic_km, suez_km, 1.0 - arctic_km / suez_km)


def claim_table(spec: ClaimSpec, resolve: Resolve) -> pd.DataFrame:
    """One :func:`claim_check` row per candidate origin, with the claimed share beside it."""
    import pandas as pd  # noqa: PLC0415

    rows = [
        {
            "origin": c.origin,
            "destination": c.destination,
            "arctic_km": round(c.arctic_km),
            "suez_km": round(c.suez_km),
            "saving_share": round(c.saving_share, 3),
            "claimed_share": spec.claimed_share,
        }
        for c in (
            claim_check(
                o, spec.destination, resolve, arctic_via=spec.arctic_via, suez_via=spec.suez_via
            )
            for o in spec.origins
        )
    ]
    return pd.DataFrame(rows)
