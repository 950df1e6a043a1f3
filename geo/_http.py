"""Transport for the online geocoder: the Nominatim client, its rate limiter, its errors.

Everything that can touch the network is built here, on demand; importing this module opens
nothing.  :class:`OfflineAdapter` is the geopy adapter of geocoders that must never do I/O.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from typing import Any, NoReturn
from urllib.parse import urlsplit

import geopy.exc
from geopy.adapters import BaseSyncAdapter, URLLibAdapter
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import Nominatim

from geo.errors import BadInput, GeocoderUnavailable

_OFFLINE_HINT = (
    "to work offline, unset NEWS_ATLAS_ONLINE (or set it to 0) and add missing places to "
    "data/gazetteer/curated.toml"
)


class OfflineAdapter(BaseSyncAdapter):  # type: ignore[misc]
    """A geopy adapter that refuses every request (for geocoders that answer from memory)."""

    def __init__(self, *, proxies: object = None, ssl_context: object = None) -> None:
        super().__init__(proxies=proxies, ssl_context=ssl_context)

    def get_json(self, url: str, *, timeout: object, headers: object) -> NoReturn:
        """Refuse: this geocoder is offline."""
        raise GeocoderUnavailable(f"offline geocoder asked to fetch {url!r}")

    def get_text(self, url: str, *, timeout: object, headers: object) -> NoReturn:
        """Refuse: this geocoder is offline."""
        raise GeocoderUnavailable(f"offline geocoder asked to fetch {url!r}")


def split_url(url: str) -> tuple[str, str]:
    """Split a service base URL into geopy's ``(scheme, domain)``; the domain may hold a path.

    >>> split_url("http://127.0.0.1:8080/")
    ('http', '127.0.0.1:8080')

    Raises
    ------
    BadInput
        If the scheme is not http(s) or there is no host.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadInput(
            f"online geocoder URL {url!r} must look like https://host[:port][/path]; "
            "fix NEWS_ATLAS_NOMINATIM"
        )
    return parts.scheme, (parts.netloc + parts.path).rstrip("/")


def _is_loopback(domain: str) -> bool:
    host = urlsplit(f"//{domain}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def nominatim(url: str, *, user_agent: str, timeout: float) -> Any:
    """Build a geopy ``Nominatim`` client for the service at ``url`` (opens no connection).

    It uses the standard library's HTTP client.  System proxies are respected, except for a
    loopback service (a local Nominatim or a test stub), which is always reached directly.
    """
    scheme, domain = split_url(url)
    return Nominatim(
        domain=domain,
        scheme=scheme,
        user_agent=user_agent,
        timeout=timeout,
        proxies={} if _is_loopback(domain) else None,
        adapter_factory=URLLibAdapter,
    )


class Limiter(RateLimiter):  # type: ignore[misc]
    """geopy's ``RateLimiter`` with injectable ``clock`` and ``sleep`` and no retries.

    Errors are raised at once, never swallowed (a swallowed error would look like, and be
    cached as, a miss).  Tests pass a fake clock whose ``sleep`` only advances it.
    """

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        min_delay: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            func,
            min_delay_seconds=min_delay,
            max_retries=0,
            error_wait_seconds=min_delay,
            swallow_exceptions=False,
        )
        self._clock_fn = clock
        self._sleep_fn = sleep

    def _clock(self) -> float:
        return self._clock_fn()

    def _sleep(self, seconds: float) -> None:
        self._sleep_fn(seconds)


def unavailable(err: Exception, url: str) -> GeocoderUnavailable:
    """Translate a geopy error about the service at ``url`` into our :class:`GeocoderUnavailable`.

    Use as ``raise unavailable(err, url) from err``.
    """
    if isinstance(err, geopy.exc.GeocoderTimedOut):
        what = f"did not answer in time ({err})"
    elif isinstance(err, geopy.exc.GeocoderUnavailable) or "refused" in str(err).lower():
        what = f"cannot be reached ({err})"
    elif isinstance(err, (geopy.exc.GeocoderParseError, ValueError)):
        what = f"sent a malformed answer ({err})"
    else:
        what = f"failed or refused the request ({err})"
    return GeocoderUnavailable(
        f"online geocoder {url!r} {what}; check the network and NEWS_ATLAS_NOMINATIM, "
        f"or {_OFFLINE_HINT}"
    )
