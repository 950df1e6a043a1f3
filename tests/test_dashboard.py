"""The dashboard: page logic (geo.dashboard) and the Streamlit app through AppTest."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from conftest import (
    NASTY_ID,
    NASTY_RAW,
    NASTY_TITLE,
    ROOT,
    AtlasData,
    build_atlas,
    data_folder,
    use,
)
from shapely.geometry import Point
from streamlit.testing.v1 import AppTest

from geo import build, dashboard, mapview
from geo.dashboard import Filters, Layers, Selection
from geo.errors import DataFileError, UnknownPlace

VLADIVOSTOK_QUOTE = "armoured train are expected to arrive in the port of Vladivostok"
APP = str(ROOT / "app.py")


@pytest.fixture(scope="module")
def lay(atlas: AtlasData) -> Layers:
    return dashboard.load_layers(atlas.store)


@pytest.fixture(scope="module")
def nasty(nasty_atlas: AtlasData) -> Layers:
    return dashboard.load_layers(nasty_atlas.store)


def _text(page: str) -> str:
    """What a reader sees: tags removed, character references resolved."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _id(lay: Layers, name: str) -> str:
    rows = lay.places[lay.places["name"] == name]
    assert not rows.empty, f"{name!r} is not in the places layer"
    return str(rows["place_id"].iloc[0])


# -- loading ----------------------------------------------------------------------------------


def test_layers_are_built_into_the_temporary_folder(atlas: AtlasData, lay: Layers) -> None:
    assert atlas.layers_dir != ROOT / "data" / "layers"
    assert build.ensure_built(atlas.cfg) is None, "already built: nothing to do"
    assert len(lay.places) > 20 and len(lay.routes) > 5
    assert set(lay.articles) == {"000", "001", "002", "003", "004"}
    # the map gets continuous lines; the stored (split) ones stay within [-180, 180]
    assert lay.map_routes.total_bounds[2] > 180 >= lay.routes.total_bounds[2]


def test_missing_or_broken_store_is_a_data_file_error(tmp_path: Path) -> None:
    path = tmp_path / "atlas.sqlite"
    with pytest.raises(DataFileError, match=r"atlas\.sqlite.*python -m geo build"):
        dashboard.load_layers(path)
    path.write_bytes(b"not a database at all, just bytes" * 100)
    with pytest.raises(DataFileError, match="is not an atlas store"):
        dashboard.load_layers(path)


def test_preloaded_layers_are_handed_over_once(atlas: AtlasData, tmp_path: Path) -> None:
    dashboard.preload_layers(atlas.store)
    assert dashboard._PRELOADED  # read ahead
    first = dashboard.load_layers(atlas.store)
    assert not dashboard._PRELOADED
    second = dashboard.load_layers(atlas.store)
    assert first is not second  # handed over once, then read as usual
    assert len(first.places) == len(second.places) and first.build_id == second.build_id
    dashboard.preload_layers(tmp_path / "nowhere.sqlite")  # left for the page to report
    with pytest.raises(DataFileError):
        dashboard.load_layers(tmp_path / "nowhere.sqlite")


def test_the_default_place_data_is_made_ahead_and_handed_over_once(atlas: AtlasData) -> None:
    dashboard.preload_layers(atlas.store)
    lay = dashboard.load_layers(atlas.store)
    filters = dashboard.default_filters()
    places = dashboard.filter_places(lay, filters)
    expected = mapview.place_data(places)
    assert dashboard._PREPARED  # made ahead, for the filters of a page opened afresh
    other = replace(filters, min_mentions=2)
    fewer = dashboard.filter_places(lay, other)
    assert dashboard.map_place_data(lay, other, fewer) == mapview.place_data(fewer)
    assert dashboard._PREPARED  # other filters: made on the spot, the prepared one kept
    assert dashboard.map_place_data(lay, filters, places) == expected
    assert not dashboard._PREPARED
    assert dashboard.map_place_data(lay, filters, places) == expected  # then made as usual


# -- filters and search -----------------------------------------------------------------------


def test_no_filter_keeps_every_place(lay: Layers) -> None:
    assert len(dashboard.filter_places(lay, Filters())) == len(lay.places)
    assert len(dashboard.filter_routes(lay.routes, Filters())) == len(lay.routes)


def test_article_filter_counts_mentions_in_those_articles_only(lay: Layers) -> None:
    only = dashboard.filter_places(lay, Filters(articles=frozenset({"002"})))
    expected = set(lay.mentions.loc[lay.mentions["article_id"] == "002", "place_id"])
    assert set(only["place_id"]) == expected
    vlad = only[only["name"] == "Vladivostok"].iloc[0]
    in_002 = lay.mentions[
        (lay.mentions["article_id"] == "002") & (lay.mentions["name"] == "Vladivostok")
    ]
    assert (
        vlad["mentions"] == len(in_002) < lay.places.set_index("name").at["Vladivostok", "mentions"]
    )
    assert {q.article_id for q in vlad["quotes"]} == {"002"}


def test_group_and_minimum_filters_and_the_kept_place(lay: Layers) -> None:
    cities = dashboard.filter_places(lay, Filters(groups=frozenset({"city"})))
    assert set(cities["group"]) == {"city"}
    busy = dashboard.filter_places(lay, Filters(min_mentions=10))
    assert len(busy) and (busy["mentions"] >= 10).all()
    tumen = _id(lay, "Tumen River")
    kept = dashboard.filter_places(lay, Filters(groups=frozenset({"city"}), keep=tumen))
    assert tumen in set(kept["place_id"])


def test_routes_follow_the_article_filter(lay: Layers) -> None:
    only = dashboard.filter_routes(lay.routes, Filters(articles=frozenset({"002"})))
    assert 0 < len(only) < len(lay.routes)
    assert all("002" in dashboard.route_articles(r) for r in only.itertuples(index=False))


@pytest.mark.parametrize(
    ("query", "name"),
    [("vladivostok", "Vladivostok"), ("  VLADIVOSTOK ", "Vladivostok"), ("Hokkaido", "Hokkaidō"),
     ("hokkaidō", "Hokkaidō"), ("the Tumen river", "Tumen River"), ("pyong", "Pyongyang")],
)  # fmt: skip
def test_search_is_case_and_accent_insensitive(lay: Layers, query: str, name: str) -> None:
    hits = dashboard.search_places(lay.places, query)
    assert hits and hits[0] == _id(lay, name)


def test_an_article_picker_lists_a_few_hundred_the_chosen_ones_kept() -> None:
    titles = {
        f"{i:05d}": f"Report {i} from Ümeå" if i % 7 == 0 else f"Note {i}" for i in range(10_000)
    }
    every = dashboard.picker_options(titles, "")
    assert every == list(titles)[: dashboard.PICKER_LIMIT]
    found = dashboard.picker_options(titles, "umea", keep=["09999", "gone"])
    assert found[0] == "09999" and len(found) == dashboard.PICKER_LIMIT
    assert all("Ümeå" in titles[k] for k in found[1:])
    few = {"a": "Ports", "b": "Rail"}
    assert dashboard.picker_options(few, "") == ["a", "b"]
    assert dashboard.picker_options(few, "RAIL", keep=["a"]) == ["a", "b"]
    assert dashboard.picker_options(few, "ship") == []
    assert dashboard.picker_options(titles, "", keep=list(titles), limit=5) == list(titles)


def test_search_ranks_exact_then_prefix_then_word_then_substring() -> None:
    places = pd.DataFrame({
        "place_id": ["a", "b", "c", "d", "e"],
        "name": ["Korea Bay", "North Korea", "Korea", "Koreatown", "Unrelated"],
        "mentions": [1, 50, 2, 9, 99],
    })  # fmt: skip
    assert dashboard.search_places(places, "korea") == ["c", "d", "a", "b"]
    assert dashboard.search_places(places, "rea") == ["b", "d", "c", "a"]  # by mentions
    assert dashboard.search_places(places, "   ") == []
    assert dashboard.search_places(places, "nowhere") == []


def _clicked(key: str, value: str, stamp: str | None) -> dict[str, object]:
    props = {key: value} if stamp is None else {key: value, "click": stamp}
    return {"last_active_drawing": {"properties": props}}


def test_clicks_count_twice_on_the_same_marker() -> None:
    sel, last = dashboard.click_selection(_clicked("place_id", "p1", "100-1"), None)
    assert sel == Selection("place", "p1")
    # the same value on a rerun (e.g. a widget changed) is not a new click
    again, last = dashboard.click_selection(_clicked("place_id", "p1", "100-1"), last)
    assert again is None
    second, last = dashboard.click_selection(_clicked("place_id", "p1", "105-2"), last)
    assert second == Selection("place", "p1")
    sel, last = dashboard.click_selection(_clicked("route_id", "r1", "107-3"), last)
    assert sel == Selection("route", "r1")
    # a remounted map starts from nothing; its first click counts again
    sel, last = dashboard.click_selection({"last_active_drawing": None}, last)
    assert sel is None
    sel, _ = dashboard.click_selection(_clicked("place_id", "p1", "200-1"), last)
    assert sel == Selection("place", "p1")
    assert dashboard.click_selection(_clicked("place_id", "p1", None), None)[0] is None
    assert dashboard.click_selection(None, None)[0] is None


# -- timeline ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("date", "month"),
    [("2023-09-13", "2023-09"), ("2023-09", "2023-09"), ("2024", "2024-01"), ("", ""),
     ("soon", ""), ("2023-13", ""), (" 2023-07-28 ", "2023-07")],
)  # fmt: skip
def test_article_month(date: str, month: str) -> None:
    assert dashboard.article_month(date) == month


def test_month_range_crosses_years() -> None:
    assert dashboard.month_range("2023-11", "2024-02") == [
        "2023-11",
        "2023-12",
        "2024-01",
        "2024-02",
    ]
    assert dashboard.month_range("2024-02", "2023-11") == []
    assert dashboard.month_range("", "2024-01") == []


def test_timeline_counts_articles_per_month_exact_and_approximate(lay: Layers) -> None:
    counts = dashboard.timeline(lay.articles)
    months = list(dict.fromkeys(counts["month"]))
    assert months == dashboard.month_range("2023-07", "2024-06")  # every month, empty too
    by = counts.set_index(["month", "precision"])["articles"]
    assert by["2023-07", "exact"] == 1  # 003, dated to the day
    assert by["2023-09", "approximate"] == 3  # 000, 002, 004
    assert by["2024-06", "approximate"] == 1
    assert counts["articles"].sum() == len(lay.articles) - dashboard.undated_count(lay.articles)


def test_date_range_filters_places_routes_and_dates(lay: Layers) -> None:
    summer = Filters(months=("2023-07", "2023-08"))
    assert dashboard.allowed_articles(lay, summer) == {"003"}
    places = dashboard.filter_places(lay, summer)
    assert set(places["place_id"]) == set(
        lay.mentions.loc[lay.mentions["article_id"] == "003", "place_id"]
    )
    assert set(places["first_date"]) == set(places["last_date"]) == {"2023-07-28"}
    assert all(q.article_id == "003" for qs in places["quotes"] for q in qs)
    vlad = _id(lay, "Vladivostok")
    assert vlad not in set(places["place_id"])
    autumn = dashboard.filter_places(lay, Filters(months=("2023-09", "2023-09")))
    assert vlad in set(autumn["place_id"])
    routes = dashboard.filter_routes(lay.routes, summer, lay)
    assert all("003" in dashboard.route_articles(r) for r in routes.itertuples(index=False))
    # the whole range is the same as no range
    everything = dashboard.filter_places(lay, Filters(months=("2023-07", "2024-06")))
    assert len(everything) == len(lay.places)


def test_first_and_last_dates_without_a_filter(lay: Layers) -> None:
    russia = lay.places[lay.places["name"] == "Russia"].iloc[0]
    assert (russia["first_date"], russia["last_date"]) == ("2023-07-28", "2024-06")


def test_undated_articles_stay_unless_excluded(nasty: Layers) -> None:
    assert dashboard.undated_count(nasty.articles) == 1  # the nasty article has no date
    kept = dashboard.allowed_articles(nasty, Filters(months=("2023-09", "2023-09")))
    assert kept == {"000", "002", "004", NASTY_ID}
    dropped = dashboard.allowed_articles(nasty, Filters(undated=False))
    assert dropped is not None and NASTY_ID not in dropped and len(dropped) == 5
    chosen = Filters(articles=frozenset({"002", NASTY_ID}), months=("2024-01", "2024-06"))
    assert dashboard.allowed_articles(nasty, chosen) == {NASTY_ID}


def test_filters_key_is_stable_and_tells_filters_apart() -> None:
    a = Filters(articles=frozenset({"b", "a"}), months=("2023-01", "2023-02"))
    b = Filters(articles=frozenset({"a", "b"}), months=("2023-01", "2023-02"))
    assert dashboard.filters_key(a) == dashboard.filters_key(b)
    assert dashboard.filters_key(a) != dashboard.filters_key(Filters(months=a.months))
    assert dashboard.filters_key(a) != dashboard.filters_key(
        Filters(articles=a.articles, months=a.months, undated=False)
    )


# -- panels -----------------------------------------------------------------------------------


def test_place_panel_has_every_passage_with_context(lay: Layers) -> None:
    vlad = _id(lay, "Vladivostok")
    panel = dashboard.place_panel(lay, vlad)
    assert panel.name == "Vladivostok" and panel.kind in {"city", "port"} and panel.country == "RU"
    assert panel.mentions == len(lay.mentions[lay.mentions["place_id"] == vlad])
    assert {c.article_id for c in panel.contexts} >= {"000", "002"}
    train = next(c for c in panel.contexts if VLADIVOSTOK_QUOTE in _text(c.sentence_html))
    assert "<mark" in train.sentence_html and ">Vladivostok</mark>" in train.sentence_html
    assert train.before and train.after, "neighbouring sentences give the context"
    assert train.title == "Kim's armoured train heads for Vladivostok"
    assert "Moscow" in dict(train.others).values()
    page = dashboard.place_panel_html(panel)
    assert "Runner-up candidates" in page and "geocoding confidence" in page
    assert VLADIVOSTOK_QUOTE in _text(page)
    assert "\n\n" not in page


def test_unknown_ids_are_unknown_place_errors(lay: Layers) -> None:
    with pytest.raises(UnknownPlace, match="'nowhere'"):
        dashboard.place_panel(lay, "nowhere")
    with pytest.raises(UnknownPlace, match="'nowhere'"):
        dashboard.route_panel_html(lay, "nowhere")
    with pytest.raises(UnknownPlace, match="'999'"):
        dashboard.reader_html(lay, "999")


def test_route_panel(lay: Layers) -> None:
    page = _text(dashboard.route_panel_html(lay, "kim-armoured-train-2023"))
    assert "Kim Jong-un's armoured train to the Russian Far East" in page
    assert "rail" in page and " km" in page
    assert "Kim's armoured train heads for Vladivostok" in page, "quotes name their article"


def test_reader_highlights_the_articles_places(lay: Layers) -> None:
    page = dashboard.reader_html(lay, "002")
    assert page.count("<mark") == len(lay.mentions[lay.mentions["article_id"] == "002"])
    names = dict(dashboard.article_places(lay, "002")).values()
    assert "Vladivostok" in names and "Moscow" in names


def test_claim_check_rows(lay: Layers) -> None:
    origins = dashboard.claim_origins(lay.claim)
    assert "Rotterdam" in origins and "Murmansk" in origins
    row = dashboard.claim_row(lay.claim, "Rotterdam")
    assert row["saving_km"] == row["suez_km"] - row["arctic_km"] > 0
    assert 0 < row["saving_share"] < row["claimed_share"]
    assert "almost one-third" in dashboard.claim_quote_html(lay)
    with pytest.raises(UnknownPlace):
        dashboard.claim_row(lay.claim, "Atlantis")


# -- escaping ---------------------------------------------------------------------------------


NASTY = ["'", '"', "`", "</script>", "<img src=x onerror=alert(1)>", "’ “ ”", "$x$", "\\"]


@pytest.mark.parametrize("text", NASTY)
def test_highlight_escapes_everything(text: str) -> None:
    out = dashboard.highlight(f"In Vladivostok {text}", [(3, 14)])
    assert out.startswith("In <mark") and ">Vladivostok</mark>" in out
    for raw in ("<img", "</script", "`", "$", "\\"):
        assert raw not in out
    assert html.unescape(out.split("</mark>")[1]) == f" {text}"


def test_highlight_skips_bad_and_overlapping_spans() -> None:
    assert dashboard.highlight("abc", [(0, 9), (2, 1)]) == "abc"
    assert dashboard.highlight("abcd", [(0, 2), (1, 3)]).count("<mark") == 1


def test_nasty_article_is_escaped_everywhere(nasty: Layers) -> None:
    vlad = _id(nasty, "Vladivostok")
    panel = dashboard.place_panel_html(dashboard.place_panel(nasty, vlad))
    reader = dashboard.reader_html(nasty, NASTY_ID)
    for page in (panel, reader):
        for raw in NASTY_RAW:
            assert raw not in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page
        assert "&lt;/script&gt;" in page and "&#96;fine&#96;" in page
        assert html.escape(NASTY_TITLE).replace("`", "&#96;") in page
    assert "&lt;b&gt;Outlet&lt;/b&gt; &amp; co" in reader


def test_csv_export_neutralises_formulas_and_geojson_round_trips(lay: Layers) -> None:
    table = pd.DataFrame({"name": ["=HYPERLINK(1)", "+1", "Vladivostok"], "n": [1, 2, 3]})
    text = dashboard.to_csv(table)
    assert "'=HYPERLINK(1)" in text and "'+1" in text and "\nVladivostok,3" in text
    routes = json.loads(dashboard.to_geojson(lay.routes))
    assert len(routes["features"]) == len(lay.routes)
    frame = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(131.9, 43.1)], crs="EPSG:4326")
    assert json.loads(dashboard.to_geojson(frame))["features"][0]["geometry"]["coordinates"] == [
        131.9, 43.1,
    ]  # fmt: skip
    assert list(dashboard.places_table(lay.places).columns) == list(dashboard.TABLE_COLUMNS)


# -- the app (AppTest) ------------------------------------------------------------------------


def _app(monkeypatch: pytest.MonkeyPatch, data: AtlasData) -> AppTest:
    use(monkeypatch, data)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _markdown(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in at.markdown)


def _count(at: AppTest) -> int:
    caption = next(c.value for c in at.caption if " places · " in c.value)
    return int(caption.split()[0])


def test_app_renders_the_map_and_filters(
    monkeypatch: pytest.MonkeyPatch, atlas: AtlasData, lay: Layers
) -> None:
    at = _app(monkeypatch, atlas)
    assert at.get("component_instance") or at.get("iframe"), "no map component"
    assert _count(at) == len(lay.places)
    assert "Click a place" in at.info[0].value
    at.sidebar.multiselect[0].select("002").run()
    assert _count(at) == lay.mentions.loc[lay.mentions["article_id"] == "002", "place_id"].nunique()
    at.sidebar.multiselect[1].set_value(["city"]).run()
    cities = dashboard.filter_places(lay, Filters(frozenset({"002"}), frozenset({"city"})))
    assert _count(at) == len(cities) > 0
    at.sidebar.multiselect[0].set_value([]).run()
    at.sidebar.slider[0].set_value(5).run()
    expected = dashboard.filter_places(lay, Filters(groups=frozenset({"city"}), min_mentions=5))
    assert _count(at) == len(expected)
    assert not at.exception


def test_app_date_range_and_undated_switch_filter_the_map(
    monkeypatch: pytest.MonkeyPatch, nasty_atlas: AtlasData, nasty: Layers
) -> None:
    at = _app(monkeypatch, nasty_atlas)
    assert _count(at) == len(nasty.places)
    at.sidebar.select_slider(key="months").set_value(("2023-07", "2023-08")).run()
    summer = Filters(groups=frozenset(dashboard.GROUP_LABELS), months=("2023-07", "2023-08"))
    assert _count(at) == len(dashboard.filter_places(nasty, summer)) < len(nasty.places)
    at.sidebar.toggle(key="undated").set_value(False).run()
    dated = Filters(groups=summer.groups, months=summer.months, undated=False)
    assert (
        _count(at)
        == len(dashboard.filter_places(nasty, dated))
        < len(dashboard.filter_places(nasty, summer))
    )
    at.sidebar.select_slider(key="months").set_value(("2023-07", "2024-06")).run()
    assert at.session_state.runs == 4  # one run per change, no second run
    assert not at.exception


def test_app_search_selects_the_place_and_shows_its_quotes(
    monkeypatch: pytest.MonkeyPatch, atlas: AtlasData, lay: Layers
) -> None:
    at = _app(monkeypatch, atlas)
    at.sidebar.text_input(key="search").input("VLADIVOSTOK").run()
    assert at.session_state.selection == Selection("place", _id(lay, "Vladivostok"))
    assert at.session_state.focus == _id(lay, "Vladivostok")
    page = _text(_markdown(at))
    assert VLADIVOSTOK_QUOTE in page
    assert "Kim's armoured train heads for Vladivostok" in page
    at.sidebar.text_input(key="search").input("Atlantis").run()
    assert any("No place of that name" in c.value for c in at.sidebar.caption)
    assert not at.exception


def test_app_reader_selects_a_place_and_claim_check(
    monkeypatch: pytest.MonkeyPatch, atlas: AtlasData, lay: Layers
) -> None:
    at = _app(monkeypatch, atlas)
    assert not at.metric and not at.dataframe  # only the open tab is sent
    at.selectbox(key="reader").select("002").run()
    assert "<mark" in _markdown(at)
    at.selectbox(key="pick_reader").select(_id(lay, "Moscow")).run()
    assert at.session_state.selection == Selection("place", _id(lay, "Moscow"))
    at.session_state["tab"] = "Claim check"  # as a click on the tab: a rerun with it open
    at.run()
    assert "reader" not in [s.key for s in at.selectbox]  # the reader is not sent now
    at.selectbox(key="claim_origin").select("Murmansk").run()
    values = {m.label: m.value for m in at.metric}
    row = dashboard.claim_row(lay.claim, "Murmansk")
    assert values["Arctic route, via Bering Strait"] == f"{row['arctic_km']:,.0f} km"
    assert values["Southern route, via Suez Canal"] == f"{row['suez_km']:,.0f} km"
    assert values["Claimed in the article"] == "33%"
    at.session_state["tab"] = "Table"
    at.run()
    assert len(at.get("download_button")) == 4 and len(at.dataframe) == 1


def test_app_escapes_a_nasty_article(
    monkeypatch: pytest.MonkeyPatch, nasty_atlas: AtlasData
) -> None:
    at = _app(monkeypatch, nasty_atlas)
    at.sidebar.text_input(key="search").input("vladivostok").run()
    at.selectbox(key="reader").select(NASTY_ID).run()
    page = _markdown(at)
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&lt;/script&gt;" in page
    assert page.count("&#96;fine&#96;") == 2, "in the side panel and in the reader"
    for raw in NASTY_RAW:
        assert raw not in page
    assert not at.exception


def test_app_shows_a_geo_error_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, atlas: AtlasData, tmp_path: Path
) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "000_a.txt").write_text("Ships left Vladivostok.\n", encoding="utf-8")
    (seeds / "articles.toml").write_text('["000"]\ndate_approximate = "no"\n', "utf-8")
    fields = {**_fields(atlas), "data_dir": data_folder(tmp_path), "seeds_dir": seeds}
    use(monkeypatch, AtlasData(atlas.cfg.__class__(**fields)))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    message = at.error[0].value
    assert "articles.toml" in message and "'date_approximate'" in message and "'no'" in message


def test_app_heals_an_unreadable_store_and_says_so(
    monkeypatch: pytest.MonkeyPatch, atlas: AtlasData, tmp_path: Path
) -> None:
    folder = data_folder(tmp_path)
    (folder / "atlas.sqlite").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    use(monkeypatch, AtlasData(atlas.cfg.__class__(**{**_fields(atlas), "data_dir": folder})))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception and not at.error
    assert "built the atlas afresh" in _markdown(at) and "news-atlas-warning" in _markdown(at)
    assert any(" places · " in c.value for c in at.caption)


def _fields(data: AtlasData) -> dict[str, object]:
    cfg = data.cfg
    return {name: getattr(cfg, name) for name in cfg.__slots__}


def test_a_corpus_without_places_shows_an_empty_map(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "x1.txt").write_text("Nothing here names a place at all.\n", encoding="utf-8")
    data = build_atlas(tmp_path, seeds)
    at = _app(monkeypatch, data)
    assert "0 places · 0 routes" in " ".join(c.value for c in at.caption)


def test_reader_marks_exactly_the_mentions_even_after_leading_blank_lines(lay: Layers) -> None:
    """Article 003 starts with blank lines: the marks must still cover the place names."""
    marked = re.findall(r"<mark[^>]*>(.*?)</mark>", dashboard.reader_html(lay, "003"))
    rows = lay.mentions[lay.mentions["article_id"] == "003"]
    assert marked
    assert {html.unescape(m) for m in marked} == set(rows["text"])
