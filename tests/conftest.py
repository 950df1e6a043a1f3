"""Shared fixtures: layers built from the seed articles into temporary data folders.

The layers (``data/layers``) are not in git, so the tests build their own on every session,
exactly as a fresh clone would: a temporary data folder gets symlinks to the checked-in
gazetteer, recognizer, base map and routes file, and :func:`geo.build.ensure_built`
builds the store and ``layers/`` into it.  The real ``data/layers`` is never read or written.  The
gazetteer index cache stays in the project's ``.cache`` so it is built at most once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from geo import build, dashboard, layers, settings

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
SEEDS = ROOT / "seeds"
CACHE = ROOT / ".cache"
#: Checked-in inputs of a build, linked into every temporary data folder.
DATA_INPUTS = ("gazetteer", "recognizer", "basemap", "routes.yaml")

#: An article full of characters that break HTML, JS template literals and markdown.
NASTY_ID = "900"
NASTY_TEXT = (
    "Ports of the Far East.\n\n"
    'Ships wait offshore. In Vladivostok, he said "it\'s `fine`" </script> '
    "<img src=x onerror=alert(1)>. Prices rose by $5 and *bold* _claims_ spread.\n"
)
NASTY_TITLE = "Nasty </script> \"title\" 'quoted' `tick` <img src=x onerror=alert(1)>"
NASTY_RAW = ("</script>", "<img src=x onerror=alert(1)>", "`fine`", 'said "it')


@dataclasses.dataclass(frozen=True)
class AtlasData:
    """A built data folder and the environment that points the app at it."""

    cfg: settings.Settings

    @property
    def env(self) -> dict[str, str]:
        return {
            "NEWS_ATLAS_DATA": str(self.cfg.data_dir),
            "NEWS_ATLAS_SEEDS": str(self.cfg.seeds_dir),
            "NEWS_ATLAS_CACHE": str(self.cfg.cache_dir),
            "NEWS_ATLAS_ONLINE": "0",
        }

    @property
    def layers_dir(self) -> Path:
        return layers.layers_dir(self.cfg.data_dir)

    @property
    def store(self) -> Path:
        return dashboard.store_file(self.cfg)


def _tree_state(*folders: Path) -> dict[str, tuple[int, int]]:
    """Every file, folder and link under ``folders`` with its size and modification time."""
    state: dict[str, tuple[int, int]] = {}
    for folder in folders:
        for path in (folder, *folder.rglob("*")):
            info = path.lstat()
            state[str(path.relative_to(ROOT))] = (info.st_size, info.st_mtime_ns)
    return state


#: The test process's own ``__main__``.  Streamlit's ``AppTest`` runs ``app.py`` as
#: ``__main__`` and leaves it in ``sys.modules``; a Dask worker process started later (spawn)
#: would then run ``app.py`` first, which builds the default atlas in the checkout's ``data/``.
_MAIN = sys.modules["__main__"]


@pytest.fixture(autouse=True)
def _main_module_restored() -> Iterator[None]:
    yield
    sys.modules["__main__"] = _MAIN


@contextlib.contextmanager
def _data_guard(what: str) -> Iterator[None]:
    before = _tree_state(DATA, SEEDS)
    yield
    after = _tree_state(DATA, SEEDS)
    changed = sorted(
        key for key in before.keys() | after.keys() if before.get(key) != after.get(key)
    )
    assert not changed, f"{what} changed the repository's own data/ or seeds/: {changed[:20]}"


@pytest.fixture(scope="session", autouse=True)
def _repository_data_untouched_by_the_run() -> Iterator[None]:
    """The same over the whole run: a write between tests (a background process, a fixture
    of wider scope) is caught too, if not named."""
    with _data_guard("the run"):
        yield


@pytest.fixture(autouse=True)
def _repository_data_untouched() -> Iterator[None]:
    """Fail the test that wrote into the repository's own ``data/`` or ``seeds/``.

    Every test builds into a temporary data folder; a store, a lock file or a layer set
    appearing in the checkout's ``data/`` means a code path ignored ``NEWS_ATLAS_DATA``.
    """
    with _data_guard("the test"):
        yield


@pytest.fixture(scope="session")
def cache_dir() -> Path:
    """The gazetteer index cache every test shares (the project's ``.cache``: built once)."""
    CACHE.mkdir(exist_ok=True)
    return CACHE


def data_folder(root: Path) -> Path:
    """A data folder under ``root`` whose build inputs link to the checked-in ones."""
    folder = root / "data"
    folder.mkdir(parents=True)
    for name in DATA_INPUTS:
        (folder / name).symlink_to(DATA / name, target_is_directory=(DATA / name).is_dir())
    return folder


def build_atlas(root: Path, seeds: Path) -> AtlasData:
    """Build the layers of ``seeds`` into a fresh data folder under ``root``."""
    base = settings.load()
    cfg = dataclasses.replace(
        base, data_dir=data_folder(root), seeds_dir=seeds, cache_dir=CACHE, online=False
    )
    assert build.ensure_built(cfg) is not None, "the fresh folder should need a build"
    assert dashboard.data_version(cfg) == 1
    return AtlasData(cfg)


@pytest.fixture(scope="session")
def atlas(tmp_path_factory: pytest.TempPathFactory) -> AtlasData:
    """Layers of the real seed articles."""
    return build_atlas(tmp_path_factory.mktemp("atlas"), SEEDS)


@pytest.fixture(scope="session")
def nasty_atlas(tmp_path_factory: pytest.TempPathFactory) -> AtlasData:
    """Layers of the seed articles plus :data:`NASTY_TEXT` (titled :data:`NASTY_TITLE`)."""
    root = tmp_path_factory.mktemp("nasty")
    seeds = root / "seeds"
    shutil.copytree(SEEDS, seeds)
    (seeds / f"{NASTY_ID}_nasty.txt").write_text(NASTY_TEXT, encoding="utf-8")
    with (seeds / "articles.toml").open("a", encoding="utf-8") as fh:
        fh.write(f'\n["{NASTY_ID}"]\ntitle = {json.dumps(NASTY_TITLE)}\n')
        fh.write(f"outlet = {json.dumps('<b>Outlet</b> & co')}\n")
    return build_atlas(root, seeds)


def use(monkeypatch: pytest.MonkeyPatch, data: AtlasData) -> None:
    """Point the app (its settings are read from the environment) at ``data``."""
    for key, value in data.env.items():
        monkeypatch.setenv(key, value)


# -- a served app and a headless Chromium (browser tests and benchmarks/dashboard.py) ---------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
)  # fmt: skip
#: Hosts of the online base layers: the only requests allowed to leave 127.0.0.1.
TILE_HOSTS = ("openstreetmap", "cartocdn", "arcgisonline", "opentopomap")
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Poll ``/_stcore/health`` until it answers ``ok`` (bounded; fails if the server died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"streamlit at {url} not healthy after {timeout:.0f} s")


@contextlib.contextmanager
def serve_app(
    env: dict[str, str], log: Path, *, preload: bool = False
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run ``streamlit run app.py`` (``preload``: ``python -m geo.serve``, as ``make run``
    does) on a free 127.0.0.1 port; yield its URL and process."""
    port = free_port()
    launcher = ["-m", "geo.serve"] if preload else ["-m", "streamlit", "run", str(ROOT / "app.py")]
    cmd = [
        sys.executable, *launcher,
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=out)
        try:
            yield f"http://127.0.0.1:{port}", proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def is_local(url: str) -> bool:
    """Whether ``url`` stays on this machine (127.0.0.1, or a data:/blob: URL)."""
    parts = urllib.parse.urlsplit(url)
    return parts.scheme in {"data", "blob", "about"} or parts.hostname == "127.0.0.1"


def offline(route: Any) -> None:
    """A Playwright route handler: what would leave 127.0.0.1 fails as with no network."""
    if is_local(route.request.url):
        route.continue_()
    else:
        route.abort("internetdisconnected")


def is_tile(url: str) -> bool:
    """Whether ``url`` is a tile request of one of the online base layers."""
    host = urllib.parse.urlsplit(url).hostname or ""
    return any(name in host for name in TILE_HOSTS)
