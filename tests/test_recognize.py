"""Recognizer: spans, multi-word names, possessives, hyphens, and what is not a place."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.gazetteer import normalize
from geo.parser import Geoparser, load_parser
from geo.recognize import _TOKEN, Tokens, _plain_key, load_lexicon, recognize, tokenize

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def parser() -> Geoparser:
    return load_parser(ROOT / "data", cache_dir=ROOT / ".cache")


def found(parser: Geoparser, text: str) -> list[str]:
    mentions = recognize(text, parser.gazetteer, parser.lexicon)
    for m in mentions:
        assert text[m.start : m.end] == m.text
    return [m.text for m in mentions]


def test_tokenize_keeps_offsets() -> None:
    text = "Russia’s U.S.-backed St. Petersburg"
    tokens = tokenize(text)
    assert [t.text for t in tokens] == ["Russia", "’", "s", "U.S.", "-", "backed", "St", ".",
                                        "Petersburg"]  # fmt: skip
    assert all(text[t.start : t.end] == t.text for t in tokens)


@pytest.mark.parametrize(
    "text",
    [
        "Russia’s U.S.-backed St. Petersburg",
        "",
        "A",
        "xU.S. and U.S.A, (U.K.) A.B.C.D U.S.A",  # acronyms only where a token starts
        "snake_case __init__ Ōsaka Zürich Ǆemal ٣٤ ２０２０ ⅫII",  # underscores, non-ASCII
        "tab\tnew\nline  double\u00a0space\u2009thin…end.",
        "emoji 🙂 and a lone surrogate \ud800 here",
        "U.S. and A.B.C.D. or U.K.-led " * 500,  # many acronyms
    ],
)
def test_tokens_are_the_regular_expressions(text: str) -> None:
    """The recognizer's tokens (offsets computed over the whole text at once) are exactly
    the tokens of its regular expression, and the capitalised ones are those in upper case."""
    tokens = Tokens(text)
    spans = [m.span() for m in _TOKEN.finditer(text)]
    assert list(zip(tokens.starts, tokens.ends, strict=True)) == spans
    assert tokens.capitalised == [i for i, (a, _) in enumerate(spans) if text[a].isupper()]
    assert [tokens[i] for i in range(len(tokens))] == tokenize(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kim Jong-un came by train. Kim arrived at the Vostochny Cosmodrome on Wednesday.",
         ["Vostochny Cosmodrome"]),
        ("Fighting in the Kursk region went on.", ["Kursk region"]),
        ("He visited the Russian Far East again.", ["Russian Far East"]),
        ("Ships sail from the Strait of Malacca to the Bering Strait.",
         ["Strait of Malacca", "Bering Strait"]),
        ("Tension on the Korean Peninsula rose.", ["Korean Peninsula"]),
        ("Russia’s stance hardened.", ["Russia"]),
        ("Russia's stance hardened.", ["Russia"]),
        ("The Moscow-Pyongyang axis is new.", ["Moscow", "Pyongyang"]),
        ("She is a Hong Kong-based lawyer.", ["Hong Kong"]),
        ("The summit was held in St. Petersburg last year.", ["St. Petersburg"]),
        ("Trade with the DPRK and the US grew.", ["DPRK", "US"]),
        ("A bridge over the Tumannaya River is planned.", ["Tumannaya River"]),
        ("Goods went by rail to Ranjin port.", ["Ranjin"]),
        ("It will reach “Vladivostok” soon.", ["Vladivostok"]),
        ("Two were found in the English city of Salisbury.", ["Salisbury"]),
        ("China said so. Turkey agreed.", ["China", "Turkey"]),
        ("Storms crossed the Pacific toward Japan.", ["Pacific", "Japan"]),
        ("It moved millions in Canadian pension obligations.", []),
        # AP-style state abbreviations keep their full stop; acronyms end a sentence.
        ("OAKLAND, Calif. (AP) - He pitched in Fresno, Calif.", ["OAKLAND", "Calif.",
                                                                   "Fresno", "Calif."]),
        ("Assets went to the US. Then the U.S. and the UK. agreed.", ["US", "U.S.", "UK"]),
        # A name with a comma in it is one toponym.
        ("Sold in 44 states, Washington, D.C., and Guam.", ["Washington, D.C.", "Guam"]),
        # A transliteration is a name of the place (Dūmā), not a nickname.
        ("The rebels left Douma by bus.", ["Douma"]),
        # A road number is not a name: "A429 Cirencester" does not make a person of the town.
        ("Turn off at the A429 Cirencester junction for Cirencester.",
         ["Cirencester", "Cirencester"]),
        # A title ends a sentence: the country after it is no one's name.
        ("It failed to register with the Ministry of Justice. Azerbaijan has a record.",
         ["Azerbaijan"]),
        # Organisations named after a place do not make a person of it for the whole text.
        ("There are 28 contracts in Nenagh Municipal District. Homes in Nenagh are dear.",
         ["Nenagh"]),
        ("UEFA charge Liverpool FC over the match. Liverpool won the game.", ["Liverpool"]),
        # A given name leading a run of names makes a person, middle names and all ...
        ("Her son James Knight Newman was inside the car.", []),
        # ... but no one's name is written in capitals.
        ("By: Henry Lazenby US-based producers fear the US tariffs.", ["US", "US"]),
        # One sense per text: a small place named "in X" once needs no cue elsewhere ...
        ("Some 1,700 asylum seekers wait in Samos. The Samos camp is full.",
         ["Samos", "Samos"]),
    ],
)  # fmt: skip
def test_finds_places(parser: Geoparser, text: str, expected: list[str]) -> None:
    assert found(parser, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "North Korean leader Kim Jong-un met Vladimir Putin.",
        "Defence Minister Sergei Shoigu and Xi Jinping spoke.",
        "Members of Nato, the SCO, Brics, the G20, the UN and the IAEA disagreed.",
        "Analysts at Chatham House and the Global Times said so; Izvestia agreed.",
        "Russian and North Korean officials met.",
        "Reading the report, officials said it was Nice to be back in March.",
        "Mobile phones were banned.",
        "He praised the West for its resolve.",
        "Jack Sullivan said the game was over. Sullivan left.",
        "President Putin and Mr. Kim met in the evening.",
        # A minor place's name as the speaker is a person's, for the whole text.
        "Noma said she had called the police. Later Noma went home.",
        "“I thought I was very aware,” said Wu.",
        "Sen. Ekweremadu spoke first.",
        "No more surprises from Ashley Sutton. Few predicted Sutton would win.",
        # Only another name of a town (Chopinzinho, Brazil), with no cue that it is a place.
        "He played Liszt, Beethoven and Chopin.",
        # The climate pattern (the curated file blocks the Mexican village's name).
        "A strong El Niño brings rain.",
    ],
)
def test_not_places(parser: Geoparser, text: str) -> None:
    assert found(parser, text) == []


def test_one_sense_needs_a_place_preposition(parser: Geoparser) -> None:
    # "to" is said of people too: its cue does not carry over to a later "Bautista".
    text = "Fans referred to Bautista's home run. Bautista smiled."
    starts = [m.start for m in recognize(text, parser.gazetteer, parser.lexicon)]
    assert text.rindex("Bautista") not in starts


def test_a_place_that_speaks_keeps_its_cue_or_is_a_government(parser: Geoparser) -> None:
    assert found(parser, "Barry, who was from Dewsbury said: it was grim.") == ["Dewsbury"]
    assert found(parser, "Moscow said the talks had failed.") == ["Moscow"]


def test_common_word_with_place_cue(parser: Geoparser) -> None:
    assert found(parser, "The fire in Reading, England, spread.") == ["Reading", "England"]


def test_person_sense_holds_for_the_whole_text(parser: Geoparser) -> None:
    text = "George W. Bush spoke first. Later George said the war was won."
    assert found(parser, text) == []


def test_directional_modifier_joins_the_toponym(parser: Geoparser) -> None:
    assert found(parser, "Fires raged across Southern California.") == ["Southern California"]


def test_lexicon_missing_is_a_clear_error(tmp_path: Path) -> None:
    from geo.errors import DataFileError

    with pytest.raises(DataFileError, match=r"common_words\.txt"):
        load_lexicon(tmp_path)


# --------------------------------------------------------------------------- issue 12


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a list of three or more places vouches for a common word and a minor place
        ("Buses left Harbin, Shanghai and Guangzhou at dawn.", ["Harbin", "Shanghai", "Guangzhou"]),
        ("Volunteers came from Sunyani, Berekum and Kumasi.", ["Sunyani", "Berekum", "Kumasi"]),
        # a well-known place named by a common word needs evidence to be rejected
        ("Icebreakers escorted the convoy via the Arctic last winter.", ["Arctic"]),
        ("The delegation flew on to Shanghai after the talks.", ["Shanghai"]),
        # "with" after a linking word is a place cue
        ("A new bridge links Rajin with Khasan.", ["Rajin", "Khasan"]),
        ("Laos shares a long border with Bokeo and Thailand.", ["Laos", "Bokeo", "Thailand"]),
        # names readers use: ports, airports, counties, romanisations
        ("Containers piled up at Rason Port this week.", ["Rason Port"]),
        ("Trucks queued outside the Port of Nampho.", ["Port of Nampho"]),
        ("Her flight from Heathrow was delayed.", ["Heathrow"]),
        ("Deputies in Laurel County found the car.", ["Laurel County"]),
        ("The US or Nato may respond.", ["US"]),  # two names are no list
        ("Trucks waited at the Rafah crossing.", ["Rafah crossing"]),
        ("Soldiers patrol the Demilitarized Zone.", ["Demilitarized Zone"]),
        ("Voters in Ghana's Bono Region queued.", ["Ghana", "Bono Region"]),
        # a town and its region without a comma are two places, not one name
        ("Pupils in Ilorin Kwara State returned.", ["Ilorin", "Kwara State"]),
        # the Arabic article is optional ("Al Qamishli")
        ("Shells fell on Qamishli and Hasakah.", ["Qamishli", "Hasakah"]),
        # a major city by its own name before "virus" is where it broke out, and a town or a
        # region before "outbreak"
        ("The Mubende outbreak spread to Kampala.", ["Mubende", "Kampala"]),
        ("The Wuhan virus spread to Thailand.", ["Wuhan", "Thailand"]),
        # other forms of a gazetteer name: an abbreviation, a water body's word order, the
        # Arabic article's spelling inside a name
        ("Deputies searched near Mt. Juliet on Monday.", ["Mt. Juliet"]),
        ("The storm crossed the Florida Straits.", ["Florida Straits"]),
        ("The strike in Deir al-Balah killed nine.", ["Deir al-Balah"]),
        # a language's name that is a town's, with the town's region
        ("Residents of English, Indiana, voted.", ["English", "Indiana"]),
        # a first-level region after a place the gazetteer lacks and a comma
        ("25/26 August: Knockhill, Fife.", ["Fife"]),
        # a possessive's "s" inside a name
        ("Refugees in Cox's Bazar were moved.", ["Cox's Bazar"]),
        ("Ferries to St. John's were cancelled.", ["St. John's"]),
        ("Putin's Russia and Kim's Pyongyang.", ["Russia", "Pyongyang"]),
        # a sentence opening on "In" and a well-known place, then the person who acted there
        ("In London Starmer spoke first.", ["London"]),
        ("In Buenos Aires Milei's supporters rallied.", ["Buenos Aires"]),
        # a capitalised article is not part of a name the gazetteer lacks
        ("LEXINGTON - The Xyzzy County Sheriff's Office said.", ["LEXINGTON", "Xyzzy County"]),
        ("The Xyzzy Estate is home to two gangs.", ["Xyzzy Estate"]),
    ],
)  # fmt: skip
def test_issue_12_places_kept(parser: Geoparser, text: str, expected: list[str]) -> None:
    assert found(parser, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "He met with Wu on Monday.",  # "with" alone is no cue
        "Xinhua reported that the meeting was cordial.",  # a news agency as the speaker
        "The meeting was cordial, according to Xinhua.",  # ... as the source
        "A statement from the Xinhua news agency followed.",  # ... before an organisation noun
        "Shoppers at Wal-Mart stores were told to wait.",  # part of a hyphenated name
        "Smith & Co. posted a loss.",  # a company's abbreviation
        "The tanker is built to ice class Arc 6.",  # a designation with a number
        "The sisters of Orange Drugs Ltd met.",  # a well-known name inside an organisation's
        "Two White House aides resigned.",  # a building for the people who work in it
        "Shares rose after Orange said profits doubled.",  # a common word's town that speaks
        "Sens. Tom Udall and Martin Heinrich wrote.",  # an abbreviated title
        "The Obama administration changed the rule.",  # a person's administration
        "The team ended up in Victoria Vivians' room.",  # "in" a person's room: her name
        "It means battery in English.",  # a language, not the English River, Ontario
        "He spoke Arabic, English and French.",
        "The Ebola virus spread. Ebola cases rose.",  # a river's name for a disease, throughout
        "Lassa fever killed twenty.",  # a town's (by a respelling of Lhasa's, too)
        "West Nile virus cases rose.",  # even a well-known river's
        "A new Ebola outbreak was declared.",  # a river's name before "outbreak"
    ],
)
def test_issue_12_not_places(parser: Geoparser, text: str) -> None:
    assert found(parser, text) == []


def test_a_place_preposition_outweighs_the_name_in_a_shops_name(parser: Geoparser) -> None:
    text = (
        "The ticket was sold in Riverdale on Friday. Riverdale Lukoil South sold it. "
        "He lives in Riverdale too."
    )
    assert found(parser, text) == ["Riverdale", "Riverdale"]


def test_an_organisation_stays_one_for_the_whole_text(parser: Geoparser) -> None:
    text = "Xinhua reported the visit. Later Xinhua added details."
    assert found(parser, text) == []


def test_a_building_for_its_staff_is_still_the_place_elsewhere(parser: Geoparser) -> None:
    text = "White House aides met reporters. Later a dinner was held at the White House."
    assert found(parser, text) == ["White House"]


def test_every_common_word_naming_a_well_known_place_is_kept_without_a_cue(
    parser: Geoparser,
) -> None:
    """The audit of the common-word list: a word that names a well-known place (prior at
    least WELL_KNOWN, its own name) is a place inside a sentence unless evidence says not."""
    from geo.recognize import WELL_KNOWN

    gaz, lex = parser.gazetteer, parser.lexicon
    audited = []
    for word in sorted(lex.common_words):
        name = word.capitalize()
        top = gaz.candidates(name, limit=1)
        if len(word) > 2 and top and top[0].score >= WELL_KNOWN and gaz.is_own_name(name, top[0]):
            audited.append(name)
            assert found(parser, f"Then {name} had a quiet week.") == [name]
    assert {"Shanghai", "Arctic", "Phoenix"} <= set(audited)


@pytest.mark.parametrize(
    "name",
    ["St. Petersburg", "Kim Jong-Un", "AT&T Park", "Moscow, Russia", "Russia. The", "T.He Hague",
     "Washington, D.C", "Xi'an", "Route 66"],
)  # fmt: skip
def test_plain_key_is_normalize(name: str) -> None:
    """The recognizer's cache-free key of a plain ASCII name is the gazetteer's key."""
    assert _plain_key(name) == normalize(name)
