"""The dashboard launcher: Streamlit's own command line, after the heavy imports."""

from __future__ import annotations

import subprocess
import sys

import pytest
from streamlit.web import cli

from geo import serve


def test_main_runs_app_py_with_the_given_options(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr(cli, "main", lambda: seen.append(list(sys.argv)))
    monkeypatch.setattr(sys, "argv", ["geo.serve"])
    serve.main(["--server.port", "8599"])
    assert seen == [["streamlit", "run", str(serve.APP), "--server.port", "8599"]]
    assert serve.APP.name == "app.py" and serve.APP.is_file()


def test_preload_imports_the_page_libraries_but_not_streamlit() -> None:
    # Streamlit must configure itself after its command line is parsed: preloading it (or
    # streamlit-folium, which registers a component on import) breaks the map's iframe.
    code = (
        "import sys; from geo import serve; serve.preload(); "
        "print(sorted(m for m in ('folium', 'geopandas', 'streamlit', 'streamlit_folium') "
        "if m in sys.modules))"
    )
    root = serve.APP.parent
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=root
    ).stdout
    assert out.strip() == "['folium', 'geopandas']"
