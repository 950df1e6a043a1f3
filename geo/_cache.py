"""A small persistent cache for online geocoder answers.

One JSON file per service in the cache folder::

    {"version": 1, "service": "https://nominatim.openstreetmap.org",
     "entries": {"vladivostok": [{...raw result...}], "atlantis": []}}

Keys are normalized queries (see :func:`geo.gazetteer.normalize`); values are the service's
raw results, trimmed to the fields we use.  An empty list records a miss, so each name is asked
once ever.  Writes re-read the file, merge, and replace it atomically (``os.replace`` of a
temporary file in the same folder), so a crash never leaves half a file and two processes lose
at most each other's latest entry.  An unreadable or foreign file is treated as empty.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

_VERSION = 1

#: A raw result as stored: a JSON object.
Raw = dict[str, Any]


def cache_path(cache_dir: Path, service: str) -> Path:
    """Return the cache file for ``service`` (a base URL) inside ``cache_dir``."""
    digest = hashlib.sha256(service.encode("utf-8")).hexdigest()[:10]
    return cache_dir / f"geocode-{digest}.json"


class GeocodeCache:
    """Normalized query -> list of raw results, persisted as JSON.

    Parameters
    ----------
    path
        The JSON file; its folder is created on the first write.
    service
        The service's base URL, recorded in the file; a file for another service is ignored.
    """

    def __init__(self, path: Path, *, service: str) -> None:
        self.path = path
        self.service = service
        self._lock = threading.Lock()
        self._entries: dict[str, list[Raw]] | None = None

    def __len__(self) -> int:
        return len(self._load())

    def __contains__(self, key: object) -> bool:
        return key in self._load()

    def get(self, key: str) -> list[Raw] | None:
        """Return the cached results for ``key`` (``[]`` for a cached miss, ``None`` if unseen)."""
        found = self._load().get(key)
        return None if found is None else list(found)

    def put(self, key: str, results: list[Raw]) -> None:
        """Record the results (possibly none) for ``key`` and write the file atomically.

        A write that fails (read-only folder, full disk) keeps the entry in memory only.
        """
        with self._lock:
            entries = self._read()
            entries[key] = list(results)
            self._entries = entries
            self._write(entries)

    def _load(self) -> dict[str, list[Raw]]:
        with self._lock:
            if self._entries is None:
                self._entries = self._read()
            return self._entries

    def _read(self) -> dict[str, list[Raw]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return dict(self._entries or {})
        ok = (
            isinstance(data, dict)
            and data.get("version") == _VERSION
            and data.get("service") == self.service
            and isinstance(data.get("entries"), dict)
        )
        merged: dict[str, list[Raw]] = dict(self._entries or {})
        if ok:
            merged.update(
                (str(k), v) for k, v in data["entries"].items() if isinstance(v, list) and _sane(v)
            )
        return merged

    def _write(self, entries: dict[str, list[Raw]]) -> None:
        payload = {"version": _VERSION, "service": self.service, "entries": entries}
        tmp = ""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".geocode-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(payload, fh, ensure_ascii=False, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except OSError:
            if tmp:
                Path(tmp).unlink(missing_ok=True)


def _sane(results: list[Any]) -> bool:
    """Whether cached results look like what was stored: mappings with numeric lat/lon
    (a hand-edited or damaged entry is dropped and asked for again)."""
    for raw in results:
        if not isinstance(raw, dict):
            return False
        try:
            lat, lon = float(raw["lat"]), float(raw["lon"])
        except (KeyError, TypeError, ValueError):
            return False
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return False
    return True
