"""Serve the dashboard: ``python -m geo.serve [streamlit options]``.

The same as ``streamlit run app.py [options]``, except that the libraries the page needs
(folium, geopandas, pandas: about 1 s of imports) are imported before the server starts
listening, and the atlas is read while it starts (2 s at 10,000 articles), so that the first
visitor does not wait for them.  Nothing that imports
Streamlit is preloaded: Streamlit must read its configuration and register components
itself, after the command line has been parsed.

It serves on ``NEWS_ATLAS_HOST`` (default ``127.0.0.1``: this machine only) unless the
command line names a ``--server.address``; see :mod:`geo.settings`.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def preload() -> None:
    """Import what the page's first run would otherwise import, and start reading the
    atlas (in a thread, while Streamlit starts) so that the first visit finds it loaded."""
    import folium  # noqa: PLC0415
    import folium.plugins  # noqa: F401, PLC0415
    import geopandas  # noqa: F401, PLC0415

    from geo import assets, dashboard, mapview, settings  # noqa: F401, PLC0415

    path = dashboard.store_file(settings.load())
    threading.Thread(target=dashboard.preload_layers, args=(path,), daemon=True).start()


def streamlit_args(argv: Sequence[str], host: str) -> list[str]:
    """Streamlit's command line: ``run app.py``, the given options, and the address to
    serve on (``host``) unless they name one."""
    named = any(a == "--server.address" or a.startswith("--server.address=") for a in argv)
    address = [] if named else ["--server.address", host]
    return ["streamlit", "run", str(APP), *argv, *address]


def main(argv: Sequence[str] | None = None) -> None:
    """Preload, then hand over to Streamlit's own command line (which exits)."""
    from streamlit.web import cli  # noqa: PLC0415

    from geo import settings  # noqa: PLC0415

    host = settings.load().host
    preload()
    sys.argv = streamlit_args(sys.argv[1:] if argv is None else argv, host)
    cli.main()


if __name__ == "__main__":
    main()
