"""Layers: hand-made resolutions -> GeoDataFrames -> GeoJSON, and atomic writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from shapely.geometry import Point

from geo import layers
from geo.layers import (
    MENTION_COLUMNS,
    PLACE_COLUMNS,
    articles_records,
    atomic_write_text,
    mentions_frame,
    places_frame,
    read_layer,
    to_geojson,
    write_layers,
)
from geo.model import Article, Mention, Place, Resolution

VLAD = Place("gn:2013348", "Vladivostok", "city", 43.1, 131.9, "RU", "geonames", 604901)
RAJIN = Place("cur:rajin", "Rajin", "port", 42.25, 130.3, "KP", "curated", 100000)
BERING = Place("cur:bering-strait", "Bering Strait", "strait", 65.75, -168.95, "", "curated")
VLAD_ALT = Place("gn:1", "Vladivostok", "city", 45.0, -90.0, "US", "geonames", 10)

TEXT_A = (
    "Kim arrived in Vladivostok by train. Vladivostok is a port, and Rajin is another.\n"
    "Ships sail on through the Bering Strait!"
)
TEXT_B = "Putin flew to Vladivostok. Then he left."
ARTICLE_A = Article(id="000", text=TEXT_A, title="Title A", outlet="Outlet", date="2023-09")
ARTICLE_B = Article(id="001", text=TEXT_B, title="Title B")


def res(article: Article, needle: str, place: Place, *, nth: int = 0, conf: float = 0.9,
        alternatives: tuple[Place, ...] = ()) -> Resolution:  # fmt: skip
    """Resolve the ``nth`` occurrence of ``needle`` in ``article`` to ``place``."""
    start = -1
    for _ in range(nth + 1):
        start = article.text.index(needle, start + 1)
    mention = Mention(article.id, start, start + len(needle), needle)
    return Resolution(mention, place, conf, alternatives)


@pytest.fixture
def resolved() -> dict[str, list[Resolution]]:
    return {
        "000": [
            res(ARTICLE_A, "Vladivostok", VLAD, conf=0.8, alternatives=(VLAD_ALT,)),
            res(ARTICLE_A, "Vladivostok", VLAD, nth=1, conf=0.95),
            res(ARTICLE_A, "Rajin", RAJIN, conf=0.7),
            res(ARTICLE_A, "Bering Strait", BERING),
        ],
        "001": [res(ARTICLE_B, "Vladivostok", VLAD, conf=0.6)],
    }


ARTICLES = [ARTICLE_A, ARTICLE_B]


# --------------------------------------------------------------------------- places


def test_places_columns_and_crs(resolved):
    frame = places_frame(ARTICLES, resolved)
    assert list(frame.columns) == [*PLACE_COLUMNS, "geometry"]
    assert PLACE_COLUMNS == (
        "place_id", "name", "kind", "group", "country", "source", "confidence", "mentions",
        "article_ids", "quotes", "alternatives", "lat", "lon",
    )  # fmt: skip
    assert frame.crs.to_epsg() == 4326
    assert frame.geometry.name == "geometry"
    assert list(frame["place_id"]) == ["gn:2013348", "cur:bering-strait", "cur:rajin"]


def test_point_is_lon_lat():
    art = Article(id="x", text="At Vladivostok.")
    frame = places_frame([art], {"x": [res(art, "Vladivostok", VLAD)]})
    point = frame.geometry.iloc[0]
    assert isinstance(point, Point)
    assert (point.x, point.y) == (131.9, 43.1)  # x is the longitude
    assert (frame["lat"].iloc[0], frame["lon"].iloc[0]) == (43.1, 131.9)
    feature = json.loads(to_geojson(frame))["features"][0]
    assert feature["geometry"] == {"type": "Point", "coordinates": [131.9, 43.1]}
    assert (feature["properties"]["lat"], feature["properties"]["lon"]) == (43.1, 131.9)


def test_mention_count_confidence_and_articles(resolved):
    frame = places_frame(ARTICLES, resolved).set_index("place_id")
    vlad = frame.loc["gn:2013348"]
    assert vlad["mentions"] == 3
    assert vlad["confidence"] == 0.6  # the weakest mention
    assert json.loads(vlad["article_ids"]) == ["000", "001"]
    assert (vlad["group"], vlad["kind"], vlad["country"]) == ("city", "city", "RU")
    assert frame.loc["cur:rajin", "mentions"] == 1
    assert frame.loc["cur:rajin", "group"] == "city"  # a port is shown with cities
    assert frame.loc["cur:bering-strait", "group"] == "water"
    assert json.loads(frame.loc["cur:rajin", "alternatives"]) == []
    (alt,) = json.loads(vlad["alternatives"])
    assert alt == {"name": "Vladivostok", "kind": "city", "country": "US", "lat": 45.0,
                   "lon": -90.0, "source": "geonames"}  # fmt: skip


def test_quotes_highlight_the_mention_and_dedupe_sentences(resolved):
    frame = places_frame(ARTICLES, resolved).set_index("place_id")
    quotes = json.loads(frame.loc["gn:2013348", "quotes"])
    # Two mentions in article 000 are in different sentences; one in 001: three quotes.
    assert [(q["article_id"], q["sentence"]) for q in quotes] == [
        ("000", "Kim arrived in Vladivostok by train."),
        ("000", "Vladivostok is a port, and Rajin is another."),
        ("001", "Putin flew to Vladivostok."),
    ]
    for q in quotes:
        assert q["sentence"][q["hl_start"] : q["hl_end"]] == "Vladivostok"
        text = TEXT_A if q["article_id"] == "000" else TEXT_B
        assert text[q["start"] : q["end"]] == "Vladivostok"
    assert (quotes[0]["title"], quotes[0]["outlet"], quotes[0]["date"]) == (
        "Title A", "Outlet", "2023-09",
    )  # fmt: skip
    assert quotes[2]["title"] == "Title B"


def test_same_sentence_quoted_once():
    art = Article(id="x", text="Rajin, Rajin and Rajin again. Not here.")
    found = [res(art, "Rajin", RAJIN, nth=n) for n in range(3)]
    frame = places_frame([art], {"x": found})
    assert frame["mentions"].iloc[0] == 3
    (quote,) = json.loads(frame["quotes"].iloc[0])
    assert quote["sentence"] == "Rajin, Rajin and Rajin again."
    assert quote["sentence"][quote["hl_start"] : quote["hl_end"]] == "Rajin"


def test_unicode_survives_json_columns():
    text = "Kim’s train reached Tōkyō."
    art = Article(id="x", text=text, title="Kim’s “trip”")
    tokyo = Place("gn:t", "Tōkyō", "city", 35.7, 139.7, "JP")
    frame = places_frame([art], {"x": [res(art, "Tōkyō", tokyo)]})
    (quote,) = json.loads(frame["quotes"].iloc[0])
    assert quote["title"] == "Kim’s “trip”"
    assert quote["sentence"][quote["hl_start"] : quote["hl_end"]] == "Tōkyō"
    assert "Tōkyō" in to_geojson(frame)  # not \\u-escaped


def test_empty_layers_are_valid():
    for frame in (places_frame([], {}), mentions_frame([], {})):
        assert len(frame) == 0
        assert frame.crs.to_epsg() == 4326
        assert json.loads(to_geojson(frame)) == {"type": "FeatureCollection", "features": []}
    assert list(places_frame([ARTICLE_A], {}).columns) == [*PLACE_COLUMNS, "geometry"]


# --------------------------------------------------------------------------- mentions


def test_mentions_layer(resolved):
    frame = mentions_frame(ARTICLES, resolved)
    assert list(frame.columns) == [*MENTION_COLUMNS, "geometry"]
    assert frame.crs.to_epsg() == 4326
    assert len(frame) == 5
    for row in frame.itertuples():
        text = TEXT_A if row.article_id == "000" else TEXT_B
        assert text[row.start : row.end] == row.text
        assert row.sentence[row.hl_start : row.hl_end] == row.text
        assert text[row.sentence_start : row.sentence_start + len(row.sentence)] == row.sentence
        assert (row.geometry.x, row.geometry.y) == (
            {"gn:2013348": 131.9, "cur:rajin": 130.3, "cur:bering-strait": -168.95}[row.place_id],
            {"gn:2013348": 43.1, "cur:rajin": 42.25, "cur:bering-strait": 65.75}[row.place_id],
        )
    bering = frame[frame["place_id"] == "cur:bering-strait"].iloc[0]
    assert bering["sentence"] == "Ships sail on through the Bering Strait!"


def test_mention_outside_any_sentence_uses_itself():
    art = Article(id="x", text="One.   Two.")
    found = [Resolution(Mention("x", 5, 6, " "), RAJIN, 0.5)]  # a mention in the gap
    row = mentions_frame([art], {"x": found}).iloc[0]
    assert (row["sentence"], row["sentence_start"], row["hl_start"], row["hl_end"]) == (
        " ", 5, 0, 1,
    )  # fmt: skip


# --------------------------------------------------------------------------- GeoJSON


def test_to_geojson_is_valid(resolved):
    for frame in (places_frame(ARTICLES, resolved), mentions_frame(ARTICLES, resolved)):
        data = json.loads(to_geojson(frame))
        assert data["type"] == "FeatureCollection"
        assert len(data["features"]) == len(frame)
        for feature in data["features"]:
            assert feature["type"] == "Feature"
            assert "id" not in feature
            assert feature["geometry"]["type"] == "Point"
            lon, lat = feature["geometry"]["coordinates"]
            assert -180 <= lon <= 180
            assert -90 <= lat <= 90
            assert set(feature["properties"]) == set(frame.columns) - {"geometry"}


def test_to_geojson_reprojects_to_4326(resolved):
    frame = places_frame(ARTICLES, resolved)
    mercator = frame.to_crs("EPSG:3857")
    data = json.loads(to_geojson(mercator))
    lon, lat = data["features"][0]["geometry"]["coordinates"]
    assert (lon, lat) == pytest.approx((131.9, 43.1))


def test_write_and_read_layer_round_trip(tmp_path, resolved):
    frame = places_frame(ARTICLES, resolved)
    path = tmp_path / "layers" / "places.geojson"
    write_layers(path.parent, {"places.geojson": to_geojson(frame)})
    back = read_layer(path)
    assert back.crs.to_epsg() == 4326
    assert list(back["place_id"]) == list(frame["place_id"])
    assert list(back["mentions"]) == list(frame["mentions"])
    assert [(p.x, p.y) for p in back.geometry] == [(p.x, p.y) for p in frame.geometry]


def test_articles_records():
    (rec,) = articles_records([ARTICLE_A])
    assert rec == {
        "id": "000",
        "title": "Title A",
        "outlet": "Outlet",
        "author": "",
        "date": "2023-09",
        "date_approximate": False,
        "url": "",
        "text": TEXT_A,
    }
    json.dumps(rec)


# --------------------------------------------------------------------------- atomic writes


def test_atomic_write_creates_and_replaces(tmp_path):
    path = tmp_path / "sub" / "out.json"
    atomic_write_text(path, "first ‘é’")
    assert path.read_text(encoding="utf-8") == "first ‘é’"
    atomic_write_text(path, "second")
    assert path.read_text(encoding="utf-8") == "second"
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.json"]


def test_failed_replace_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "places.geojson"
    path.write_text("old", encoding="utf-8")

    def fail(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(path, "new")
    monkeypatch.undo()
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["places.geojson"]


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "places.geojson"
    path.write_text("old", encoding="utf-8")
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(path, "half \ud800 written")  # a lone surrogate cannot be encoded
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["places.geojson"]


def test_write_layers_writes_every_file(tmp_path):
    files = {"a.json": "[]\n", "b.geojson": '{"type": "FeatureCollection", "features": []}'}
    write_layers(tmp_path / "layers", files)
    written = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "layers").iterdir()}
    manifest = json.loads(written.pop(layers.MANIFEST))
    assert written == files
    assert set(manifest["files"]) == set(files)


def test_atomic_write_gives_ordinary_file_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    plain = tmp_path / "plain.txt"
    plain.write_text("x", encoding="utf-8")
    atomic = tmp_path / "atomic.txt"
    layers.atomic_write_text(atomic, "x")
    assert (atomic.stat().st_mode & 0o777) == (plain.stat().st_mode & 0o777)


def test_atomic_write_to_a_missing_folder_creates_it(tmp_path):
    path: Path = tmp_path / "a" / "b" / "c.txt"
    atomic_write_text(path, "x")
    assert path.read_text(encoding="utf-8") == "x"


def test_empty_layer_reads_with_its_columns(tmp_path):
    path = tmp_path / "places.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    frame = layers.read_layer(path, layers.PLACE_COLUMNS)
    assert frame.empty
    assert set(layers.PLACE_COLUMNS) <= set(frame.columns)
    assert frame.crs.to_epsg() == 4326
