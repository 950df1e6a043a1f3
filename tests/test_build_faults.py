"""Fault tests with real processes and real files: a build killed at each of its phases,
two builds at once, and the dashboard reading while a build writes.

Each test copies a built atlas, adds an article, and runs ``python -m geo build`` in a
child process.  ``NEWS_ATLAS_FAULT`` (see :mod:`geo._fault`) makes the child SIGKILL itself
at a phase, or pause there while the test looks on.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, AtlasData, build_atlas, use
from streamlit.testing.v1 import AppTest

from geo import dashboard, layers, store
from geo.layers import FILES, MANIFEST

NEW_ID = "005"
NEW_TEXT = "Freight trains now cross from Khasan to Tumangang every week.\n"
PHASES = ("parsed", "store-write", "committed", "publish-files", "publish-renamed", "switched")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> AtlasData:
    root = tmp_path_factory.mktemp("faults")
    seeds = root / "seeds"
    shutil.copytree(SEEDS, seeds)
    return build_atlas(root, seeds)


@pytest.fixture
def atlas(built: AtlasData, tmp_path: Path) -> AtlasData:
    """A copy of the built atlas (store, published set, seeds) with one article more to build."""
    src = built.cfg
    data, seeds = tmp_path / "data", tmp_path / "seeds"
    shutil.copytree(src.data_dir, data, symlinks=True)
    shutil.copytree(src.seeds_dir, seeds)
    (seeds / f"{NEW_ID}_new.txt").write_text(NEW_TEXT, encoding="utf-8")
    cfg = src.__class__(**{**_fields(src), "data_dir": data, "seeds_dir": seeds})
    return AtlasData(cfg)


def _fields(cfg: object) -> dict[str, object]:
    return {name: getattr(cfg, name) for name in cfg.__slots__}  # type: ignore[attr-defined]


def start_build(atlas: AtlasData, *args: str, fault: str = "") -> subprocess.Popen[str]:
    env = {**os.environ, **atlas.env, "NEWS_ATLAS_FAULT": fault}
    return subprocess.Popen(
        [sys.executable, "-m", "geo", "build", *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def run_build(atlas: AtlasData, *args: str, fault: str = "") -> subprocess.CompletedProcess[str]:
    proc = start_build(atlas, *args, fault=fault)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture
def paused(atlas: AtlasData, request: pytest.FixtureRequest) -> Iterator[subprocess.Popen[str]]:
    """A build paused at ``request.param`` (holding the write lock); killed afterwards."""
    proc = start_build(atlas, fault=f"pause:{request.param}")
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert line.strip() == f"paused at {request.param}", line + proc.stderr.read()
    try:
        yield proc
    finally:
        proc.kill()
        proc.communicate(timeout=30)


def published(atlas: AtlasData) -> tuple[str, list[str]]:
    """The published set's build id and article ids, after checking it is whole."""
    folder = layers.layers_dir(atlas.cfg.data_dir)
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert sorted(set(files) - {layers.INDEX}) == sorted([*FILES, MANIFEST])
    manifest = json.loads(files[MANIFEST])
    assert {n: hashlib.sha256(files[n]).hexdigest() for n in FILES} == manifest["files"]
    json.loads(files["places.geojson"])
    ids = [a["id"] for a in json.loads(files["articles.json"])]
    return manifest["build"], ids


def store_build(atlas: AtlasData) -> int:
    with store.Store(store.store_path(atlas.cfg.data_dir)) as st:
        return st.build_id()


def assert_tidy(atlas: AtlasData) -> None:
    data = atlas.cfg.data_dir
    assert not [p for p in (data / layers.SETS).iterdir() if p.name.startswith(".")]
    assert not list(data.glob(".layers.*")) and not list(data.glob("*.tmp"))


@pytest.mark.parametrize("phase", PHASES)
def test_a_build_killed_at_any_phase_leaves_a_whole_atlas(atlas: AtlasData, phase: str) -> None:
    killed = run_build(atlas, fault=phase)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    build_id, ids = published(atlas)
    committed = PHASES.index(phase) >= PHASES.index("committed")
    assert store_build(atlas) == (2 if committed else 1)
    if phase == "switched":  # the new set was already in place
        assert (build_id, NEW_ID in ids) == ("2", True)
    else:  # the old set, whole
        assert (build_id, NEW_ID in ids) == ("1", False)

    again = run_build(atlas)
    assert again.returncode == 0, again.stderr
    assert ("0 parsed" if committed else "1 parsed") in again.stdout
    build_id, ids = published(atlas)
    assert NEW_ID in ids and build_id == str(store_build(atlas))
    assert_rendered_whole(atlas)
    assert_tidy(atlas)


def assert_rendered_whole(atlas: AtlasData) -> None:
    """The published files are what rendering the whole store gives (the set was spliced
    from the one before: nothing of the killed build's may leak into it)."""
    folder = layers.layers_dir(atlas.cfg.data_dir)
    with store.Store(store.store_path(atlas.cfg.data_dir)) as st:
        assert {n: (folder / n).read_text("utf-8") for n in FILES} == layers.layer_texts(st)


@pytest.mark.parametrize("paused", ["parsed"], indirect=True)
def test_a_second_build_stops_naming_the_running_one(
    atlas: AtlasData, paused: subprocess.Popen[str]
) -> None:
    second = run_build(atlas)
    assert second.returncode == 2
    assert f"being written by a build (pid {paused.pid}" in second.stderr
    assert "geo build" in second.stderr and "Traceback" not in second.stderr
    assert published(atlas)[0] == "1"


@pytest.mark.parametrize("paused", ["parsed"], indirect=True)
def test_a_waiting_build_runs_after_the_running_one(
    atlas: AtlasData, paused: subprocess.Popen[str]
) -> None:
    waiting = start_build(atlas, "--wait")
    with pytest.raises(subprocess.TimeoutExpired):
        waiting.communicate(timeout=3)  # it cannot go on while the lock is held
    paused.send_signal(signal.SIGKILL)
    _, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    build_id, ids = published(atlas)
    assert NEW_ID in ids and build_id == str(store_build(atlas))


def test_two_builds_started_together_never_interleave(atlas: AtlasData) -> None:
    first, second = start_build(atlas), start_build(atlas)
    outs = [p.communicate(timeout=120) for p in (first, second)]
    results = [(p.returncode, o, e) for p, (o, e) in zip((first, second), outs, strict=True)]
    codes = sorted(code for code, _, _ in results)
    assert codes in ([0, 0], [0, 2]), results
    for code, _, err in results:
        if code == 2:
            assert "is being written by a build" in err
    build_id, ids = published(atlas)
    assert NEW_ID in ids and build_id == str(store_build(atlas))
    assert_tidy(atlas)


@pytest.mark.parametrize("paused", ["store-write"], indirect=True)
def test_the_dashboard_reads_the_last_build_while_one_writes(
    atlas: AtlasData, paused: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child holds the store's write transaction open: readers see the last commit."""
    lay = dashboard.load_layers(atlas.store)
    assert lay.build_id == 1 and NEW_ID not in lay.articles
    vlad = lay.places[lay.places["name"] == "Vladivostok"].iloc[0]["place_id"]
    assert dashboard.place_panel(lay, vlad).contexts
    use(monkeypatch, atlas)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception and not at.error
    assert any("places" in c.value for c in at.caption)
    assert paused.poll() is None, "the build is still writing"
