"""Layers: store records -> GeoJSON features, and publishing a layer set atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from geo import layers, store
from geo.model import Article, Place, StoredMention

VLAD = Place("gn:2013348", "Vladivostok", "city", 43.1, 131.9, "RU", "geonames", 604901)
RAJIN = Place("cur:rajin", "Rajin", "port", 42.25, 130.3, "KP", "curated", 100000)
PLACES = {p.id: p for p in (VLAD, RAJIN)}


def mention(article: str, start: int, place: Place | None, *, conf: float = 0.9,
            correction: str = "") -> StoredMention:  # fmt: skip
    name = place.name if place else "Nowhere"
    return StoredMention(
        article, start, start + len(name), name, 0, 200, place.id if place else None, conf,
        correction=correction,
    )  # fmt: skip


MENTIONS = [
    mention("000", 10, VLAD, conf=0.8),
    mention("000", 40, VLAD, conf=0.95),
    mention("000", 60, RAJIN, correction="c1"),
    mention("000", 80, None),
    mention("001", 5, VLAD, conf=0.6),
]
DATES = {"000": "2023-09", "001": "2024-06-19"}


def test_place_features_count_date_and_flag_corrections():
    feats = layers.place_features(MENTIONS, PLACES, DATES)
    assert [f["properties"]["name"] for f in feats] == ["Vladivostok", "Rajin"]
    vlad, rajin = (f["properties"] for f in feats)
    assert (vlad["mentions"], vlad["articles"], vlad["confidence"]) == (3, 2, 0.6)
    assert (vlad["first_date"], vlad["last_date"]) == ("2023-09", "2024-06-19")
    assert not vlad["corrected"] and rajin["corrected"]
    assert feats[0]["geometry"] == {"type": "Point", "coordinates": [131.9, 43.1]}, "lon, lat"


def test_the_store_writes_mention_features_skipping_unplaced(tmp_path):
    path = tmp_path / "atlas.sqlite"
    nasty = 'He said "it\'s `fine`" </script> ‘Hokkaidō’ \\ \u2028'
    with store.write(path) as w:
        w.put_places(PLACES.values())
        for art_id in ("000", "001"):
            w.put_article(
                Article(art_id, nasty * 10, title=nasty), content_hash="h", parsed_with="k",
                passages=[], mentions=[m for m in MENTIONS if m.article_id == art_id],
            )  # fmt: skip
    with store.Store(path) as st:
        rows = list(st.mention_features())
    assert [a for a, _ in rows] == ["000", "000", "000", "001"]
    lines = [line for _, line in rows]
    feats = [json.loads(line) for line in lines]
    assert len(feats) == 4, "the unplaced mention is left out"
    props = feats[2]["properties"]
    assert (props["article_id"], props["start"], props["end"]) == ("000", 60, 65)
    assert props["correction"] == "c1" and props["passage_end"] == 200
    assert feats[0]["geometry"] == {"type": "Point", "coordinates": [131.9, 43.1]}, "lon, lat"
    text = layers._collection(lines)
    assert len(json.loads(text)["features"]) == 4


def test_articles_json_is_json_dumps_indented_by_one():
    """The record written field by field is the text ``json.dumps(records, indent=1)``
    gives, whatever the characters (the articles layer is a published format)."""
    nasty = 'He said "it\'s `fine`" </script> ‘Hokkaidō’ \\ \u2028\t\x01 \U0001f600'
    arts = [
        Article("000", nasty, title=nasty, date="2024-06", date_approximate=True),
        Article("001", "plain", outlet="O", url="https://example.org/?a=1&b=2"),
    ]
    whole = json.dumps(layers.article_records(arts), ensure_ascii=False, indent=1)
    assert "[\n" + ",\n".join(layers.article_json(a) for a in arts) + "\n]" == whole


def test_the_store_counts_places_as_the_records_do(atlas):
    """The places layer's one query agrees with counting the mention records."""
    with store.Store(atlas.store) as st:
        mentions = st.mentions(candidates=False)
        places = st.places({m.place_id for m in mentions if m.place_id})
        dates = {a.id: a.date for a in st.articles()}
        by_query = layers.stats_features(st.place_stats())
    assert by_query == layers.place_features(mentions, places, dates)
    assert len(by_query) > 20


def test_feature_collection_is_valid_geojson_with_unicode():
    feats = layers.place_features(
        [mention("000", 0, Place("x", "Hokkaidō ‘é’", "island", 43.0, 142.0))],
        {"x": Place("x", "Hokkaidō ‘é’", "island", 43.0, 142.0)},
        {},
    )
    text = layers.feature_collection(feats)
    data = json.loads(text)
    assert data["type"] == "FeatureCollection" and "Hokkaidō ‘é’" in text
    assert json.loads(layers.feature_collection([]))["features"] == []


def test_nan_is_refused_not_written_as_invalid_json():
    bad = [mention("000", 0, VLAD, conf=float("nan"))]
    with pytest.raises(ValueError, match="not JSON compliant"):
        layers.feature_collection(layers.place_features(bad, PLACES, DATES))


def files(tag: str) -> dict[str, str]:
    return {name: f"{tag} {name}\n" for name in layers.FILES}


def published(data_dir: Path) -> dict[str, str]:
    folder = layers.layers_dir(data_dir)
    return {p.name: p.read_text("utf-8") for p in folder.iterdir() if p.name != layers.MANIFEST}


def test_publish_switches_the_whole_set_and_keeps_the_one_before(tmp_path):
    layers.publish(tmp_path, files("one"), name="1")
    assert published(tmp_path) == files("one") and layers.is_published(tmp_path, "1")
    layers.publish(tmp_path, files("two"), name="2")
    layers.publish(tmp_path, files("three"), name="3")
    assert published(tmp_path) == files("three")
    assert layers.published_build(tmp_path) == "3" and not layers.is_published(tmp_path, "2")
    assert sorted(p.name for p in (tmp_path / layers.SETS).iterdir()) == ["2", "3"]
    assert os.readlink(layers.layers_dir(tmp_path)) == str(Path(layers.SETS) / "3")


def test_a_legacy_layers_folder_is_replaced(tmp_path):
    legacy = tmp_path / "layers"
    legacy.mkdir()
    (legacy / "places.geojson").write_text("old", encoding="utf-8")
    layers.publish(tmp_path, files("new"), name="1")
    assert layers.layers_dir(tmp_path).is_symlink()
    assert published(tmp_path) == files("new")


def test_a_failed_publish_leaves_the_old_set_and_no_temporary_folder(tmp_path, monkeypatch):
    layers.publish(tmp_path, files("one"), name="1")

    def fail(path: Path, text: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(layers, "_write_synced", fail)
    with pytest.raises(OSError, match="No space"):
        layers.publish(tmp_path, files("two"), name="2")
    assert published(tmp_path) == files("one")
    assert [p.name for p in (tmp_path / layers.SETS).iterdir()] == ["1"]


def test_read_layer_round_trip(tmp_path):
    path = tmp_path / "places.geojson"
    path.write_text(
        layers.feature_collection(layers.place_features(MENTIONS, PLACES, DATES)), "utf-8"
    )
    frame = layers.read_layer(path)
    assert frame.crs.to_epsg() == 4326
    assert list(frame["name"]) == ["Vladivostok", "Rajin"]
    assert frame.geometry.iloc[1].x == pytest.approx(130.3)
