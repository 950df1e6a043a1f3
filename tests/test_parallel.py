"""Parsing on Dask: a real scheduler and two worker processes on 127.0.0.1.

The corpus is made from the repository itself (the seed articles, cut into paragraphs and
recombined, plus synthetic lines), so it is there in CI; the development set is added when
``../shared/eval`` is present.  Every parallel output must equal the one-process output byte
for byte.  One cluster serves the whole module.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import io
import json
import os
import random
import signal
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import dask
import pytest
from conftest import data_folder, free_port
from distributed import Client

from geo import cli, layers, parallel, settings
from geo.build import build
from geo.errors import BadInput, GeoError
from geo.parallel import Chunk, parse_chunk, parse_chunks, parse_texts, read_chunks, read_line
from geo.parser import Geoparser, load_parser, parse_record
from geo.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEV_SET = ROOT.parent / "shared" / "eval" / "geowebnews.jsonl"
SMALL_CHUNK = "0.008"  # MB per task: the test corpus becomes dozens of tasks


def seed_corpus() -> list[dict[str, object]]:
    """About 400 distinct articles from the seed paragraphs, plus awkward synthetic ones."""
    paragraphs = [
        p.strip()
        for path in sorted((ROOT / "seeds").glob("*.txt"))
        for p in path.read_text(encoding="utf-8").split("\n\n")
        if p.strip()
    ]
    rng = random.Random(11)
    records: list[dict[str, object]] = [
        {"id": f"p{n}", "text": p} for n, p in enumerate(paragraphs)
    ]
    for n in range(300):  # recombined: new texts, new contexts for the same names
        picked = rng.sample(paragraphs, 3)
        records.append({"id": n, "text": "\n\n".join(picked)})
    records += [
        {"text": "No id: Vladivostok and Rajin."},
        {"id": "empty", "text": ""},
        {"id": "u", "text": "“Kim’s train” reached Vladivostok — then Rajin 🚂 and Pyongyang."},
        {"id": ["a", 1], "text": "A list id; Moscow\r\nand Beijing\u2028talked."},
        {"id": 1.5, "text": 'Quotes "Seoul" </script> and Tokyo.'},
    ]
    return records


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("corpus") / "seeds.jsonl", seed_corpus())


@pytest.fixture(scope="module")
def cluster() -> Iterator[Client]:
    """A scheduler and two worker processes on 127.0.0.1 (as ``--workers 2`` starts them),
    shared by the module."""
    with parallel.local_client(2) as client:
        yield client


@pytest.fixture(scope="module")
def parser(cache_dir) -> Geoparser:
    return load_parser(ROOT / "data", cache_dir=cache_dir)


@pytest.fixture(autouse=True)
def env(monkeypatch, cache_dir, parser) -> None:
    """The real data, the shared cache, offline; the in-process CLI reuses one parser."""
    for var in ("NEWS_ATLAS_DATA", "NEWS_ATLAS_SEEDS", "NEWS_ATLAS_ONLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NEWS_ATLAS_CACHE", str(cache_dir))
    monkeypatch.setattr(cli, "load_parser", lambda *_, **__: parser)


def one_process(src: Path, out: Path, *extra: str) -> bytes:
    """The reference: ``python -m geo parse`` as it runs with no cluster option."""
    assert cli.main(["parse", "--jsonl", str(src), "--out", str(out), *extra]) == 0
    return out.read_bytes()


def python_m_geo(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "geo", "parse", *args],
        capture_output=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )


# --------------------------------------------------------------------------- lines and chunks


def test_read_chunks_keeps_whole_lines_and_their_numbers():
    data = b'{"text": "a\\rb"}\n\n{"text": "c"}\r\n{"text": "no newline"}'
    chunks = list(read_chunks(io.BytesIO(data), "x", chunk_bytes=5))
    assert b"".join(c.data for c in chunks) == data
    assert [c.first_line for c in chunks] == [1, 2, 4]  # the blank line 2 is short: + line 3
    big = list(read_chunks(io.BytesIO(data), "x", chunk_bytes=1 << 20))
    assert big == [Chunk("x", 1, data)]


GOOD = [
    pytest.param(b'{"id": "a", "text": "t"}\n', ("a", "t"), id="plain"),
    pytest.param(b'{"text": "t"}\n', (7, "t"), id="id-defaults-to-line"),
    pytest.param(b'{"id": null, "text": ""}\n', (None, ""), id="null-id-empty-text"),
    pytest.param(b'{"id": "\\ud83d\\ude82", "text": "t"}', ("🚂", "t"), id="surrogate-pair"),
    pytest.param(b"  \r\n", None, id="blank"),
]


@pytest.mark.parametrize(("raw", "expected"), GOOD)
def test_read_line_good(raw, expected):
    assert read_line(raw, 7) == expected


BAD = [
    pytest.param(b'{"id": "\\ud800", "text": "t"}', "lone surrogate '\\ud800'", id="id-surrogate"),
    pytest.param(b'{"id": 1, "text": "a\\udc00"}', "'text' has a lone surrogate", id="text-surr"),
    pytest.param(b'{"id": NaN, "text": "t"}', "'id' nan cannot be written", id="nan-id"),
    pytest.param(b'{"id": -Infinity, "text": "t"}', "'id' -inf cannot", id="inf-id"),
    pytest.param(b'{"id": 1e999, "text": "t"}', "'id' inf cannot", id="overflow-id"),
    pytest.param(b'{"id": [NaN], "text": "t"}', "'id' [nan]", id="nested-nan"),
    pytest.param(b'{"id": {"k": "\\udfff"}, "text": "t"}', "lone surrogate", id="nested-surr"),
    pytest.param(b'{"id": 1, "text": "t"', "not valid JSON", id="truncated"),
    pytest.param(b'{"id": 1, "text": "\xff"}', "not UTF-8 (byte 19)", id="not-utf8"),
    pytest.param(b'{"id": 1}', "string 'text'", id="no-text"),
    pytest.param(b"[1]", "an object", id="list"),
]


@pytest.mark.parametrize(("raw", "problem"), BAD)
def test_read_line_bad(raw, problem):
    with pytest.raises(BadInput) as info:
        read_line(raw, 1)
    assert problem in str(info.value)


BAD_FILE = (
    b'{"id": "ok1", "text": "Putin flew to Pyongyang."}\n'
    b'{"id": "\\ud800", "text": "Rajin"}\n'
    b'{"id": "ok2", "text": "Ships left Rajin for Vladivostok."}\n'
    b'{"id": NaN, "text": "Moscow"}\n'
    b"{not json}\n"
    b'{"id": "s", "text": "Seoul \\udbff"}\n'
    b'{"id": "bytes", "text": "Caf\xe9"}\n'
    b"\n"
    b'{"id": "ok3", "text": "The Tumen River."}\n'
)
BAD_LINES = {2: "lone surrogate", 4: "NaN", 5: "not valid JSON", 6: "lone surrogate", 7: "UTF-8"}
GOOD_IDS = ["ok1", "ok2", "ok3"]


def test_parse_chunk_stop_and_skip(parser):
    chunk = Chunk("'bad.jsonl'", 1, BAD_FILE)
    stopped = parse_chunk(chunk, stop=True, parser=parser)
    assert [json.loads(x)["id"] for x in stopped.output.splitlines()] == ["ok1"]
    assert [r.line for r in stopped.rejected] == [2]
    assert stopped.rejected[0].message.startswith("'bad.jsonl' line 2: 'id' has a lone surrogate")
    skipped = parse_chunk(chunk, stop=False, parser=parser)
    assert [json.loads(x)["id"] for x in skipped.output.splitlines()] == GOOD_IDS
    assert (skipped.articles, skipped.nbytes) == (3, len(BAD_FILE))
    assert {r.line: r.reason for r in skipped.rejected}.keys() == BAD_LINES.keys()
    for r in skipped.rejected:
        assert BAD_LINES[r.line] in r.reason
        back = json.loads(r.to_json())
        assert back == {"source": "'bad.jsonl'", "line": r.line, "reason": r.reason, "raw": r.raw}
    assert skipped.rejected[-1].raw == '{"id": "bytes", "text": "Caf\\xe9"}'


def test_parse_texts_in_process_is_parse_all(parser):
    items = [("a", "Kim's train left Pyongyang for Vladivostok."), ("b", ""), ("c", "Rajin.")]
    found = list(parse_texts(iter(items), parser=parser, batch_chars=10))
    assert [p.article_id for p in found] == ["a", "b", "c"]
    for p, (art_id, text) in zip(found, items, strict=True):
        resolved, unplaced = parser.parse_all(text, article_id=art_id)
        assert (list(p.resolved), list(p.unplaced)) == (resolved, unplaced)
    assert {r.place.name for r in found[0].resolved} >= {"Pyongyang", "Vladivostok"}


# --------------------------------------------------------------------------- on the cluster


def test_parse_texts_on_the_cluster_equals_in_process(cluster, parser):
    records = seed_corpus()[:80]
    items = [(str(r.get("id", n)), str(r["text"])) for n, r in enumerate(records)]
    here = list(parse_texts(items, parser=parser))
    there = list(parse_texts(iter(items), client=cluster, batch_chars=4000))
    assert there == here
    assert sum(len(p.resolved) for p in there) > 100


def test_a_build_through_the_cluster_publishes_the_same_layers(cluster, cache_dir, tmp_path):
    def settings_in(root: Path) -> Settings:
        data = data_folder(root)
        return dataclasses.replace(
            settings.load(), data_dir=data, seeds_dir=ROOT / "seeds", cache_dir=cache_dir
        )

    here, there = settings_in(tmp_path / "here"), settings_in(tmp_path / "there")
    first = build(here)
    second = build(there, parse_many=parallel.parse_many_on(cluster))
    assert second.parsed == first.parsed == len(list((ROOT / "seeds").glob("*.txt")))
    assert (second.mentions, second.places, second.routes) == (
        first.mentions, first.places, first.routes,
    )  # fmt: skip
    files = {p.name: p.read_bytes() for p in layers.layers_dir(here.data_dir).iterdir()}
    again = {p.name: p.read_bytes() for p in layers.layers_dir(there.data_dir).iterdir()}
    manifests = [json.loads(f.pop(layers.MANIFEST)) for f in (files, again)]
    for f in (files, again):  # the index names the store and the files' times
        del f[layers.INDEX]
    for manifest in manifests:
        del manifest["written"]  # the time of the build
    assert manifests[0] == manifests[1]
    assert again == files


def test_scheduler_output_equals_one_process(cluster, corpus, tmp_path):
    reference = one_process(corpus, tmp_path / "one.jsonl")
    assert reference.count(b"\n") == len(seed_corpus())
    address = cluster.scheduler.address  # type: ignore[union-attr]
    out = tmp_path / "dask.jsonl"
    done = python_m_geo(
        "--jsonl", str(corpus), "--out", str(out), "--scheduler", address,
        "--chunk-mb", SMALL_CHUNK,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b""
    assert out.read_bytes() == reference


def test_workers_2_output_equals_one_process(corpus, tmp_path):
    corpora = [corpus]
    if DEV_SET.exists():  # the development set as well, where it is
        corpora.append(DEV_SET)
    for n, src in enumerate(corpora):
        reference = one_process(src, tmp_path / f"one{n}.jsonl")
        out = tmp_path / f"two{n}.jsonl"
        done = python_m_geo(
            "--jsonl", str(src), "--out", str(out), "--workers", "2",
            "--chunk-mb", SMALL_CHUNK, "--progress",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr.decode()
        assert out.read_bytes() == reference
        summary = done.stderr.decode().rsplit("\r\x1b[K", 1)[-1]
        articles = len(reference.splitlines())
        assert summary.startswith(f"parsed {articles:,} articles, ")
        assert summary.endswith(" 0 rejected\n")


def test_several_inputs_and_gz_into_a_folder(cluster, corpus, tmp_path):
    reference = one_process(corpus, tmp_path / "one.jsonl")
    src = tmp_path / "in"
    src.mkdir()
    data = corpus.read_bytes()
    (src / "a.jsonl").write_bytes(data)
    with gzip.open(src / "b.jsonl.gz", "wb") as fh:
        fh.write(data)
    (src / "c.jsonl").write_bytes(b"")
    out = tmp_path / "out"
    argv = ["parse", "--jsonl", str(src / "*.jsonl*"), "--out", str(out)]
    address = cluster.scheduler.address  # type: ignore[union-attr]
    assert cli.main([*argv, "--scheduler", address, "--chunk-mb", SMALL_CHUNK]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.jsonl", "b.jsonl", "c.jsonl"]
    assert (out / "a.jsonl").read_bytes() == reference
    assert (out / "b.jsonl").read_bytes() == reference
    assert (out / "c.jsonl").read_bytes() == b""


@pytest.mark.parametrize("where", ["one-process", "cluster"])
def test_on_error_skip_and_stop(cluster, tmp_path, capsys, where):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(BAD_FILE)
    good = write_jsonl(
        tmp_path / "good.jsonl",
        [json.loads(line) for line in BAD_FILE.splitlines() if b'"ok' in line],
    )
    reference = one_process(good, tmp_path / "ref.jsonl")
    address = cluster.scheduler.address  # type: ignore[union-attr]
    extra = ["--chunk-mb", "0.0001"] + (["--scheduler", address] if where == "cluster" else [])
    out = tmp_path / "out.jsonl"
    capsys.readouterr()
    argv = ["parse", "--jsonl", str(bad), "--out", str(out), *extra]
    assert cli.main([*argv, "--on-error", "skip"]) == 0
    assert out.read_bytes() == reference
    rejected = [json.loads(x) for x in (tmp_path / "out.rejected.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rejected] == list(BAD_LINES)
    for r in rejected:
        assert BAD_LINES[r["line"]] in r["reason"]
        assert r["source"] == repr(str(bad))
    assert capsys.readouterr().err.endswith(", 5 rejected\n")

    out.unlink()
    assert cli.main(argv) == 2  # --on-error stop is the default
    err = capsys.readouterr().err
    assert err.startswith(f"error: {str(bad)!r} line 2: 'id' has a lone surrogate '\\ud800'")
    assert err.count("\n") == 1
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bad.jsonl", "good.jsonl", "out.rejected.jsonl", "ref.jsonl",
    ]  # fmt: skip


def test_a_killed_worker_loses_and_duplicates_nothing(cluster, corpus, tmp_path):
    reference = one_process(corpus, tmp_path / "one.jsonl")
    with corpus.open("rb") as fh:
        chunks = list(read_chunks(fh, "seeds", chunk_bytes=4000))
    assert len(chunks) > 20
    results = parse_chunks(iter(chunks), client=cluster, in_flight=8)
    first = next(results)
    # Every worker holds pending tasks now (running or done, not yet collected): kill one.
    busy = {w for w, keys in cluster.processing().items() if keys}
    busy |= {w for w, keys in cluster.has_what().items() if keys}
    victim = sorted(busy)[0]
    pid = cluster.run(os.getpid, workers=[victim])[victim]
    os.kill(pid, signal.SIGKILL)
    rest = list(results)
    assert first.output + b"".join(r.output for r in rest) == reference
    assert sum(r.articles for r in [first, *rest]) == reference.count(b"\n")
    cluster.wait_for_workers(2, timeout=120)  # the nanny restarts it, for the next tests
    assert pid not in cluster.run(os.getpid).values()


def test_local_workers_run_with_the_quiet_settings(cluster):
    for key, value in parallel.WORKER_CONFIG.items():
        assert list(cluster.run(dask.config.get, key).values()) == [value, value]


def test_worker_parser_is_loaded_once_per_process(cluster):
    ids = cluster.run(lambda: id(parallel.worker_parser()))
    again = cluster.run(lambda: id(parallel.worker_parser()))
    assert ids == again and len(ids) == 2


@contextlib.contextmanager
def dask_cli_cluster(log: Path, *, scheduler_env: dict[str, str]) -> Iterator[str]:
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, as the README runs them
    on a real cluster; yield the scheduler's address once a worker has joined."""
    address = f"tcp://127.0.0.1:{free_port()}"
    port = address.rsplit(":", 1)[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    dask_cmd = [sys.executable, "-m", "dask"]
    with log.open("wb") as out:
        procs = [
            subprocess.Popen(
                [*dask_cmd, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"],
                cwd=log.parent, env=scheduler_env, stdout=out, stderr=out,
            ),
            subprocess.Popen(
                [*dask_cmd, "worker", address, "--host", "127.0.0.1", "--nworkers", "1",
                 "--nthreads", "1", "--no-dashboard"],
                cwd=log.parent, env=env, stdout=out, stderr=out,
            ),
        ]  # fmt: skip
        try:
            with Client(address, timeout=60) as client:
                client.wait_for_workers(1, timeout=60)
            yield address
        finally:
            for proc in reversed(procs):
                proc.terminate()
                proc.wait(timeout=30)


def test_dask_command_line_cluster(corpus, tmp_path):
    reference = one_process(corpus, tmp_path / "one.jsonl")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with dask_cli_cluster(tmp_path / "dask.log", scheduler_env=env) as address:
        out = tmp_path / "out.jsonl"
        done = python_m_geo("--jsonl", str(corpus), "--out", str(out), "--scheduler", address)
        assert done.returncode == 0, done.stderr.decode()
        assert out.read_bytes() == reference


def test_a_scheduler_without_the_project_is_a_clean_error(corpus, tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"  # a `geo` that is not this project shadows any install
    (elsewhere / "geo").mkdir(parents=True)
    (elsewhere / "geo" / "__init__.py").write_text("raise ImportError('another geo')\n")
    env = {**os.environ, "PYTHONPATH": str(elsewhere)}
    with dask_cli_cluster(tmp_path / "dask.log", scheduler_env=env) as address:
        status = cli.main(["parse", "--jsonl", str(corpus), "--scheduler", address])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1, err
    assert err.startswith("error: the Dask cluster cannot run News Atlas tasks")
    assert "PYTHONPATH" in err


# --------------------------------------------------------------------------- the command line


def test_unreachable_or_bad_scheduler_is_a_clean_error(corpus, capsys):
    status = cli.main(["parse", "--jsonl", str(corpus), "--scheduler", "nonsense://x"])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("error: cannot reach the Dask scheduler at 'nonsense")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--jsonl", "/nonexistent/*.jsonl", "--out", "x"], "no file matches"),
        (["--jsonl", "{corpus}", "{corpus}"], "need --out FOLDER"),
        (["--jsonl", "{corpus}", "{corpus}", "--out", "x"], "outputs would collide"),
        (["--jsonl", "{corpus}", "-", "--out", "x"], "stdin (-) cannot"),
        (["--jsonl", "{corpus}", "--workers", "0"], "at least one worker"),
        (["--jsonl", "{corpus}", "--out", "{corpus}"], "would overwrite it"),
        (["--jsonl", "{corpus.parent}/*.jsonl", "--out", "{corpus.parent}"], "would overwrite"),
    ],
)
def test_bad_arguments(corpus, capsys, args, problem):
    argv = ["parse", *(a.format(corpus=corpus) for a in args)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and problem in err and err.count("\n") == 1


def test_a_worker_without_data_is_a_clean_error(corpus, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("NEWS_ATLAS_DATA", str(tmp_path / "no-data"))  # the workers inherit it
    assert cli.main(["parse", "--jsonl", str(corpus), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no-data" in err and err.count("\n") == 1


def test_online_fallback_refuses_to_run_on_a_cluster(corpus, capsys, monkeypatch):
    monkeypatch.setenv("NEWS_ATLAS_ONLINE", "1")
    assert cli.main(["parse", "--jsonl", str(corpus), "--workers", "2"]) == 2
    assert "one process only" in capsys.readouterr().err


def test_parse_record_is_what_the_output_holds(parser, corpus, tmp_path):
    out = one_process(corpus, tmp_path / "one.jsonl").decode("utf-8").splitlines()
    first = seed_corpus()[0]
    assert json.loads(out[0]) == parse_record(parser, first["id"], str(first["text"]))


def test_a_task_that_kills_its_workers_is_a_clean_error():
    from distributed import KilledWorker

    class Doomed:
        def result(self):
            worker = types.SimpleNamespace(address="tcp://127.0.0.1:1")
            raise KilledWorker("parse_chunk-123", worker, 3)

    with pytest.raises(GeoError, match=r"every worker that ran it die.*parse_chunk-123"):
        parallel._result(Doomed())
