"""``python -m geo build --jsonl``: a JSON-lines corpus streamed into the store, in real
processes on real files: the same atlas as the article folder gives, incremental, a bad
line or a kill leaving the last good atlas, and the folder's place once it is the corpus."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, AtlasData, data_folder

from geo import dashboard, edits, ingest, layers, settings, store
from geo.errors import BadInput
from geo.layers import FILES

NEW = {"id": "005", "text": "Freight trains now cross from Khasan to Tumangang every week.\n"}


def seed_records() -> list[dict[str, object]]:
    """The seed articles as JSON-lines records, with their articles.toml metadata."""
    meta = tomllib.loads((SEEDS / "articles.toml").read_text(encoding="utf-8"))
    out = []
    for path in sorted(SEEDS.glob("*.txt")):
        art_id = path.name.split("_")[0]
        extra = {k: str(v) if k == "date" else v for k, v in meta.get(art_id, {}).items()}
        out.append({"id": art_id, "text": path.read_text(encoding="utf-8"), **extra})
    return out


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(lines.encode("utf-8")))
    else:
        path.write_text(lines, encoding="utf-8")
    return path


def env_of(data: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ, "NEWS_ATLAS_DATA": str(data), "NEWS_ATLAS_SEEDS": str(SEEDS),
        "NEWS_ATLAS_CACHE": str(ROOT / ".cache"), "NEWS_ATLAS_ONLINE": "0", **extra,
    }  # fmt: skip


def geo(data: Path, *args: str, fault: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "geo", *args], cwd=ROOT, capture_output=True, text=True,
        env=env_of(data, NEWS_ATLAS_FAULT=fault), timeout=300, check=False,
    )  # fmt: skip


def layer_files(data: Path) -> dict[str, bytes]:
    folder = layers.layers_dir(data)
    return {n: (folder / n).read_bytes() for n in FILES}


def build_id(data: Path) -> int:
    with store.Store(store.store_path(data)) as st:
        return st.build_id()


def equals_a_full_render(data: Path) -> None:
    folder = layers.layers_dir(data)
    with store.Store(store.store_path(data)) as st:
        assert {n: (folder / n).read_text("utf-8") for n in FILES} == layers.layer_texts(st)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A data folder built from the seeds as JSON lines (gzipped), and that input."""
    root = tmp_path_factory.mktemp("ingest")
    corpus = write_jsonl(root / "seeds.jsonl.gz", seed_records())
    data = data_folder(root)
    done = geo(data, "build", "--jsonl", str(corpus))
    assert done.returncode == 0, done.stderr
    assert "(5 parsed, 0 removed)" in done.stdout
    return data, corpus


@pytest.fixture
def own(ingested: tuple[Path, Path], tmp_path: Path) -> Path:
    """A copy of the ingested data folder, to change."""
    data = tmp_path / "data"
    shutil.copytree(ingested[0], data, symlinks=True)
    return data


def test_json_lines_give_the_same_layers_as_the_folder(ingested, atlas: AtlasData):
    data, _ = ingested
    assert layer_files(data) == layer_files(atlas.cfg.data_dir)


def test_a_second_run_parses_nothing_and_publishes_nothing(own, ingested):
    before = (build_id(own), layer_files(own))
    again = geo(own, "build", "--jsonl", str(ingested[1]), "--progress")
    assert again.returncode == 0, again.stderr
    assert "(0 parsed, 0 removed)" in again.stdout
    assert "read 5 articles" in again.stderr and "0 parsed" in again.stderr
    assert (build_id(own), layer_files(own)) == before


def test_changes_are_parsed_and_articles_not_in_the_input_dropped(own, tmp_path):
    records = seed_records()
    records[1]["title"] = "A new title"  # metadata only: not parsed again
    records[2]["text"] = str(records[2]["text"]) + "\nKim later visited Khabarovsk.\n"
    del records[4]
    corpus = write_jsonl(tmp_path / "next.jsonl", [*records, NEW])
    done = geo(own, "build", "--jsonl", str(corpus))
    assert done.returncode == 0, done.stderr
    assert "(2 parsed, 1 removed)" in done.stdout
    arts = {a["id"]: a for a in json.loads(layer_files(own)["articles.json"])}
    assert sorted(arts) == ["000", "001", "002", "003", "005"]
    assert arts["001"]["title"] == "A new title"
    with store.Store(store.store_path(own)) as st:
        assert {m.text for m in st.mentions("002")} >= {"Khabarovsk"}
    equals_a_full_render(own)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"id": "x", "text": "Rajin.", "date": "2024-13"}', "field 'date' is '2024-13'"),
        (b'{"id": "x", "text": "Rajin.", "lang": "en"}', "unknown field 'lang'"),
        (b'{"id": "x", "text": "Rajin.", "date_approximate": "no"}', "must be true or false"),
        (b'{"id": "000", "text": "Rajin again."}', "'000' occurs twice (first at"),
        (b'{"text": "no id"}', "needs an 'id'"),
        (b'{"id": "x", "text": NaN}', "needs a string 'text'"),
        (b'{"id": "\\ud800", "text": "a"}', "lone surrogate"),
        (b'{"id": "x", "text": "cut', "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_a_bad_line_leaves_the_atlas_untouched(own, tmp_path, line, reason):
    before = (build_id(own), layer_files(own))
    corpus = write_jsonl(tmp_path / "bad.jsonl", [NEW, *seed_records()])
    with corpus.open("ab") as fh:
        fh.write(line + b"\n")
    done = geo(own, "build", "--jsonl", str(corpus))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"error: {str(corpus)!r} line 7: " in done.stderr and reason in done.stderr
    assert (build_id(own), layer_files(own)) == before


def test_a_kill_mid_ingest_leaves_the_last_good_atlas(own, tmp_path):
    before = (build_id(own), layer_files(own))
    records = seed_records()
    records[0]["text"] = str(records[0]["text"]) + "\nRajin port was busy.\n"
    corpus = write_jsonl(tmp_path / "next.jsonl", [*records, NEW])
    killed = geo(own, "build", "--jsonl", str(corpus), fault="ingest-article")
    assert killed.returncode == -signal.SIGKILL
    assert (build_id(own), layer_files(own)) == before
    lay = dashboard.load_layers(store.store_path(own))  # readers see the last build
    assert "005" not in lay.articles
    done = geo(own, "build", "--jsonl", str(corpus))
    assert done.returncode == 0, done.stderr
    assert "(2 parsed, 0 removed)" in done.stdout
    equals_a_full_render(own)


def test_the_folder_is_not_the_corpus_of_a_json_lines_atlas(own):
    """A plain build keeps the stored articles (and says it did not read the folder)."""
    before = layer_files(own)
    write_jsonl(own / "ignored.jsonl", [NEW])
    done = geo(own, "build")
    assert done.returncode == 0, done.stderr
    assert "(0 parsed, 0 removed)" in done.stdout and "was not read" in done.stdout
    assert layer_files(own) == before


def test_adding_an_article_to_a_json_lines_atlas_is_refused(own, tmp_path):
    """``add`` saves into the folder, which is not this atlas's corpus: refused up front,
    nothing saved, nothing built."""
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    before_files, before_layers = sorted(p.name for p in seeds.iterdir()), layer_files(own)
    text = tmp_path / "new.txt"
    text.write_text("Ferries left Vladivostok for Rajin at dawn.\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "geo", "add", str(text), "--title", "New"], cwd=ROOT,
        capture_output=True, text=True, env=env_of(own, NEWS_ATLAS_SEEDS=str(seeds)),
        timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "built from JSON lines" in done.stderr and "Traceback" not in done.stderr
    assert sorted(p.name for p in seeds.iterdir()) == before_files
    assert layer_files(own) == before_layers


def test_empty_texts_are_left_out_with_a_warning(own, tmp_path):
    corpus = write_jsonl(
        tmp_path / "some.jsonl",
        [*seed_records(), {"id": "e1", "text": "  "}, {"id": 7, "text": "\x00"}],
    )
    done = geo(own, "build", "--jsonl", str(corpus))
    assert done.returncode == 0, done.stderr
    assert "line 6 (article 'e1'): its text is empty" in done.stdout
    assert "line 7 (article '7'): its text holds NUL characters" in done.stdout


def test_an_input_without_articles_is_refused(own, tmp_path):
    before = (build_id(own), layer_files(own))
    done = geo(own, "build", "--jsonl", str(write_jsonl(tmp_path / "none.jsonl", [])))
    assert done.returncode == 2 and "the input holds no article" in done.stderr
    assert (build_id(own), layer_files(own)) == before


def test_inputs_are_checked_before_anything_runs(tmp_path):
    with pytest.raises(BadInput, match="no file matches"):
        ingest.input_files([str(tmp_path / "none-*.jsonl")])
    with pytest.raises(BadInput, match="no such file"):
        ingest.input_files([str(tmp_path / "missing.jsonl")])


def test_corrections_apply_to_a_json_lines_atlas(own):
    cfg = dataclasses.replace(
        settings.load(), data_dir=own, seeds_dir=SEEDS, cache_dir=ROOT / ".cache", online=False
    )
    with store.Store(store.store_path(own)) as st:
        first = next(m for m in st.mentions("003") if m.place_id)
    saved, report = edits.correct(cfg, edits.Fix("003", first.start, first.end))  # not a place
    assert (report.articles, report.parsed, report.removed) == (5, 0, 0)
    with store.Store(store.store_path(own)) as st:
        again = next(m for m in st.mentions("003") if m.start == first.start)
        assert again.place_id is None and again.correction == saved.id
    equals_a_full_render(own)


def test_a_build_on_dask_writes_the_same_atlas(own, ingested, tmp_path):
    records = seed_records()
    records[3]["text"] = str(records[3]["text"]) + "\nRajin port was busy.\n"
    corpus = write_jsonl(tmp_path / "next.jsonl", [*records, NEW])
    here = geo(own, "build", "--jsonl", str(corpus))
    there_data = tmp_path / "there"
    shutil.copytree(ingested[0], there_data, symlinks=True)
    there = geo(there_data, "build", "--jsonl", str(corpus), "--workers", "2")
    assert here.returncode == there.returncode == 0, there.stderr
    assert "(2 parsed, 0 removed)" in there.stdout
    assert layer_files(there_data) == layer_files(own)
