"""The geoparser facade: recognise + resolve, and the evaluation-interface records."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.parser import Geoparser, load_parser, parse_record, toponym_record

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def parser(cache_dir: Path) -> Geoparser:
    return load_parser(ROOT / "data", cache_dir=cache_dir)


def test_parse_all_separates_placed_and_unplaced(parser: Geoparser) -> None:
    text = "He moved from Vladivostok to Xyzzy Street in Rajin."
    placed, unplaced = parser.parse_all(text, article_id="t")
    assert [r.mention.text for r in placed] == ["Vladivostok", "Rajin"]
    assert [m.text for m in unplaced] == ["Xyzzy Street"]
    assert all(r.mention.article_id == "t" for r in placed)


def test_parse_record_lists_every_toponym_in_text_order(parser: Geoparser) -> None:
    text = "He moved from Vladivostok to Xyzzy Street in Rajin."
    record = parse_record(parser, 7, text)
    assert record["id"] == 7
    tops = record["toponyms"]
    assert [t["text"] for t in tops] == ["Vladivostok", "Xyzzy Street", "Rajin"]
    for t in tops:
        assert text[t["start"] : t["end"]] == t["text"]
    street = tops[1]
    assert street["lat"] is None and street["lon"] is None and street["kind"] is None
    vlad = tops[0]
    assert vlad["kind"] == "city" and vlad["country"] == "RU"
    assert 42.5 < vlad["lat"] < 43.5 and 131.5 < vlad["lon"] < 132.5  # (lat, lon), not swapped


def test_toponym_record_fields(parser: Geoparser) -> None:
    (res,) = parser.parse("Talks were held in Pyongyang.")
    rec = toponym_record(res)
    assert set(rec) >= {"start", "end", "text", "name", "lat", "lon", "kind", "country", "score"}
    assert rec["name"] == "Pyongyang" and 0.0 <= float(rec["score"]) <= 1.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # lakes: the Natural Earth extracts have no lakes layer (curated.toml adds them)
        ("She walked along Lake Michigan's shore in Evanston.",
         [("Lake Michigan", "lake"), ("Evanston", "city")]),
        ("Ferries cross Lake Victoria from Mwanza.",
         [("Lake Victoria", "lake"), ("Mwanza", "city")]),
        ("Talks in Montreux on Lake Geneva ended.",
         [("Montreux", "city"), ("Lake Geneva", "lake")]),
        # ... and a town named after a lake keeps its qualifier
        ("He drove to Lake Geneva, Wisconsin.", [("Lake Geneva", "city"), ("Wisconsin", "admin1")]),
        # straits without Natural Earth geometry, and a spelling variant of one with it
        ("Iran threatened to close the Strait of Hormuz.", [("Iran", "country"),
                                                            ("Strait of Hormuz", "strait")]),
        ("Tankers queued at the Bosphorus off Istanbul.", [("Bosphorus", "strait"),
                                                           ("Istanbul", "city")]),
        # regions and seas the news names by a short name
        ("Refugees crossed the Mediterranean to Lampedusa.",
         [("Mediterranean", "sea"), ("Lampedusa", "city")]),
        ("Scandinavia and the Baltics braced for cold.",
         [("Scandinavia", "peninsula"), ("Baltics", "region")]),
        ("Tensions rose in the Caucasus.", [("Caucasus", "region")]),
        # "Lake" alone is no town (a GeoNames alternate name of Uniontown, blocked)
        ("Fishermen on Lake Xyzzy said the water was low.", []),
    ],
)  # fmt: skip
def test_well_known_features_the_sources_lack(
    parser: Geoparser, text: str, expected: list[tuple[str, str]]
) -> None:
    placed = parser.parse(text)
    assert [(r.mention.text, r.place.kind) for r in placed] == expected
