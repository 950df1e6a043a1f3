"""Corrections: checking, the reviewable file, and the pure overlay over stored mentions."""

from __future__ import annotations

import math
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from geo import corrections
from geo.errors import BadInput, DataFileError
from geo.model import Article, Correction, Place, StoredMention

TEXT = "Troops crossed the Ussuri in 1969. Later, the Ussuri froze.\nIn Vladivostok, quiet."
ART = Article("004", TEXT, title="Border")
OTHER = Article("005", "The Ussuri flows north.", title="River")
ARTICLES = {a.id: a for a in (ART, OTHER)}
RIVER = Place("ne:1", "Ussuri", "river", 44.59, 134.13)
NOW = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)


def span(article: Article, words: str, nth: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(nth + 1):
        start = article.text.index(words, start + 1)
    return start, start + len(words)


def stored(article: Article, words: str, place_id: str | None, nth: int = 0) -> StoredMention:
    start, end = span(article, words, nth)
    return StoredMention(
        article.id, start, end, words, 0, len(article.text), place_id, 0.5,
        parsed_place_id=place_id,
    )  # fmt: skip


MENTIONS = [
    stored(ART, "Ussuri", "gn:town"),
    stored(ART, "Ussuri", "gn:town", nth=1),
    stored(ART, "Vladivostok", "gn:vlad"),
    stored(OTHER, "Ussuri", "gn:town"),
]


def fix(place: Place | None, scope: str = "mention", nth: int = 0, **kw: object) -> Correction:
    c = corrections.make(ART, span(ART, "Ussuri", nth), place, scope=scope, now=NOW)
    return Correction(**{**{f: getattr(c, f) for f in c.__slots__}, **kw})  # type: ignore[arg-type]


# -- checking input ---------------------------------------------------------------------------


@pytest.mark.parametrize("lat, lon", [(0, 0), (-90, 180), (90, -180), (44.59, 134.13)])
def test_coordinates_in_range(lat, lon):
    assert corrections.check_latlon(lat, lon) == (lat, lon)


@pytest.mark.parametrize(
    "lat, lon, bad",
    [(90.1, 0, "latitude 90.1"), (0, -180.5, "longitude -180.5"), (math.nan, 0, "latitude nan"),
     (0, math.inf, "longitude inf")],
)  # fmt: skip
def test_coordinates_out_of_range_are_named(lat, lon, bad):
    with pytest.raises(BadInput, match=bad):
        corrections.check_latlon(lat, lon)


@pytest.mark.parametrize("value", ["44.6", "a,b", "1,2,3", "91,0", ""])
def test_bad_at_is_quoted(value):
    with pytest.raises(BadInput, match=r"latitude|--at"):
        corrections.parse_at(value)


def test_at_reads_lat_then_lon():
    assert corrections.parse_at(" 44.6, 134.1") == (44.6, 134.1)


def test_a_place_given_by_hand_gets_a_user_slug_unique_per_position():
    first = corrections.custom_place("Port of Rajin (new)", 42.2, 130.3, kind="port")
    assert (first.id, first.kind, first.source) == ("user:port-of-rajin-new", "port", "user")
    same = corrections.custom_place("Port of Rajin (new)", 42.2, 130.3, taken=[first])
    elsewhere = corrections.custom_place("Port of Rajin (new)", 40.0, 130.3, taken=[first])
    assert same.id == first.id and elsewhere.id == "user:port-of-rajin-new-2"
    assert corrections.custom_place("Ñandú", 0, 0).id == "user:nandu"


@pytest.mark.parametrize(
    "name, kind, bad", [("  ", "city", "needs a name"), ("X", "castle", "kind 'castle'")]
)
def test_a_place_given_by_hand_is_checked(name, kind, bad):
    with pytest.raises(BadInput, match=bad):
        corrections.custom_place(name, 1, 1, kind=kind)


@pytest.mark.parametrize(
    "start, end, scope, bad",
    [(5, 5, "mention", "not inside"), (-1, 3, "mention", "not inside"),
     (0, len(TEXT) + 1, "mention", "not inside"), (6, 7, "mention", "blank"),
     (0, 6, "world", "scope 'world'")],
)  # fmt: skip
def test_make_checks_the_span_and_scope(start, end, scope, bad):
    with pytest.raises(BadInput, match=bad):
        corrections.make(ART, (start, end), RIVER, scope=scope)


def test_make_records_the_words_the_place_and_when():
    where = span(ART, "Ussuri")
    c = corrections.make(ART, where, RIVER, scope="article", note=" a\nnote ", now=NOW)
    assert (c.text, c.place_id, c.kind, c.lat, c.scope, c.note) == (
        "Ussuri", "ne:1", "river", 44.59, "article", "a note",
    )  # fmt: skip
    assert c.created == "2026-12-01T14:30:00Z" and c.id.startswith("c-")
    gone = corrections.make(ART, span(ART, "Ussuri"), None)
    assert gone.not_a_place and gone.lat is None


def test_undo_of_an_unknown_id_says_how_to_list_them():
    with pytest.raises(BadInput, match=r"'c-nope'.*python -m geo corrections"):
        corrections.without([fix(RIVER)], "c-nope")


# -- applying them ----------------------------------------------------------------------------


def test_a_mention_correction_changes_that_mention_only():
    c = fix(RIVER)
    done = corrections.apply([c], MENTIONS, ARTICLES)
    assert done.updates == (("004", *span(ART, "Ussuri"), "ne:1", c.id),)
    assert [(p.id, p.name, p.lat, p.lon) for p in done.places] == [
        ("ne:1", "Ussuri", 44.59, 134.13)
    ]
    assert not done.added and not done.warnings


def test_article_scope_changes_every_mention_of_the_words_in_the_article():
    c = fix(RIVER, scope="article")
    done = corrections.apply([c], MENTIONS, ARTICLES)
    assert {(u[0], u[1]) for u in done.updates} == {
        ("004", span(ART, "Ussuri")[0]), ("004", span(ART, "Ussuri", 1)[0]),
    }  # fmt: skip


def test_corpus_scope_changes_them_everywhere_and_narrower_scopes_win():
    wide = fix(RIVER, scope="corpus")
    narrow = fix(None, nth=1)  # the second one is not a place
    done = corrections.apply([narrow, wide], MENTIONS, ARTICLES)
    got = {(u[0], u[1]): (u[3], u[4]) for u in done.updates}
    assert got == {
        ("004", span(ART, "Ussuri")[0]): ("ne:1", wide.id),
        ("004", span(ART, "Ussuri", 1)[0]): (None, narrow.id),
        ("005", span(OTHER, "Ussuri")[0]): ("ne:1", wide.id),
    }


def test_on_its_own_words_a_later_wider_correction_wins():
    narrow, wide = fix(None), fix(RIVER, scope="corpus")
    done = corrections.apply([narrow, wide], MENTIONS, ARTICLES)
    got = {(u[0], u[1]): u[4] for u in done.updates}
    assert set(got.values()) == {wide.id}, "the first mention too: the analyst pointed at it"
    done = corrections.apply([wide, narrow], MENTIONS, ARTICLES)
    got = {(u[0], u[1]): u[4] for u in done.updates}
    assert got[("004", span(ART, "Ussuri")[0])] == narrow.id
    assert got[("005", span(OTHER, "Ussuri")[0])] == wide.id


def test_the_later_of_two_corrections_of_a_span_wins():
    first, second = fix(None), fix(RIVER)
    done = corrections.apply([first, second], MENTIONS, ARTICLES)
    assert [u[3:] for u in done.updates] == [("ne:1", second.id)]


def test_a_correction_of_words_the_parser_missed_adds_a_mention():
    c = corrections.make(ART, span(ART, "Troops"), RIVER)
    done = corrections.apply([c], MENTIONS, ARTICLES)
    assert not done.updates
    (new,) = done.added
    assert (new.text, new.place_id, new.correction, new.confidence) == ("Troops", "ne:1", c.id, 1)
    assert ART.text[new.passage_start : new.passage_end] == "Troops crossed the Ussuri in 1969."


def test_a_correction_that_no_longer_matches_its_article_is_reported_not_applied():
    moved = fix(RIVER, text="Amur", end=span(ART, "Ussuri")[0] + 4)
    gone = fix(RIVER, article_id="077")
    done = corrections.apply([moved, gone], MENTIONS, ARTICLES)
    assert not done.updates and not done.places
    assert len(done.warnings) == 2
    assert f"correction {moved.id!r}: article '004' has 'Ussu'" in done.warnings[0]
    assert "--undo" in done.warnings[0]
    assert "article '077' is no longer in the corpus" in done.warnings[1]


# -- the file ---------------------------------------------------------------------------------

NASTY_NOTE = 'a "quoted" \\ note\twith\x7f and </script> ünï'


def test_the_file_round_trips_and_reads_as_toml(tmp_path: Path):
    items = [
        fix(RIVER, note=NASTY_NOTE),
        fix(None, scope="article"),
        fix(corrections.custom_place("Camp", 45.0, 133.0), scope="corpus"),
    ]
    path = tmp_path / "corrections.toml"
    corrections.save(path, items)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Corrections") and "not_a_place = true" in text
    assert tomllib.loads(text)["correction"][0]["note"] == NASTY_NOTE
    assert corrections.load(path) == items
    assert corrections.load(tmp_path / "missing.toml") == []


GOOD = """
[[correction]]
id = "c-1"
article = "004"
start = 10
end = 16
text = "Ussuri"
place = "ne:1"
name = "Ussuri"
kind = "river"
lat = 44.5
lon = 134.1
scope = "mention"
"""


@pytest.mark.parametrize(
    "change, bad",
    [(("scope = \"mention\"", "scope = \"world\""), r"#1 \('c-1'\): field 'scope' = 'world'"),
     (("lat = 44.5", "lat = 144.5"), r"#1 \('c-1'\): latitude 144.5"),
     (("start = 10", "start = \"10\""), r"#1: field 'start' = '10' has the wrong type"),
     (("end = 16", "end = 17"), r"#1 \('c-1'\): field 'text' = 'Ussuri' is not end - start"),
     (("kind = \"river\"", "kind = \"castle\""), r"#1 \('c-1'\): field 'kind' = 'castle'"),
     (("name = \"Ussuri\"\n", ""), r"#1 \('c-1'\): missing field 'name'"),
     (("place = \"ne:1\"", "place = \"\""), r"#1 \('c-1'\): needs field 'place'"),
     (("id = \"c-1\"\n", ""), r"#1: missing field\(s\) id"),
     (("scope", "colour = 1\nscope"), r"#1: unknown field 'colour'")],
)  # fmt: skip
def test_a_bad_entry_is_named_with_file_entry_and_field(tmp_path: Path, change, bad):
    path = tmp_path / "corrections.toml"
    path.write_text(GOOD.replace(*change), encoding="utf-8")
    with pytest.raises(DataFileError, match=r"corrections\.toml' correction " + bad):
        corrections.load(path)


def test_a_broken_file_is_named(tmp_path: Path):
    path = tmp_path / "corrections.toml"
    path.write_text("[[correction]\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"corrections\.toml' is not valid TOML"):
        corrections.load(path)
    path.write_text(GOOD + GOOD, encoding="utf-8")
    with pytest.raises(DataFileError, match=r"ids \['c-1'\] occur twice"):
        corrections.load(path)
