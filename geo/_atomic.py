"""Atomic file writes: a temporary file in the same folder, then a rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    Readers see either the old content or the new, never a half-written file; if writing
    fails, the old file is untouched and no temporary file is left behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class AtomicFile:
    """A binary file written in pieces and published at once with :meth:`commit`.

    The bytes go to a temporary file beside ``path``; :meth:`commit` renames it over ``path``,
    :meth:`discard` removes it.  Until ``commit``, readers of ``path`` see its old content (or
    nothing); a process killed half-way leaves at worst a hidden ``.NAME.*.tmp`` file, never a
    half-written ``path``.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        self._tmp = Path(tmp)
        self._fh = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        """Append ``data``."""
        self._fh.write(data)

    def commit(self) -> None:
        """Publish the file under its name (replacing any old one)."""
        try:
            self._fh.close()
            os.chmod(self._tmp, 0o666 & ~_umask())
            os.replace(self._tmp, self.path)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Drop what was written; the old file, if any, is untouched."""
        self._fh.close()
        self._tmp.unlink(missing_ok=True)
