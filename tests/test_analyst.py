"""Page logic of the analyst loop: what the panel's widgets mean, and the escaped list."""

from __future__ import annotations

import pytest
from analyst_data import LESOZAVODSK, USSURI, USSURI_RIVER, drawn
from conftest import NASTY_ID, NASTY_RAW

from geo import analyst, dashboard
from geo.dashboard import Filters
from geo.errors import BadInput
from geo.model import Correction, Place

SPAN = ":".join(map(str, USSURI))


@pytest.fixture(scope="module")
def lay(atlas):
    return dashboard.load_layers(atlas.store)


def test_place_mentions_label_each_mention_with_its_article(lay):
    found = analyst.place_mentions(lay, drawn())
    assert found == {
        SPAN: "What North Korea might do for Russia's war effort: “Ussuri” (3576–3582)"
    }


def test_first_place_prefers_a_place_new_to_the_map(lay):
    first = analyst.first_place(lay, ["002"])
    names = dict(zip(lay.places["place_id"], lay.places["name"], strict=True))
    assert first in names
    other = analyst.first_place(lay, ["002"], known={first})
    assert other != first and other in names
    assert analyst.first_place(lay, ["nope"]) is None


@pytest.mark.parametrize(
    "state, want",
    [({"fix_how": "runner_up", "fix_runner_up": USSURI_RIVER},
      {"place_id": USSURI_RIVER, "at": None}),
     ({"fix_how": "search", "fix_record": "gn:1", "fix_scope": "corpus", "fix_note": "n"},
      {"place_id": "gn:1", "scope": "corpus", "note": "n"}),
     ({"fix_how": "coordinates", "fix_lat": 45.0, "fix_lon": 134.0, "fix_name": "Camp",
       "fix_kind": "facility"},
      {"at": (45.0, 134.0), "name": "Camp", "kind": "facility", "place_id": None}),
     ({"fix_how": "not_a_place"}, {"place_id": None, "at": None})],
)  # fmt: skip
def test_fix_from_the_widgets(state, want):
    fix = analyst.fix_from({"fix_mention": SPAN, **state}, LESOZAVODSK)
    assert (fix.article_id, fix.start, fix.end) == USSURI
    assert {k: getattr(fix, k) for k in want} == want


@pytest.mark.parametrize(
    "state, words",
    [({}, "choose the mention"), ({"fix_mention": "x"}, "choose the mention"),
     ({"fix_mention": SPAN, "fix_how": "search"}, "choose a gazetteer record"),
     ({"fix_mention": SPAN, "fix_runner_up": LESOZAVODSK}, "already drawn"),
     ({"fix_mention": SPAN, "fix_how": "coordinates", "fix_lat": 99.0, "fix_lon": 0.0},
      "latitude 99.0")],
)  # fmt: skip
def test_fix_from_incomplete_widgets(state, words):
    with pytest.raises(BadInput, match=words):
        analyst.fix_from(state, LESOZAVODSK)


def test_the_correction_list_is_escaped():
    nasty = Correction(
        id="c-1", article_id=NASTY_ID, start=0, end=9, text=NASTY_RAW[0][:9], place_id=None,
        note=NASTY_RAW[1], scope="corpus", created="2026",
    )  # fmt: skip
    html = analyst.correction_html(nasty)
    assert all(raw not in html for raw in NASTY_RAW[:2])
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "not a place" in html
    assert "these words everywhere" in html and "\n\n" not in html
    assert analyst.correction_html(nasty, lead="<i>").count("&lt;i&gt;") == 1
    assert analyst.corrections_of([nasty], "x") == [] and analyst.corrections_of([nasty], None)


def test_place_label_and_view():
    p = Place("ne:1", "Ussuri", "river", 44.5912, 134.1286)
    assert analyst.place_label(p) == "Ussuri (river; 44.591, 134.129) [ne:1]"
    view = analyst.view_of(Filters(articles=frozenset({"001"})))
    assert (view.articles, view.date_from, view.date_to) == (frozenset({"001"}), "", "")
    dated = analyst.view_of(Filters(months=("2023-09", "2024-06"), undated=False))
    assert (dated.date_from, dated.date_to, dated.undated) == ("2023-09", "2024-06", False)
    assert analyst.view_of(Filters(months=("2023-09", "2023-09"))).undated is True


@pytest.mark.parametrize(
    "filters",
    [Filters(), Filters(months=("2023-09", "2023-09")), Filters(months=("2024-01", "2024-12")),
     Filters(articles=frozenset({"001", "002"}), months=("2023-07", "2023-09"))],
)  # fmt: skip
def test_the_pack_holds_the_articles_the_page_shows(lay, atlas, filters):
    from geo import export, store

    with store.Store(atlas.store) as st:
        chosen = export.chosen_articles(st.articles(), analyst.view_of(filters))
    shown = dashboard.allowed_articles(lay, filters)
    assert {a.id for a in chosen} == (set(lay.articles) if shown is None else set(shown))


def _app(monkeypatch, data, **env: str):
    from conftest import ROOT, use
    from streamlit.testing.v1 import AppTest

    use(monkeypatch, data)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def test_served_beyond_this_machine_the_page_cannot_change_the_atlas(monkeypatch, atlas):
    # AppTest runs without a server address, like `streamlit run` on every interface
    at = _app(monkeypatch, atlas, NEWS_ATLAS_ALLOW_EDITS="0")
    assert analyst.EDITS_OFF in [c.value for c in at.sidebar.caption]
    assert not [b for b in at.button if b.label == "Add to the atlas"]
    at = _app(monkeypatch, atlas, NEWS_ATLAS_ALLOW_EDITS="1")
    assert analyst.EDITS_OFF not in [c.value for c in at.sidebar.caption]
    assert [t.label for t in at.sidebar.text_input] == ["Find a place"]  # the box is closed
    at.session_state["add_box"] = True  # as a click on it: a rerun with the form in it
    at.run()
    assert [t.label for t in at.sidebar.text_input][-5:] == [
        "Title", "Outlet", "Author", "Date (YYYY-MM-DD)", "URL",
    ]  # fmt: skip


def test_a_notice_is_escaped_html_never_markdown():
    html = analyst.notice_html("'![x](http://evil/x.png) <b>.txt' is empty\n\nreally", "warning")
    assert html.startswith("<div class='news-atlas-warning'") and "\n" not in html
    assert "&lt;b&gt;" in html and "<b>" not in html


def test_stale_corrections_are_listed_for_the_page(atlas, tmp_path):
    from analyst_data import own_copy

    from geo import build, edits

    own = own_copy(atlas, tmp_path)
    saved, _ = edits.correct(own.cfg, edits.Fix(*USSURI, place_id=USSURI_RIVER))
    assert analyst.stale_warnings(dashboard.load_layers(own.store)) == []
    path = next(own.cfg.seeds_dir.glob("004_*.txt"))
    path.write_text(path.read_text(encoding="utf-8").replace("Ussuri", "Amur"), encoding="utf-8")
    build.build(own.cfg)
    (warning,) = analyst.stale_warnings(dashboard.load_layers(own.store))
    assert warning.startswith(f"correction {saved.id!r}: article '004' has 'Amur i'")


def test_the_panel_corrects_to_coordinates_and_a_searched_record(monkeypatch, atlas, tmp_path):
    from analyst_data import own_copy

    from geo import corrections
    from geo.dashboard import Selection

    own = own_copy(atlas, tmp_path)
    at = _app(monkeypatch, own, NEWS_ATLAS_ALLOW_EDITS="1")
    at.session_state["selection"] = Selection("place", drawn())
    at.run()
    at.radio(key="fix_how").set_value("coordinates").run()
    at.number_input(key="fix_lat").set_value(45.1)
    at.number_input(key="fix_lon").set_value(133.9)
    at.text_input(key="fix_name").set_value("Ussuri <valley>")
    at.selectbox(key="fix_kind").set_value("region")
    at.button(key="fix_save").click().run()
    assert not at.exception, at.exception
    (saved,) = corrections.load(corrections.corrections_path(own.cfg.data_dir))
    assert (saved.place_id, saved.name, saved.kind) == (
        "user:ussuri-valley",
        "Ussuri <valley>",
        "region",
    )
    assert at.session_state["selection"] == Selection("place", "user:ussuri-valley")
    assert "Ussuri &lt;valley&gt;" in "\n".join(str(m.value) for m in at.markdown)

    at.radio(key="fix_how").set_value("search").run()
    at.text_input(key="fix_query").set_value("Ussuri").run()
    options = at.selectbox(key="fix_record").options
    assert any(USSURI_RIVER in o for o in options), options
    at.selectbox(key="fix_record").set_value(USSURI_RIVER)
    at.radio(key="fix_scope").set_value("corpus")
    at.button(key="fix_save").click().run()
    assert not at.exception, at.exception
    items = corrections.load(corrections.corrections_path(own.cfg.data_dir))
    assert [(c.place_id, c.scope) for c in items][-1] == (USSURI_RIVER, "corpus")
    assert at.session_state["selection"] == Selection("place", USSURI_RIVER)
