"""Command line: ``python -m geo parse`` (JSON lines in, toponyms out) and ``build`` errors."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from geo import cli
from geo.parser import Geoparser, load_parser

ROOT = Path(__file__).resolve().parent.parent
TOPONYM_KEYS = {"start", "end", "text", "name", "lat", "lon", "kind", "country", "score"}

RECORDS = [
    {"id": "a", "text": "Kim's armoured train left Pyongyang for Vladivostok."},
    {"id": 7, "text": "Coal ships sail from Rajin through the Tsushima Strait."},
    {"text": "Nothing to see here."},
    {"id": "d", "text": "Putin visited Pyongyang. Later, Moscow and Beijing talked."},
]


@pytest.fixture(scope="module")
def real_parser(cache_dir) -> Geoparser:
    return load_parser(ROOT / "data", cache_dir=cache_dir)


@pytest.fixture(autouse=True)
def env(monkeypatch, cache_dir, real_parser) -> dict[str, str]:
    """Point the CLI at the real data, a temporary cache and no online geocoder.

    The in-process CLI reuses one loaded parser for the real data folder (loading it takes
    about a second); any other folder goes through the real loader.
    """
    for var in ("NEWS_ATLAS_DATA", "NEWS_ATLAS_SEEDS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NEWS_ATLAS_CACHE", str(cache_dir))
    monkeypatch.setenv("NEWS_ATLAS_ONLINE", "0")

    def shared(data_dir: Path, *, cache_dir: Path | None = None, fallback=None, **_) -> Geoparser:
        if data_dir == ROOT / "data" and cache_dir == shared_cache and fallback is None:
            return real_parser
        return load_parser(data_dir, cache_dir=cache_dir, fallback=fallback)

    shared_cache = cache_dir
    monkeypatch.setattr(cli, "load_parser", shared)
    return dict(os.environ)


def jsonl(records: list[object]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


@pytest.fixture
def infile(tmp_path) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text(jsonl(RECORDS) + "\n", encoding="utf-8")  # a trailing blank line is skipped
    return path


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    status = cli.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def check_output(out: str, records: list[dict[str, object]]) -> list[dict[str, object]]:
    lines = out.splitlines()
    assert len(lines) == len(records)
    parsed = [json.loads(line) for line in lines]
    for n, (rec, src) in enumerate(zip(parsed, records, strict=True), start=1):
        assert set(rec) == {"id", "toponyms"}
        assert rec["id"] == src.get("id", n)
        for top in rec["toponyms"]:
            assert set(top) >= TOPONYM_KEYS
            assert src["text"][top["start"] : top["end"]] == top["text"]
            assert -90 <= top["lat"] <= 90 and -180 <= top["lon"] <= 180
            assert 0 <= top["score"] <= 1
    return parsed


def names(rec: dict[str, object]) -> set[str]:
    return {t["name"] for t in rec["toponyms"]}  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- parse


def test_parse_file_to_stdout(infile, capsys):
    status, out, err = run(["parse", "--jsonl", str(infile)], capsys)
    assert (status, err) == (0, "")
    parsed = check_output(out, RECORDS)
    assert {"Pyongyang", "Vladivostok"} <= names(parsed[0])
    assert {"Rajin", "Tsushima Strait"} <= names(parsed[1])
    assert parsed[2] == {"id": 3, "toponyms": []}
    vlad = next(t for t in parsed[0]["toponyms"] if t["name"] == "Vladivostok")
    assert (vlad["kind"], vlad["country"]) == ("city", "RU")
    assert (vlad["lat"], vlad["lon"]) == pytest.approx((43.1, 131.9), abs=0.1)


def test_parse_stdin(monkeypatch, capsys):
    data = jsonl(RECORDS[:2]).encode("utf-8")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    status, out, err = run(["parse", "--jsonl", "-"], capsys)
    assert (status, err) == (0, "")
    check_output(out, RECORDS[:2])


def test_parse_to_out_file(infile, tmp_path, capsys):
    out_path = tmp_path / "sub" / "out.jsonl"
    status, out, err = run(["parse", "--jsonl", str(infile), "--out", str(out_path)], capsys)
    assert (status, out, err) == (0, "", "")
    check_output(out_path.read_text(encoding="utf-8"), RECORDS)
    assert sorted(p.name for p in out_path.parent.iterdir()) == ["out.jsonl"]


def test_empty_input_gives_empty_output(tmp_path, capsys):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n  \n", encoding="utf-8")
    assert run(["parse", "--jsonl", str(path)], capsys) == (0, "", "")


def test_unicode_text_keeps_offsets(tmp_path, capsys):
    rec = {"id": "u", "text": "“Kim’s train” reached Vladivostok — then Rajin 🚂 and Pyongyang."}
    path = tmp_path / "u.jsonl"
    path.write_text(jsonl([rec]), encoding="utf-8")
    status, out, _ = run(["parse", "--jsonl", str(path)], capsys)
    assert status == 0
    (parsed,) = check_output(out, [rec])
    assert {"Vladivostok", "Rajin", "Pyongyang"} <= names(parsed)


# --------------------------------------------------------------------------- bad input


BAD_LINES = [
    pytest.param(
        b'{"id": 1, "text": "ok"}\n{not json}\n', "line 2", "not valid JSON", id="not-json"
    ),
    pytest.param(b'{"id": 1, "text": "ok"}\n\n{"id": 2}\n', "line 3", "'text'", id="no-text"),
    pytest.param(b'{"id": 1, "text": 5}\n', "line 1", "string 'text'", id="text-not-string"),
    pytest.param(b'{"id": 1, "text": null}\n', "line 1", "string 'text'", id="text-null"),
    pytest.param(b'["a list"]\n', "line 1", "an object", id="not-an-object"),
    pytest.param(b'"just a string"\n', "line 1", "an object", id="bare-string"),
    pytest.param(
        b'{"id": 1, "text": "ok"}\n{"id": 2, "text": "Caf\xe9"}\n',
        "line 2",
        "not UTF-8",
        id="not-utf8",
    ),
    pytest.param(b'{"id": 1, "text": "cut', "line 1", "not valid JSON", id="truncated"),
    pytest.param(
        b'{"id": 1, "text": "ok"}\n{"id": "\\ud800", "text": "Rajin"}\n',
        "line 2",
        "'id' has a lone surrogate '\\ud800'",
        id="id-lone-surrogate",
    ),
    pytest.param(b'{"id": NaN, "text": "ok"}\n', "line 1", "'id' nan", id="id-nan"),
    pytest.param(b'{"id": Infinity, "text": "ok"}\n', "line 1", "'id' inf", id="id-infinity"),
    pytest.param(
        b'{"id": 1, "text": "Rajin \\udc00"}\n', "line 1", "'text' has a lone", id="text-surrogate"
    ),
]


def assert_one_line_error(status: int, err: str, *needles: str) -> None:
    assert status == 2
    assert err.startswith("error: ")
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err


@pytest.mark.parametrize(("content", "where", "problem"), BAD_LINES)
def test_bad_input_file(tmp_path, capsys, content, where, problem):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    status, _, err = run(["parse", "--jsonl", str(path)], capsys)
    assert_one_line_error(status, err, where, problem, "bad.jsonl")


@pytest.mark.parametrize(("content", "where", "problem"), BAD_LINES)
def test_bad_stdin(monkeypatch, capsys, content, where, problem):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(content), encoding="utf-8"))
    status, _, err = run(["parse", "--jsonl", "-"], capsys)
    assert_one_line_error(status, err, "stdin", where, problem)


def test_missing_file(tmp_path, capsys):
    missing = tmp_path / "missing.jsonl"
    status, out, err = run(["parse", "--jsonl", str(missing)], capsys)
    assert out == ""
    assert_one_line_error(status, err, "missing.jsonl", "No such file")


def test_directory_as_input(tmp_path, capsys):
    status, _, err = run(["parse", "--jsonl", str(tmp_path)], capsys)
    assert_one_line_error(status, err, "cannot read", str(tmp_path))


def test_failed_parse_keeps_the_old_out_file(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"id": 1, "text": "Rajin."}\n{"id": 2}\n')
    out_path = tmp_path / "out.jsonl"
    out_path.write_text("previous result\n", encoding="utf-8")
    status, _, err = run(["parse", "--jsonl", str(src), "--out", str(out_path)], capsys)
    assert_one_line_error(status, err, "line 2")
    assert out_path.read_text(encoding="utf-8") == "previous result\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]


def test_successful_parse_replaces_the_out_file(infile, tmp_path, capsys):
    out_path = tmp_path / "out.jsonl"
    out_path.write_text("previous result\n", encoding="utf-8")
    assert run(["parse", "--jsonl", str(infile), "--out", str(out_path)], capsys)[0] == 0
    check_output(out_path.read_text(encoding="utf-8"), RECORDS)


def test_unwritable_out_is_reported_as_a_write_error(infile, tmp_path, capsys):
    out_dir = tmp_path / "a-folder"
    out_dir.mkdir()
    status, _, err = run(["parse", "--jsonl", str(infile), "--out", str(out_dir)], capsys)
    assert_one_line_error(status, err, "cannot write", "a-folder")
    assert "cannot read" not in err
    assert list(out_dir.iterdir()) == []


def test_missing_data_folder(tmp_path, monkeypatch, infile, capsys):
    monkeypatch.setenv("NEWS_ATLAS_DATA", str(tmp_path / "no-data"))
    status, _, err = run(["parse", "--jsonl", str(infile)], capsys)
    assert_one_line_error(status, err, "no-data", "missing")


def test_build_with_missing_seeds_folder(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("NEWS_ATLAS_DATA", str(data))
    status, out, err = run(["build", "--seeds", str(tmp_path / "no-seeds")], capsys)
    assert out == ""
    assert_one_line_error(status, err, "no-seeds", "does not exist")
    assert list(data.iterdir()) == []  # checked before the lock and the store: no trace


@pytest.mark.parametrize(
    "argv", [[], ["parse"], ["parse", "--jsonl"], ["frobnicate"], ["parse", "--bogus", "x"]]
)
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err


# --------------------------------------------------------------------------- a real process


def python_m_geo(args: list[str], env: dict[str, str], stdin: bytes) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "geo", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


def test_subprocess_parse_stdin(env):
    done = python_m_geo(["parse", "--jsonl", "-"], env, jsonl(RECORDS[:2]).encode("utf-8"))
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b""
    parsed = check_output(done.stdout.decode("utf-8"), RECORDS[:2])
    assert "Vladivostok" in names(parsed[0])


def test_subprocess_bad_line(env):
    done = python_m_geo(["parse", "--jsonl", "-"], env, b'{"text": "ok"}\n{"id": 2, "text": 3}\n')
    err = done.stderr.decode()
    assert_one_line_error(done.returncode, err, "stdin line 2", "string 'text'")


def test_online_fallback_unreachable_degrades_to_offline(env, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NEWS_ATLAS_ONLINE", "1")
    monkeypatch.setenv("NEWS_ATLAS_NOMINATIM", "http://127.0.0.1:9")  # discard port: refused
    monkeypatch.setenv("NEWS_ATLAS_MIN_DELAY", "0")
    monkeypatch.setenv("NEWS_ATLAS_TIMEOUT", "2")
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": 1, "text": "He lives on Xyzzy Street in Vladivostok."}) + "\n")
    assert cli.main(["parse", "--jsonl", str(src)]) == 0
    out, err = capsys.readouterr()
    names = [t["name"] for t in json.loads(out)["toponyms"]]
    assert "Vladivostok" in names
    assert "warning:" in err and "127.0.0.1:9" in err and "offline" in err


def test_unwritable_layers_folder_is_a_clean_error(env, tmp_path, capsys, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("gazetteer", "recognizer", "basemap"):
        (data / name).symlink_to(ROOT / "data" / name, target_is_directory=True)
    (data / "routes.yaml").write_text("routes: []\n", encoding="utf-8")
    (data / "layers").write_text("a file where the layers folder should be", encoding="utf-8")
    monkeypatch.setenv("NEWS_ATLAS_DATA", str(data))
    assert cli.main(["build"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_killed_parse_leaves_the_old_output_whole(env, tmp_path, sig):
    out = tmp_path / "out.jsonl"
    out.write_text("previous result\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "geo", "parse", "--jsonl", "-", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env)
    assert proc.stdin is not None
    proc.stdin.write(jsonl(RECORDS).encode("utf-8"))
    proc.stdin.flush()  # stdin stays open: the run is under way, its output half written
    for _ in range(2400):  # until the temporary output exists (bounded: 2 minutes)
        if list(tmp_path.glob(".out.jsonl.*.tmp")) or proc.poll() is not None:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    proc.send_signal(sig)
    assert proc.wait(timeout=60) == (143 if sig == signal.SIGTERM else -signal.SIGKILL)
    proc.stdin.close()
    if proc.stderr:
        proc.stderr.close()
    assert out.read_text(encoding="utf-8") == "previous result\n"
    if sig == signal.SIGTERM:  # cleaned up; a SIGKILL can leave the hidden temporary file
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_build_on_a_local_dask_cluster_publishes_the_same_layers(tmp_path: Path) -> None:
    """`python -m geo build --workers 2` parses on two worker processes and commits once:
    the layers equal a one-process build's, byte for byte."""
    from conftest import SEEDS, data_folder

    layers = {}
    for how, extra in (("one", []), ("dask", ["--workers", "2"])):
        data = data_folder(tmp_path / how)
        env = {**os.environ, "NEWS_ATLAS_DATA": str(data), "NEWS_ATLAS_SEEDS": str(SEEDS),
               "NEWS_ATLAS_ONLINE": "0"}  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "geo", "build", *extra], check=False, cwd=ROOT, env=env,
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "(5 parsed, 0 removed)" in done.stdout
        folder = data / "layers"
        layers[how] = {n: (folder / n).read_bytes() for n in ("places.geojson",
                       "mentions.geojson", "articles.json", "routes.geojson")}  # fmt: skip
    assert layers["one"] == layers["dask"]
