"""The analyst's changes on a real (copied) seed atlas: add articles, correct, undo; each
all or nothing, under the write lock."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from analyst_data import (
    LESOZAVODSK,
    USSURI,
    USSURI_RIVER,
    drawn,
    mention,
    own_copy,
    runner_up,
    ussuri_places,
)
from conftest import AtlasData

from geo import build, corrections, edits, layers, store
from geo._lock import AtlasBusy, writer_lock
from geo.errors import BadInput, DataFileError, UnknownPlace

NEW_TEXT = (
    "Grain barges wait at Khabarovsk.\n\nOfficials in Blagoveshchensk said the bridge to "
    "Heihe will reopen, and trucks from Birobidzhan are queueing again.\n"
)


@pytest.fixture
def own(atlas: AtlasData, tmp_path: Path) -> AtlasData:
    return own_copy(atlas, tmp_path)


def places_layer(data: AtlasData) -> dict[str, dict[str, object]]:
    text = (data.layers_dir / "places.geojson").read_text(encoding="utf-8")
    return {f["properties"]["place_id"]: f["properties"] for f in json.loads(text)["features"]}


def folder_state(data: AtlasData) -> dict[str, bytes]:
    seeds = {p.name: p.read_bytes() for p in data.cfg.seeds_dir.iterdir()}
    path = corrections.corrections_path(data.cfg.data_dir)
    return {**seeds, "corrections": path.read_bytes() if path.exists() else b""}


# -- corrections ------------------------------------------------------------------------------


def test_correcting_ussuri_to_the_river_changes_the_layers_and_undo_restores(own):
    assert mention(own, *USSURI).place_id == drawn()
    before = places_layer(own)
    saved, report = edits.correct(own.cfg, edits.Fix(*USSURI, place_id=runner_up(), note="river"))
    assert report.parsed == 0, "a correction parses nothing"
    m = mention(own, *USSURI)
    assert (m.place_id, m.parsed_place_id, m.correction) == (runner_up(), drawn(), saved.id)
    after = places_layer(own)
    assert (
        after[runner_up()]["corrected"] is True
        and after[runner_up()]["kind"] == ussuri_places()[1].kind
    )
    assert drawn() not in after and drawn() in before
    assert corrections.load(corrections.corrections_path(own.cfg.data_dir)) == [saved]
    gone, _ = edits.undo(own.cfg, saved.id)
    assert gone == saved
    assert mention(own, *USSURI).place_id == drawn()
    assert places_layer(own) == before
    assert corrections.load(corrections.corrections_path(own.cfg.data_dir)) == []


def test_a_place_given_by_hand_and_not_a_place(own):
    fix = edits.Fix(*USSURI, at=(45.1, 133.9), name="Ussuri valley", kind="region")
    saved, _ = edits.correct(own.cfg, fix)
    assert saved.place_id == "user:ussuri-valley"
    with store.Store(own.store) as st:
        assert st.place("user:ussuri-valley").source == "user"
    assert places_layer(own)["user:ussuri-valley"]["name"] == "Ussuri valley"
    edits.undo(own.cfg, saved.id)
    edits.correct(own.cfg, edits.Fix(*USSURI))  # not a place
    assert mention(own, *USSURI).place_id is None
    assert drawn() not in places_layer(own)


def test_article_scope_corrects_every_mention_of_the_words_in_the_article(own):
    with store.Store(own.store) as st:
        pyongyang = [m for m in st.mentions("001") if m.text == "Pyongyang"]
    assert len(pyongyang) > 2
    first = pyongyang[0]
    fix = edits.Fix("001", first.start, first.end, place_id=USSURI_RIVER, scope="article")
    edits.correct(own.cfg, fix)
    with store.Store(own.store) as st:
        assert {m.place_id for m in st.mentions("001") if m.text == "Pyongyang"} == {USSURI_RIVER}
        assert {m.place_id for m in st.mentions("002") if m.text == "Pyongyang"} != {USSURI_RIVER}


@pytest.mark.parametrize(
    "fix, error, words",
    [(edits.Fix("999", 0, 3, place_id=USSURI_RIVER), BadInput, "no article '999'"),
     (edits.Fix("004", 3576, 99_999, place_id=USSURI_RIVER), BadInput, r"3576\.\.99999"),
     (edits.Fix(*USSURI, place_id="gn:nope"), UnknownPlace, "'gn:nope'"),
     (edits.Fix(*USSURI, place_id="user:nope"), UnknownPlace, "'user:nope'"),
     (edits.Fix(*USSURI, at=(91.0, 0.0), name="X"), BadInput, "latitude 91.0"),
     (edits.Fix(*USSURI, place_id=USSURI_RIVER, scope="planet"), BadInput, "'planet'")],
)  # fmt: skip
def test_a_bad_correction_changes_nothing(own, fix, error, words):
    before = folder_state(own)
    with pytest.raises(error, match=words):
        edits.correct(own.cfg, fix)
    assert folder_state(own) == before
    with store.Store(own.store) as st:
        assert st.build_id() == 1


def test_a_failed_build_puts_the_corrections_file_back(own, monkeypatch):
    edits.correct(own.cfg, edits.Fix(*USSURI, place_id=USSURI_RIVER))
    before = folder_state(own)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(layers, "publish_store", full_disk)
    with pytest.raises(OSError, match="No space"):
        edits.correct(own.cfg, edits.Fix(*USSURI))
    assert folder_state(own) == before


def test_a_correction_that_no_longer_matches_is_reported_by_every_build(own):
    saved, _ = edits.correct(own.cfg, edits.Fix(*USSURI, place_id=USSURI_RIVER))
    path = next(own.cfg.seeds_dir.glob("004_*.txt"))
    path.write_text(path.read_text(encoding="utf-8").replace("Ussuri", "Amur"), encoding="utf-8")
    report = build.build(own.cfg)
    assert f"correction {saved.id!r}: article '004' has 'Amur i' at 3576..3582" in report.warning
    assert build.build(own.cfg).warning == report.warning, "reported again, not forgotten"
    assert corrections.load(corrections.corrections_path(own.cfg.data_dir)) == [saved]


def test_a_bad_corrections_file_stops_the_build_with_its_name(own):
    corrections.corrections_path(own.cfg.data_dir).write_text("[[correction]]\nid = 1\n")
    with pytest.raises(DataFileError, match=r"corrections\.toml' correction #1: field 'id'"):
        build.build(own.cfg)


def test_a_second_writer_gets_atlas_busy_naming_the_holder(own):
    fix = edits.Fix(*USSURI, place_id=USSURI_RIVER)
    with writer_lock(own.cfg.data_dir, "a build"), pytest.raises(AtlasBusy, match=r"a build \(pid"):
        edits.correct(own.cfg, fix, wait=False)
    assert not corrections.corrections_path(own.cfg.data_dir).exists()


# -- adding articles --------------------------------------------------------------------------


def test_an_added_article_is_saved_under_a_new_id_and_is_on_the_map(own):
    before = set(places_layer(own))
    meta = {"title": 'Barges "on" the Amur', "outlet": "Amur Daily", "date": "2024-05-02",
            "url": "https://example.org/a?b=1"}  # fmt: skip
    ids, report = edits.add_articles(own.cfg, [("../../etc/passwd.md", NEW_TEXT.encode())], meta)
    assert ids == ["005"] and report.parsed == 1
    (saved,) = own.cfg.seeds_dir.glob("005_*.txt")
    assert saved.read_text(encoding="utf-8") == NEW_TEXT and saved.parent == own.cfg.seeds_dir
    meta_text = (own.cfg.seeds_dir / "articles.toml").read_text(encoding="utf-8")
    assert meta_text.startswith("# Metadata of the seed articles"), "comments are kept"
    with store.Store(own.store) as st:
        art = st.article("005")
    assert (art.title, art.outlet, art.date, art.url) == (
        'Barges "on" the Amur', "Amur Daily", "2024-05-02", "https://example.org/a?b=1",
    )  # fmt: skip
    added = {v["name"] for k, v in places_layer(own).items() if k not in before}
    assert {"Khabarovsk", "Blagoveshchensk", "Heihe", "Birobidzhan"} <= added


def test_several_articles_get_consecutive_ids_and_never_overwrite(own):
    (own.cfg.seeds_dir / "007_x.txt").write_text("Ships wait at Nakhodka.\n", encoding="utf-8")
    files = [("a.txt", b"Ships at Rajin.\n"), ("b.md", b"# Note\n\nTrains at Khasan.\n")]
    ids, _ = edits.add_articles(own.cfg, files, {"date": "2024", "date_approximate": True})
    assert ids == ["008", "009"]
    with store.Store(own.store) as st:
        assert st.article("009").title == "Note" and st.article("008").date == "2024"
        assert st.article("008").title == "Ships at Rajin."


@pytest.mark.parametrize(
    "files, meta, words",
    [([("big.txt", b"x" * 2_000_001)], {}, r"'big\.txt' is 2\.0 MB; .* at most 2 MB"),
     ([("ok.txt", b"Rajin.\n"), ("latin1.txt", "Caf\xe9".encode("latin-1"))], {},
      r"'latin1\.txt' is not UTF-8 text \(byte 3\)"),
     ([("nul.txt", b"\x00\x00\n")], {}, r"'nul\.txt' is empty"),
     ([("bin.txt", b"Rajin\x00port")], {}, r"'bin\.txt' holds NUL"),
     ([("blank.md", b"  \n\t\n")], {}, r"'blank\.md' is empty"),
     ([], {}, "no article to add"),
     ([("ok.txt", b"Rajin.\n")], {"date": "2024-05"}, r"date '2024-05' is not YYYY-MM-DD"),
     ([("ok.txt", b"Rajin.\n")], {"date": "May 2024", "date_approximate": True}, "May 2024"),
     ([("ok.txt", b"Rajin.\n")], {"url": "javascript:alert(1)"}, "not an http"),
     ([("ok.txt", b"Rajin.\n")], {"title": "two\nlines"}, "must be one line")],
)  # fmt: skip
def test_bad_input_adds_nothing(own, files, meta, words):
    before = folder_state(own)
    with pytest.raises(BadInput, match=words):
        edits.add_articles(own.cfg, files, meta)
    assert folder_state(own) == before


def test_the_size_limit_is_a_setting(own):
    cfg = dataclasses.replace(own.cfg, max_upload_mb=0.00001)
    with pytest.raises(BadInput, match="at most 1e-05 MB"):
        edits.add_articles(cfg, [("a.txt", b"Ships at Rajin, a long way.\n")], {})


def test_a_failed_build_takes_the_added_articles_back(own, monkeypatch):
    before = folder_state(own)

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(layers, "publish_store", broken)
    with pytest.raises(OSError, match="No space"):
        edits.add_articles(own.cfg, [("a.txt", NEW_TEXT.encode())], {"title": "x"})
    assert folder_state(own) == before
    assert not list(own.cfg.seeds_dir.glob(".*.tmp"))


def test_find_places_searches_the_whole_gazetteer(own):
    from geo import gazetteer

    gaz = gazetteer.load(own.cfg.data_dir, cache_dir=own.cfg.cache_dir)
    found = edits.find_places(gaz, "ussuri")
    assert {LESOZAVODSK, USSURI_RIVER} <= {p.id for p in found}
    assert any(p.name.startswith("Ussuriysk") for p in found)
    assert edits.find_places(gaz, "  ") == []


def test_the_dashboard_tables_and_downloads_say_what_was_corrected(own):
    from geo import dashboard

    edits.correct(own.cfg, edits.Fix(*USSURI, place_id=runner_up()))
    lay = dashboard.load_layers(own.store)
    table = dashboard.places_table(lay.places)
    fixed = table[table["corrected"]]
    assert list(fixed["name"]) == ["Ussuri"] and fixed.iloc[0]["kind"] == "river"
    csv = dashboard.to_csv(table).splitlines()
    assert csv[0].endswith(",corrected") and any(r.startswith("Ussuri,river") for r in csv)
    geo = json.loads(dashboard.to_geojson(lay.places))
    flags = {f["properties"]["name"]: f["properties"]["corrected"] for f in geo["features"]}
    assert flags["Ussuri"] is True and flags["Vladivostok"] is False
    panel = dashboard.place_panel(lay, runner_up(), articles=["004"])
    assert panel.passages == 1 and panel.contexts[0].article_id == "004"


def test_a_text_already_in_the_corpus_or_given_twice_is_refused(own):
    seed = next(own.cfg.seeds_dir.glob("002_*.txt")).read_bytes()
    before = folder_state(own)
    with pytest.raises(BadInput, match=r"'again\.txt' is already in the corpus as article '002'"):
        edits.add_articles(own.cfg, [("again.txt", b"\n" + seed + b"\n")], {})
    with pytest.raises(BadInput, match=r"'b\.txt' is already in the corpus as 'a\.txt'"):
        edits.add_articles(own.cfg, [("a.txt", b"Rajin.\n"), ("b.txt", b"Rajin.")], {})
    assert folder_state(own) == before


def test_the_same_correction_twice_is_saved_once(own):
    fix = edits.Fix(*USSURI, place_id=USSURI_RIVER)
    first, _ = edits.correct(own.cfg, fix)
    second, _ = edits.correct(own.cfg, fix)
    assert second == first
    assert corrections.load(corrections.corrections_path(own.cfg.data_dir)) == [first]


def test_corrections_are_kept_across_a_re_parse(own, monkeypatch):
    saved, _ = edits.correct(own.cfg, edits.Fix(*USSURI, place_id=runner_up()))
    monkeypatch.setattr(build, "version_key", lambda *a, **k: "a-new-parser")
    report = build.build(own.cfg)
    assert report.parsed == 5, "every article parsed again"
    m = mention(own, *USSURI)
    assert (m.place_id, m.parsed_place_id, m.correction) == (runner_up(), drawn(), saved.id)
    assert places_layer(own)[runner_up()]["corrected"] is True


def test_a_server_can_add_with_its_loaded_parser(own):
    from geo.parser import load_parser

    parser = load_parser(own.cfg.data_dir, cache_dir=own.cfg.cache_dir)
    ids, report = edits.add_articles(own.cfg, [("a.txt", NEW_TEXT.encode())], {}, parser=parser)
    assert report.parsed == 1
    with store.Store(own.store) as st:
        assert {m.text for m in st.mentions(ids[0]) if m.place_id} >= {"Khabarovsk", "Heihe"}


def test_a_correction_loads_no_parser(own, monkeypatch):
    def no_parser(*args, **kwargs):
        raise AssertionError("a build with nothing to parse loaded the parser")

    monkeypatch.setattr(build, "load_parser", no_parser)
    saved, report = edits.correct(own.cfg, edits.Fix(*USSURI, at=(45.0, 134.0), name="Camp"))
    assert report.parsed == 0 and mention(own, *USSURI).place_id == saved.place_id
    edits.undo(own.cfg, saved.id)
    assert build.build(own.cfg).parsed == 0
