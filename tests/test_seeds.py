"""End to end on the real seed articles: every place a reader would mark, placed right."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from geo.corpus import load_articles
from geo.model import Resolution
from geo.parser import load_parser
from geo.resolve import haversine_km

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def resolved() -> dict[str, list[Resolution]]:
    parser = load_parser(ROOT / "data", cache_dir=ROOT / ".cache")
    return {a.id: parser.parse(a.text, article_id=a.id) for a in load_articles(ROOT / "seeds")}


@pytest.fixture(scope="module")
def by_surface(resolved: dict[str, list[Resolution]]) -> dict[str, list[Resolution]]:
    out: dict[str, list[Resolution]] = defaultdict(list)
    for items in resolved.values():
        for r in items:
            out[r.mention.text].append(r)
    return out


# surface form as written -> (expected kind or None, lat, lon, tolerance km)
EXPECTED = {
    "Vladivostok": ("city", 43.12, 131.89, 30),
    "Pyongyang": ("city", 39.03, 125.75, 30),
    "Rajin": ("port", 42.25, 130.30, 20),
    "Ranjin": ("port", 42.25, 130.30, 20),
    "Tumen River": ("river", 42.6, 130.4, 120),
    "Tumannaya River": ("river", 42.6, 130.4, 120),
    "Bering Strait": ("strait", 65.9, -169.0, 150),
    "Strait of Malacca": ("strait", 4.0, 100.0, 400),
    "Tsushima Strait": ("strait", 34.2, 129.8, 100),
    "Vostochny Cosmodrome": ("facility", 51.88, 128.33, 20),
    "Russian Far East": ("region", 55.0, 135.0, 1200),
    "Kursk region": ("admin1", 51.7, 36.2, 150),
    "Sumy Region": ("admin1", 50.9, 34.8, 150),
    "Amur region": ("admin1", 52.5, 127.5, 300),
    "Shandong Province": ("admin1", 36.3, 118.2, 200),
    "Liaoning region": ("admin1", 41.3, 122.6, 200),
    "Rizhao": ("city", 35.42, 119.53, 30),
    "Kiev": ("city", 50.45, 30.52, 20),  # the capital (a respelling of Kyiv), not the oblast
    "Busan": ("city", 35.10, 129.04, 30),
    "Qingdao": ("city", 36.07, 120.38, 30),
    "Tianjin": ("city", 39.14, 117.18, 50),
    "Okinawa": (None, 26.5, 127.9, 100),
    "Guam": (None, 13.44, 144.79, 60),
    "Hokkaido": ("admin1", 43.4, 142.8, 150),
    "Southern Kuril": ("island", 44.0, 146.5, 250),
    "Korean Peninsula": ("peninsula", 38.0, 127.5, 300),
    "South China Sea": ("sea", 13.0, 114.0, 500),
    "Arctic": ("region", 78.0, 0.0, 2500),
    "DPRK": ("country", 40.0, 127.0, 200),
    "Moscow": ("city", 55.75, 37.62, 30),
    "St. Petersburg": ("city", 59.94, 30.31, 30),
    "New Delhi": ("city", 28.61, 77.21, 30),
    "Hong Kong": (None, 22.3, 114.17, 40),
    "Korea": ("peninsula", 38.0, 127.5, 300),
    "Soviet Union": (None, 60.0, 90.0, 3000),
    "Ussuri": ("river", 46.0, 134.0, 400),  # the river of the 1969 incident, not Lesozavodsk
}


@pytest.mark.parametrize("surface", sorted(EXPECTED))
def test_place_found_and_placed(by_surface: dict[str, list[Resolution]], surface: str) -> None:
    kind, lat, lon, tol = EXPECTED[surface]
    hits = by_surface.get(surface)
    assert hits, f"{surface!r} not recognised in any seed article"
    for r in hits:
        dist = haversine_km(lat, lon, r.place.lat, r.place.lon)
        assert dist <= tol, (
            f"{surface!r} -> {r.place.name} ({r.place.lat}, {r.place.lon}) {dist:.0f} km"
        )
        if kind:
            assert r.place.kind == kind, f"{surface!r} -> {r.place.name} is a {r.place.kind}"


def test_far_east_in_russian_context_is_the_russian_far_east(
    resolved: dict[str, list[Resolution]],
) -> None:
    far_east = [r for items in resolved.values() for r in items if r.mention.text == "Far East"]
    assert far_east
    assert {r.place.name for r in far_east} == {"Russian Far East"}


def test_us_and_america_are_the_united_states(by_surface: dict[str, list[Resolution]]) -> None:
    for surface in ("US", "United States"):
        assert {r.place.country for r in by_surface[surface]} == {"US"}


@pytest.mark.parametrize(
    "word",
    ["Kim", "Putin", "Shoigu", "Xi", "Jong", "Nato", "SCO", "Brics", "G20", "UN", "IAEA",
     "Chatham", "Global", "Izvestia", "Russian", "North Korean", "Un", "Vladimir", "George",
     "Sergey", "Kremlin", "Soviet", "West", "Hwasong", "Indian", "Pacific Fleet"],
)  # fmt: skip
def test_people_organisations_adjectives_left_out(
    by_surface: dict[str, list[Resolution]], word: str
) -> None:
    assert word not in by_surface


def test_every_span_is_exact(resolved: dict[str, list[Resolution]]) -> None:
    texts = {a.id: a.text for a in load_articles(ROOT / "seeds")}
    for art_id, items in resolved.items():
        for r in items:
            assert texts[art_id][r.mention.start : r.mention.end] == r.mention.text
