"""Corpus: article files and metadata -> Article records -> sentence passages."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from geo.corpus import (
    article_id,
    first_line,
    load_articles,
    make_article,
    passage_at,
    passages,
    read_corpus,
    read_metadata,
)
from geo.errors import BadInput, DataFileError, GeoError
from geo.model import Article

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="module")
def seeds() -> dict[str, Article]:
    return {a.id: a for a in load_articles(SEEDS)}


def sentence_of(article: Article, needle: str) -> str:
    """The passage holding the first occurrence of ``needle``; fails if it is split."""
    start = article.text.index(needle)
    found = passage_at(passages(article), start)
    assert found is not None, f"{needle!r} is in no passage"
    assert found.end >= start + len(needle), f"{needle!r} is split: {found.text!r}"
    return found.text


# --------------------------------------------------------------------------- ids and loading


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("003_e34f60ef123b2df4.txt", "003"),
        ("000_a_b.txt", "000"),
        ("plain.txt", "plain"),
        ("_leading.txt", "_leading"),
        ("trailing_.txt", "trailing"),
    ],
)
def test_article_id_is_the_prefix_before_the_first_underscore(name, expected):
    assert article_id(Path("seeds") / name) == expected


def test_real_seeds_load_with_their_metadata(seeds):
    assert list(seeds) == ["000", "001", "002", "003", "004"]
    assert seeds["000"].title == "Putin and Kim: a new Northeast Asian grouping"
    assert seeds["002"].title == "Kim's armoured train heads for Vladivostok"
    assert seeds["003"].title == "Russia, China have a shared vision for North Korea"
    assert seeds["003"].author == "M. K. Bhadrakumar"
    assert seeds["000"].author == "Sanjeev Aaron Williams"
    assert seeds["001"].author == ""
    assert seeds["001"].date == "2024-06"
    assert seeds["001"].date_approximate is True
    assert all(a.date.startswith(("2023-", "2024-")) for a in seeds.values())
    assert all(len(a.text) > 1000 for a in seeds.values())


def test_text_is_kept_verbatim(seeds):
    raw = next(SEEDS.glob("003_*.txt")).read_bytes().decode("utf-8")
    assert seeds["003"].text == raw


def test_txt_without_metadata_takes_its_first_line_as_title(tmp_path):
    (tmp_path / "articles.toml").write_text('["001"]\ntitle = "Known"\n', encoding="utf-8")
    (tmp_path / "001_x.txt").write_text("Body of one.\n", encoding="utf-8")
    (tmp_path / "002_y.txt").write_text("\n\n  Kim visits Rajin  \nMore text.\n", encoding="utf-8")
    (tmp_path / "notes.md").write_text("not an article", encoding="utf-8")
    arts = load_articles(tmp_path)
    assert [(a.id, a.title) for a in arts] == [("001", "Known"), ("002", "Kim visits Rajin")]
    assert arts[1].author == ""
    assert arts[1].date_approximate is False


def test_folder_without_metadata_file_loads(tmp_path):
    (tmp_path / "story.txt").write_text("Headline\nText.", encoding="utf-8")
    (art,) = load_articles(tmp_path)
    assert (art.id, art.title, art.text) == ("story", "Headline", "Headline\nText.")


def test_empty_text_falls_back_to_the_id_as_title():
    assert make_article("007", "  \n\n").title == "007"


def test_first_line_shortens_long_lines():
    line = first_line("x" * 200, limit=80)
    assert len(line) == 80
    assert line.endswith("…")
    assert first_line("\n  short  \nsecond") == "short"


def test_non_utf8_article_is_bad_input_naming_the_file(tmp_path):
    (tmp_path / "000_ok.txt").write_text("Fine.", encoding="utf-8")
    bad = tmp_path / "001_latin1.txt"
    bad.write_bytes("Kim à Vladivostok".encode("latin-1"))
    with pytest.raises(BadInput, match=re.escape(str(bad))) as info:
        load_articles(tmp_path)
    assert "UTF-8" in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "toml",
    [
        '["000"\ntitle = "unclosed"\n',  # broken table header
        '["000"]\ntitle = "a"\ntitle = "b"\n',  # duplicate key
        'title = "top-level value, not a table"\n',  # not a table per article
    ],
)
def test_bad_metadata_is_a_data_file_error(tmp_path, toml):
    (tmp_path / "articles.toml").write_text(toml, encoding="utf-8")
    (tmp_path / "000_a.txt").write_text("Text.", encoding="utf-8")
    with pytest.raises(DataFileError, match=re.escape("articles.toml")):
        load_articles(tmp_path)


@pytest.mark.parametrize(
    ("entry", "field", "problem"),
    [
        ('date_approximate = "no"', "date_approximate", "must be true or false, not 'no'"),
        ('title = ["a", "list"]', "title", "must be a string, not ['a', 'list']"),
        ("outlet = 3", "outlet", "must be a string, not 3"),
        ('date = "19 June 2024"', "date", "write YYYY, YYYY-MM or YYYY-MM-DD"),
        ('date = "2024-13"', "date", "write YYYY, YYYY-MM or YYYY-MM-DD"),
        ('titel = "typo"', "titel", "unknown field 'titel'"),
    ],
)
def test_metadata_fields_are_type_checked(tmp_path, entry, field, problem):
    (tmp_path / "articles.toml").write_text(f'["000"]\n{entry}\n', encoding="utf-8")
    (tmp_path / "000_a.txt").write_text("Text.", encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        load_articles(tmp_path)
    message = str(info.value)
    assert "articles.toml" in message and "['000']" in message
    assert repr(field) in message and problem in message


def test_good_metadata_values(tmp_path):
    (tmp_path / "articles.toml").write_text(
        '["000"]\ndate = 2024-06-19\ndate_approximate = false\nnote = "kept"\n'
        '["001"]\ndate = "2023"\ndate_approximate = true\n',
        encoding="utf-8",
    )
    (tmp_path / "000_a.txt").write_text("Text.", encoding="utf-8")
    (tmp_path / "001_b.txt").write_text("Text.", encoding="utf-8")
    a, b = load_articles(tmp_path)
    assert (a.date, a.date_approximate, b.date, b.date_approximate) == (
        "2024-06-19", False, "2023", True
    )  # fmt: skip


def test_bidi_controls_are_removed_from_metadata(tmp_path):
    (tmp_path / "articles.toml").write_text(
        '["000"]\noutlet = "Evil\u202eeciffO"\ntitle = "A \u2066title\u2069"\n', "utf-8"
    )
    (tmp_path / "000_a.txt").write_text("Text with \u202e kept as written.", encoding="utf-8")
    (art,) = load_articles(tmp_path)
    assert (art.outlet, art.title) == ("EvileciffO", "A title")
    assert "\u202e" in art.text, "the text keeps its characters: offsets must not move"


def test_empty_and_nul_files_are_left_out_with_a_warning(tmp_path):
    (tmp_path / "000_a.txt").write_text("Text.", encoding="utf-8")
    (tmp_path / "001_empty.txt").write_text(" \n\t\n", encoding="utf-8")
    (tmp_path / "002_nul.txt").write_bytes(b"\x00\x00\x00")
    (tmp_path / "003_bin.txt").write_bytes(b"Text\x00with a NUL")
    articles, skipped = read_corpus(tmp_path)
    assert [a.id for a in articles] == ["000"]
    assert len(skipped) == 3
    assert "001_empty.txt" in skipped[0] and "is empty" in skipped[0]
    assert all("NUL bytes" in w for w in skipped[1:])


def test_missing_metadata_file_is_empty(tmp_path):
    assert read_metadata(tmp_path / "articles.toml") == {}


def test_missing_folder_is_bad_input(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(BadInput, match="nowhere"):
        load_articles(missing)


def test_a_file_is_not_a_folder(tmp_path):
    path = tmp_path / "000_a.txt"
    path.write_text("Text.", encoding="utf-8")
    with pytest.raises(GeoError):
        load_articles(path)


def test_duplicate_ids_are_bad_input(tmp_path):
    (tmp_path / "000_first.txt").write_text("One.", encoding="utf-8")
    (tmp_path / "000_second.txt").write_text("Two.", encoding="utf-8")
    (tmp_path / "001_other.txt").write_text("Three.", encoding="utf-8")
    with pytest.raises(BadInput, match="'000'") as info:
        load_articles(tmp_path)
    assert "'001'" not in str(info.value)


# --------------------------------------------------------------------------- passages


@pytest.mark.parametrize("art_id", ["000", "001", "002", "003", "004"])
def test_passages_slice_the_real_seeds_exactly(seeds, art_id):
    article = seeds[art_id]
    items = passages(article)
    assert len(items) > 10
    for p in items:
        assert p.article_id == art_id
        assert article.text[p.start : p.end] == p.text
        assert p.text == p.text.strip() and p.text
    starts = [p.start for p in items]
    assert starts == sorted(starts)
    assert all(a.end <= b.start for a, b in itertools.pairwise(items))
    paragraphs = [p.paragraph for p in items]
    assert paragraphs == sorted(paragraphs)


@pytest.mark.parametrize(
    ("art_id", "needle"),
    [
        ("002", "anointed Mr. Kim’s grandfather"),
        ("002", "refused to confirm or deny the U.S. government’s claim that Mr. Kim intends"),
        ("003", "Africa Summit in St. Petersburg chaired by President"),
        ("004", "invasion of Ukraine on Feb. 24, 2022, there has"),
        ("003", "by M. K. Bhadrakumar,* India"),
    ],
)
def test_abbreviations_do_not_split_real_sentences(seeds, art_id, needle):
    sentence_of(seeds[art_id], needle)


def test_author_line_is_its_own_passage(seeds):
    assert "M. K. Bhadrakumar" in [p.text for p in passages(seeds["003"])]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mr. Kim met Gen. Shoigu. They talked.", ["Mr. Kim met Gen. Shoigu.", "They talked."]),
        ("Left St. Petersburg on Feb. 24 for Kyiv.", ["Left St. Petersburg on Feb. 24 for Kyiv."]),
        ("Written by M. K. Bhadrakumar in Delhi.", ["Written by M. K. Bhadrakumar in Delhi."]),
        ("Will Kim go? Yes! He will.", ["Will Kim go?", "Yes!", "He will."]),
        ("Really?! Indeed.", ["Really?!", "Indeed."]),
        ("He said “Go now.” Then he left.", ["He said “Go now.”", "Then he left."]),
        ("Kim went to the port. 2023 was busy.", ["Kim went to the port.", "2023 was busy."]),
        ("Rates rose 2.5 percent.", ["Rates rose 2.5 percent."]),
        ("see rajin. lower case goes on.", ["see rajin. lower case goes on."]),
        ("First line\nSecond line", ["First line", "Second line"]),
        ("One.\n\n\nTwo.", ["One.", "Two."]),
        ("   ", []),
        ("", []),
    ],
)
def test_sentence_splitting(text, expected):
    items = passages(Article(id="x", text=text))
    assert [p.text for p in items] == expected
    assert all(text[p.start : p.end] == p.text for p in items)


def test_paragraph_numbers_follow_newlines():
    items = passages(Article(id="x", text="A one. A two.\nB one.\n\nC one."))
    assert [(p.text, p.paragraph) for p in items] == [
        ("A one.", 0),
        ("A two.", 0),
        ("B one.", 1),
        ("C one.", 2),
    ]


def test_passage_at_finds_the_sentence_or_none():
    text = "Kim went to Rajin.  Putin flew to Pyongyang!\nThe end."
    items = passages(Article(id="x", text=text))
    assert [p.text for p in items] == ["Kim went to Rajin.", "Putin flew to Pyongyang!", "The end."]
    first, second, third = items
    assert passage_at(items, 0) is first
    assert passage_at(items, text.index("Rajin")) is first
    assert passage_at(items, text.index(".")) is first  # the full stop belongs to it
    assert passage_at(items, text.index("  ")) is None  # whitespace between sentences
    assert passage_at(items, text.index("  ") + 1) is None
    assert passage_at(items, text.index("Putin")) is second
    assert passage_at(items, text.index("\n")) is None
    assert passage_at(items, text.index("The end")) is third
    assert passage_at(items, len(text) - 1) is third
    assert passage_at(items, len(text)) is None
    assert passage_at(items, -1) is None
    assert passage_at([], 0) is None


def test_passage_at_on_every_offset_of_a_real_seed(seeds):
    article = seeds["002"]
    items = passages(article)
    for offset in range(len(article.text)):
        found = passage_at(items, offset)
        linear = next((p for p in items if p.start <= offset < p.end), None)
        assert found is linear
