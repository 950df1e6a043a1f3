"""Command line of the analyst loop: ``add``, ``correct``, ``corrections`` and ``export``,
with bad input (exit status 2, a message naming the file or value, nothing changed) and
with a concurrent build."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from analyst_data import USSURI, drawn, mention, own_copy, runner_up
from conftest import ROOT, AtlasData

from geo import cli, corrections, store


@pytest.fixture
def own(atlas: AtlasData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AtlasData:
    data = own_copy(atlas, tmp_path)
    for key, value in data.env.items():
        monkeypatch.setenv(key, value)
    return data


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def state(data: AtlasData) -> dict[str, bytes]:
    files = {p.name: p.read_bytes() for p in data.cfg.seeds_dir.iterdir()}
    path = corrections.corrections_path(data.cfg.data_dir)
    return {**files, "corrections": path.read_bytes() if path.exists() else b""}


def test_add_prints_the_new_ids_and_builds(own, capsys, tmp_path):
    first, second = tmp_path / "one.txt", tmp_path / "two.md"
    first.write_text("Grain barges wait at Khabarovsk.\n", encoding="utf-8")
    second.write_text("Trucks queue at Blagoveshchensk.\n", encoding="utf-8")
    status, out, err = run(
        capsys, "add", str(first), str(second), "--title", "Border trade", "--outlet", "Amur",
        "--date", "2024-05", "--approximate", "--url", "https://example.org/x",
    )  # fmt: skip
    assert status == 0, err
    assert out.splitlines() == [f"005\t{first}", f"006\t{second}"]
    assert "(2 parsed, 0 removed)" in err
    with store.Store(own.store) as st:
        assert {a.id: (a.title, a.date_approximate) for a in st.articles()}["006"] == (
            "Border trade", True,
        )  # fmt: skip
        assert any(m.text == "Khabarovsk" and m.place_id for m in st.mentions("005"))


@pytest.mark.parametrize(
    "content, flags, words",
    [(b"\xff\xfe bad", (), r"'.*bad\.txt' is not UTF-8 text \(byte 0\)"),
     (b"", (), r"'.*bad\.txt' is empty"),
     (b"Rajin.", ("--date", "01/05/2024"), r"date '01/05/2024' is not YYYY-MM-DD"),
     (b"Rajin.", ("--url", "ftp://x"), r"url 'ftp://x' is not an http")],
)  # fmt: skip
def test_add_bad_input_exits_2_and_adds_nothing(own, capsys, tmp_path, content, flags, words):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    good = tmp_path / "good.txt"
    good.write_text("Ships at Rajin.\n", encoding="utf-8")
    before = state(own)
    status, out, err = run(capsys, "add", str(good), str(bad), *flags)
    assert status == 2 and out == ""
    assert err.startswith("error: ") and len(err.splitlines()) == 1
    assert re.search(words, err), err
    assert state(own) == before


def test_add_a_missing_file_is_named(own, capsys, tmp_path):
    status, _, err = run(capsys, "add", str(tmp_path / "nope.txt"))
    assert status == 2 and "nope.txt" in err and "No such file" in err


def test_correct_list_and_undo(own, capsys):
    art, start, end = USSURI
    status, out, err = run(
        capsys, "correct", art, str(start), str(end), "--place", runner_up(), "--note", "river"
    )
    assert status == 0, err
    assert "'Ussuri' -> Ussuri (river" in out and "(0 parsed" in err
    correction_id = out.split()[0]
    assert mention(own, *USSURI).place_id == runner_up()
    status, listed, _ = run(capsys, "corrections")
    assert status == 0 and listed == out
    status, out, err = run(capsys, "correct", "--undo", correction_id)
    assert status == 0 and out.startswith(f"undone: {correction_id}")
    assert mention(own, *USSURI).place_id == drawn()
    assert run(capsys, "corrections")[1:] == ("", "no corrections\n")


def test_correct_at_coordinates_with_a_name_and_kind(own, capsys):
    art, start, end = USSURI
    status, out, err = run(
        capsys, "correct", art, str(start), str(end), "--at", "45.1,133.9", "--name",
        "Ussuri valley", "--kind", "region", "--scope", "corpus",
    )  # fmt: skip
    assert status == 0, err
    assert "[user:ussuri-valley]; scope corpus" in out
    assert mention(own, *USSURI).place_id == "user:ussuri-valley"


@pytest.mark.parametrize(
    "argv, words",
    [(("correct", "004", "3576", "3582"), "say what the words are"),
     (("correct", "004", "3576", "3582", "--place", "gn:0"), "no gazetteer record has id 'gn:0'"),
     (("correct", "404", "1", "2", "--not-a-place"), "no article '404' in the atlas"),
     (("correct", "004", "3576", "9999999", "--not-a-place"), "span 3576..9999999"),
     (("correct", "004", "3576", "3582", "--at", "45,200", "--name", "X"), "longitude 200.0"),
     (("correct", "004", "3576", "3582", "--at", "45,100"), "needs --name"),
     (("correct", "004", "3576", "3582", "--at", "north", "--name", "X"), "'north'"),
     (("correct", "004", "3576", "3582", "--not-a-place", "--kind", "river"), "go with --at"),
     (("correct", "--undo", "c-000000"), "no correction with id 'c-000000'"),
     (("correct", "004"), "give ARTICLE START END")],
)  # fmt: skip
def test_correct_bad_input_exits_2_and_changes_nothing(own, capsys, argv, words):
    before = state(own)
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "") and words in err, err
    assert state(own) == before


@pytest.mark.parametrize(
    "argv",
    [("correct", "004", "x", "3"), ("correct", "004", "-1", "3"), ("correct", "--scope", "x")],
)
def test_correct_usage_errors_exit_2(own, capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(list(argv))
    assert exit_info.value.code == 2


def _paused_build(own: AtlasData) -> subprocess.Popen[str]:
    env = {**os.environ, **own.env, "NEWS_ATLAS_FAULT": "pause:parsed"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "geo", "build"], cwd=ROOT, env=env, stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    line = proc.stderr.readline()  # blocks until the build reaches the pause point
    assert line.strip() == "paused at parsed", line
    return proc


def test_a_running_build_makes_add_and_correct_wait_or_fail_naming_it(own, tmp_path):
    new = tmp_path / "new.txt"
    new.write_text("Ships at Rajin.\n", encoding="utf-8")
    art, start, end = USSURI
    env = {**os.environ, **own.env}
    before = state(own)
    proc = _paused_build(own)
    try:
        for argv in (
            ["add", str(new), "--no-wait"],
            ["correct", art, str(start), str(end), "--not-a-place", "--no-wait"],
        ):
            done = subprocess.run(
                [sys.executable, "-m", "geo", *argv], check=False, cwd=ROOT, env=env,
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert done.returncode == 2
            assert f"being written by a build (pid {proc.pid}" in done.stderr
            assert "--wait" in done.stderr
        assert state(own) == before
        pack = tmp_path / "pack.html"
        done = subprocess.run(
            [sys.executable, "-m", "geo", "export", "--html", str(pack)], check=False,
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, "a reader is not held up by a running build"
        assert "build 1" in pack.read_text(encoding="utf-8")
        waiting = subprocess.Popen(
            [sys.executable, "-m", "geo", "correct", art, str(start), str(end), "--not-a-place"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
    finally:
        proc.kill()
        proc.wait(timeout=30)
        assert proc.stderr is not None
        proc.stderr.close()
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert "-> not a place" in out
    assert mention(own, *USSURI).place_id is None


def test_export_writes_one_html_file(own, capsys, tmp_path):
    out = tmp_path / "pack.html"
    status, printed, err = run(
        capsys, "export", "--html", str(out), "--article", "002", "--article", "004",
        "--from", "2023-09", "--to", "2023-09-30",
    )  # fmt: skip
    assert status == 0, err
    assert printed.startswith(f"wrote {out}: 2 articles")
    html = out.read_text(encoding="utf-8")
    assert "2 chosen article(s); dates 2023-09 to 2023-09-30" in html
    assert "Kim&#x27;s armoured train heads for Vladivostok" in html


@pytest.mark.parametrize(
    "argv, words",
    [(("--article", "404"), "no article '404'"), (("--from", "Sept"), "--from 'Sept'"),
     (("--to", "2023-13-45x"), "--to '2023-13-45x'")],
)  # fmt: skip
def test_export_bad_input_exits_2_and_writes_nothing(own, capsys, tmp_path, argv, words):
    out = tmp_path / "pack.html"
    status, printed, err = run(capsys, "export", "--html", str(out), *argv)
    assert (status, printed) == (2, "") and words in err, err
    assert not out.exists()


def test_export_into_a_missing_folder_or_a_folder_is_named(own, capsys, tmp_path):
    status, _, err = run(capsys, "export", "--html", str(tmp_path))
    assert status == 2 and "is a folder" in err
    status, _, err = run(capsys, "export", "--html", "/proc/no/such/pack.html")
    assert status == 2 and "/proc/no/such/pack.html" in err
