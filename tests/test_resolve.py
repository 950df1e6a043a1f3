"""Resolver: the evidence that picks the right candidate, on a tiny hand-made gazetteer."""

from __future__ import annotations

import pytest

from geo.gazetteer import Gazetteer
from geo.model import Mention, Place
from geo.resolve import haversine_km, resolve

PLACES = [
    Place("c:us", "United States", "country", 39.76, -98.5, "US", population=327_000_000),
    Place("c:gb", "United Kingdom", "country", 54.0, -2.0, "GB", population=66_000_000),
    Place("c:ru", "Russia", "country", 60.0, 100.0, "RU", population=144_000_000),
    Place("a:il", "Illinois", "admin1", 40.0, -89.2, "US", admin1="US.IL"),
    Place("a:ma", "Massachusetts", "admin1", 42.3, -71.8, "US", admin1="US.MA"),
    Place("s:il", "Springfield", "city", 39.80, -89.64, "US", admin1="US.IL", population=116_000),
    Place("s:ma", "Springfield", "city", 42.10, -72.59, "US", admin1="US.MA", population=155_000),
    Place("b:gb", "Boston", "city", 52.97, -0.03, "GB", population=41_000),
    Place("b:us", "Boston", "city", 42.36, -71.06, "US", population=617_000),
    # A British county from Natural Earth: its admin-1 code is GeoNames' admin-2 county code.
    Place("a:nf", "Norfolk", "admin1", 52.66, 0.95, "GB", admin1="GB.I9"),
    Place("n:va", "Norfolk", "city", 36.85, -76.29, "US", admin1="US.VA", population=245_000),
    Place("sn:gb", "Snetterton", "city", 52.47, 0.95, "GB", admin1="GB.ENG", population=500),
    Place("c:ca", "Canada", "country", 60.0, -95.0, "CA", population=37_000_000),
    Place("l:gb", "London", "city", 51.51, -0.13, "GB", admin1="GB.ENG", population=8_900_000),
    Place("l:ca", "London", "city", 42.98, -81.23, "CA", admin1="CA.08", population=380_000),
    Place("a:wv", "West Virginia", "admin1", 38.6, -80.6, "US", admin1="US.WV"),
    Place("a:ca", "California", "admin1", 37.2, -119.6, "US", admin1="US.CA"),
    Place("ca:md", "California", "city", 38.3, -76.5, "US", admin1="US.MD", population=30_000),
    Place("c:ge", "Georgia", "country", 42.0, 43.5, "GE", population=3_700_000),
    Place("a:ga", "Georgia", "admin1", 32.7, -83.5, "US", admin1="US.GA"),
    Place("r:fe", "Russian Far East", "region", 55.0, 135.0, "RU"),
    Place("r:ea", "Far East", "region", 35.0, 120.0, ""),
]
ALIASES = [("Far East", "r:fe"), ("US", "c:us")]


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer(PLACES, ALIASES)


def mentions(text: str, *names: str) -> list[Mention]:
    out, pos = [], 0
    for name in names:
        start = text.index(name, pos)
        out.append(Mention("a", start, start + len(name), name))
        pos = start + len(name)
    return out


def test_qualifier_after_a_comma_decides(gaz: Gazetteer) -> None:
    text = "He grew up in Springfield, Illinois."
    res = resolve(text, mentions(text, "Springfield", "Illinois"), gaz)
    assert res[0].place.id == "s:il"
    assert res[0].alternatives[0].id == "s:ma"


def test_a_qualifier_with_another_coding_scheme_decides_by_distance(gaz: Gazetteer) -> None:
    text = "The race is at Snetterton, Norfolk."
    res = resolve(text, mentions(text, "Snetterton", "Norfolk"), gaz)
    assert [r.place.id for r in res] == ["sn:gb", "a:nf"]
    text = "The ship docked in Norfolk."
    assert resolve(text, mentions(text, "Norfolk"), gaz)[0].place.id == "n:va"


def test_population_decides_without_context(gaz: Gazetteer) -> None:
    text = "It happened in Springfield."
    assert resolve(text, mentions(text, "Springfield"), gaz)[0].place.id == "s:ma"


def test_countries_of_the_article_decide(gaz: Gazetteer) -> None:
    text = "The United Kingdom port of Boston and the United Kingdom again."
    res = resolve(text, mentions(text, "United Kingdom", "Boston", "United Kingdom"), gaz)
    assert res[1].place.id == "b:gb"


def test_nearness_to_a_large_regions_point_is_no_evidence(gaz: Gazetteer) -> None:
    # The Maryland town is 360 km from West Virginia's point, not near it in any sense.
    text = "Voters in West Virginia and California disagreed."
    res = resolve(text, mentions(text, "West Virginia", "California"), gaz)
    assert res[1].place.id == "a:ca"


def test_a_region_of_the_articles_country_beats_a_foreign_country(gaz: Gazetteer) -> None:
    text = "The US team flew from the US to Georgia, as the US had asked."
    res = resolve(text, mentions(text, "US", "US", "Georgia", "US"), gaz)
    assert res[2].place.id == "a:ga"
    text = "Talks in Georgia went on."
    assert resolve(text, mentions(text, "Georgia"), gaz)[0].place.id == "c:ge"


def test_far_east_in_russian_context(gaz: Gazetteer) -> None:
    text = "Russia invests in the Far East; Russia says so."
    res = resolve(text, mentions(text, "Russia", "Far East", "Russia"), gaz)
    assert res[1].place.id == "r:fe"
    text = "Trade in the Far East grew."
    assert resolve(text, mentions(text, "Far East"), gaz)[0].place.id == "r:ea"


def test_one_sense_per_article(gaz: Gazetteer) -> None:
    text = "Springfield, Illinois is big. Later Springfield voted."
    res = resolve(text, mentions(text, "Springfield", "Illinois", "Springfield"), gaz)
    assert res[0].place.id == res[2].place.id == "s:il"
    assert (res[2].mention.start, res[2].mention.end) != (res[0].mention.start, res[0].mention.end)


def test_confidence_and_unknown_names(gaz: Gazetteer) -> None:
    text = "From Atlantis to the US."
    res = resolve(text, mentions(text, "Atlantis", "US"), gaz)
    assert [r.mention.text for r in res] == ["US"]
    assert res[0].confidence == 1.0
    text = "It happened in Springfield."
    assert 0.5 <= resolve(text, mentions(text, "Springfield"), gaz)[0].confidence < 1.0


def test_fallback_is_asked_only_for_unknown_names(gaz: Gazetteer) -> None:
    asked: list[str] = []

    def fallback(name: str) -> Place | None:
        asked.append(name)
        return Place("osm:1", name, "city", 1.0, 2.0, "XX", source="online")

    text = "From Atlantis to the US."
    res = resolve(text, mentions(text, "Atlantis", "US"), gaz, fallback=fallback)
    assert asked == ["Atlantis"]
    assert res[0].place.source == "online"


@pytest.mark.parametrize(
    ("a", "b", "km"),
    [((0.0, 0.0), (0.0, 1.0), 111.2), ((43.1, 131.9), (39.0, 125.75), 688.0),
     ((65.75, -168.95), (65.75, 179.0), 549.0)],
)  # fmt: skip
def test_haversine(a: tuple[float, float], b: tuple[float, float], km: float) -> None:
    assert haversine_km(*a, *b) == pytest.approx(km, rel=0.01)


def test_a_region_named_anywhere_in_the_article_helps(gaz: Gazetteer) -> None:
    text = "Springfield voted on Tuesday. Turnout across Illinois was high."
    res = resolve(text, mentions(text, "Springfield", "Illinois"), gaz)
    assert res[0].place.id == "s:il"  # without "Illinois" the bigger Springfield wins


def test_a_nickname_does_not_beat_the_name_itself() -> None:
    places = [
        Place("sg", "Singapore", "city", 1.29, 103.85, "SG", source="geonames", score=1.0),
        Place("gc", "Garden City", "city", 40.73, -73.63, "US", source="geonames", score=0.6),
    ]
    gaz = Gazetteer(places, [("Garden City", "sg")])
    text = "She moved to Garden City."
    assert resolve(text, mentions(text, "Garden City"), gaz)[0].place.id == "gc"


def test_a_curated_alias_counts_as_the_places_own_name() -> None:
    ocean = Place("o", "Atlantic Ocean", "ocean", 30.0, -40.0, "", source="naturalearth")
    town = Place("t", "Atlantic", "city", 41.4, -95.0, "US", source="geonames", population=6800)
    gaz = Gazetteer([ocean, town], [("Atlantic", "o")], preferred=[("Atlantic", "o")])
    text = "The Atlantic hurricane season starts in the United States in June."
    assert resolve(text, mentions(text, "Atlantic"), gaz)[0].place.id == "o"
    plain = Gazetteer([ocean, town], [("Atlantic", "o")])
    assert gaz.is_own_name("Atlantic", ocean) and not plain.is_own_name("Atlantic", ocean)


def test_a_nickname_gives_no_country_evidence_and_a_tied_region_follows_the_country() -> None:
    places = [
        Place("sg", "Singapore", "city", 1.29, 103.85, "SG", source="geonames", score=1.0),
        Place("gc:ks", "Garden City", "city", 37.97, -100.87, "US", admin1="US.KS",
              source="geonames", score=0.59),
        Place("gc:sc", "Garden City", "city", 33.59, -79.01, "US", admin1="US.SC",
              source="geonames", score=0.53),
        Place("a:sc", "South Carolina", "admin1", 33.9, -80.9, "US", admin1="US.SC"),
        Place("a:bsc", "Santa Catarina", "admin1", -27.2, -50.5, "BR", admin1="BR.26"),
        Place("us", "United States", "country", 39.8, -98.5, "US", score=1.0),
    ]  # fmt: skip
    aliases = [("Garden City", "sg"), ("SC", "a:bsc"), ("SC", "a:sc")]
    gaz = Gazetteer(places, aliases)
    # "Garden City" (Singapore's nickname) must not vote for Singapore, and "SC" must be
    # South Carolina in an American story, so that the South Carolina town wins.
    text = "HORRY COUNTY, SC - A man sleeps in Garden City, a town in the United States."
    res = resolve(text, mentions(text, "SC", "Garden City", "United States"), gaz)
    assert [r.place.id for r in res] == ["a:sc", "gc:sc", "us"]


# --------------------------------------------------------------------------- issue 12


def _gaz(places: list[Place], aliases: list[tuple[str, str]] = (), **kw: object) -> Gazetteer:
    return Gazetteer(places, aliases, **kw)  # type: ignore[arg-type]


def _ids(text: str, gaz: Gazetteer, *names: str) -> list[str]:
    return [r.place.id for r in resolve(text, mentions(text, *names), gaz)]


TEXAS = [
    Place("paris:fr", "Paris", "city", 48.85, 2.35, "FR", admin1="FR.11", score=1.0),
    Place("paris:tx", "Paris", "city", 33.66, -95.56, "US", admin1="US.TX", population=25_000),
    Place("reno:nv", "Reno", "city", 39.53, -119.81, "US", admin1="US.NV", population=250_000),
    Place("reno:tx", "Reno", "city", 33.66, -95.46, "US", admin1="US.TX", population=3_000),
    Place("blossom", "Blossom", "city", 33.66, -95.38, "US", admin1="US.TX", population=1_500),
    Place("lamar:tx", "Lamar County", "region", 33.69, -95.57, "US", admin1="US.TX", score=0.5),
    Place("lamar:al", "Lamar County", "region", 33.78, -88.1, "US", admin1="US.AL", score=0.5),
    Place("tx", "Texas", "admin1", 31.5, -99.35, "US", admin1="US.TX"),
    Place("fr", "France", "country", 46.0, 2.0, "FR", score=1.0),
]


def test_the_articles_own_region_pulls_a_famous_name_home() -> None:
    text = "A tornado hit Paris and nearby Reno and Blossom in Lamar County, Texas, on Sunday."
    ids = _ids(text, _gaz(TEXAS), "Paris", "Reno", "Blossom", "Lamar County", "Texas")
    assert ids == ["paris:tx", "reno:tx", "blossom", "lamar:tx", "tx"]


def test_without_local_context_the_famous_name_stays() -> None:
    text = "Ministers met in Paris. Oil from Texas was on the table, France said."
    assert _ids(text, _gaz(TEXAS), "Paris", "Texas", "France")[0] == "paris:fr"


def test_a_named_country_is_not_outvoted_by_a_town_of_its_name() -> None:
    places = [
        Place("ru", "Russia", "country", 60.0, 100.0, "RU", score=1.0),
        Place("russia:oh", "Russia", "city", 40.23, -84.41, "US", admin1="US.OH", score=0.9),
        Place("oh", "Ohio", "admin1", 40.3, -82.8, "US", admin1="US.OH"),
        Place("cle", "Cleveland", "city", 41.5, -81.7, "US", admin1="US.OH", population=380_000),
        Place("tol", "Toledo", "city", 41.66, -83.56, "US", admin1="US.OH", population=270_000),
    ]
    text = "Farmers in Ohio, Cleveland and Toledo lost sales after sanctions on Russia."
    ids = _ids(text, _gaz(places), "Ohio", "Cleveland", "Toledo", "Russia")
    assert ids[-1] == "ru"


def test_a_qualified_town_is_not_held_below_the_country_of_its_name() -> None:
    places = [
        Place("lb", "Lebanon", "country", 33.83, 35.83, "LB", score=1.0),
        Place("leb:tn", "Lebanon", "city", 36.21, -86.29, "US", admin1="US.TN", population=26_000),
        Place("tn", "Tennessee", "admin1", 35.86, -86.35, "US", admin1="US.TN"),
    ]
    text = "A man from Lebanon, Tennessee, was charged."
    assert _ids(text, _gaz(places), "Lebanon", "Tennessee") == ["leb:tn", "tn"]
    text = "A man from Lebanon was charged in Tennessee."
    assert _ids(text, _gaz(places), "Lebanon", "Tennessee") == ["lb", "tn"]


def test_a_country_named_in_passing_does_not_pick_the_namesake_of_a_foreign_name() -> None:
    places = [
        Place("vic:ca", "Victoria", "city", 48.43, -123.35, "CA", score=0.895),
        Place("vic:tx", "Victoria", "city", 28.8, -97.0, "US", population=67_000, score=0.79),
        Place("lon", "London", "city", 51.51, -0.13, "GB", score=1.0),
        Place("bri", "Brighton", "city", 50.83, -0.14, "GB", population=230_000),
        Place("gat", "Gatwick", "facility", 51.15, -0.19, "GB", score=0.8),
        Place("ny", "New York", "city", 40.71, -74.0, "US", score=1.0),
    ]
    text = (
        "In London, Gatwick and Brighton trains ran late; flights to New York left from Victoria."
    )
    ids = _ids(text, _gaz(places), "London", "Gatwick", "Brighton", "New York", "Victoria")
    assert ids[-1] == "vic:ca"  # a British story: one mention of New York says nothing here
    text = "Flights to New York and Dallas left from Victoria."
    places.append(Place("dal", "Dallas", "city", 32.78, -96.8, "US", score=0.95))
    assert _ids(text, _gaz(places), "New York", "Dallas", "Victoria")[-1] == "vic:tx"


def test_the_x_river_is_a_watercourse_not_a_town_of_that_name() -> None:
    places = [
        Place("er:mn", "Elk River", "city", 45.3, -93.57, "US", population=25_000),
        Place("fr:ma", "Fall River", "city", 41.7, -71.16, "US", population=94_000),
        Place("fr:river", "Fall River", "river", 41.7, -71.15, ""),
    ]
    gaz = _gaz(places)
    text = "Rain sent the Elk River over its banks."
    assert _ids(text, gaz, "Elk River") == []  # the gazetteer lacks the river: unplaced
    assert _ids("He moved to Elk River in May.", gaz, "Elk River") == ["er:mn"]
    assert _ids("Kids swam in the Fall River.", gaz, "Fall River") == ["fr:river"]


def test_a_town_near_the_articles_places_beats_a_far_namesake() -> None:
    places = [
        Place("edm:ca", "Edmonton", "city", 53.55, -113.47, "CA", admin1="CA.01", score=0.85),
        Place("edm:gb", "Edmonton", "city", 51.62, -0.06, "GB", admin1="GB.ENG", score=0.88),
        Place("ab", "Alberta", "admin1", 55.0, -115.0, "CA", admin1="CA.01"),
        Place("cal", "Calgary", "city", 51.05, -114.09, "CA", admin1="CA.01", score=0.9),
        Place("rd", "Red Deer", "city", 52.27, -113.8, "CA", admin1="CA.01", population=100_000),
    ]
    text = "Smoke drifted from Calgary past Red Deer. Across Alberta, Edmonton braced for it."
    assert _ids(text, _gaz(places), "Calgary", "Red Deer", "Alberta", "Edmonton")[-1] == "edm:ca"


def test_a_capital_stays_when_its_country_is_named_in_a_story_from_elsewhere() -> None:
    places = [
        Place("dc", "Washington", "city", 38.9, -77.04, "US", admin1="US.DC", score=1.0),
        Place("wa:gb", "Washington", "city", 54.9, -1.52, "GB", admin1="GB.ENG", score=0.64),
        Place("ldn", "London", "city", 51.51, -0.13, "GB", admin1="GB.ENG", score=1.0),
        Place("sal", "Salisbury", "city", 51.07, -1.79, "GB", admin1="GB.ENG", score=0.6),
        Place("gb", "Britain", "country", 54.0, -2.0, "GB", score=1.0),
        Place("us", "United States", "country", 39.8, -98.5, "US", score=1.0),
    ]
    text = (
        "LONDON - Britain expelled diplomats after Salisbury. "
        "In Washington, the United States agreed."
    )
    names = ("LONDON", "Britain", "Salisbury", "Washington", "United States")
    gaz = _gaz(places, [("LONDON", "ldn")])
    assert _ids(text, gaz, *names)[3] == "dc"


def test_a_town_by_its_own_name_beats_a_region_by_an_alternate_near_the_articles_sea() -> None:
    places = [
        Place("krai", "Primorsky Krai", "admin1", 45.17, 134.74, "RU", admin1="RU.59"),
        Place("prim", "Primorsk", "city", 60.37, 28.61, "RU", admin1="RU.42", population=6_000),
        Place("baltic", "Baltic Sea", "sea", 58.28, 20.42, ""),
        Place("luga", "Ust-Luga", "port", 59.68, 28.4, "RU"),
    ]
    gaz = _gaz(places, [("Primorsk", "krai")])
    text = "Tankers loaded at Primorsk on the Baltic Sea and at Ust-Luga."
    assert _ids(text, gaz, "Primorsk", "Baltic Sea", "Ust-Luga")[0] == "prim"


def test_a_river_beats_a_town_called_so_only_by_another_name() -> None:
    places = [
        Place("lz", "Lesozavodsk", "city", 45.47, 133.42, "RU", source="geonames", score=0.79),
        Place("ussuri", "Ussuri", "river", 47.0, 134.0, "", source="naturalearth"),
        Place("cn", "China", "country", 35.0, 105.0, "CN", score=1.0),
        Place("su", "Soviet Union", "region", 60.0, 90.0, ""),
    ]
    shapes = [("ussuri", "CN RU", "45.0,133.0;46.5,133.8;48.4,134.9")]
    gaz = _gaz(places, [("Ussuri", "lz")], shapes=shapes)
    text = "The Soviet Union and China clashed in the Ussuri incident."
    assert _ids(text, gaz, "Soviet Union", "China", "Ussuri")[-1] == "ussuri"


def test_a_river_is_placed_on_the_stretch_nearest_the_articles_places() -> None:
    places = [
        Place("br", "Brahmaputra", "river", 29.3, 95.27, ""),
        Place("guw", "Guwahati", "city", 26.18, 91.75, "IN", admin1="IN.03", score=0.8),
        Place("as", "Assam", "admin1", 26.36, 92.83, "IN", admin1="IN.03"),
    ]
    shapes = [("br", "CN IN BD", "29.3,88.0;29.3,95.27;27.8,95.2;26.2,91.7;25.2,89.7")]
    gaz = _gaz(places, shapes=shapes)
    text = "The Brahmaputra flooded villages near Guwahati in Assam."
    river = resolve(text, mentions(text, "Brahmaputra", "Guwahati", "Assam"), gaz)[0].place
    assert (river.id, river.lat, river.lon) == ("br", 26.2, 91.7)
    alone = resolve("The Brahmaputra rose.", mentions("The Brahmaputra rose.", "Brahmaputra"), gaz)
    assert (alone[0].place.lat, alone[0].place.lon) == (29.3, 95.27)  # nothing to be near


def test_a_region_by_a_short_form_yields_to_the_place_of_that_very_name() -> None:
    places = [
        Place("krai", "Primorsky Krai", "admin1", 45.17, 134.74, "RU", admin1="RU.59"),
        Place("prim", "Primorsk", "city", 60.37, 28.61, "RU", admin1="RU.42", population=6_000),
        Place("rot", "Rotterdam", "city", 51.92, 4.48, "NL", score=0.9),
    ]
    gaz = _gaz(places, [("Primorsk", "krai")])
    text = "The tanker left Primorsk bound for Rotterdam."
    assert _ids(text, gaz, "Primorsk", "Rotterdam")[0] == "prim"


def test_a_qualifier_beats_a_famous_namesake() -> None:
    places = [
        Place("det:mi", "Detroit", "city", 42.33, -83.05, "US", admin1="US.MI", score=0.93),
        Place("det:tx", "Detroit", "city", 33.66, -95.27, "US", admin1="US.TX", population=700),
        Place("tx", "Texas", "admin1", 31.5, -99.35, "US", admin1="US.TX"),
    ]
    text = "Deputies caught him near Detroit, Texas."
    assert _ids(text, _gaz(places), "Detroit", "Texas") == ["det:tx", "tx"]


def test_a_descriptive_region_of_a_country_the_article_never_names_is_not_guessed() -> None:
    places = [
        Place("gm:wc", "West Coast", "admin1", 13.2, -16.3, "GM", admin1="GM.05"),
        Place("us", "United States", "country", 39.8, -98.5, "US", score=1.0),
        Place("gm", "Gambia", "country", 13.4, -15.4, "GM", score=1.0),
    ]
    gaz = _gaz(places)
    text = "The United States team toured the West Coast."
    assert _ids(text, gaz, "United States", "West Coast") == ["us"]
    text = "Gambia held elections; turnout on the West Coast was high."
    assert _ids(text, gaz, "Gambia", "West Coast") == ["gm", "gm:wc"]
