"""Settings, read once from the environment.

============================  =====================================================  =============
variable                      meaning                                                default
============================  =====================================================  =============
``NEWS_ATLAS_DATA``           folder of built layers and gazetteer files             ``data``
``NEWS_ATLAS_SEEDS``          folder of articles (``*.txt``) and ``articles.toml``   ``seeds``
``NEWS_ATLAS_CACHE``          folder for derived caches (gazetteer index, geocoder)  ``.cache``
``NEWS_ATLAS_ONLINE``         ``1`` enables the online geocoder fallback             ``0``
``NEWS_ATLAS_USER_AGENT``     user agent sent to the online geocoder                 see below
``NEWS_ATLAS_NOMINATIM``      Nominatim base URL (scheme://host[:port])              public one
``NEWS_ATLAS_TIMEOUT``        online geocoder timeout in seconds                     ``10``
``NEWS_ATLAS_MIN_DELAY``      seconds between online geocoder requests               ``1.0``
``NEWS_ATLAS_HOST``           address ``make run`` serves the dashboard on           ``127.0.0.1``
``NEWS_ATLAS_ALLOW_EDITS``    ``1``: adding and correcting also when served beyond   ``0``
``NEWS_ATLAS_MAX_UPLOAD_MB``  largest article an upload may be, in megabytes         ``2``
============================  =====================================================  =============

The dashboard serves on 127.0.0.1 (this machine only) unless ``NEWS_ATLAS_HOST`` says
otherwise (``0.0.0.0``: every network interface).  Served beyond this machine, its adding
and correcting are off, so that anyone who can reach it cannot change the atlas, unless
``NEWS_ATLAS_ALLOW_EDITS=1`` turns them on.
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
    host: str = "127.0.0.1"
    allow_edits: bool = False
    max_upload_mb: float = 2.0

    @property
    def max_upload_bytes(self) -> int:
        """The largest article an upload may be, in bytes."""
        return int(self.max_upload_mb * 1_000_000)


def _path(var: str, default: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else ROOT / default


def _number(var: str, default: str, *, unit: str = "seconds") -> float:
    raw = os.environ.get(var, default)
    try:
        value = float(raw)
    except ValueError:
        raise BadInput(f"{var}={raw!r} is not a number of {unit}") from None
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
        host=os.environ.get("NEWS_ATLAS_HOST", "") or "127.0.0.1",
        allow_edits=os.environ.get("NEWS_ATLAS_ALLOW_EDITS", "0") == "1",
        max_upload_mb=_number("NEWS_ATLAS_MAX_UPLOAD_MB", "2", unit="megabytes"),
    )


#: Addresses that serve this machine only.
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def edits_allowed(cfg: Settings, address: str | None) -> bool:
    """Whether a dashboard served on ``address`` may add articles and correct places: on
    this machine only (a loopback address) always, beyond it only with
    ``NEWS_ATLAS_ALLOW_EDITS=1``.  An empty address (every interface) is beyond it."""
    local = bool(address) and (address in LOOPBACK or str(address).startswith("127."))
    return local or cfg.allow_edits
