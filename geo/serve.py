"""Serve the dashboard: ``python -m geo.serve [streamlit options]``.

The same as ``streamlit run app.py [options]``, except that the work of the first visit that
does not need a session is done while the server starts, so that the first visitor does
not wait for it:

* the libraries the page needs (folium, geopandas, pandas, altair, the page's own modules:
  about 1.5 s of imports) are imported before the server starts listening;
* a thread reads the base map (0.2 s) and the atlas (2 s at 10,000 articles) and makes the
  map's place data of a page opened afresh (0.4 s at 10,000 articles), which the page then
  takes over (see :func:`geo.dashboard.preload_layers`);
* then it freezes what it made for the garbage collector (``gc.freeze``): Streamlit collects
  garbage after every script run, and a full collection over the preloaded atlas held the
  first run up by 0.2 s.

Nothing that imports Streamlit is preloaded: Streamlit must read its configuration and
register components itself, after the command line has been parsed.

It serves on ``NEWS_ATLAS_HOST`` (default ``127.0.0.1``: this machine only) unless the
command line names a ``--server.address``; see :mod:`geo.settings`.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from geo.settings import Settings

APP = Path(__file__).resolve().parent.parent / "app.py"


def preload() -> None:
    """Import what the page's first run would otherwise import, and start reading the
    base map and the atlas (in a thread, while Streamlit starts) so that the first visit
    finds them loaded."""
    import altair  # noqa: F401, PLC0415  (the timeline's histogram)
    import folium  # noqa: PLC0415
    import folium.plugins  # noqa: F401, PLC0415
    import geopandas  # noqa: F401, PLC0415

    from geo import analyst, assets, dashboard, edits, mapview, settings  # noqa: F401, PLC0415

    threading.Thread(target=warm, args=(settings.load(),), daemon=True).start()


def warm(cfg: Settings) -> None:
    """Read the base map and the atlas of ``cfg`` ahead of the first visit, then freeze
    everything made so far out of the garbage collector's full collections."""
    from geo import dashboard, mapview  # noqa: PLC0415
    from geo.errors import GeoError  # noqa: PLC0415

    with contextlib.suppress(GeoError):  # left for the page to report
        mapview.load_basemap(cfg.data_dir)
    dashboard.preload_layers(dashboard.store_file(cfg))
    gc.collect()
    gc.freeze()


def streamlit_args(argv: Sequence[str], host: str) -> list[str]:
    """Streamlit's command line: ``run app.py``, the given options, and the address to
    serve on (``host``) unless they name one."""
    named = any(a == "--server.address" or a.startswith("--server.address=") for a in argv)
    address = [] if named else ["--server.address", host]
    return ["streamlit", "run", str(APP), *argv, *address]


def main(argv: Sequence[str] | None = None) -> None:
    """Preload, then hand over to Streamlit's own command line (which exits)."""
    import streamlit.emojis  # noqa: F401, PLC0415  (read for the page's icon: 0.03 s)
    from streamlit.web import cli  # noqa: PLC0415

    from geo import settings  # noqa: PLC0415

    host = settings.load().host
    preload()
    sys.argv = streamlit_args(sys.argv[1:] if argv is None else argv, host)
    cli.main()


if __name__ == "__main__":
    main()
