"""Gazetteer: name folding, priors, the in-memory index, data files, the cache, real lookups."""

from __future__ import annotations

import doctest
import gzip
import os
import pickle
import re
from pathlib import Path

import pytest

import geo.gazetteer
from geo import gazetteer
from geo.errors import DataFileError, GeoError, UnknownPlace
from geo.gazetteer import Gazetteer, normalize, prior, read_curated
from geo.model import KINDS, Place

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"


@pytest.fixture(scope="module")
def real(cache_dir) -> Gazetteer:
    return gazetteer.load(DATA, cache_dir=cache_dir)


def place(pid: str, name: str, kind: str = "city", **kw: object) -> Place:
    values: dict[str, object] = {"lat": 10.0, "lon": 20.0} | kw
    return Place(id=pid, name=name, kind=kind, **values)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- normalize, prior


def test_doctests():
    assert doctest.testmod(geo.gazetteer, raise_on_error=True).attempted > 0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Vladivostok", "vladivostok"),
        ("VLADIVOSTOK", "vladivostok"),
        ("  The Tumen   River ", "tumen river"),
        ("the Hague", "hague"),
        ("Theodosia", "theodosia"),  # 'the' only as a whole leading word
        ("Other the", "other the"),
        ("Ōsaka", "osaka"),
        ("Tōkyō", "tokyo"),
        ("Zürich", "zurich"),
        ("Kim’s", "kim's"),
        ("Kim‘s", "kim's"),
        ("Kim`s", "kim's"),
        ("Kim's", "kim's"),
        ("Baden–Württemberg", "baden-wurttemberg"),
        ("Baden—Württemberg", "baden-wurttemberg"),
        ("Baden‐Württemberg", "baden-wurttemberg"),
        ("U.S.", "us"),
        ("the U.S.", "us"),
        ("U.K.", "uk"),
        ("St. Petersburg", "st petersburg"),
        ("Tumen\tRiver\n", "tumen river"),
        ("", ""),
        # plain words and single spaces (the fast path): the case and a leading "the"
        ("New York", "new york"),
        ("The Hague", "hague"),
        ("THE GAMBIA", "gambia"),
        ("Theo Walcott", "theo walcott"),
        ("Route 66", "route 66"),
        ("The", "the"),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_normalize_is_idempotent():
    for raw in ("The U.S.", "Ōsaka", "Kim’s – River"):
        assert normalize(normalize(raw)) == normalize(raw)


def test_prior_orders_country_big_city_village():
    country = prior("country", 0)
    big_city = prior("city", 10_000_000)
    town = prior("city", 100_000)
    village = prior("city", 500)
    assert country > big_city > town > village
    assert big_city > prior("region", 0)  # a city of ten million beats a region
    assert village < prior("region", 0)
    assert prior("city", 0) == gazetteer.KIND_PRIOR["city"]
    assert prior("city", 10**12) == 1.0  # capped
    assert prior("no-such-kind", 0) == 0.3


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_a_prior_in_range(kind):
    assert kind in gazetteer.KIND_PRIOR
    for pop in (0, 1, 500, 10**6, 10**9):
        assert 0 < prior(kind, pop) <= 1


# --------------------------------------------------------------------------- in-memory index


@pytest.fixture
def tiny() -> Gazetteer:
    places = [
        place("v1", "Springfield", population=600),
        place("c1", "Springfield", population=2_000_000, lat=39.8, lon=-89.6),
        place("r1", "Tumen River", "river", lat=42.4, lon=130.6),
        place("k1", "North Korea", "country", lat=40.0, lon=127.0, country="KP"),
    ]
    aliases = [
        ("DPRK", "k1"),
        ("Tumannaya", "r1"),
        ("the Tumen", "r1"),
        ("Tumannaya", "r1"),  # duplicates are indexed once
        ("Ghost", "no-such-id"),  # unknown ids are ignored
        ("", "k1"),  # empty names are ignored
    ]
    return Gazetteer(places, aliases)


def test_names_and_aliases_are_indexed_normalized(tiny):
    assert len(tiny) == 4
    for name in ("DPRK", "dprk", "North Korea", "the North Korea", "TUMANNAYA", "Tumen"):
        assert name in tiny
    assert tiny.lookup("dprk").id == "k1"
    assert tiny.lookup("Tumannaya").id == "r1"
    assert [p.id for p in tiny.candidates("Tumannaya")] == ["r1"]
    assert "Ghost" not in tiny
    assert "" not in tiny
    assert 42 not in tiny
    assert tiny.has_key("tumen river")
    assert not tiny.has_key("Tumen River")  # has_key takes a normalized name
    assert set(tiny.names()) == {"springfield", "tumen river", "north korea", "dprk",
                                 "tumannaya", "tumen"}  # fmt: skip
    assert tiny.max_tokens == 2


def test_candidates_best_first(tiny):
    found = tiny.candidates("springfield")
    assert [p.id for p in found] == ["c1", "v1"]
    assert found[0].score > found[1].score
    assert [p.id for p in tiny.candidates("Springfield", limit=1)] == ["c1"]
    assert tiny.lookup("Springfield").id == "c1"
    assert tiny.candidates("Atlantis") == []


def test_lookup_unknown_raises_with_the_name(tiny):
    with pytest.raises(UnknownPlace, match=re.escape("'Atlantis'")) as info:
        tiny.lookup("Atlantis")
    assert isinstance(info.value, LookupError)
    assert isinstance(info.value, GeoError)
    assert "curated.toml" in str(info.value)


def test_get_by_id(tiny):
    got = tiny.get("r1")
    assert (got.name, got.kind, got.lat, got.lon) == ("Tumen River", "river", 42.4, 130.6)
    assert got.score == prior("river", 0)
    with pytest.raises(UnknownPlace, match="'nope'"):
        tiny.get("nope")


def test_records_round_trip_and_explicit_score_is_kept():
    rec = Place(id="x", name="X", kind="port", lat=-33.9, lon=151.2, country="AU",
                source="test", population=5, admin1="AU.02", score=0.123)  # fmt: skip
    gaz = Gazetteer([rec])
    assert gaz.get("x") == rec
    assert gaz.places() == (rec,)


def test_later_record_with_same_id_overrides():
    old = place("gn:1", "Khasan", country="IN", lat=13.0, lon=76.1)
    new = place("gn:1", "Khasan", country="RU", lat=42.43, lon=130.64)
    gaz = Gazetteer([old, place("gn:2", "Other"), new])
    assert len(gaz) == 2
    assert [p.id for p in gaz.places()] == ["gn:1", "gn:2"]  # keeps its position
    assert gaz.get("gn:1").country == "RU"
    assert [p.country for p in gaz.candidates("Khasan")] == ["RU"]  # indexed once


def test_override_renames_the_record():
    gaz = Gazetteer([place("p", "Old Name"), place("p", "New Name")])
    assert gaz.lookup("New Name").id == "p"
    assert "Old Name" not in gaz


def test_empty_gazetteer():
    gaz = Gazetteer([])
    assert len(gaz) == 0
    assert gaz.max_tokens == 1
    with pytest.raises(UnknownPlace):
        gaz.lookup("anything")


# --------------------------------------------------------------------------- data files


CURATED_GOOD = """
[[place]]
id = "cur:rajin"
name = "Rajin"
kind = "port"
lat = 42.25
lon = 130.3
country = "KP"
population = 100000
aliases = ["Najin", "Ranjin"]
source = "test"

[[place]]
id = "cur:nowhere-sea"
name = "Nowhere Sea"
kind = "sea"
lat = -10
lon = -179.5

[[alias]]
id = "gn:1"
names = ["Hasan", "Khasan station"]

[[block]]
name = "The Khasan"
id = "gn:2"
"""


def test_read_curated_good(tmp_path):
    path = tmp_path / "curated.toml"
    path.write_text(CURATED_GOOD, encoding="utf-8")
    places, aliases, blocked = read_curated(path)
    assert [p.id for p in places] == ["cur:rajin", "cur:nowhere-sea"]
    rajin = places[0]
    assert (rajin.kind, rajin.lat, rajin.lon, rajin.country) == ("port", 42.25, 130.3, "KP")
    assert (rajin.population, rajin.source) == (100000, "curated")
    assert places[1].country == ""
    assert places[1].lat == -10.0
    assert isinstance(places[1].lat, float)
    assert aliases == [
        ("Najin", "cur:rajin"),
        ("Ranjin", "cur:rajin"),
        ("Hasan", "gn:1"),
        ("Khasan station", "gn:1"),
    ]
    assert blocked == {"khasan\tgn:2"}


def test_missing_curated_file_is_a_clear_error(tmp_path):
    path = tmp_path / "curated.toml"
    with pytest.raises(DataFileError, match=re.escape(str(path))) as info:
        read_curated(path)
    assert "missing" in str(info.value)


def test_empty_curated_file_is_fine(tmp_path):
    path = tmp_path / "curated.toml"
    path.write_text("# nothing curated yet\n", encoding="utf-8")
    assert read_curated(path) == ([], [], set())


ENTRY = 'id = "cur:x"\nname = "X"\nkind = "city"\nlat = 1.0\nlon = 2.0\n'


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (ENTRY.replace('"city"', '"town"'), "field 'kind' is 'town'"),
        (ENTRY.replace("lat = 1.0", "lat = 91.0"), "91.0"),
        (ENTRY.replace("lat = 1.0", "lat = -90.5"), "-90.5"),
        (ENTRY.replace("lon = 2.0", "lon = 180.5"), "180.5"),
        (ENTRY.replace("lon = 2.0", "lon = -181"), "-181"),
        (ENTRY.replace("lat = 1.0", 'lat = "north"'), "north"),
        (ENTRY.replace('name = "X"\n', ""), "name"),
        (ENTRY.replace('id = "cur:x"\n', ""), "id"),
        (ENTRY + "population = inf\n", "population"),
        (ENTRY + "population = nan\n", "population"),
        (ENTRY + 'population = "many"\n', "population"),
        (ENTRY + "population = 1.5\n", "'population'"),
        (ENTRY + "population = -3\n", "'population'"),
        (ENTRY.replace('"X"', "7"), "'name'"),
        (ENTRY.replace("lat = 1.0", "lat = true"), "'lat'"),
        (ENTRY + "score = 3.0\n", "'score'"),
        (ENTRY + 'aliases = "Why"\n', "'aliases'"),
        (ENTRY + "aliases = [1, 2]\n", "'aliases'"),
        (ENTRY + "country = 12\n", "'country'"),
    ],
)
def test_read_curated_bad_entry(tmp_path, entry, problem):
    path = tmp_path / "curated.toml"
    path.write_text(f"[[place]]\n{ENTRY}\n[[place]]\n" + entry, encoding="utf-8")
    with pytest.raises(DataFileError, match=re.escape(str(path))) as info:
        read_curated(path)
    assert problem in str(info.value)
    assert "[[place]] entry 2" in str(info.value)  # the entry, counted from 1


def test_an_alias_of_an_unknown_id_names_file_entry_and_field(tmp_path):
    path = tmp_path / "curated.toml"
    path.write_text(
        '[[alias]]\nid = "gn:4"\nnames = ["Rason"]\n\n[[alias]]\nid = "gn:404"\nnames = ["X"]\n',
        encoding="utf-8",
    )
    with pytest.raises(DataFileError, match=re.escape(str(path))) as info:
        read_curated(path, {"gn:4"})
    message = str(info.value)
    assert "[[alias]] entry 2 (id 'gn:404')" in message
    assert "field 'id'" in message


def test_an_alias_may_name_a_curated_place(tmp_path):
    path = tmp_path / "curated.toml"
    path.write_text("[[place]]\n" + ENTRY + '[[alias]]\nid = "cur:x"\nnames = ["Ex"]\n')
    assert read_curated(path, set())[1] == [("Ex", "cur:x")]


def test_load_rejects_an_alias_of_an_unknown_id(tmp_path):
    data = make_data(tmp_path, '[[alias]]\nid = "gn:99"\nnames = ["Nowhere"]\n')
    with pytest.raises(DataFileError, match="gn:99"):
        gazetteer.load(data, cache_dir=tmp_path / "cache")


@pytest.mark.parametrize(
    "text",
    ["[[place]\nid = 1\n", 'name = "unterminated\n', "[[place]]\nid = 1\nid = 2\n"],
)
def test_invalid_toml_names_the_file(tmp_path, text):
    path = tmp_path / "curated.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError, match=re.escape(str(path))) as info:
        read_curated(path)
    assert "not valid TOML" in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        '[[alias]]\nnames = ["Rason"]\n',  # no id
        '[[alias]]\nid = "gn:4"\nnames = "Rason"\n',  # a string would index its letters
        '[[block]]\nid = "gn:1"\n',  # no name
        '[[block]]\nname = "Khasan"\n',  # no id
        'alias = ["Rason"]\n',  # not an array of tables
    ],
)
def test_bad_alias_or_block_names_the_file(tmp_path, text):
    path = tmp_path / "curated.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError, match=re.escape(str(path))):
        read_curated(path)


def test_non_utf8_curated_is_a_data_file_error(tmp_path):
    path = tmp_path / "curated.toml"
    path.write_bytes('[[alias]]\nid = "x"\nnames = ["Zürich"]\n'.encode("latin-1"))
    with pytest.raises(DataFileError, match=re.escape(str(path))):
        read_curated(path)


def write_tsv(path: Path, rows: list[list[str]]) -> None:
    with gzip.open(path, "wt", encoding="utf-8", newline="\n") as fh:
        fh.write("# header comment\n")
        fh.writelines("\t".join(r) + "\n" for r in rows)


def make_data(root: Path, curated: str = "") -> Path:
    """A tiny data folder: two Khasans (India, Russia), a river and a country."""
    gdir = root / "gazetteer"
    gdir.mkdir(parents=True)
    write_tsv(gdir / "places.tsv.gz", [
        ["gn:1", "city", "13.0", "76.1", "IN", "IN.19", "133436", "geonames", "Hassan"],
        ["gn:2", "city", "42.43", "130.64", "RU", "RU.59", "700", "geonames", "Khasan"],
        ["gn:3", "river", "42.42", "130.64", "", "", "", "naturalearth", "Tumen River"],
        ["gn:4", "country", "40.0", "127.0", "KP", "", "25549819", "naturalearth", "North Korea"],
    ])  # fmt: skip
    write_tsv(gdir / "aliases.tsv.gz", [
        ["Khasan", "gn:1"],
        ["Tumannaya River", "gn:3"],
        ["DPRK", "gn:4"],
        ["lonely"],  # short rows are skipped
    ])  # fmt: skip
    write_tsv(gdir / "shapes.tsv.gz", [["gn:3", "CN KP RU", "42.9,129.9;42.42,130.64"]])
    (gdir / "curated.toml").write_text(curated, encoding="utf-8")
    return root


def test_load_small_data_with_block_and_override(tmp_path):
    curated = """
[[block]]
name = "khasan"
id = "gn:1"

[[place]]
id = "gn:3"
name = "Tumen River"
kind = "river"
lat = 42.3
lon = 130.7
aliases = ["Duman River"]
"""
    gaz = gazetteer.load(make_data(tmp_path, curated))
    assert [p.id for p in gaz.candidates("Khasan")] == ["gn:2"]  # Hassan no longer matches
    assert gaz.lookup("Hassan").id == "gn:1"  # its own name is never blocked
    river = gaz.lookup("Duman River")
    assert (river.id, river.lat, river.source) == ("gn:3", 42.3, "curated")
    assert gaz.lookup("Tumannaya River").id == "gn:3"
    assert gaz.lookup("the DPRK").name == "North Korea"
    assert len(gaz) == 4


def test_without_block_the_alias_matches_both(tmp_path):
    gaz = gazetteer.load(make_data(tmp_path))
    assert [p.id for p in gaz.candidates("Khasan")] == ["gn:1", "gn:2"]  # bigger first


@pytest.mark.parametrize("missing", ["places.tsv.gz", "aliases.tsv.gz", "shapes.tsv.gz"])
def test_missing_data_file_is_a_data_file_error(tmp_path, missing):
    data = make_data(tmp_path)
    (data / "gazetteer" / missing).unlink()
    with pytest.raises(DataFileError, match=re.escape(missing)):
        gazetteer.load(data, cache_dir=tmp_path / "cache")
    assert not list(tmp_path.rglob("*.pickle"))


def test_missing_data_folder_is_a_data_file_error(tmp_path):
    with pytest.raises(DataFileError, match="missing"):
        gazetteer.load(tmp_path / "no-data")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"not gzip at all", "unreadable"),
        (gzip.compress(b"gn:1\tcity\tnorth\t1\tIN\t\t0\tx\tA\n"), "line 1"),
        (gzip.compress(b"gn:1\tcity\t1\t2\n"), "bad place row"),
        (
            gzip.compress("gn:1\tcity\t1\t2\tIN\t\t0\tx\tZ\xfcrich\n".encode("latin-1")),
            "unreadable",
        ),
        (gzip.compress(b"gn:1\tcity\t1\t2\tIN\t\t0\tx\tA\n")[:-6], "unreadable"),
    ],
)
def test_bad_places_file(tmp_path, content, problem):
    data = make_data(tmp_path)
    path = data / "gazetteer" / "places.tsv.gz"
    path.write_bytes(content)
    with pytest.raises(DataFileError, match=re.escape(str(path))) as info:
        gazetteer.load(data)
    assert problem in str(info.value)


def test_bad_curated_file_fails_the_load(tmp_path):
    data = make_data(tmp_path, "[[place]]\nid = 'x'\n")
    with pytest.raises(DataFileError, match=re.escape("curated.toml")):
        gazetteer.load(data, cache_dir=tmp_path / "cache")


# --------------------------------------------------------------------------- the cache


def forbid_build(monkeypatch) -> None:
    def boom(_data_dir: Path) -> Gazetteer:
        raise AssertionError("the index was rebuilt instead of read from the cache")

    monkeypatch.setattr(gazetteer, "_build", boom)


def test_second_load_uses_the_pickle(tmp_path, monkeypatch):
    data, cache = make_data(tmp_path / "d"), tmp_path / "cache"
    first = gazetteer.load(data, cache_dir=cache)
    (pickled,) = cache.glob("gazetteer-*.pickle")
    assert not list(cache.glob("*.tmp"))
    forbid_build(monkeypatch)
    second = gazetteer.load(data, cache_dir=cache)
    assert second.places() == first.places()
    assert second.lookup("DPRK").id == "gn:4"
    assert list(cache.glob("gazetteer-*.pickle")) == [pickled]


def test_editing_curated_invalidates_the_cache(tmp_path):
    data, cache = make_data(tmp_path / "d"), tmp_path / "cache"
    assert "Rason" not in gazetteer.load(data, cache_dir=cache)
    curated = data / "gazetteer" / "curated.toml"
    curated.write_text('[[alias]]\nid = "gn:4"\nnames = ["Rason"]\n', encoding="utf-8")
    gaz = gazetteer.load(data, cache_dir=cache)
    assert gaz.lookup("Rason").id == "gn:4"
    assert len(list(cache.glob("gazetteer-*.pickle"))) == 1  # the stale index is removed


def test_same_size_edit_invalidates_the_cache(tmp_path):
    data, cache = make_data(tmp_path / "d"), tmp_path / "cache"
    curated = data / "gazetteer" / "curated.toml"
    curated.write_text('[[alias]]\nid = "gn:4"\nnames = ["Aaaaa"]\n', encoding="utf-8")
    assert "Aaaaa" in gazetteer.load(data, cache_dir=cache)
    before = curated.stat().st_mtime_ns
    curated.write_text('[[alias]]\nid = "gn:4"\nnames = ["Bbbbb"]\n', encoding="utf-8")
    os.utime(curated, ns=(before + 10**9, before + 10**9))
    gaz = gazetteer.load(data, cache_dir=cache)
    assert "Bbbbb" in gaz
    assert "Aaaaa" not in gaz


def test_missing_curated_file_fails_the_load_naming_it(tmp_path):
    data, cache = make_data(tmp_path / "d"), tmp_path / "cache"
    curated = data / "gazetteer" / "curated.toml"
    curated.unlink()
    with pytest.raises(DataFileError, match=re.escape(str(curated))):
        gazetteer.load(data, cache_dir=cache)
    curated.write_text('[[alias]]\nid = "gn:4"\nnames = ["Rason"]\n', encoding="utf-8")
    assert "Rason" in gazetteer.load(data, cache_dir=cache)


def stale_module_pickle(gaz: Gazetteer) -> bytes:
    """A pickle of a class whose module no longer exists (a cache from an older layout)."""
    data = pickle.dumps(gaz)
    assert b"geo.gazetteer" in data
    return data.replace(b"geo.gazetteer", b"geo.gazetteeq")  # same length: a valid pickle


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda gaz: b"",
        lambda gaz: b"garbage",
        lambda gaz: pickle.dumps(gaz)[:50],
        lambda gaz: pickle.dumps({"not": "a gazetteer"}),
        lambda gaz: pickle.dumps(gaz).replace(b"Gazetteer", b"Gazetteex"),
        stale_module_pickle,
        lambda gaz: b"\x80\x63.",  # ValueError: unsupported pickle protocol
        lambda gaz: b"\x80\x04K\x01.",  # a valid pickle of an int
        lambda gaz: pickle.dumps(gaz)[:-1000],
        lambda gaz: bytes(range(256)) * 4,
        lambda gaz: pickle.dumps(gaz)[:20] + b"\xff" * 200,
    ],
    ids=[
        "empty",
        "garbage",
        "truncated",
        "foreign",
        "renamed-class",
        "renamed-module",
        "bad-protocol",
        "an-int",
        "truncated-late",
        "binary-noise",
        "overwritten",
    ],
)
def test_corrupt_cache_is_rebuilt(tmp_path, corrupt):
    data, cache = make_data(tmp_path / "d"), tmp_path / "cache"
    good = gazetteer.load(data, cache_dir=cache)
    (pickled,) = cache.glob("gazetteer-*.pickle")
    pickled.write_bytes(corrupt(good))
    with pytest.warns(RuntimeWarning, match="rebuilding"):
        again = gazetteer.load(data, cache_dir=cache)
    assert again.places() == good.places()
    with pickled.open("rb") as fh:  # and the cache is repaired
        assert isinstance(pickle.load(fh), Gazetteer)


def test_unwritable_cache_still_loads(tmp_path):
    data = make_data(tmp_path / "d")
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x", encoding="utf-8")
    gaz = gazetteer.load(data, cache_dir=not_a_dir / "cache")
    assert gaz.lookup("DPRK").id == "gn:4"


# --------------------------------------------------------------------------- the real gazetteer


def test_real_cache_file_is_written(real, cache_dir):
    assert len(real) > 100_000
    assert list(cache_dir.glob("gazetteer-*.pickle"))
    assert not list(cache_dir.glob("*.tmp"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Tumannaya River", "Tumen River"),
        ("Tumen River", "Tumen River"),
        ("the Tumen River", "Tumen River"),
        ("DPRK", "North Korea"),
        ("the US", "United States"),
        ("U.S.", "United States"),
        ("America", "United States"),
        ("Kiev", "Kyiv"),
        ("Kyiv", "Kyiv"),
        ("Ranjin", "Rajin"),
        ("Vladivostok", "Vladivostok"),
        ("Pyongyang", "Pyongyang"),
        ("Holland", "The Netherlands"),
    ],
)
def test_real_lookup(real, name, expected):
    assert real.lookup(name).name == expected


def test_tumen_names_share_one_id(real):
    assert real.lookup("Tumannaya River").id == real.lookup("Tumen River").id


def test_ranjin_is_rajin(real):
    rajin = real.lookup("Ranjin")
    assert rajin.id == real.lookup("Rajin").id
    assert rajin.country == "KP"
    assert rajin.lat == pytest.approx(42.25, abs=0.05)
    assert rajin.lon == pytest.approx(130.3, abs=0.05)


def test_countries(real):
    kp = real.lookup("DPRK")
    assert (kp.kind, kp.country) == ("country", "KP")
    us = real.lookup("the US")
    assert (us.kind, us.country) == ("country", "US")
    assert us.id == real.lookup("America").id == real.lookup("United States").id
    assert 24 < us.lat < 50 and -125 < us.lon < -66  # inside the contiguous US, lon negative


def test_kiev_is_the_ukrainian_capital(real):
    kyiv = real.lookup("Kiev")
    assert kyiv.country == "UA"
    assert kyiv.lat == pytest.approx(50.45, abs=0.1)
    assert kyiv.lon == pytest.approx(30.52, abs=0.1)


def test_kursk_region_is_a_russian_admin1(real):
    kursk = real.lookup("Kursk region")
    assert (kursk.kind, kursk.country) == ("admin1", "RU")


def test_khasan_is_the_russian_border_settlement(real):
    khasan = real.lookup("Khasan")
    assert khasan.country == "RU"
    assert khasan.source == "curated"
    assert khasan.lon == pytest.approx(130.64, abs=0.1)
    assert all(p.country != "IN" for p in real.candidates("Khasan"))


@pytest.mark.parametrize(
    ("name", "kind", "lat", "lon"),
    [
        ("Bering Strait", "strait", 65.75, -168.95),
        ("Tsushima Strait", "strait", 34.0, 129.75),
        ("Vostochny Cosmodrome", "facility", 51.88, 128.33),
        ("Western Pacific", "ocean", 15.0, 145.0),
    ],
)
def test_curated_places_exist_with_their_kind(real, name, kind, lat, lon):
    found = real.lookup(name)
    assert (found.name, found.kind) == (name, kind)
    assert (found.lat, found.lon) == pytest.approx((lat, lon), abs=0.5)


@pytest.mark.parametrize(
    ("name", "code"),
    [("England", "GB.ENG"), ("Scotland", "GB.SCT"), ("Wales", "GB.WLS"),
     ("Northern Ireland", "GB.NIR")],
)  # fmt: skip
def test_constituent_countries_are_admin1_with_geonames_codes(real, name, code):
    top = real.lookup(name)
    assert (top.name, top.kind, top.country, top.admin1) == (name, "admin1", "GB", code)
    assert real.lookup("Cardiff").admin1 == "GB.WLS"  # the code cities carry


@pytest.mark.parametrize(
    ("name", "country"),
    [("Cardiff", "GB"), ("Santiago", "CL"), ("Prague", "CZ"), ("Tripoli", "LY")],
)
def test_natural_earth_ranks_go_to_the_right_namesake(real, name, country):
    # Natural Earth gives some of these a namesake's GeoNames id, or none.
    assert real.lookup(name).country == country


def test_crimea_follows_its_iso_and_geonames_codes(real):
    crimea = [p for p in real.candidates("Crimea") if p.kind == "admin1"]
    assert [(p.country, p.admin1) for p in crimea] == [("UA", "UA.11")]
    # ... and so do the port and the peaks in it (Natural Earth's polygon says RU)
    assert {p.country for p in real.candidates("Sevastopol") if p.kind == "port"} == {"UA"}


def test_ports_and_islands_carry_their_country(real):
    # Assigned at build time by the Natural Earth country polygon holding the point.
    assert {p.country for p in real.candidates("Rotterdam") if p.kind == "port"} == {"NL"}
    assert {p.country for p in real.candidates("Hokkaido") if p.kind == "island"} == {"JP"}


def test_real_records_are_valid(real):
    bad = [
        p.id
        for p in real.places()
        if p.kind not in KINDS or not (-90 <= p.lat <= 90 and -180 <= p.lon <= 180)
    ]
    assert bad == []


def test_blocked_pairs_are_never_indexed_own_name_or_alias() -> None:
    places = [
        Place("x:1", "Koréa", "city", 5.0, -4.0, "CI", population=3000),
        Place("x:2", "Korean Peninsula", "peninsula", 38.0, 127.5),
    ]
    gaz = Gazetteer(places, [("Korea", "x:2"), ("Chosen", "x:2")], blocked={"korea\tx:1"})
    assert [p.id for p in gaz.candidates("Korea")] == ["x:2"]
    gaz = Gazetteer(places, [("Korea", "x:2")], blocked={"korea\tx:2"})
    assert [p.id for p in gaz.candidates("Korea")] == ["x:1"]


def test_a_nickname_is_another_name_sharing_no_word_and_no_respelling() -> None:
    gn = {"source": "geonames"}
    places = [
        Place("sg", "Singapore", "city", 1.29, 103.85, "SG", population=5_600_000, **gn),
        Place("kv", "Kyiv", "city", 50.45, 30.52, "UA", population=2_900_000, **gn),
        Place("gc", "Garden City", "city", 40.7, -73.6, "US", population=22_000, **gn),
        Place("ch", "Chopinzinho", "city", -25.9, -52.5, "BR", population=20_000, **gn),
        Place("at", "Atlantic Ocean", "ocean", 30.0, -40.0, "", source="naturalearth"),
    ]
    aliases = [("Garden City", "sg"), ("Kiev", "kv"), ("Chopin", "ch"), ("Atlantic", "at")]
    gaz = Gazetteer(places, aliases)
    sg, kv, gc, ch, at = places
    assert gaz.is_nickname("Garden City", sg) and gaz.is_nickname("Chopin", ch)
    assert not gaz.is_nickname("Garden City", gc)  # its own name
    assert not gaz.is_nickname("Kiev", kv)  # a respelling
    assert not gaz.is_nickname("Atlantic", at)  # shares a word (and is no GeoNames name)


# --------------------------------------------------------------------------- issue 12 data


@pytest.mark.parametrize(
    ("name", "state"),
    [("Laurel County", "US.KY"), ("Orleans Parish", "US.LA"), ("Anderson County", "US.SC")],
)
def test_us_counties_parishes_are_regions_of_their_state(real, name, state):
    found = [p for p in real.candidates(name, limit=10) if p.kind == "region"]
    assert any(p.admin1 == state and p.country == "US" for p in found)


def test_a_bare_county_name_is_not_a_county(real):
    assert all(p.kind != "region" for p in real.candidates("Laurel", limit=25))


@pytest.mark.parametrize(
    ("name", "lat", "lon"),
    [
        ("Heathrow", 51.47, -0.46),
        ("Gatwick", 51.15, -0.19),
        ("London Heathrow Airport", 51.47, -0.46),
    ],
)
def test_major_airports_by_name(real, name, lat, lon):
    top = real.lookup(name)
    assert top.kind == "facility"
    assert (round(top.lat, 1), round(top.lon, 1)) == (round(lat, 1), round(lon, 1))


def test_airport_codes_and_person_named_airports_are_not_names(real):
    assert "LHR" not in real and "JFK" not in real
    kennedy = real.candidates("Kennedy", limit=25)
    assert all(p.kind != "facility" for p in kennedy)  # John F Kennedy International Airport
    assert real.lookup("Bonn").kind == "city"  # not Cologne Bonn Airport


@pytest.mark.parametrize(
    ("name", "country", "admin1"),
    [
        ("Andalusia", "ES", "ES.51"),  # GeoNames' English name
        ("Andalucía", "ES", "ES.51"),  # Natural Earth's region name, no longer one province's
        ("Catalonia", "ES", "ES.56"),
        ("Lombardy", "IT", "IT.09"),
        ("Tuscany", "IT", "IT.16"),
        ("Flanders", "BE", "BE.VLG"),
        ("Leinster", "IE", "IE.L"),
        ("Occitanie", "FR", "FR.76"),  # not the department whose code reads the same
    ],
)
def test_regions_natural_earth_records_only_through_their_provinces(real, name, country, admin1):
    top = real.lookup(name)
    assert (top.kind, top.country, top.admin1) == ("admin1", country, admin1)


def test_regions_of_several_units_inside_an_admin1_unit(real):
    """England is a record already: the regions Natural Earth names inside it are regions
    of their own, not another name of one of their units; a bare direction is none."""
    for name in ("West Midlands", "Greater London", "East Midlands"):
        top = real.lookup(name)
        assert (top.kind, top.country, top.admin1) == ("region", "GB", "GB.ENG")
    assert not any(p.kind == "region" and p.country == "GB" for p in real.candidates("East"))


def test_a_grouped_region_shares_its_code_with_its_towns(real):
    """So that "Seville, Andalusia" qualifies like "Austin, Texas"."""
    assert real.lookup("Seville").admin1 == real.lookup("Andalusia").admin1
    assert real.lookup("Milan").admin1 == real.lookup("Lombardy").admin1
    region, town = real.lookup("Tuscany"), real.lookup("Florence")
    assert abs(region.lat - town.lat) < 1.5 and abs(region.lon - town.lon) < 1.5


def test_a_region_named_after_a_broad_region_or_its_seat_stays_below_it(real):
    assert real.lookup("Sahel").kind == "region"  # not Burkina Faso's Sahel region
    assert real.lookup("Pristina").kind == "city"  # not Kosovo's district of Pristina
    assert not any(p.kind == "admin1" for p in real.candidates("South", limit=40)
                   if p.country == "US")  # census regions are no GeoNames unit  # fmt: skip


@pytest.mark.parametrize("name", ["Rockies", "Urals", "Carpathians", "Appalachians"])
def test_a_range_by_the_plural_the_news_uses(real, name):
    assert real.lookup(name).kind == "mountain"


def test_a_demonym_is_no_range(real):
    assert "Scandinavians" not in real  # the Scandinavian Mountains' people, not the range


def test_korean_romanisations_share_one_record(real):
    ids = {real.lookup(n).id for n in ("Nampho", "Nampo", "Namp'o")}
    assert len(ids) == 1


def test_port_forms_find_the_port_town_in_the_recognizer_only(real):
    assert real.has_key("port of rason", variants=True)
    assert real.has_key("rason port", variants=True)
    assert not real.has_key("rason port")
    assert real.lookup("Port of Rason").country == "KP"
    assert not real.has_key("port of nowhereville", variants=True)


def test_hyphen_and_space_spellings_are_one_name(tmp_path):
    gaz = Gazetteer([place("a:1", "Asia-Pacific", "region"), place("a:2", "Ra-son")])
    assert gaz.lookup("Asia Pacific").id == "a:1"
    assert gaz.lookup("Rason").id == "a:2"


def test_a_river_has_its_line_and_countries(real):
    river = next(p for p in real.candidates("Ussuri River") if p.kind == "river")
    assert set(real.countries_of(river)) == {"CN", "RU"}
    line = real.line(river.id)
    assert len(line) > 10
    assert all(42 < lat < 49 and 130 < lon < 136 for lat, lon in line)
    city = real.lookup("Vladivostok")
    assert real.line(city.id) == ()
    assert real.countries_of(city) == ("RU",)


@pytest.mark.parametrize(
    ("name", "kind", "country"),
    [
        ("Bono Region", "admin1", "GH"),  # created in 2019
        ("Bono region", "admin1", "GH"),
        ("Demilitarized Zone", "region", ""),
        ("DMZ", "region", ""),
        ("Rafah crossing", "facility", "PS"),
        ("Prirazlomnaya platform", "facility", "RU"),
    ],
)
def test_curated_names_readers_use(real, name, kind, country):
    top = real.lookup(name)
    assert (top.kind, top.country, top.source) == (kind, country, "curated")


def test_every_curated_place_names_its_source():
    import tomllib

    data = tomllib.loads((DATA / "gazetteer" / "curated.toml").read_text(encoding="utf-8"))
    assert all(p.get("source") for p in data["place"])


def test_from_rows_is_the_constructor_without_place_objects():
    places = [place("a:1", "Ra-son", population=2000), place("a:2", "Rason", "admin1")]
    rows = [(p.id, p.name, p.kind, p.lat, p.lon, p.country, p.admin1, p.population, p.source,
             p.score, "") for p in places]  # fmt: skip
    aliases = [("Najin", "a:1"), ("Calif.", "a:2"), ("Nowhere", "a:404")]
    fast = Gazetteer.from_rows(rows, aliases, {"rason\ta:2"})
    slow = Gazetteer(places, aliases, {"rason\ta:2"})
    assert rows == []  # consumed
    assert fast.places() == slow.places()
    assert (
        [p.id for p in fast.candidates("Rason")]
        == ["a:1"]
        == [p.id for p in slow.candidates("Rason")]
    )
    assert fast.abbreviation("calif") and fast.lookup("Najin").id == "a:1"


def test_the_keys_in_the_data_files_are_normalize_of_the_names():
    """The build script stores a name's key where it is not the lower-case name; a change to
    normalize() needs the data files rebuilt, and this says so."""
    gdir = DATA / "gazetteer"
    assert gazetteer._has_keys(gdir / "places.tsv.gz")
    for f in gazetteer._read_tsv(gdir / "places.tsv.gz"):
        key = f[10] if len(f) > 10 and f[10] else f[8].lower()
        assert key == normalize(f[8]), f
    for name, _pid, key in gazetteer.read_aliases_keyed(gdir / "aliases.tsv.gz"):
        assert key == normalize(name), name


def test_a_file_without_a_key_column_has_its_names_folded(tmp_path):
    gaz = gazetteer.load(make_data(tmp_path))  # no key column in these files
    assert gaz.lookup("the DPRK").id == "gn:4"
    assert not gazetteer._has_keys(tmp_path / "gazetteer" / "places.tsv.gz")


def test_a_given_key_is_used_as_is(tmp_path):
    data = make_data(tmp_path)
    gdir = data / "gazetteer"
    with gzip.open(gdir / "aliases.tsv.gz", "wt", encoding="utf-8") as fh:
        fh.write("# name\tid\tkey\nTumen-ula\tgn:3\ttumen ula\nDuman\tgn:3\n")
    gaz = gazetteer.load(data)
    assert gaz.lookup("Tumen ula").id == "gn:3"  # the key as written
    assert "Tumen-ula" not in gaz  # the name itself was not folded
    assert gaz.lookup("duman").id == "gn:3"  # no key written: the lower-case name


def test_an_abbreviated_first_word_finds_the_spelled_out_name() -> None:
    gaz = Gazetteer(
        [
            Place("mj", "Mount Juliet", "city", 36.2, -86.52, "US", population=37_000),
            Place("fm", "Fort Myers", "city", 26.62, -81.84, "US", population=86_000),
            Place("sp", "Saint Patrick", "admin1", 12.2, -61.6, "GD"),
        ]
    )
    assert [p.id for p in gaz.candidates("Mt. Juliet")] == ["mj"]
    assert [p.id for p in gaz.candidates("Ft Myers")] == ["fm"]
    assert gaz.has_key("mt juliet", variants=True) and not gaz.has_key("mt myers", variants=True)
    assert not gaz.has_key("mt juliet")  # another form only after a capitalised word
    assert gaz.candidates("St Patrick") == []  # saints name churches and people, not towns


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Florida Straits", "fs"),  # the record is "Florida Strait"
        ("Straits of Florida", "fs"),
        ("Strait of Taiwan", "ts"),
        ("Japan Sea", "sj"),
        ("Riga Gulf", "gr"),
    ],
)
def test_a_water_body_is_found_by_its_other_word_order(name: str, expected: str) -> None:
    gaz = Gazetteer(
        [
            Place("fs", "Florida Strait", "strait", 24.0, -81.0, ""),
            Place("ts", "Taiwan Strait", "strait", 24.0, 119.5, ""),
            Place("sj", "Sea of Japan", "sea", 40.0, 135.0, ""),
            Place("gr", "Gulf of Riga", "bay", 57.5, 23.5, ""),
        ]
    )
    assert [p.id for p in gaz.candidates(name)] == [expected]
    assert gaz.has_key(normalize(name), variants=True)
    assert not gaz.has_key(normalize(name))  # a variant only after a capitalised word


@pytest.mark.parametrize(
    "name", ["Deir al-Balah", "Deir el Balah", "Deir al Balah", "Deir el-Balah"]
)
def test_the_arabic_article_inside_a_name_has_its_other_spellings(name: str) -> None:
    gaz = Gazetteer(
        [Place("db", "Dayr al Balah", "city", 31.42, 34.35, "PS")], [("Deir el-Balah", "db")]
    )
    assert [p.id for p in gaz.candidates(name)] == ["db"]
    assert gaz.has_key(normalize(name), variants=True)
