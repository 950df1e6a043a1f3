"""The evidence pack: one self-contained, escaped HTML file of a view of the atlas."""

from __future__ import annotations

import json
import re

import pytest
from analyst_data import USSURI, drawn, own_copy, runner_up
from conftest import NASTY_ID, NASTY_RAW, NASTY_TITLE, AtlasData

from geo import edits, export, store
from geo.errors import BadInput
from geo.model import Article


def collect(data: AtlasData, view: export.View) -> export.Evidence:
    with store.Store(data.store) as st:
        return export.collect(st, view)


def json_data(html: str) -> dict[str, object]:
    raw = re.search(r"<script type='application/json' id='atlas-data'>(.*?)</script>", html, re.S)
    assert raw is not None
    return json.loads(raw.group(1))


def shown(html: str) -> str:
    """The page's own HTML: between ``<body>`` and the map's data and code."""
    return html.split("<body>")[1].split("<script type='application/json'", maxsplit=1)[0]


@pytest.mark.parametrize("value", ["", "2023", "2023-09", "2023-09-13"])
def test_good_dates(value):
    assert export.check_date(value, "--from") == value


@pytest.mark.parametrize(
    "value", ["23", "2023-9", "2023/09/01", "2023-09-1x", "yesterday", "2023-13", "2023-02-32"]
)
def test_bad_dates_are_quoted(value):
    with pytest.raises(BadInput, match=f"--to {value!r} is not a date"):
        export.check_date(value, "--to")


@pytest.mark.parametrize(
    "date, date_from, date_to, inside",
    [("2023-09", "2023-09-10", "", True), ("2023-09", "2023-10-01", "", False),
     ("2023-07-28", "", "2023-07-28", True), ("2023-07-28", "", "2023-07", True),
     ("2024-06", "", "2023-12-31", False), ("", "2023", "", False), ("", "", "", True)],
)  # fmt: skip
def test_an_approximate_date_is_in_a_range_it_may_fall_in(date, date_from, date_to, inside):
    assert export.in_range(date, export.View(None, date_from, date_to)) is inside


def test_undated_articles_stay_in_a_range_only_when_the_view_keeps_them():
    assert export.in_range("", export.View(None, "2023", "2024")) is False
    assert export.in_range("", export.View(None, "2023", "2024", undated=True)) is True
    assert export.in_range("2022-05", export.View(None, "2023", "2024", undated=True)) is False


def test_chosen_articles_names_an_unknown_one():
    arts = [Article("001", ""), Article("002", "")]
    assert [a.id for a in export.chosen_articles(arts, export.View(frozenset({"002"})))] == ["002"]
    with pytest.raises(BadInput, match="no article '009'"):
        export.chosen_articles(arts, export.View(frozenset({"009", "001"})))


def test_the_whole_atlas(atlas):
    ev = collect(atlas, export.View())
    assert len(ev.articles) == 5 and len(ev.routes) == 11 and ev.claim["rows"]
    names = {p.place.name for p in ev.places}
    assert {"Vladivostok", "Pyongyang", "Moscow"} <= names
    vlad = next(p for p in ev.places if p.place.name == "Vladivostok")
    assert vlad.quotes and all("Vladivostok" in q.sentence for q in vlad.quotes)
    assert vlad.passages >= len(vlad.quotes)


def test_a_view_of_one_article_and_a_date_range(atlas):
    ev = collect(atlas, export.View(frozenset({"002"})))
    assert [a.id for a in ev.articles] == ["002"]
    assert all(q.article_id == "002" for p in ev.places for q in p.quotes)
    assert ev.routes and all(
        any(q["article_id"] == "002" for q in props["quotes"]) for props, _ in ev.routes
    )
    ev = collect(atlas, export.View(None, "2024-01-01", "2024-12-31"))
    assert [a.id for a in ev.articles] == ["001"]


def test_corrections_are_in_the_pack(atlas, tmp_path):
    own = own_copy(atlas, tmp_path)
    edits.correct(own.cfg, edits.Fix(*USSURI, place_id=runner_up()))
    ev = collect(own, export.View(frozenset({"004"})))
    river = next(p for p in ev.places if p.place.id == runner_up())
    assert river.corrected and river.quotes[0].sentence.endswith("the Ussuri incident.")
    html = export.pack(own.cfg.data_dir, export.View(frozenset({"004"})))
    assert "Ussuri <span class='corrected'>(corrected)</span>" in html
    assert f"data-place-id='{runner_up()}'" in html
    assert f"data-place-id='{drawn()}'" not in html


def test_the_pack_is_self_contained_and_escaped(nasty_atlas):
    html = export.pack(nasty_atlas.cfg.data_dir, export.View())
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    body = shown(html).replace("<a href='https://", "")  # links are followed only by a click
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", body), "nothing is fetched"
    assert "L.map(" in html and "leaflet-container" in html  # Leaflet's JS and CSS inlined
    for raw in NASTY_RAW:
        assert raw not in shown(html)
    assert html.count("</script>") == html.count("<script")
    data = json_data(html)
    assert data["countries"]["type"] == "FeatureCollection"
    places = {p["name"]: p for p in data["places"]}
    quote = places["Vladivostok"]["quotes"]
    assert any(q["title"] == NASTY_TITLE for q in quote)
    assert any(NASTY_RAW[0] in q["sentence"] for q in quote), "JSON keeps the text exact"
    assert f"<td>{NASTY_ID}</td>" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_the_pack_says_what_it_was_made_from(atlas, tmp_path):
    out = tmp_path / "pack.html"
    ev = export.write_pack(atlas.cfg.data_dir, export.View(frozenset({"003"}), "2023"), out)
    html = out.read_text(encoding="utf-8")
    made = html.split("<section id='made-from'>")[1].split("</section>")[0]
    assert f"build {ev.build_id}" in made and "1 chosen article(s); dates 2023 to …" in made
    assert "Russia, China have a shared vision" in made
    assert "<a href='https://www.indianpunchline.com/" in made
    assert export.describe(ev, out).startswith(f"wrote {out}: 1 articles")
