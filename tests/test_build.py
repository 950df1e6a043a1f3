"""Build: the real seed articles -> the five layer files, idempotent and all-or-nothing."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from geo import build as build_mod
from geo.build import FILES, BuildReport, build
from geo.errors import BadInput, DataFileError
from geo.layers import MANIFEST, read_layer
from geo.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
SEEDS = ROOT / "seeds"
LINKED = ("gazetteer", "recognizer", "basemap")


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


def with_layers(cfg: Settings, files: dict[str, bytes]) -> Path:
    """Give ``cfg`` the layers of an earlier good build (as a build would have left them)."""
    out = cfg.data_dir / "layers"
    out.mkdir()
    for name, content in files.items():
        (out / name).write_bytes(content)
    return out


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def built(tmp_path_factory, cache_dir) -> tuple[Settings, BuildReport, dict[str, bytes]]:
    cfg = make_settings(tmp_path_factory.mktemp("build"), cache_dir)
    report = build(cfg)
    return cfg, report, snapshot(report.out_dir)


def test_five_files_are_written(built):
    cfg, report, files = built
    assert report.out_dir == cfg.data_dir / "layers"
    assert sorted(files) == sorted([*FILES, MANIFEST])  # and no temporary files are left
    digests = json.loads(files[MANIFEST])["files"]
    assert {n: hashlib.sha256(files[n]).hexdigest() for n in FILES} == digests
    assert all(files.values())
    assert not (DATA / "layers" / ".tmp").exists()


def test_report(built):
    _, report, _ = built
    assert report.articles == 5
    assert report.places > 20
    assert report.mentions >= report.places
    assert report.routes > 0
    text = str(report)
    assert f"{report.places} places" in text
    assert f"{report.routes} routes" in text


def test_places_layer(built):
    _, report, _ = built
    places = read_layer(report.out_dir / "places.geojson")
    assert len(places) == report.places
    names = set(places["name"])
    assert {"Vladivostok", "Pyongyang", "Rajin", "Bering Strait"} <= names
    vlad = places[places["name"] == "Vladivostok"].iloc[0]
    assert (vlad.geometry.x, vlad.geometry.y) == pytest.approx((131.87, 43.11), abs=0.05)
    assert vlad["mentions"] >= 3
    for quote in json.loads(vlad["quotes"]):
        assert quote["sentence"][quote["hl_start"] : quote["hl_end"]].lower().startswith("vlad")
    assert places.geometry.x.between(-180, 180).all()
    assert places.geometry.y.between(-90, 90).all()


def test_mentions_layer_matches_the_articles(built):
    _, report, _ = built
    mentions = read_layer(report.out_dir / "mentions.geojson")
    assert len(mentions) == report.mentions
    texts = {a["id"]: a["text"] for a in json.loads((report.out_dir / "articles.json").read_text())}
    for row in mentions.itertuples():
        assert texts[row.article_id][row.start : row.end] == row.text
        assert row.sentence[row.hl_start : row.hl_end] == row.text


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
    claim = json.loads(files["claim_check.json"])
    assert claim["rows"]


def test_second_build_is_byte_identical(built):
    cfg, _, files = built
    build(cfg)
    assert snapshot(cfg.data_dir / "layers") == files


BAD_QUOTE = "The commercial value of the Arctic shipping route is in the spotlight"


def test_bad_routes_file_leaves_the_last_good_layers(tmp_path, cache_dir, built):
    cfg = make_settings(tmp_path, cache_dir)
    out = with_layers(cfg, built[2])
    before = snapshot(out)
    routes_file = cfg.data_dir / "routes.yaml"
    text = routes_file.read_text(encoding="utf-8")
    assert text.count(BAD_QUOTE) == 1
    routes_file.write_text(text.replace(BAD_QUOTE, "Kim sailed to Atlantis"), encoding="utf-8")
    with pytest.raises(DataFileError, match=re.escape("'nsr-europe-rizhao'")) as info:
        build(cfg)
    assert "Kim sailed to Atlantis" in str(info.value)
    assert snapshot(out) == before


def test_unknown_waypoint_leaves_the_last_good_layers(tmp_path, cache_dir, built):
    cfg = make_settings(tmp_path, cache_dir)
    out = with_layers(cfg, built[2])
    before = snapshot(out)
    routes_file = cfg.data_dir / "routes.yaml"
    text = routes_file.read_text(encoding="utf-8")
    old = "waypoints: [Rotterdam, Northern Sea Route, Bering Strait, Rizhao]"
    assert old in text
    routes_file.write_text(text.replace(old, old.replace("Rizhao", "Xyzzyville")), "utf-8")
    with pytest.raises(DataFileError, match="Xyzzyville") as info:
        build(cfg)
    assert "nsr-europe-rizhao" in str(info.value)
    assert snapshot(out) == before


def test_non_utf8_article_leaves_the_last_good_layers(tmp_path, cache_dir, built):
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    cfg = make_settings(tmp_path, cache_dir, seeds)
    out = with_layers(cfg, built[2])
    before = snapshot(out)
    bad = seeds / "005_latin1.txt"
    bad.write_bytes("Kim à Vladivostok.".encode("latin-1"))
    with pytest.raises(BadInput, match=re.escape(str(bad))):
        build(cfg)
    assert snapshot(out) == before


def test_failure_while_writing_keeps_earlier_files_whole(tmp_path, cache_dir, built, monkeypatch):
    """Even a failing disk leaves every file either old or new, never half written."""
    cfg = make_settings(tmp_path, cache_dir)
    out = with_layers(cfg, built[2])
    before = snapshot(out)
    real_write = build_mod.layers.atomic_write_text
    calls = []

    def flaky(path: Path, text: str) -> None:
        calls.append(path.name)
        if len(calls) == 3:
            raise OSError("disk full")
        real_write(path, text)

    monkeypatch.setattr(build_mod.layers, "atomic_write_text", flaky)
    with pytest.raises(OSError, match="disk full"):
        build(cfg)
    assert calls == list(FILES)[:3]
    assert snapshot(out) == before  # same inputs, so old and new bytes agree
    assert sorted(p.name for p in out.iterdir()) == sorted([*FILES, MANIFEST])


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
    assert (report.articles, report.routes) == (1, 1)
    places = read_layer(report.out_dir / "places.geojson")
    assert {"Rajin", "Vladivostok", "Pyongyang"} <= set(places["name"])
    assert json.loads((report.out_dir / "claim_check.json").read_text()) == {"rows": []}
