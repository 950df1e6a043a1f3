"""Point a folium map at the vendored JS/CSS instead of CDNs, so it works air-gapped.

folium 0.20 (and each plugin) lists its assets as ``default_js``/``default_css``: pairs of a
name and a CDN URL.  :func:`localize_assets` replaces every URL with the copy that
``scripts/vendor_assets.py`` put under ``static/vendor/`` (see its ``MANIFEST.json``).

How the files reach the browser
-------------------------------
They are plain URLs under ``asset_base`` (default ``/app/static/vendor``), served by
Streamlit's static file serving (``server.enableStaticServing = true`` in
``.streamlit/config.toml``: ``<app dir>/static/X`` is served at ``/app/static/X``).
This was checked against the installed Streamlit 1.67: its Starlette handler
(``streamlit/web/server/starlette/starlette_routes.py``,
``create_app_static_serving_routes``) sends every file with the type
``mimetypes.guess_type`` gives (``.js`` -> ``text/javascript``, ``.css`` -> ``text/css``,
``.woff2`` -> ``font/woff2``, ``.png``, ``.svg``) plus ``X-Content-Type-Options: nosniff``; the
extension whitelist that served everything else as ``text/plain`` belonged to the older
Tornado handler.  So linking the files works, keeps each rendered map small (the ~1.3 MB of
libraries and fonts are fetched once and cached by the browser, not re-sent on every
Streamlit rerun as inlined copies would be), and lets the CSS find its fonts and images by
their relative URLs (``../webfonts/...``, ``images/...``).

``st_folium`` draws the map inside a component iframe served by the same Streamlit server
(``/component/streamlit_folium.st_folium/index.html``) and loads ``default_js``/``default_css``
of every element with ``<script src>``/``<link href>``: an absolute path such as
``/app/static/vendor`` therefore resolves against the app's own origin.  When Streamlit runs
under ``server.baseUrlPath = "x"``, pass ``asset_base="/x/app/static/vendor"``.  For a
standalone HTML file (``Map.save``), pass a ``file://`` URL or a path relative to the saved
file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import folium
from branca.element import Element, MacroElement
from folium.template import Template

from geo._atomic import atomic_write_text
from geo.errors import GeoError

#: Default URL prefix of the vendored files as Streamlit serves them.
DEFAULT_ASSET_BASE = "/app/static/vendor"

#: folium asset name -> file under ``static/vendor/``.
VENDORED = {
    # folium.Map
    "leaflet": "leaflet/leaflet.js",
    "jquery": "jquery/jquery.min.js",
    "bootstrap": "bootstrap/bootstrap.bundle.min.js",
    "awesome_markers": "awesome-markers/leaflet.awesome-markers.min.js",
    "leaflet_css": "leaflet/leaflet.css",
    "bootstrap_css": "bootstrap/bootstrap.min.css",
    "glyphicons_css": "glyphicons/bootstrap-glyphicons.css",
    "awesome_markers_font_css": "fontawesome/css/all.min.css",
    "awesome_markers_css": "awesome-markers/leaflet.awesome-markers.css",
    "awesome_rotate_css": "awesome-rotate/leaflet.awesome.rotate.css",
    # folium.plugins.MarkerCluster
    "markerclusterjs": "markercluster/leaflet.markercluster.js",
    "markerclustercss": "markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "markercluster/MarkerCluster.Default.css",
    # folium.plugins.Fullscreen
    "Control.Fullscreen.js": "fullscreen/Control.FullScreen.js",
    "Control.FullScreen.css": "fullscreen/Control.FullScreen.css",
    # folium.plugins.MeasureControl
    "leaflet_measure_js": "measure/leaflet-measure.min.js",
    "leaflet_measure_css": "measure/leaflet-measure.css",
    # folium.plugins.MousePosition
    "Control_MousePosition_js": "mouseposition/L.Control.MousePosition.js",
    "Control_MousePosition_css": "mouseposition/L.Control.MousePosition.css",
}

#: Where Leaflet's default marker images live, relative to the vendor folder.
LEAFLET_IMAGES = "leaflet/images/"


class _IconImagePath(MacroElement):
    """Sets ``L.Icon.Default.imagePath`` in the map script (runs in st_folium's iframe too)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            L.Icon.Default.imagePath = {{ this.path|tojson }};
        {% endmacro %}
        """
    )

    def __init__(self, path: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "IconImagePath"
        self.path = path


def vendored_url(name: str, base: str = DEFAULT_ASSET_BASE) -> str:
    """Return the URL of the vendored copy of folium asset ``name`` under ``base``.

    Raises
    ------
    GeoError
        If no vendored copy is known: add it to ``scripts/vendor_assets.py`` and
        :data:`VENDORED`.
    """
    try:
        rel = VENDORED[name]
    except KeyError as err:
        msg = (
            f"no vendored copy of map asset {name!r}; add it to scripts/vendor_assets.py "
            "and geo.assets.VENDORED, then rerun the script"
        )
        raise GeoError(msg) from err
    return f"{base.rstrip('/')}/{rel}"


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in element._children.values():
        yield from _walk(child)


def localize_assets(m: folium.Map, base: str = DEFAULT_ASSET_BASE) -> folium.Map:
    """Point ``m``'s and its children's ``default_js``/``default_css`` at vendored copies.

    Call it last, once every plugin is on the map.  Also sets ``L.Icon.Default.imagePath``.

    Parameters
    ----------
    m : folium.Map
        The map; changed in place (instance attributes shadow the class-level lists).
    base : str
        URL prefix of ``static/vendor`` as the browser sees it.

    Returns
    -------
    folium.Map
        ``m`` itself.
    """
    for element in _walk(m):
        for attr in ("default_js", "default_css"):
            assets = getattr(element, attr, None)
            if assets:
                setattr(element, attr, [(n, vendored_url(n, base)) for n, _ in assets])
    parent: Any = m
    parent.add_child(_IconImagePath(f"{base.rstrip('/')}/{LEAFLET_IMAGES}"), index=0)
    return m


def publish_basemap(data_dir: Path, static_dir: Path) -> bool:
    """Copy ``data_dir/basemap/*.geojson`` to ``static_dir/basemap/`` when they differ.

    ``data/basemap`` is the committed source; Streamlit serves only ``static/``.  Returns
    whether the copies are in place (False when ``static_dir`` cannot be written: the map
    then carries the base map inline).
    """
    target = static_dir / "basemap"
    try:
        for src in sorted((data_dir / "basemap").glob("*.geojson")):
            dst = target / src.name
            content = src.read_text(encoding="utf-8")
            if not dst.exists() or dst.read_text(encoding="utf-8") != content:
                atomic_write_text(dst, content)
    except OSError:
        return False
    return all((target / f"{n}.geojson").exists() for n in ("countries", "coastline"))


#: Place-data files kept in ``static/places/``: the most recently used (see
#: :func:`keep_places`); older ones are removed.
KEEP_PLACE_FILES = 64


def publish_places(text: str, static_dir: Path) -> str | None:
    """Write the map's place data (:func:`geo.mapview.place_data`) to
    ``static_dir/places/<content hash>.json`` and return the file name, or None when
    ``static_dir`` cannot be written (the map then carries the places inline).

    Named by content, a file never changes: the browser may cache it for good.  Only the
    :data:`KEEP_PLACE_FILES` newest files are kept.
    """
    target = static_dir / "places"
    name = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24] + ".json"
    try:
        if not (target / name).exists():
            atomic_write_text(target / name, text)
        old = sorted(target.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for path in old[KEEP_PLACE_FILES:]:
            if path.name != name:
                path.unlink(missing_ok=True)
    except OSError:
        return None
    return name


def publish_bundle(
    urls: Sequence[str], static_dir: Path, base: str = DEFAULT_ASSET_BASE
) -> str | None:
    """Join the vendored scripts at ``urls`` (each under ``base``, in their order) into one
    file ``static_dir/bundles/<content hash>.js`` and return its name.

    ``st_folium`` loads the map's scripts one after the other, each waiting for the last
    (0.25-0.35 s for Leaflet and its five plugins on the first visit); one file is one
    request.  Each script is a self-contained file meant for the page's global scope, so
    joined they define the same globals in the same order.  Returns None (the scripts are
    then linked one by one) when a URL is not a vendored file or ``static_dir`` cannot be
    written.
    """
    prefix = base.rstrip("/") + "/"
    vendor = static_dir / "vendor"
    try:
        parts = []
        for url in urls:
            if not url.startswith(prefix):
                return None
            parts.append((vendor / url.removeprefix(prefix)).read_text(encoding="utf-8"))
        text = "".join(f"{part}\n;\n" for part in parts)
        name = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24] + ".js"
        target = static_dir / "bundles" / name
        if not target.exists():
            atomic_write_text(target, text)
    except OSError:
        return None
    return name


def keep_places(name: str, static_dir: Path) -> None:
    """Mark the place-data file ``name`` as used now (a map still showing it keeps it among
    the :data:`KEEP_PLACE_FILES` that :func:`publish_places` leaves)."""
    try:
        (static_dir / "places" / name).touch(exist_ok=True)
    except OSError:
        return
