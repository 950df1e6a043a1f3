"""The atlas store (geo.store): records out of the real seed atlas, paging, errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import AtlasData

from geo import store
from geo.errors import DataFileError
from geo.model import Excerpt, Place


@pytest.fixture(scope="module")
def st(atlas: AtlasData):
    with store.Store(atlas.store) as opened:
        yield opened


def _id(st: store.Store, name: str) -> str:
    table = st.place_table()
    return str(table.loc[table["name"] == name, "place_id"].iloc[0])


def test_articles_and_passages_slice_the_text(st: store.Store) -> None:
    assert [a.id for a in st.articles()] == ["000", "001", "002", "003", "004"]
    assert all(a.text == "" for a in st.articles()), "metadata only unless asked"
    art = st.article("002")
    assert art is not None and art.title == "Kim's armoured train heads for Vladivostok"
    for p in st.passages("002"):
        assert art.text[p.start : p.end] == p.text
    assert st.article("nope") is None


def test_mentions_are_typed_records_in_text_order(st: store.Store) -> None:
    mentions = st.mentions("002")
    assert mentions == sorted(mentions, key=lambda m: m.start)
    art = st.article("002")
    assert art is not None
    for m in mentions:
        assert art.text[m.start : m.end] == m.text
        assert m.passage_start <= m.start < m.end <= m.passage_end
        assert isinstance(m.candidates, tuple)
        assert m.place_id is None or m.parsed_place_id == m.place_id


def test_excerpts_page_through_a_place_with_every_span_marked(st: store.Store) -> None:
    vlad = _id(st, "Vladivostok")
    total = st.count_passages(vlad)
    first, rest = st.excerpts(vlad, limit=2), st.excerpts(vlad, offset=2, limit=100)
    assert len(first) == 2 and len(first) + len(rest) == total > 2
    seen = {(e.article_id, e.passage_start) for e in first + rest}
    assert len(seen) == total, "pages do not overlap"
    for ex in first + rest:
        assert isinstance(ex, Excerpt) and ex.spans
        for a, b in ex.spans:
            assert ex.sentence[a:b].startswith("Vladivostok")
    dates = [e.date for e in first + rest]
    assert dates == sorted(dates), "oldest article first"
    only = st.excerpts(vlad, articles=["002"])
    assert only and {e.article_id for e in only} == {"002"}
    assert st.count_passages(vlad, ["002"]) == len(only)
    assert st.excerpts(vlad, articles=[]) == [] and st.count_passages(vlad, []) == 0


def test_first_excerpts_match_the_first_page(st: store.Store) -> None:
    firsts = st.first_excerpts(3)
    vlad = _id(st, "Vladivostok")
    assert list(firsts[vlad]) == st.excerpts(vlad, limit=3)


def test_candidates_neighbours_and_counts(st: store.Store) -> None:
    vlad = _id(st, "Vladivostok")
    alts = st.candidates_of(vlad)
    assert all(isinstance(p, Place) and p.id != vlad for p in alts)
    ex = st.excerpts(vlad, limit=1)[0]
    before, after = st.neighbours(ex.article_id, ex.passage_start)
    assert before or after
    counts = st.counts()
    assert counts["articles"] == 5 and counts["places"] > 20 and counts["routes"] > 5
    assert st.build_id() >= 1


def test_missing_and_foreign_files_are_data_file_errors(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no atlas store"):
        store.Store(tmp_path / "atlas.sqlite")
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT INTO meta VALUES ('schema', '99')")
    with pytest.raises(DataFileError, match="schema '99'"):
        store.Store(other)


def test_a_failed_write_transaction_commits_nothing(tmp_path: Path) -> None:
    path = tmp_path / "atlas.sqlite"
    with store.write(path) as w:
        w.set_meta("build_id", "1")
    with pytest.raises(RuntimeError), store.write(path) as w:
        w.set_meta("build_id", "2")
        raise RuntimeError("killed")
    with store.Store(path) as st:
        assert st.build_id() == 1
