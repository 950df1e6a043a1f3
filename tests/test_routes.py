"""Routes: data file -> records -> geometry, checked against the real gazetteer and seeds."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import numpy as np
import pytest
from pyproj import Geod
from shapely.geometry import LineString, MultiLineString

import geo.routes
from geo import gazetteer
from geo.errors import BadInput, DataFileError, GeoError
from geo.gazetteer import Gazetteer
from geo.routes import (
    COLUMNS,
    build_routes,
    claim_check,
    claim_table,
    geodesic_path,
    length_km,
    parse_claim_spec,
    parse_routes,
    quote_found,
    read_routes_file,
    split_antimeridian,
    unwrap,
    unwrap_geometry,
    unwrap_routes,
)

ROOT = Path(__file__).resolve().parent.parent
ROUTES = ROOT / "data" / "routes.yaml"
FIXTURES = Path(__file__).resolve().parent / "data"
GEOD = Geod(ellps="WGS84")


def read_articles(seeds: Path) -> dict[str, str]:
    """Article id (the file's 3-digit prefix) -> text."""
    return {p.name[:3]: p.read_text(encoding="utf-8") for p in sorted(seeds.glob("*.txt"))}


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return gazetteer.load(ROOT / "data", cache_dir=ROOT / ".cache")


@pytest.fixture(scope="module")
def articles() -> dict[str, str]:
    return read_articles(ROOT / "seeds")


@pytest.fixture(scope="module")
def frame(gaz, articles):
    return build_routes(ROUTES, gaz, articles).set_index("route_id", drop=False)


def min_distance_km(geom, lat: float, lon: float) -> float:
    """Shortest geodesic distance from a point to a route (densified every 2 km)."""
    best = np.inf
    for line in getattr(unwrap_geometry(geom), "geoms", [unwrap_geometry(geom)]):
        pts = np.array(geodesic_path(list(line.coords), spacing_km=2.0))
        n = len(pts)
        dist = GEOD.inv(np.full(n, lon), np.full(n, lat), pts[:, 0], pts[:, 1])[2]
        best = min(best, float(dist.min()) / 1000)
    return best


def all_xy(geom) -> list[tuple[float, float]]:
    lines = geom.geoms if isinstance(geom, MultiLineString) else [geom]
    return [(x, y) for line in lines for x, y in line.coords]


# --------------------------------------------------------------------------- the real file


def test_every_route_builds(frame):
    assert tuple(frame.columns) == COLUMNS
    assert frame.crs.to_epsg() == 4326
    assert frame["route_id"].is_unique
    assert len(frame) >= 10
    for row in frame.itertuples():
        assert row.geometry.is_valid and not row.geometry.is_empty, row.route_id
        assert isinstance(row.length_km, float) and row.length_km > 1, row.route_id
        assert all(isinstance(n, str) for n in json.loads(row.waypoints))
        quotes = json.loads(row.quotes)
        assert quotes and all(set(q) == {"article_id", "text"} for q in quotes)
        assert row.mode in {"sea", "rail", "road", "air"}
        assert row.status in {"existing", "planned", "proposed"}


def test_layer_longitudes_in_range(frame):
    for geom in frame.geometry:
        assert all(-180 <= x <= 180 and -90 <= y <= 90 for x, y in all_xy(geom))


def test_every_quote_is_in_its_article(articles):
    data = read_routes_file(ROUTES)
    for route in parse_routes(data):
        for quote in route.quotes:
            assert quote_found(quote.text, articles[quote.article_id]), (route.id, quote)
    claim = parse_claim_spec(data).quote
    assert quote_found(claim.text, articles[claim.article_id])


def test_arctic_route_goes_north_through_the_bering_strait(frame, gaz):
    geom = frame.loc["nsr-europe-rizhao", "geometry"]
    bering = gaz.lookup("Bering Strait")
    assert min_distance_km(geom, bering.lat, bering.lon) < 150
    assert max(y for _, y in all_xy(geom)) > 66
    nsr = gaz.lookup("Northern Sea Route")
    assert min_distance_km(geom, nsr.lat, nsr.lon) < 150
    suez = gaz.lookup("Suez Canal")
    assert min_distance_km(geom, suez.lat, suez.lon) > 2000


def test_suez_route_passes_the_canal(frame, gaz):
    geom = frame.loc["suez-europe-rizhao", "geometry"]
    suez = gaz.lookup("Suez Canal")
    assert min_distance_km(geom, suez.lat, suez.lon) < 50
    assert max(y for _, y in all_xy(geom)) < 60


def test_rajin_railway_crosses_the_tumen_at_khasan(frame, gaz):
    geom = frame.loc["khasan-rajin-railway", "geometry"]
    khasan, rajin = gaz.lookup("Khasan station"), gaz.lookup("Rajin")
    tumen = gaz.lookup("Tumen River")
    assert (khasan.country, rajin.country) == ("RU", "KP")
    assert min_distance_km(geom, khasan.lat, khasan.lon) < 20
    assert min_distance_km(geom, tumen.lat, tumen.lon) < 5
    start, end = geom.coords[0], geom.coords[-1]
    assert GEOD.inv(start[0], start[1], khasan.lon, khasan.lat)[2] < 1000
    assert GEOD.inv(end[0], end[1], rajin.lon, rajin.lat)[2] < 1000


def test_trans_siberian_link_reaches_the_junction(frame, gaz):
    geom = frame.loc["khasan-trans-siberian-link", "geometry"]
    junction, khasan = gaz.lookup("Baranovsky"), gaz.lookup("Khasan station")
    assert min_distance_km(geom, junction.lat, junction.lon) < 1
    assert min_distance_km(geom, khasan.lat, khasan.lon) < 1


def test_kim_train_visits_vostochny_and_vladivostok(frame, gaz):
    geom = frame.loc["kim-armoured-train-2023", "geometry"]
    for name in ("Pyongyang", "Tumen River", "Vostochny Cosmodrome", "Vladivostok"):
        place = gaz.lookup(name)
        assert min_distance_km(geom, place.lat, place.lon) < 5, name


@pytest.mark.parametrize(
    ("route_id", "low", "high"),
    [
        ("putin-pyongyang-2024", 6400, 6700),
        ("shoigu-pyongyang-2023", 6400, 6700),
        ("nsr-europe-rizhao", 14000, 17500),
        ("suez-europe-rizhao", 19000, 21500),
        ("khasan-rajin-railway", 30, 60),
        ("tumannaya-road-bridge", 2, 10),
        ("kim-armoured-train-2023", 3000, 4000),
    ],
)
def test_lengths_are_plausible(frame, route_id, low, high):
    assert low <= frame.loc[route_id, "length_km"] <= high


def test_air_route_is_a_great_circle(frame, gaz):
    geom = frame.loc["putin-pyongyang-2024", "geometry"]
    moscow, pyongyang = gaz.lookup("Moscow"), gaz.lookup("Pyongyang")
    expected = GEOD.inv(moscow.lon, moscow.lat, pyongyang.lon, pyongyang.lat)[2] / 1000
    assert frame.loc["putin-pyongyang-2024", "length_km"] == pytest.approx(expected, abs=0.5)
    assert len(geom.coords) > 100  # densified, not a straight chord on the map
    assert max(y for _, y in geom.coords) > max(moscow.lat, pyongyang.lat)


# --------------------------------------------------------------------------- antimeridian


def test_bering_routes_are_continuous_for_leaflet(frame):
    crossing = ["nsr-europe-rizhao", "arctic-sea-lanes-bering", "malacca-bering"]
    for route_id in crossing:
        geom = frame.loc[route_id, "geometry"]
        assert isinstance(geom, MultiLineString), route_id  # split for RFC 7946
        continuous = unwrap_geometry(geom)
        assert isinstance(continuous, LineString), route_id
        xs = np.array(continuous.coords)[:, 0]
        assert np.abs(np.diff(xs)).max() <= 180, route_id
        assert xs.max() > 180, route_id  # runs on past 180 rather than jumping to -180
        assert length_km(continuous) == pytest.approx(length_km(geom), rel=1e-9)
    for geom in unwrap_routes(frame).geometry:
        for line in getattr(geom, "geoms", [geom]):
            assert np.abs(np.diff(np.array(line.coords)[:, 0])).max() <= 180


def test_unwrap_routes_keeps_table(frame):
    unwrapped = unwrap_routes(frame)
    assert tuple(unwrapped.columns) == COLUMNS
    assert unwrapped.crs.to_epsg() == 4326
    assert list(unwrapped.length_km) == list(frame.length_km)


def test_split_and_unwrap_round_trip_westward():
    coords = unwrap([(-170.0, 60.0), (175.0, 62.0), (165.0, 64.0)])
    assert coords == [(-170.0, 60.0), (-185.0, 62.0), (-195.0, 64.0)]
    split = split_antimeridian(coords)
    assert isinstance(split, MultiLineString)
    first, second = (list(g.coords) for g in split.geoms)
    assert first[-1][0] == -180.0 and second[0][0] == 180.0
    assert first[-1][1] == pytest.approx(second[0][1])
    assert list(unwrap_geometry(split).coords) == [
        (-170.0, 60.0),
        (-180.0, first[-1][1]),
        (-185.0, 62.0),
        (-195.0, 64.0),
    ]


def test_split_leaves_ordinary_lines_alone():
    line = split_antimeridian([(30.0, 50.0), (120.0, 40.0)])
    assert isinstance(line, LineString)
    assert list(line.coords) == [(30.0, 50.0), (120.0, 40.0)]


def test_doctests():
    assert doctest.testmod(geo.routes).failed == 0


# --------------------------------------------------------------------------- claim check


def test_claim_check_rotterdam(gaz):
    check = claim_check(
        "Rotterdam", "Rizhao", gaz.lookup, arctic_via="Bering Strait", suez_via="Suez Canal"
    )
    assert check.arctic_km < check.suez_km
    assert 0.15 <= check.saving_share <= 0.40
    assert check.saving_share == pytest.approx(1 - check.arctic_km / check.suez_km)


def test_claim_table_covers_every_origin(gaz):
    spec = parse_claim_spec(read_routes_file(ROUTES))
    assert spec.destination == "Rizhao" and spec.claimed_share == pytest.approx(1 / 3, abs=1e-3)
    table = claim_table(spec, gaz.lookup)
    assert len(table) == len(spec.origins)
    assert (table.arctic_km < table.suez_km).all()
    shares = dict(zip(table.origin, table.saving_share, strict=True))
    assert shares["Murmansk"] > shares["Rotterdam"]


# --------------------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    ("fixture", "error", "words"),
    [
        ("routes_unknown_place.yaml", DataFileError, ["'to-atlantis'", "'Atlantis Qqq'"]),
        ("routes_bad_mode.yaml", DataFileError, ["'beam-me-up'", "'teleport'", "sea"]),
        ("routes_bad_status.yaml", DataFileError, ["'rumoured-flight'", "'rumoured'"]),
        ("routes_bad_quote.yaml", DataFileError, ["'misquoted'", "not in article '001'"]),
        ("routes_missing_field.yaml", DataFileError, ["'no-waypoints'", "waypoints"]),
        ("routes_unquoted_article.yaml", DataFileError, ["'bare-article-id'", "'003'"]),
        ("routes_duplicate_id.yaml", DataFileError, ["'twice'", "duplicate"]),
        ("routes_one_place.yaml", DataFileError, ["'nowhere-to-go'", "two distinct"]),
        ("routes_no_such_file.yaml", DataFileError, ["missing"]),
    ],
)
def test_bad_routes_file_names_the_route(gaz, articles, fixture, error, words):
    with pytest.raises(error) as info:
        build_routes(FIXTURES / fixture, gaz, articles)
    assert isinstance(info.value, GeoError)
    for word in words:
        assert word in str(info.value)


def test_minimal_file_builds(gaz, articles):
    frame = build_routes(FIXTURES / "routes_minimal.yaml", gaz, articles)
    (row,) = frame.itertuples()
    assert row.route_id == "putin-flight"
    assert row.period == "2024-06-19"  # an unquoted YAML date is kept as ISO text
    assert json.loads(row.waypoints) == ["Moscow", "Pyongyang"]


@pytest.mark.parametrize(
    ("quote", "found"),
    [
        ("Tumen River to reach", True),
        ("Tumen  River\n to reach", True),  # whitespace only is normalised
        ("tumen river to reach", False),  # case is not
        ("“logistics hub”", True),
        ('"logistics hub"', False),  # nor are curly quotes
    ],
)
def test_quote_matching_is_verbatim(articles, quote, found):
    assert quote_found(quote, articles["003"]) is found


def test_sea_path_without_a_path_raises(monkeypatch):
    def no_path(*args, **kwargs):
        return {"geometry": {"coordinates": []}, "properties": {"length": 0}}

    import searoute

    geo.routes._sea_leg.cache_clear()
    monkeypatch.setattr(searoute, "searoute", no_path)
    with pytest.raises(BadInput, match="no sea path"):
        geo.routes.sea_path([(0.0, 0.0), (1.0, 1.0)], arctic=False)
    geo.routes._sea_leg.cache_clear()


def test_route_of_an_article_outside_the_corpus_is_left_out(gaz, articles):
    frame = build_routes(FIXTURES / "routes_unknown_article.yaml", gaz, articles)
    assert len(frame) == 0
    assert frame.attrs["skipped"] == ["ghost-article"]
