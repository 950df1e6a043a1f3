"""The gazetteer (and an optional online fallback) behind geopy's geocoder interface.

Three layers, each usable alone:

:class:`GazetteerGeocoder`
    a ``geopy.geocoders.base.Geocoder`` answering from the embedded gazetteer; never does I/O.
:class:`OnlineGeocoder`
    Nominatim through geopy, rate-limited, with a persistent on-disk cache of answers and
    misses (``geo/_cache.py``); off unless ``NEWS_ATLAS_ONLINE=1``.
:class:`ChainGeocoder`
    the gazetteer first, then the online fallback if there is one; build it with
    :func:`make_geocoder`.

Geocoders speak geopy (:meth:`~GazetteerGeocoder.geocode` returns ``geopy.location.Location``
objects whose ``raw`` holds the :class:`~geo.model.Place` fields, or ``None``) and the
pipeline's language (:meth:`~GazetteerGeocoder.candidates` and
:meth:`~GazetteerGeocoder.lookup` return :class:`~geo.model.Place` records, like
:class:`~geo.gazetteer.Gazetteer`).
"""

from __future__ import annotations

import dataclasses
import heapq
import time
from array import array
from collections.abc import Callable, Collection, Iterable
from typing import Any

import geopy.exc
from geopy.geocoders.base import Geocoder
from geopy.location import Location
from geopy.point import Point

from geo import _http
from geo._cache import GeocodeCache, Raw, cache_path
from geo.errors import BadInput, GeocoderUnavailable, UnknownPlace
from geo.gazetteer import CURATED_FILE, Gazetteer, normalize
from geo.model import KINDS, Place
from geo.resolve import haversine_km
from geo.settings import Settings

#: How many results the online geocoder asks for (and caches) per query.
ONLINE_LIMIT = 5

#: Nominatim ``type`` or ``addresstype`` -> our kind.
_TYPE_KINDS = {
    "continent": "continent", "country": "country", "state": "admin1", "province": "admin1",
    "state_district": "admin1", "region": "region", "county": "region", "city": "city",
    "town": "city", "village": "city", "hamlet": "city", "municipality": "city",
    "island": "island", "islet": "island", "archipelago": "island", "peninsula": "peninsula",
    "strait": "strait", "bay": "bay", "sea": "sea", "ocean": "ocean", "lake": "lake",
    "reservoir": "lake", "river": "river", "canal": "river", "stream": "river",
    "peak": "mountain", "volcano": "mountain", "mountain_range": "mountain", "ridge": "mountain",
    "harbour": "port", "port": "port", "ferry_terminal": "port",
}  # fmt: skip

#: Nominatim ``class`` -> our kind, when neither the type nor the address type is known.
_CLASS_KINDS = {
    "waterway": "river", "water": "lake", "harbour": "port", "aeroway": "facility",
    "military": "facility", "amenity": "facility", "building": "facility",
    "man_made": "facility", "power": "facility", "industrial": "facility",
    "railway": "facility", "office": "facility",
}  # fmt: skip

_RAW_KEYS = ("lat", "lon", "display_name", "name", "osm_type", "osm_id", "class", "type",
             "addresstype", "importance")  # fmt: skip


# --------------------------------------------------------------------------- validation


def _check_query(query: object) -> str:
    if not isinstance(query, str) or not normalize(query):
        raise BadInput(f"a place name must be a non-empty string, not {query!r}")
    return query


def _check_limit(limit: int | None) -> int | None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise BadInput(f"limit must be a positive integer or None, not {limit!r}")
    return limit


def _check_kinds(kinds: Iterable[str] | None) -> frozenset[str] | None:
    if kinds is None:
        return None
    chosen = frozenset([kinds] if isinstance(kinds, str) else kinds)
    if not chosen or not chosen <= set(KINDS):
        raise BadInput(f"kinds {sorted(chosen)!r} must be some of {', '.join(KINDS)}")
    return chosen


def _check_countries(codes: str | Iterable[str] | None) -> frozenset[str] | None:
    if codes is None:
        return None
    chosen = frozenset(c.upper() for c in ([codes] if isinstance(codes, str) else codes))
    if not chosen or not all(len(c) == 2 and c.isalpha() for c in chosen):
        raise BadInput(f"country_codes {sorted(chosen)!r} must be ISO 3166-1 alpha-2 codes")
    return chosen


def _check_point(query: object) -> tuple[float, float]:
    if isinstance(query, Point):
        return query.latitude, query.longitude
    parts = query.split(",") if isinstance(query, str) else query
    try:
        lat, lon = (float(v) for v in parts)  # type: ignore[attr-defined]
    except (TypeError, ValueError) as err:
        raise BadInput(f"{query!r} is not a point: give (lat, lon) or 'lat, lon'") from err
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise BadInput(f"{query!r} is out of range: latitude -90..90, longitude -180..180")
    return lat, lon


def _select(
    places: Iterable[Place],
    kinds: frozenset[str] | None,
    countries: frozenset[str] | None,
    limit: int | None,
) -> list[Place]:
    found = [
        p
        for p in places
        if (kinds is None or p.kind in kinds) and (countries is None or p.country in countries)
    ]
    return found[:limit]


# --------------------------------------------------------------------------- geopy glue


def to_location(place: Place) -> Location:
    """Wrap a place as a ``geopy.location.Location``; ``raw`` holds every Place field."""
    address = f"{place.name}, {place.country}" if place.country else place.name
    return Location(address, (place.lat, place.lon), dataclasses.asdict(place))


def to_place(location: Location) -> Place:
    """Turn a location made by :func:`to_location` back into its :class:`Place`."""
    return Place(**location.raw)


def _as_locations(places: list[Place], *, exactly_one: bool) -> Location | list[Location] | None:
    if not places:
        return None
    return to_location(places[0]) if exactly_one else [to_location(p) for p in places]


class GazetteerGeocoder(Geocoder):  # type: ignore[misc]
    """The embedded gazetteer as a geopy geocoder.  It never opens a connection.

    Parameters
    ----------
    gazetteer
        The name index to answer from (see :func:`geo.gazetteer.load`).

    Notes
    -----
    geopy's base class would build an HTTP adapter (``requests`` or ``urllib``); this one gets
    :class:`geo._http.OfflineAdapter`, which refuses every request.
    """

    def __init__(self, gazetteer: Gazetteer) -> None:
        super().__init__(
            scheme="https",
            timeout=None,
            proxies={},
            user_agent="news-atlas (offline)",
            ssl_context=None,
            adapter_factory=_http.OfflineAdapter,
        )
        self.gazetteer = gazetteer
        self._coords: tuple[array[float], array[float], list[str], list[str]] | None = None

    def candidates(
        self,
        name: str,
        *,
        limit: int | None = None,
        country_codes: str | Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
    ) -> list[Place]:
        """Return the places called ``name``, most important first (empty if none).

        Parameters
        ----------
        name
            A place name or alias, in any case, with or without accents or a leading "the".
        limit
            At most this many places.
        country_codes
            Keep only places in these countries (ISO 3166-1 alpha-2, any case).
        kinds
            Keep only places of these kinds (see :data:`geo.model.KINDS`).

        Raises
        ------
        BadInput
            If ``name`` is empty or an option is malformed.
        """
        query = _check_query(name)
        limit, chosen = _check_limit(limit), _check_kinds(kinds)
        countries = _check_countries(country_codes)
        return _select(self.gazetteer.candidates(query), chosen, countries, limit)

    def lookup(
        self,
        name: str,
        *,
        country_codes: str | Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
    ) -> Place:
        """Return the best place called ``name``.

        Raises
        ------
        UnknownPlace
            If nothing matches; the message says how to add the place.
        BadInput
            If ``name`` is empty or an option is malformed.
        """
        found = self.candidates(name, limit=1, country_codes=country_codes, kinds=kinds)
        if not found:
            raise UnknownPlace(self._unknown_message(name))
        return found[0]

    def _unknown_message(self, name: str) -> str:
        return (
            f"{name!r} is not in the gazetteer; add it (or an alias) to "
            f"data/gazetteer/{CURATED_FILE}, or set NEWS_ATLAS_ONLINE=1 to ask the online "
            "geocoder"
        )

    def geocode(
        self,
        query: str,
        *,
        exactly_one: bool = True,
        limit: int | None = None,
        country_codes: str | Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
    ) -> Location | list[Location] | None:
        """Geocode a place name, geopy-style.

        Parameters are those of :meth:`candidates`; ``exactly_one`` returns the best location
        instead of a list.

        Returns
        -------
        geopy.location.Location or list of them or None
            ``None`` when nothing matches (geopy's convention).  ``location.raw`` holds the
            :class:`~geo.model.Place` fields (``id``, ``name``, ``kind``, ``country``,
            ``source``, ``score``...); :func:`to_place` rebuilds the record.
        """
        _check_limit(limit)
        found = self.candidates(
            query, limit=1 if exactly_one else limit, country_codes=country_codes, kinds=kinds
        )
        return _as_locations(found, exactly_one=exactly_one)

    def reverse(
        self,
        query: Point | tuple[float, float] | str,
        *,
        exactly_one: bool = True,
        limit: int | None = None,
        kinds: Iterable[str] | None = None,
    ) -> Location | list[Location] | None:
        """Return the gazetteer places nearest to a point, nearest first.

        A simple great-circle scan over every record (about a quarter of a second on the full
        gazetteer; the first call also builds a coordinate index).  ``kinds`` restricts the
        search, e.g. ``kinds={"city", "port"}``.

        Parameters
        ----------
        query
            ``Point``, ``(lat, lon)`` or ``"lat, lon"``.

        Raises
        ------
        BadInput
            If the point or an option is malformed.
        """
        lat, lon = _check_point(query)
        count = 1 if exactly_one else (_check_limit(limit) or 1)
        ids = self._nearest(lat, lon, _check_kinds(kinds), count)
        return _as_locations([self.gazetteer.get(i) for i in ids], exactly_one=exactly_one)

    def _nearest(
        self, lat: float, lon: float, kinds: frozenset[str] | None, count: int
    ) -> list[str]:
        if self._coords is None:
            places = self.gazetteer.places()
            self._coords = (array("d", (p.lat for p in places)),
                            array("d", (p.lon for p in places)),
                            [p.id for p in places], [p.kind for p in places])  # fmt: skip
        lats, lons, ids, place_kinds = self._coords
        rows = (i for i in range(len(ids)) if kinds is None or place_kinds[i] in kinds)
        dist = heapq.nsmallest(count, ((haversine_km(lat, lon, lats[i], lons[i]), i) for i in rows))
        return [ids[i] for _, i in dist]


# --------------------------------------------------------------------------- online


def _kind(raw: Raw) -> str:
    for key in ("type", "addresstype"):
        kind = _TYPE_KINDS.get(str(raw.get(key, "")))
        if kind:
            return kind
    return _CLASS_KINDS.get(str(raw.get("class", "")), "region")


def _trim(raw: Raw, url: str) -> Raw:
    """Keep the fields we use from a Nominatim result, checking the coordinates."""
    out = {k: raw[k] for k in _RAW_KEYS if k in raw}
    address = raw.get("address")
    if isinstance(address, dict) and address.get("country_code"):
        out["country_code"] = str(address["country_code"]).upper()
    try:
        lat, lon = float(out["lat"]), float(out["lon"])
        ok = -90 <= lat <= 90 and -180 <= lon <= 180
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise _http.unavailable(geopy.exc.GeocoderParseError(f"bad result {raw!r}"), url)
    return out


def place_from_nominatim(raw: Raw) -> Place:
    """Turn a (trimmed) Nominatim search result into a ``source="online"`` :class:`Place`."""
    display = str(raw.get("display_name", ""))
    osm_type, osm_id = raw.get("osm_type", "place"), raw.get("osm_id", raw.get("place_id", ""))
    importance = float(raw.get("importance") or 0.0)
    return Place(
        id=f"osm:{osm_type}:{osm_id}",
        name=str(raw.get("name") or display.partition(",")[0].strip()),
        kind=_kind(raw),
        lat=float(raw["lat"]),
        lon=float(raw["lon"]),
        country=str(raw.get("country_code", "")),
        source="online",
        score=round(min(max(importance, 0.0), 1.0), 4),
    )


class OnlineGeocoder:
    """Nominatim through geopy: rate-limited, with every answer (and miss) cached on disk.

    Nothing is sent until the first query that is not in the cache.

    Parameters
    ----------
    settings
        ``nominatim_url``, ``user_agent``, ``timeout``, ``min_delay`` and ``cache_dir``.
    clock, sleep
        The rate limiter's clock and sleep (tests pass a fake clock so nothing sleeps).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = settings.nominatim_url
        self.client = _http.nominatim(
            self.url, user_agent=settings.user_agent, timeout=settings.timeout
        )
        self._search = _http.Limiter(
            self.client.geocode, min_delay=settings.min_delay, clock=clock, sleep=sleep
        )
        self.cache = GeocodeCache(cache_path(settings.cache_dir, self.url), service=self.url)

    def candidates(
        self,
        name: str,
        *,
        limit: int | None = None,
        country_codes: str | Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
    ) -> list[Place]:
        """Return the service's places for ``name``, best first (see ``Gazetteer.candidates``).

        Raises
        ------
        GeocoderUnavailable
            If the service cannot be reached, times out, or fails; nothing is cached then.
        BadInput
            If ``name`` is empty or an option is malformed.
        """
        query = _check_query(name)
        limit, chosen = _check_limit(limit), _check_kinds(kinds)
        countries = _check_countries(country_codes)
        raws = self._fetch(query, countries or frozenset())
        return _select(map(place_from_nominatim, raws), chosen, None, limit)

    def _fetch(self, query: str, countries: Collection[str]) -> list[Raw]:
        key = normalize(query) + ("|" + ",".join(sorted(countries)) if countries else "")
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        try:
            found: Any = self._search(
                query,
                exactly_one=False,
                limit=ONLINE_LIMIT,
                addressdetails=True,
                country_codes=sorted(c.lower() for c in countries) or None,
            )
        except (geopy.exc.GeopyError, ValueError) as err:
            raise _http.unavailable(err, self.url) from err
        raws = [_trim(location.raw, self.url) for location in found or ()]
        self.cache.put(key, raws)
        return raws


# --------------------------------------------------------------------------- chain


class ChainGeocoder(GazetteerGeocoder):
    """The gazetteer first, then (if given) the online geocoder for names it lacks.

    Same interface as :class:`GazetteerGeocoder`; ``reverse`` searches the gazetteer only.
    """

    def __init__(self, gazetteer: Gazetteer, *, online: OnlineGeocoder | None = None) -> None:
        super().__init__(gazetteer)
        self.online = online

    def candidates(
        self,
        name: str,
        *,
        limit: int | None = None,
        country_codes: str | Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
    ) -> list[Place]:
        """Return the gazetteer's places, or else the online geocoder's (see the base class).

        Raises
        ------
        GeocoderUnavailable
            If the gazetteer has no match and the online geocoder cannot answer.
        """
        options: dict[str, Any] = {"limit": limit, "country_codes": country_codes, "kinds": kinds}
        found = super().candidates(name, **options)
        if found or self.online is None:
            return found
        return self.online.candidates(name, **options)

    def _unknown_message(self, name: str) -> str:
        if self.online is None:
            return super()._unknown_message(name)
        return (
            f"{name!r} is neither in the gazetteer nor known to the online geocoder at "
            f"{self.online.url!r}; add it to data/gazetteer/{CURATED_FILE}"
        )


def make_geocoder(settings: Settings, gazetteer: Gazetteer) -> ChainGeocoder:
    """Build the project's geocoder: the gazetteer, plus Nominatim if ``settings.online``."""
    online = OnlineGeocoder(settings) if settings.online else None
    return ChainGeocoder(gazetteer, online=online)


def geocode_place(
    name: str, gazetteer: Gazetteer, *, online: OnlineGeocoder | None = None
) -> Place:
    """Return the best place called ``name``: from the gazetteer, else from ``online``.

    Raises
    ------
    UnknownPlace
        If neither knows it; the message names the query and says how to add it.
    GeocoderUnavailable
        If the gazetteer lacks it and the online geocoder cannot be reached.
    BadInput
        If ``name`` is empty.
    """
    return ChainGeocoder(gazetteer, online=online).lookup(name)


class OnlineFallback:
    """The resolver's fallback for names the gazetteer lacks, through :class:`OnlineGeocoder`.

    It degrades cleanly: the first time the service cannot be reached, the reason is kept in
    :attr:`error` and every later name is left unresolved without another attempt, so a
    build or parse goes on offline instead of failing.
    """

    def __init__(self, online: OnlineGeocoder) -> None:
        self.online = online
        self.error: str | None = None

    def __call__(self, name: str) -> Place | None:
        if self.error is not None:
            return None
        try:
            found = self.online.candidates(name, limit=1)
        except GeocoderUnavailable as err:
            self.error = str(err)
            return None
        except BadInput:
            return None
        return found[0] if found else None


def online_fallback(settings: Settings) -> OnlineFallback | None:
    """An :class:`OnlineFallback` when ``settings.online`` is on, else ``None``."""
    return OnlineFallback(OnlineGeocoder(settings)) if settings.online else None
