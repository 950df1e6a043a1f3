"""Settings, read once from the environment.

=========================  ===================================================  ==========
variable                   meaning                                              default
=========================  ===================================================  ==========
``NEWS_ATLAS_DATA``        folder of built layers and gazetteer files           ``data``
``NEWS_ATLAS_SEEDS``       folder of articles (``*.txt``) and ``articles.toml``  ``seeds``
``NEWS_ATLAS_CACHE``       folder for derived caches (gazetteer index, geocoder)  ``.cache``
``NEWS_ATLAS_ONLINE``      ``1`` enables the online geocoder fallback             ``0``
``NEWS_ATLAS_USER_AGENT``  user agent sent to the online geocoder               see below
``NEWS_ATLAS_NOMINATIM``   Nominatim base URL (scheme://host[:port])            public one
``NEWS_ATLAS_TIMEOUT``     online geocoder timeout in seconds                   ``10``
``NEWS_ATLAS_MIN_DELAY``   seconds between online geocoder requests             ``1.0``
=========================  ===================================================  ==========
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from geo.errors import BadInput

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Settings:
    """All tunables in one place."""

    data_dir: Path
    seeds_dir: Path
    cache_dir: Path
    online: bool
    user_agent: str
    nominatim_url: str
    timeout: float
    min_delay: float


def _path(var: str, default: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else ROOT / default


def _number(var: str, default: str) -> float:
    raw = os.environ.get(var, default)
    try:
        value = float(raw)
    except ValueError:
        raise BadInput(f"{var}={raw!r} is not a number of seconds") from None
    if value < 0:
        raise BadInput(f"{var}={raw!r} must not be negative")
    return value


def load() -> Settings:
    """Read the settings from the environment (call once, at the edge)."""
    return Settings(
        data_dir=_path("NEWS_ATLAS_DATA", "data"),
        seeds_dir=_path("NEWS_ATLAS_SEEDS", "seeds"),
        cache_dir=_path("NEWS_ATLAS_CACHE", ".cache"),
        online=os.environ.get("NEWS_ATLAS_ONLINE", "0") == "1",
        user_agent=os.environ.get("NEWS_ATLAS_USER_AGENT", "news-atlas/0.1 (offline geoparser)"),
        nominatim_url=os.environ.get("NEWS_ATLAS_NOMINATIM", "https://nominatim.openstreetmap.org"),
        timeout=_number("NEWS_ATLAS_TIMEOUT", "10"),
        min_delay=_number("NEWS_ATLAS_MIN_DELAY", "1.0"),
    )
