"""One writer at a time: an advisory lock file beside the store.

The lock is an ``flock`` on ``data/.atlas.lock``: the kernel releases it when its holder
exits, however it exits (a SIGKILL included), so a dead build never blocks the next one.
The file also records who holds it (pid, command, start time) for the message a second
writer gets.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from geo.errors import GeoError

LOCK_FILE = ".atlas.lock"


class AtlasBusy(GeoError, BlockingIOError):
    """Another process is writing the atlas (a build, an upload or a correction)."""


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return "another process"
    return text or "another process"


def _program() -> str:
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    return "python -m geo" if name == "__main__.py" else name


#: How long a writer that finds the lock taken waits for its holder's record to appear.
HOLDER_WAIT_S = 1.0


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _busy_holder(fd: int, path: Path) -> str | None:
    """Who holds the lock, for the message; None if the lock came free meanwhile (and is
    now taken on ``fd``).  The holder writes its record right after taking the lock and
    clears it just before letting go, so a writer that starts at the same moment may find
    the record empty: it looks again for a moment."""
    deadline = time.monotonic() + HOLDER_WAIT_S
    while True:
        text = _holder(path)
        if text != "another process" or time.monotonic() > deadline:
            return text
        if _try_lock(fd):
            return None
        time.sleep(0.02)


@contextmanager
def writer_lock(data_dir: Path, what: str, *, wait: bool = False) -> Iterator[None]:
    """Hold the atlas's write lock for the ``with`` block.

    Parameters
    ----------
    data_dir
        The atlas's data folder (the lock file lives there).
    what
        What this writer is doing, shown to a writer that finds the lock taken.
    wait
        Wait for the lock instead of failing at once.

    Raises
    ------
    AtlasBusy
        If another writer holds the lock and ``wait`` is false; the message names it.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if wait:
            fcntl.flock(fd, fcntl.LOCK_EX)
        elif not _try_lock(fd) and (holder := _busy_holder(fd, path)) is not None:
            raise AtlasBusy(
                f"the atlas in {str(data_dir)!r} is being written by {holder}; "
                "wait for it to finish (or pass --wait) and try again"
            )
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        command = " ".join([_program(), *sys.argv[1:]])[:200]
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{what} (pid {os.getpid()}, `{command}`, since {stamp})\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
