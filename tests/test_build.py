"""Build: the real seed articles -> the store -> one published layer set; incremental and
all or nothing."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from geo import build as build_mod
from geo import layers, store
from geo._lock import AtlasBusy, writer_lock
from geo.build import BuildReport, build
from geo.errors import BadInput, DataFileError
from geo.layers import FILES, MANIFEST, read_layer
from geo.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
SEEDS = ROOT / "seeds"
LINKED = ("gazetteer", "recognizer", "basemap")
NEW_ARTICLE = "Freight trains now cross from Khasan to Tumangang every week.\n"


def make_settings(root: Path, cache_dir: Path, seeds: Path = SEEDS) -> Settings:
    """A data folder under ``root`` linking the real inputs, with its own routes.yaml."""
    data = root / "data"
    data.mkdir(parents=True)
    for name in LINKED:
        (data / name).symlink_to(DATA / name, target_is_directory=True)
    shutil.copyfile(DATA / "routes.yaml", data / "routes.yaml")
    return Settings(
        data_dir=data,
        seeds_dir=seeds,
        cache_dir=cache_dir,
        online=False,
        user_agent="news-atlas-tests",
        nominatim_url="http://127.0.0.1:9",
        timeout=1.0,
        min_delay=0.0,
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def assert_whole(data_dir: Path) -> dict[str, bytes]:
    """The published set is complete and every file is the one its manifest names."""
    files = snapshot(layers.layers_dir(data_dir))
    assert sorted(set(files) - {layers.INDEX}) == sorted([*FILES, MANIFEST])
    digests = json.loads(files[MANIFEST])["files"]
    assert {n: hashlib.sha256(files[n]).hexdigest() for n in FILES} == digests
    return files


def equals_a_full_render(data_dir: Path) -> dict[str, bytes]:
    """The published set is whole, byte for byte what rendering the whole store gives,
    and its index gives each article's byte range in the per-article files."""
    files = assert_whole(data_dir)
    with store.Store(store.store_path(data_dir)) as st:
        full = layers.layer_texts(st)
    assert {n: files[n].decode("utf-8") for n in FILES} == full
    index = json.loads(files[layers.INDEX])
    records = json.loads(files["articles.json"])
    assert index["ids"] == [r["id"] for r in records]
    spans = index["files"]["articles.json"]["parts"]
    for i, record in enumerate(records):
        assert json.loads(files["articles.json"][spans[2 * i] : spans[2 * i + 1]]) == record
    spans = index["files"]["mentions.geojson"]["parts"]
    seen = 0
    for i, art_id in enumerate(index["ids"]):
        part = files["mentions.geojson"][spans[2 * i] : spans[2 * i + 1]]
        feats = json.loads(b"[" + part + b"]")
        assert {f["properties"]["article_id"] for f in feats} <= {art_id}
        seen += len(feats)
    assert seen == len(json.loads(files["mentions.geojson"])["features"])
    return files


def no_leftovers(data_dir: Path) -> None:
    names = [p.name for p in (data_dir / layers.SETS).iterdir()]
    assert not [n for n in names if n.startswith(".")], names
    assert len(names) <= 2, "the current set and the one before it"
    assert not list(data_dir.glob(".layers.*"))


@pytest.fixture(scope="module")
def built(tmp_path_factory, cache_dir) -> tuple[Settings, BuildReport, dict[str, bytes]]:
    cfg = make_settings(tmp_path_factory.mktemp("build"), cache_dir)
    report = build(cfg)
    return cfg, report, snapshot(report.out_dir)


@pytest.fixture
def own(tmp_path, cache_dir, built) -> Settings:
    """A built atlas of a copy of the seeds, to change (the store and layers copied)."""
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    cfg = make_settings(tmp_path, cache_dir, seeds)
    src = built[0].data_dir
    shutil.copyfile(src / store.STORE_FILE, cfg.data_dir / store.STORE_FILE)
    layers.publish(cfg.data_dir, {n: built[2][n].decode() for n in FILES}, name="1")
    return cfg


def test_the_layer_set_is_published_whole(built):
    cfg, report, files = built
    assert report.out_dir == cfg.data_dir / "layers"
    assert report.out_dir.is_symlink() and report.out_dir.resolve().parent.name == "layersets"
    assert assert_whole(cfg.data_dir) == files
    assert json.loads(files[MANIFEST])["build"] == "1"
    no_leftovers(cfg.data_dir)


def test_report(built):
    _, report, _ = built
    assert (report.articles, report.parsed, report.removed) == (5, 5, 0)
    assert report.places > 20
    assert report.mentions >= report.places
    assert report.routes > 0
    text = str(report)
    assert f"{report.places} places" in text and f"{report.routes} routes" in text


def test_places_layer(built):
    _, report, _ = built
    places = read_layer(report.out_dir / "places.geojson")
    assert len(places) == report.places
    assert {"Vladivostok", "Pyongyang", "Rajin", "Bering Strait"} <= set(places["name"])
    vlad = places[places["name"] == "Vladivostok"].iloc[0]
    assert (vlad.geometry.x, vlad.geometry.y) == pytest.approx((131.87, 43.11), abs=0.05)
    assert vlad["mentions"] >= 3 and vlad["articles"] >= 2
    assert vlad["first_date"] == vlad["last_date"] == "2023-09"
    assert (places["first_date"] < places["last_date"]).any(), "the seeds span 2023 to 2024"
    assert "quotes" not in places.columns, "quotes are read from the mentions, not copied"
    assert places.geometry.x.between(-180, 180).all()
    assert places.geometry.y.between(-90, 90).all()


def test_mentions_layer_points_into_the_articles(built):
    _, report, files = built
    mentions = read_layer(report.out_dir / "mentions.geojson")
    assert len(mentions) == report.mentions
    texts = {a["id"]: a["text"] for a in json.loads(files["articles.json"])}
    for row in mentions.itertuples():
        assert texts[row.article_id][row.start : row.end] == row.text
        assert row.passage_start <= row.start < row.end <= row.passage_end


def test_layers_grow_with_the_text_not_with_quotes(built):
    _, _, files = built
    text = sum(len(a["text"]) for a in json.loads(files["articles.json"]))
    mentions = files["mentions.geojson"]
    assert len(mentions) / mentions.count(b'"Feature"') < 400, "no sentence per mention"
    assert len(files["places.geojson"]) < text


def test_articles_routes_and_claim_check(built):
    _, report, files = built
    articles = json.loads(files["articles.json"])
    assert [a["id"] for a in articles] == ["000", "001", "002", "003", "004"]
    assert articles[3]["author"] == "M. K. Bhadrakumar"
    routes = json.loads(files["routes.geojson"])
    assert len(routes["features"]) == report.routes > 0
    assert all(
        f["geometry"]["type"] in {"LineString", "MultiLineString"} for f in routes["features"]
    )
    quotes = routes["features"][0]["properties"]["quotes"]
    assert quotes and all(q["title"] for q in quotes), "route quotes name their article"
    assert json.loads(files["claim_check.json"])["rows"]


def test_a_second_build_parses_nothing_and_publishes_nothing(built):
    cfg, _, files = built
    report = build(cfg)
    assert (report.parsed, report.removed) == (0, 0)
    assert snapshot(cfg.data_dir / "layers") == files
    assert json.loads(files[MANIFEST])["build"] == "1"


def test_builds_are_incremental(own):
    seeds = own.seeds_dir
    (seeds / "005_new.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    report = build(own)
    assert (report.articles, report.parsed, report.removed) == (6, 1, 0)
    with store.Store(store.store_path(own.data_dir)) as st:
        assert {m.text for m in st.mentions("005")} >= {"Khasan", "Tumangang"}
        assert st.build_id() == 2
    (seeds / "005_new.txt").write_text(NEW_ARTICLE.replace("Khasan", "Hasan"), "utf-8")
    assert build(own).parsed == 1
    (seeds / "005_new.txt").unlink()
    report = build(own)
    assert (report.articles, report.parsed, report.removed) == (5, 0, 1)
    with store.Store(store.store_path(own.data_dir)) as st:
        assert st.mentions("005") == [] and st.article("005") is None
    articles = json.loads((layers.layers_dir(own.data_dir) / "articles.json").read_text())
    assert [a["id"] for a in articles] == ["000", "001", "002", "003", "004"]
    no_leftovers(own.data_dir)


def test_a_metadata_change_is_published_without_a_parse(own):
    meta = own.seeds_dir / "articles.toml"
    meta.write_text(meta.read_text("utf-8").replace("Kim's armoured train", "Kim's train"), "utf-8")
    report = build(own)
    assert report.parsed == 0
    articles = json.loads((layers.layers_dir(own.data_dir) / "articles.json").read_text())
    assert "Kim's train heads for Vladivostok" in {a["title"] for a in articles}


def test_a_new_parser_version_parses_everything_again(own, monkeypatch):
    monkeypatch.setattr(build_mod, "version_key", lambda *a, **k: "another-parser")
    report = build(own)
    assert report.parsed == 5


def test_version_key_follows_the_parser_data(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA / "recognizer", data / "recognizer")
    (data / "gazetteer").mkdir()
    (data / "gazetteer" / "curated.toml").write_text("# none\n", encoding="utf-8")
    key = build_mod.version_key(data)
    assert key == build_mod.version_key(data)
    assert key != build_mod.version_key(data, online=True)
    (data / "gazetteer" / "curated.toml").write_text("# one change\n", encoding="utf-8")
    assert key != build_mod.version_key(data)


BAD_QUOTE = "The commercial value of the Arctic shipping route is in the spotlight"


def test_bad_routes_file_leaves_the_last_good_atlas(own):
    before = assert_whole(own.data_dir)
    routes_file = own.data_dir / "routes.yaml"
    text = routes_file.read_text(encoding="utf-8")
    assert text.count(BAD_QUOTE) == 1
    routes_file.write_text(text.replace(BAD_QUOTE, "Kim sailed to Atlantis"), encoding="utf-8")
    with pytest.raises(DataFileError, match=re.escape("'nsr-europe-rizhao'")) as info:
        build(own)
    assert "Kim sailed to Atlantis" in str(info.value)
    assert assert_whole(own.data_dir) == before


def test_missing_routes_file_is_named(own):
    (own.data_dir / "routes.yaml").unlink()
    with pytest.raises(DataFileError, match=r"routes file .*routes\.yaml.* is missing"):
        build(own)


def test_non_utf8_article_leaves_the_last_good_atlas(own):
    before = assert_whole(own.data_dir)
    bad = own.seeds_dir / "005_latin1.txt"
    bad.write_bytes("Kim à Vladivostok.".encode("latin-1"))
    with pytest.raises(BadInput, match=re.escape(str(bad))):
        build(own)
    assert assert_whole(own.data_dir) == before
    with store.Store(store.store_path(own.data_dir)) as st:
        assert st.build_id() == 1


def test_a_full_disk_while_publishing_keeps_the_old_set(own, monkeypatch):
    """ENOSPC part-way through the new set (while splicing articles.json from the set
    before): the old set stays published, whole, and the next build publishes the
    committed store."""
    (own.seeds_dir / "005_new.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    build(own)  # a set with an index, which the next one splices from
    before = assert_whole(own.data_dir)
    (own.seeds_dir / "006_new.txt").write_text(NEW_ARTICLE.replace("Khasan", "Hasan"), "utf-8")
    real = layers._LayerFile._put

    def full(self: layers._LayerFile, data: bytes) -> None:
        if self.path.name == "articles.json" and self.pos > 1000:
            real(self, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        real(self, data)

    monkeypatch.setattr(layers._LayerFile, "_put", full)
    with pytest.raises(OSError, match="No space left"):
        build(own)
    assert assert_whole(own.data_dir) == before
    assert not [p for p in (own.data_dir / layers.SETS).iterdir() if p.name.startswith(".")]
    monkeypatch.setattr(layers._LayerFile, "_put", real)
    report = build(own)
    assert report.parsed == 0, "the store had committed the article"
    files = equals_a_full_render(own.data_dir)
    assert "006" in {a["id"] for a in json.loads(files["articles.json"])}


def test_a_full_disk_in_the_store_rolls_back(own, monkeypatch):
    before = assert_whole(own.data_dir)
    (own.seeds_dir / "005_new.txt").write_text(NEW_ARTICLE, encoding="utf-8")

    def full(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store.StoreWriter, "put_article", full)
    with pytest.raises(DataFileError, match=r"cannot write the atlas store .*disk is full"):
        build(own)
    with store.Store(store.store_path(own.data_dir)) as st:
        assert st.build_id() == 1 and st.article("005") is None
    assert assert_whole(own.data_dir) == before


def test_a_second_writer_is_told_who_is_writing(own):
    holder = writer_lock(own.data_dir, "a test holding the lock")
    with holder, pytest.raises(AtlasBusy, match=r"a test holding the lock \(pid \d+"):
        build(own)
    assert build(own).parsed == 0


def test_a_writer_starting_with_another_waits_for_its_record_or_its_end(tmp_path):
    """Two writers at the same moment: the one that finds the lock taken before the holder
    wrote its record names the holder all the same; one that finds it just released (the
    record cleared, the lock let go) takes the lock."""
    import fcntl
    import threading

    path = tmp_path / ".atlas.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # the holder, before it writes who it is
        late = threading.Timer(0.2, lambda: path.write_text("a build (pid 1, `x`)\n"))
        late.start()
        with (
            pytest.raises(AtlasBusy, match=r"written by a build \(pid 1"),
            writer_lock(tmp_path, "a second build"),
        ):
            pass
        late.join()
        path.write_text("")  # the holder clears its record, then lets go
        threading.Timer(0.2, lambda: fcntl.flock(fd, fcntl.LOCK_UN)).start()
        with writer_lock(tmp_path, "a second build"):
            assert "a second build" in path.read_text()
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    "garbage", [b"SQLite format 3\x00" + b"\xff" * 4096, b"\x80\x63.", b"", b"plain text"]
)
def test_an_unreadable_store_is_moved_aside_and_rebuilt(own, garbage):
    path = store.store_path(own.data_dir)
    path.write_bytes(garbage)
    report = build(own)
    assert report.parsed == 5 and report.articles == 5
    assert "moved it to" in report.warning and "built the atlas afresh" in report.warning
    (aside,) = own.data_dir.glob("atlas.sqlite.unreadable-*")
    assert aside.read_bytes() == garbage, "kept for a look, not deleted"
    assert_whole(own.data_dir)


def test_empty_and_binary_files_are_left_out_with_a_warning(own):
    (own.seeds_dir / "010_empty.txt").write_text("  \n\n", encoding="utf-8")
    (own.seeds_dir / "011_nul.txt").write_bytes(b"\x00" * 64)
    report = build(own)
    assert report.articles == 5 and report.parsed == 0
    assert "010_empty.txt': it is empty" in report.warning
    assert "011_nul.txt" in report.warning and "NUL bytes" in report.warning


ONE_ROUTE = """
routes:
  - id: coal
    title: Coal from Rajin
    mode: sea
    status: existing
    waypoints: [Rajin, Vladivostok]
    quotes:
      - article: "100"
        text: Coal ships leave Rajin for Vladivostok.
"""


def test_build_other_seeds_folder(tmp_path, cache_dir):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "100_rajin.txt").write_text(
        "Coal ships leave Rajin for Vladivostok.\nKim met Putin in Pyongyang.\n", encoding="utf-8"
    )
    cfg = make_settings(tmp_path, cache_dir)
    report = build(cfg, seeds_dir=seeds)  # routes.yaml quotes the seeds: those routes drop out
    assert report.routes == 0
    assert "left out 11 routes" in report.warning
    assert json.loads((report.out_dir / "claim_check.json").read_text()) == {"rows": []}
    (cfg.data_dir / "routes.yaml").write_text(ONE_ROUTE, encoding="utf-8")
    report = build(cfg, seeds_dir=seeds)
    assert (report.articles, report.routes, report.parsed) == (1, 1, 0)
    places = read_layer(report.out_dir / "places.geojson")
    assert {"Rajin", "Vladivostok", "Pyongyang"} <= set(places["name"])
    assert json.loads((report.out_dir / "claim_check.json").read_text()) == {"rows": []}


def test_routes_are_redrawn_when_an_article_they_quote_changes(tmp_path, cache_dir):
    """Whatever way the routes file writes the article id (here a plain YAML string)."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    story = seeds / "coal-story.txt"
    story.write_text("Coal ships leave Rajin for Vladivostok.\n", encoding="utf-8")
    cfg = make_settings(tmp_path, cache_dir, seeds)
    plain = ONE_ROUTE.replace('article: "100"', "article: coal-story")
    (cfg.data_dir / "routes.yaml").write_text(plain, encoding="utf-8")
    assert build(cfg).routes == 1
    story.write_text("Coal ships now leave Rajin for Nakhodka.\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="coal"):
        build(cfg)


def _rendered(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[list[str] | None]]:
    """Records which articles the next builds render, per per-article file (``None``: all)."""
    asked: dict[str, list[list[str] | None]] = {"mentions.geojson": [], "articles.json": []}
    for name, method in (
        ("mentions.geojson", "mention_features"),
        ("articles.json", "full_articles"),
    ):
        real = getattr(store.Store, method)

        def spy(self, articles=None, *, _real=real, _name=name):  # type: ignore[no-untyped-def]
            asked[_name].append(None if articles is None else sorted(articles))
            return _real(self, articles)

        monkeypatch.setattr(store.Store, method, spy)
    return asked


def _inode(data_dir: Path, name: str) -> int:
    return (layers.layers_dir(data_dir) / name).stat().st_ino


def test_a_build_renders_only_what_changed_and_links_the_rest(own, monkeypatch):
    seeds = own.seeds_dir
    (seeds / "005_new.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    build(own)  # the copied set has no index: everything is rendered
    equals_a_full_render(own.data_dir)
    inodes = {n: _inode(own.data_dir, n) for n in FILES}
    asked = _rendered(monkeypatch)

    (seeds / "006_new.txt").write_text(NEW_ARTICLE.replace("Khasan", "Hasan"), "utf-8")
    assert build(own).parsed == 1
    assert asked == {"mentions.geojson": [["006"]], "articles.json": [["006"]]}
    for name in ("routes.geojson", "claim_check.json"):  # the same files: linked
        assert _inode(own.data_dir, name) == inodes[name]
    assert _inode(own.data_dir, "mentions.geojson") != inodes["mentions.geojson"]
    equals_a_full_render(own.data_dir)

    meta = seeds / "articles.toml"
    meta.write_text(meta.read_text("utf-8").replace("Kim's armoured train", "Kim's train"), "utf-8")
    inodes = {n: _inode(own.data_dir, n) for n in FILES}
    asked["mentions.geojson"].clear()
    asked["articles.json"].clear()
    build(own)
    assert asked == {"mentions.geojson": [], "articles.json": [["002"]]}
    assert _inode(own.data_dir, "mentions.geojson") == inodes["mentions.geojson"]
    equals_a_full_render(own.data_dir)

    (seeds / "005_new.txt").unlink()
    asked["mentions.geojson"].clear()
    asked["articles.json"].clear()
    assert build(own).removed == 1
    assert asked == {"mentions.geojson": [[]], "articles.json": [[]]}, "all copied"
    files = equals_a_full_render(own.data_dir)
    assert "005" not in {a["id"] for a in json.loads(files["articles.json"])}
    no_leftovers(own.data_dir)


def test_a_correction_renders_the_corrected_article(own, monkeypatch):
    from geo import edits

    (own.seeds_dir / "005_new.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    build(own)
    with store.Store(store.store_path(own.data_dir)) as st:
        first = next(m for m in st.mentions("003") if m.place_id)
    asked = _rendered(monkeypatch)
    saved, _ = edits.correct(own, edits.Fix("003", first.start, first.end))  # not a place
    assert asked == {"mentions.geojson": [["003"]], "articles.json": []}, "articles.json linked"
    equals_a_full_render(own.data_dir)
    asked["mentions.geojson"].clear()
    edits.undo(own, saved.id)
    assert asked["mentions.geojson"] == [["003"]]
    equals_a_full_render(own.data_dir)


def test_a_changed_published_file_is_not_reused(own, monkeypatch):
    """A layer file touched after it was published (an editor, a copy tool) does not match
    what the set's index recorded: the next build renders that file whole."""
    (own.seeds_dir / "005_new.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    build(own)
    mentions = layers.layers_dir(own.data_dir) / "mentions.geojson"
    os.utime(mentions, ns=(1, 1))
    asked = _rendered(monkeypatch)
    (own.seeds_dir / "006_new.txt").write_text(NEW_ARTICLE.replace("Khasan", "Hasan"), "utf-8")
    build(own)
    assert asked == {"mentions.geojson": [None], "articles.json": [["006"]]}
    equals_a_full_render(own.data_dir)


def test_a_store_built_afresh_does_not_reuse_the_old_set(own, monkeypatch):
    (own.seeds_dir / "005_new.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    build(own)
    store.store_path(own.data_dir).write_bytes(b"damaged")
    asked = _rendered(monkeypatch)
    report = build(own)
    assert report.parsed == 6 and "built the atlas afresh" in report.warning
    assert asked == {"mentions.geojson": [None], "articles.json": [None]}
    equals_a_full_render(own.data_dir)


def test_a_store_put_back_from_a_backup_does_not_reuse_a_newer_set(own, monkeypatch):
    """The store goes back to a backup while the published set is newer: the revision
    numbers the store reaches again are not the set's, and everything is rendered."""
    seeds = own.seeds_dir
    (seeds / "005_new.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    build(own)
    path = store.store_path(own.data_dir)
    backup = own.data_dir.parent / "backup.sqlite"
    src, dst = sqlite3.connect(path), sqlite3.connect(backup)
    src.backup(dst)
    src.close()
    dst.close()
    (seeds / "006_new.txt").write_text(NEW_ARTICLE.replace("Khasan", "Hasan"), "utf-8")
    build(own)  # the published set now holds 006 as this text
    src, dst = sqlite3.connect(backup), sqlite3.connect(path)
    src.backup(dst)  # the store put back as it was
    src.close()
    dst.close()
    (seeds / "006_new.txt").write_text(NEW_ARTICLE.replace("Khasan", "Rason"), "utf-8")
    asked = _rendered(monkeypatch)
    report = build(own)
    assert report.parsed == 1, report.warning
    assert asked == {"mentions.geojson": [None], "articles.json": [None]}
    files = equals_a_full_render(own.data_dir)
    assert "Rason" in {a["id"]: a["text"] for a in json.loads(files["articles.json"])}["006"]
