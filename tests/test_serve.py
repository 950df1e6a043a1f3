"""The dashboard launcher: Streamlit's own command line, after the heavy imports."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from streamlit.web import cli

from geo import serve


def test_main_runs_app_py_with_the_given_options(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr(cli, "main", lambda: seen.append(list(sys.argv)))
    monkeypatch.setattr(sys, "argv", ["geo.serve"])
    monkeypatch.delenv("NEWS_ATLAS_HOST", raising=False)
    serve.main(["--server.port", "8599"])
    app = str(serve.APP)
    assert seen == [
        ["streamlit", "run", app, "--server.port", "8599", "--server.address", "127.0.0.1"]
    ]
    assert serve.APP.name == "app.py" and serve.APP.is_file()


def test_it_serves_on_news_atlas_host_unless_the_command_line_names_an_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr(cli, "main", lambda: seen.append(list(sys.argv)))
    monkeypatch.setenv("NEWS_ATLAS_HOST", "0.0.0.0")
    serve.main([])
    serve.main(["--server.address=127.0.0.1"])
    assert seen[0][-2:] == ["--server.address", "0.0.0.0"]
    assert seen[1][-1] == "--server.address=127.0.0.1"
    assert "0.0.0.0" not in seen[1]


def test_preload_imports_the_page_libraries_but_not_streamlit(tmp_path) -> None:
    # Streamlit must configure itself after its command line is parsed: preloading it (or
    # streamlit-folium, which registers a component on import) breaks the map's iframe.
    code = (
        "import sys; from geo import serve; serve.preload(); "
        "print(sorted(m for m in ('folium', 'geopandas', 'streamlit', 'streamlit_folium') "
        "if m in sys.modules))"
    )
    root = serve.APP.parent
    env = {**os.environ, "NEWS_ATLAS_DATA": str(tmp_path)}  # it starts reading the atlas
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=root, env=env
    ).stdout
    assert out.strip() == "['folium', 'geopandas']"
