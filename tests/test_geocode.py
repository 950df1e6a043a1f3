"""geo.geocode: the gazetteer behind geopy, the cached Nominatim fallback, the chain.

The only network is a stub Nominatim on 127.0.0.1 (tests/nominatim_stub.py).  The rate
limiter gets a fake clock, so nothing sleeps.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders.base import Geocoder
from geopy.location import Location
from nominatim_stub import Stub, serve

from geo import _http
from geo import settings as settings_mod
from geo._cache import GeocodeCache
from geo.errors import BadInput, GeocoderUnavailable, GeoError, UnknownPlace
from geo.gazetteer import Gazetteer, load
from geo.geocode import (
    ChainGeocoder,
    GazetteerGeocoder,
    OnlineGeocoder,
    geocode_place,
    make_geocoder,
    place_from_nominatim,
    to_location,
    to_place,
)
from geo.model import Place
from geo.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
UA = "news-atlas-tests/1.0 (+tests)"


class FakeClock:
    """A clock whose ``sleep`` only moves it forward, recording how long it was asked to wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def gazetteer(tmp_path_factory: pytest.TempPathFactory) -> Gazetteer:
    """The real embedded gazetteer (its index cached in a temporary folder)."""
    return load(ROOT / "data", cache_dir=tmp_path_factory.mktemp("gazetteer-cache"))


@pytest.fixture(scope="module")
def real(gazetteer: Gazetteer) -> GazetteerGeocoder:
    return GazetteerGeocoder(gazetteer)


@pytest.fixture
def tiny() -> Gazetteer:
    """Three records: enough for the chain, reverse and option tests."""
    return Gazetteer(
        [
            Place("t:vvo", "Vladivostok", "city", 43.1056, 131.8735, "RU", "test", 604901),
            Place("t:vvo-port", "Vladivostok", "port", 43.0944, 131.8878, "", "test"),
            Place("t:bering", "Bering Strait", "strait", 65.75, -168.95, "", "test"),
        ],
        [("Vlad", "t:vvo")],
    )


@pytest.fixture
def stub() -> Iterator[Stub]:
    with serve() as running:
        yield running


def make_settings(tmp_path: Path, url: str, *, online: bool = True, delay: float = 0.0) -> Settings:
    return Settings(
        data_dir=ROOT / "data",
        seeds_dir=ROOT / "seeds",
        cache_dir=tmp_path / "cache",
        online=online,
        user_agent=UA,
        nominatim_url=url,
        timeout=5.0,
        min_delay=delay,
    )


@pytest.fixture
def online_settings(tmp_path: Path, stub: Stub) -> Settings:
    return make_settings(tmp_path, stub.url)


def closed_port_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --------------------------------------------------------------------------- gazetteer, geopy-style


@pytest.mark.parametrize(
    ("query", "name", "kind", "lat", "lon"),
    [
        ("Vladivostok", "Vladivostok", "city", 43.1, 131.9),
        ("vladivostok", "Vladivostok", "city", 43.1, 131.9),
        ("Bering Strait", "Bering Strait", "strait", 65.75, -168.95),
        ("the Bering  Strait", "Bering Strait", "strait", 65.75, -168.95),
        ("DPRK", "North Korea", "country", 40.0, 126.5),
    ],
)
def test_real_gazetteer_answers_geopy_style(
    real: GazetteerGeocoder, query: str, name: str, kind: str, lat: float, lon: float
) -> None:
    loc = real.geocode(query)
    assert isinstance(loc, Location)
    assert (loc.latitude, loc.longitude) == pytest.approx((lat, lon), abs=0.5)
    assert loc.raw["name"] == name
    assert loc.raw["kind"] == kind
    assert {"id", "kind", "country", "source", "score"} <= loc.raw.keys()
    assert to_place(loc) == real.lookup(query)


def test_dprk_is_north_korea(real: GazetteerGeocoder) -> None:
    loc = real.geocode("DPRK")
    assert isinstance(loc, Location)
    assert loc.raw["country"] == "KP"
    assert loc.address == "North Korea, KP"


@pytest.mark.parametrize("query", ["Xyzzy Plugh", "Qwertzuiop Land", "Zzzz"])
def test_nonsense_gives_none(real: GazetteerGeocoder, query: str) -> None:
    assert real.geocode(query) is None
    assert real.geocode(query, exactly_one=False) is None
    assert real.candidates(query) == []


def test_list_results_best_first_with_options(real: GazetteerGeocoder) -> None:
    found = real.geocode("Vladivostok", exactly_one=False)
    assert isinstance(found, list)
    assert [loc.raw["kind"] for loc in found][:2] == ["city", "port"]
    scores = [loc.raw["score"] for loc in found]
    assert scores == sorted(scores, reverse=True)
    one = real.geocode("Vladivostok", exactly_one=False, limit=1)
    assert isinstance(one, list)
    assert len(one) == 1
    port = real.geocode("Vladivostok", kinds={"port"})
    assert isinstance(port, Location)
    assert port.raw["kind"] == "port"
    assert real.geocode("Vladivostok", country_codes="kp") is None
    russian = real.geocode("Vladivostok", country_codes=["ru"])
    assert isinstance(russian, Location)
    assert russian.raw["country"] == "RU"


def test_is_a_geopy_geocoder_without_network(tiny: Gazetteer) -> None:
    geocoder = GazetteerGeocoder(tiny)
    assert isinstance(geocoder, Geocoder)
    assert isinstance(geocoder.adapter, _http.OfflineAdapter)
    with pytest.raises(GeocoderUnavailable):
        geocoder.adapter.get_json("https://example.org/", timeout=1, headers={})
    limited = RateLimiter(geocoder.geocode, min_delay_seconds=0)
    loc = limited("Vlad")
    assert isinstance(loc, Location)
    assert loc.raw["id"] == "t:vvo"


def test_location_round_trip() -> None:
    place = Place("x:1", "Posyet", "port", 42.65, 130.8, "RU", "curated", 0, "", 0.4)
    loc = to_location(place)
    assert (loc.latitude, loc.longitude) == (42.65, 130.8)
    assert loc.address == "Posyet, RU"
    assert to_place(loc) == place


@pytest.mark.parametrize(
    "kwargs",
    [
        {"query": ""},
        {"query": "   "},
        {"query": "."},
        {"query": None},
        {"query": 42},
        {"query": {"city": "Vladivostok"}},
        {"query": "Vladivostok", "limit": 0},
        {"query": "Vladivostok", "limit": -1},
        {"query": "Vladivostok", "limit": True, "exactly_one": False},
        {"query": "Vladivostok", "kinds": {"galaxy"}},
        {"query": "Vladivostok", "kinds": []},
        {"query": "Vladivostok", "country_codes": "RUS"},
        {"query": "Vladivostok", "country_codes": ["r1"]},
    ],
)
def test_bad_input(tiny: Gazetteer, kwargs: dict[str, Any]) -> None:
    geocoder = GazetteerGeocoder(tiny)
    with pytest.raises(BadInput) as info:
        geocoder.geocode(**kwargs)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"query": "Vladivostok"}, "t:vvo"),
        ({"query": "  VLADIVOSTOK "}, "t:vvo"),
        ({"query": "Vladivostok", "kinds": "port"}, "t:vvo-port"),
        ({"query": "Vladivostok", "country_codes": "ru"}, "t:vvo"),
        ({"query": "Vladivostok", "limit": 5, "exactly_one": False}, "t:vvo"),
        ({"query": "Vlad"}, "t:vvo"),
    ],
)
def test_good_input(tiny: Gazetteer, kwargs: dict[str, Any], expected: str) -> None:
    found = GazetteerGeocoder(tiny).geocode(**kwargs)
    first = found[0] if isinstance(found, list) else found
    assert isinstance(first, Location)
    assert first.raw["id"] == expected


# --------------------------------------------------------------------------- reverse


def test_reverse_nearest_on_real_gazetteer(real: GazetteerGeocoder) -> None:
    loc = real.reverse((43.1, 131.9))
    assert isinstance(loc, Location)
    assert loc.raw["name"] == "Vladivostok"
    strait = real.reverse("65.5, -169.0", kinds={"strait"})
    assert isinstance(strait, Location)
    assert strait.raw["name"] == "Bering Strait"


def test_reverse_options_and_bad_points(tiny: Gazetteer) -> None:
    geocoder = GazetteerGeocoder(tiny)
    near = geocoder.reverse((43.0, 131.9), exactly_one=False, limit=2)
    assert isinstance(near, list)
    assert [loc.raw["id"] for loc in near] == ["t:vvo-port", "t:vvo"]
    assert geocoder.reverse((0, 0), kinds={"ocean"}) is None
    for bad in ["not a point", "1, 2, 3", (95, 0), (0, 181), None, (1,)]:
        with pytest.raises(BadInput):
            geocoder.reverse(bad)


# --------------------------------------------------------------------------- unknown places


def test_lookup_unknown_place_message(tiny: Gazetteer) -> None:
    with pytest.raises(UnknownPlace) as info:
        geocode_place("Atlantis", tiny)
    message = str(info.value)
    assert "'Atlantis'" in message
    assert "data/gazetteer/curated.toml" in message
    assert "NEWS_ATLAS_ONLINE=1" in message
    assert isinstance(info.value, LookupError)


def test_geocode_place_from_gazetteer(gazetteer: Gazetteer) -> None:
    place = geocode_place("DPRK", gazetteer)
    assert place.name == "North Korea"
    assert place.source != "online"


@pytest.mark.parametrize("bad", ["", "  ", "."])
def test_geocode_place_bad_input(tiny: Gazetteer, bad: str) -> None:
    with pytest.raises(BadInput):
        geocode_place(bad, tiny)


# --------------------------------------------------------------------------- online fallback


def test_online_is_off_by_default(
    monkeypatch: pytest.MonkeyPatch, tiny: Gazetteer, stub: Stub, tmp_path: Path
) -> None:
    monkeypatch.delenv("NEWS_ATLAS_ONLINE", raising=False)
    monkeypatch.setenv("NEWS_ATLAS_NOMINATIM", stub.url)
    monkeypatch.setenv("NEWS_ATLAS_CACHE", str(tmp_path / "cache"))
    settings = settings_mod.load()
    assert settings.online is False
    geocoder = make_geocoder(settings, tiny)
    assert geocoder.online is None
    assert geocoder.candidates("Posyet") == []
    assert geocoder.geocode("Posyet") is None
    with pytest.raises(UnknownPlace, match="NEWS_ATLAS_ONLINE=1"):
        geocoder.lookup("Posyet")
    assert stub.hits == 0
    assert not (tmp_path / "cache").exists()


def test_online_result_becomes_place(online_settings: Settings, stub: Stub) -> None:
    places = OnlineGeocoder(online_settings).candidates("Posyet")
    assert [p.id for p in places] == ["osm:node:1456231987", "osm:way:334455667"]
    village, port = places
    assert village == Place(
        id="osm:node:1456231987",
        name="Posyet",
        kind="city",
        lat=42.6516833,
        lon=130.8057444,
        country="RU",
        source="online",
        score=0.3127,
    )
    assert (port.kind, port.country) == ("port", "RU")
    (request,) = stub.requests
    assert request.path == "/search"
    assert request.headers["User-Agent"] == UA
    assert request.params["q"] == "Posyet"
    assert request.params["format"] == "json"
    assert request.params["addressdetails"] == "1"


def test_online_answers_are_cached_on_disk(online_settings: Settings, stub: Stub) -> None:
    first = OnlineGeocoder(online_settings)
    answer = first.candidates("Troitsa Bay")
    assert [p.kind for p in answer] == ["bay"]
    assert first.candidates("Troitsa Bay") == answer
    assert first.candidates("  troitsa   BAY ") == answer
    assert first.candidates("Troitsa Bay", limit=1, kinds={"bay"}) == answer
    assert stub.hits == 1
    again = OnlineGeocoder(online_settings)
    assert again.candidates("Troitsa Bay") == answer
    assert stub.hits == 1
    (cache_file,) = online_settings.cache_dir.glob("geocode-*.json")
    data = json.loads(cache_file.read_text(encoding="utf-8"))
    assert data["service"] == stub.url
    assert data["entries"]["troitsa bay"][0]["osm_id"] == 9876543


def test_online_misses_are_cached(online_settings: Settings, stub: Stub) -> None:
    assert OnlineGeocoder(online_settings).candidates("Xyzzy Plugh") == []
    assert OnlineGeocoder(online_settings).candidates("xyzzy plugh") == []
    assert stub.hits == 1


def test_country_codes_are_part_of_the_key(online_settings: Settings, stub: Stub) -> None:
    geocoder = OnlineGeocoder(online_settings)
    geocoder.candidates("Posyet")
    geocoder.candidates("Posyet", country_codes=["ru"])
    geocoder.candidates("Posyet", country_codes="RU")
    assert stub.hits == 2
    assert stub.requests[1].params["countrycodes"] == "ru"


def test_chain_uses_gazetteer_first_then_online(
    online_settings: Settings, stub: Stub, tiny: Gazetteer
) -> None:
    geocoder = make_geocoder(online_settings, tiny)
    assert isinstance(geocoder, ChainGeocoder)
    assert isinstance(geocoder.online, OnlineGeocoder)
    assert geocoder.lookup("Vladivostok").source == "test"
    assert stub.hits == 0
    loc = geocoder.geocode("Posyet")
    assert isinstance(loc, Location)
    assert loc.raw["source"] == "online"
    assert stub.hits == 1
    with pytest.raises(UnknownPlace, match=r"'Xyzzy Plugh'.*online geocoder"):
        geocoder.lookup("Xyzzy Plugh")


def test_geocode_place_with_online(online_settings: Settings, stub: Stub, tiny: Gazetteer) -> None:
    online = OnlineGeocoder(online_settings)
    assert geocode_place("Bering Strait", tiny, online=online).id == "t:bering"
    assert geocode_place("Troitsa Bay", tiny, online=online).id == "osm:relation:9876543"
    assert stub.hits == 1


def test_closed_port_gives_clear_error(tmp_path: Path) -> None:
    url = closed_port_url()
    geocoder = OnlineGeocoder(make_settings(tmp_path, url))
    with pytest.raises(GeocoderUnavailable) as info:
        geocoder.candidates("Posyet")
    message = str(info.value)
    assert repr(url) in message
    assert "cannot be reached" in message
    assert "NEWS_ATLAS_ONLINE" in message
    assert "offline" in message
    assert isinstance(info.value, ConnectionError)
    assert isinstance(info.value, GeoError)
    assert info.value.__cause__ is not None
    assert len(geocoder.cache) == 0


def test_http_500_gives_clear_error_and_is_not_cached(
    online_settings: Settings, stub: Stub
) -> None:
    stub.status = 500
    geocoder = OnlineGeocoder(online_settings)
    with pytest.raises(GeocoderUnavailable) as info:
        geocoder.candidates("Posyet")
    message = str(info.value)
    assert repr(stub.url) in message
    assert "500" in message
    assert "NEWS_ATLAS_ONLINE" in message
    assert stub.hits == 1
    stub.status = 200
    assert len(geocoder.candidates("Posyet")) == 2
    assert stub.hits == 2


def test_rate_limiter_waits_on_a_fake_clock(tmp_path: Path, stub: Stub) -> None:
    clock = FakeClock()
    settings = make_settings(tmp_path, stub.url, delay=1.0)
    geocoder = OnlineGeocoder(settings, clock=clock.clock, sleep=clock.sleep)
    geocoder.candidates("Posyet")
    geocoder.candidates("Troitsa Bay")
    geocoder.candidates("Posyet")
    assert clock.sleeps == [1.0]
    assert stub.hits == 2


@pytest.mark.parametrize("url", ["ftp://example.org", "example.org", "http://", ""])
def test_bad_service_url(tmp_path: Path, url: str) -> None:
    with pytest.raises(BadInput, match="NEWS_ATLAS_NOMINATIM"):
        OnlineGeocoder(make_settings(tmp_path, url))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8080", ("http", "127.0.0.1:8080")),
        ("https://nominatim.example.org/", ("https", "nominatim.example.org")),
        ("https://example.org/nominatim/", ("https", "example.org/nominatim")),
    ],
)
def test_split_url(url: str, expected: tuple[str, str]) -> None:
    assert _http.split_url(url) == expected


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ({"class": "boundary", "type": "administrative", "addresstype": "city"}, "city"),
        ({"class": "boundary", "type": "administrative", "addresstype": "state"}, "admin1"),
        ({"class": "boundary", "type": "administrative", "addresstype": "country"}, "country"),
        ({"class": "place", "type": "town"}, "city"),
        ({"class": "natural", "type": "strait"}, "strait"),
        ({"class": "natural", "type": "peak"}, "mountain"),
        ({"class": "waterway", "type": "river"}, "river"),
        ({"class": "landuse", "type": "port"}, "port"),
        ({"class": "military", "type": "naval_base"}, "facility"),
        ({"class": "tourism", "type": "attraction"}, "region"),
    ],
)
def test_nominatim_kinds(raw: dict[str, str], kind: str) -> None:
    place = place_from_nominatim(
        {"lat": "1.5", "lon": "2.5", "osm_type": "way", "osm_id": 7, **raw}
    )
    assert (place.kind, place.id, place.lat, place.lon) == (kind, "osm:way:7", 1.5, 2.5)
    assert place.source == "online"


@pytest.mark.parametrize(
    "answer",
    [
        {"lat": "north", "lon": "0", "display_name": "Bad Place"},
        {"display_name": "Bad Place"},
        {"lat": "0", "lon": "190.5", "display_name": "Bad Place"},
    ],
)
def test_malformed_online_result_is_an_error_not_a_cached_miss(
    online_settings: Settings, stub: Stub, answer: dict[str, str]
) -> None:
    stub.answers["bad place"] = [answer]
    geocoder = OnlineGeocoder(online_settings)
    with pytest.raises(GeocoderUnavailable, match=repr(stub.url)):
        geocoder.candidates("Bad Place")
    assert "bad place" not in geocoder.cache


# --------------------------------------------------------------------------- the cache file


def test_cache_survives_corruption_and_ignores_other_services(tmp_path: Path) -> None:
    path = tmp_path / "c" / "geocode.json"
    path.parent.mkdir()
    path.write_text("{not json", encoding="utf-8")
    cache = GeocodeCache(path, service="http://a")
    assert cache.get("x") is None
    cache.put("x", [])
    cache.put("y", [{"lat": "1", "lon": "2"}])
    assert GeocodeCache(path, service="http://a").get("x") == []
    assert GeocodeCache(path, service="http://b").get("y") is None
    assert sorted(p.name for p in path.parent.iterdir()) == ["geocode.json"]


def test_cache_merges_writers(tmp_path: Path) -> None:
    path = tmp_path / "geocode.json"
    one, two = GeocodeCache(path, service="s"), GeocodeCache(path, service="s")
    assert len(one) == len(two) == 0
    one.put("a", [])
    two.put("b", [])
    assert GeocodeCache(path, service="s").get("a") == []
    assert GeocodeCache(path, service="s").get("b") == []


def test_unwritable_cache_keeps_answers_in_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    cache = GeocodeCache(blocker / "sub" / "geocode.json", service="s")
    cache.put("a", [])
    assert cache.get("a") == []


def test_damaged_cache_entries_are_asked_again(tmp_path):
    from geo._cache import GeocodeCache

    path = tmp_path / "c.json"
    path.write_text(
        json.dumps({"version": 1, "service": "s", "entries": {
            "good": [{"lat": "43.1", "lon": "131.9"}],
            "bad": [{"lat": "north", "lon": "131.9"}],
            "worse": ["not a mapping"],
        }}),
        encoding="utf-8",
    )  # fmt: skip
    cache = GeocodeCache(path, service="s")
    assert cache.get("good") == [{"lat": "43.1", "lon": "131.9"}]
    assert cache.get("bad") is None
    assert cache.get("worse") is None
