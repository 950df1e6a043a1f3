"""A one-line progress bar and the final summary of a long parse, on stderr."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import IO

_MB = 1e6
_WIDTH = 24


def _clock() -> float:
    return time.monotonic()


class Progress:
    """Counts articles and bytes; redraws ``stream`` at most every ``interval`` seconds.

    Parameters
    ----------
    stream
        Where to draw (stderr).
    total_bytes
        Input bytes expected in all (``None`` when unknown, e.g. stdin: no bar, no time left).
    show
        Draw the bar; otherwise only count (for :meth:`summary`).
    clock
        Seconds since some fixed point (tests pass their own).
    """

    def __init__(
        self,
        stream: IO[str],
        *,
        total_bytes: int | None,
        show: bool,
        clock: Callable[[], float] = _clock,
        interval: float = 0.5,
    ) -> None:
        self.stream, self.total, self.show = stream, total_bytes, show
        self.clock, self.interval = clock, interval
        self.start = self._drawn = clock()
        self.articles = self.nbytes = self.rejected = 0

    def update(self, articles: int, nbytes: int, rejected: int = 0) -> None:
        """Add a finished piece of work and redraw if it is time to."""
        self.articles += articles
        self.nbytes += nbytes
        self.rejected += rejected
        now = self.clock()
        if self.show and now - self._drawn >= self.interval:
            self._drawn = now
            self.stream.write("\r" + self.line(now) + "\x1b[K")
            self.stream.flush()

    def line(self, now: float) -> str:
        """The bar as it reads at time ``now``."""
        secs = max(now - self.start, 1e-9)
        rate = self.nbytes / secs
        text = f"{self.articles:,} articles, {self.nbytes / _MB:,.1f} MB, {rate / _MB:.2f} MB/s"
        if self.total:
            done = min(self.nbytes / self.total, 1.0)
            bar = "#" * round(done * _WIDTH)
            left = (self.total - self.nbytes) / rate if rate > 0 else None
            eta = "?" if left is None else _duration(max(left, 0.0))
            text = f"[{bar:<{_WIDTH}}] {done:4.0%} {text}, {eta} left"
        return text

    def summary(self) -> str:
        """The final line: articles, MB, seconds, MB/s, rejected lines."""
        secs = max(self.clock() - self.start, 1e-9)
        return (
            f"parsed {self.articles:,} articles, {self.nbytes / _MB:,.1f} MB in {secs:.1f} s "
            f"({self.nbytes / _MB / secs:.2f} MB/s), {self.rejected:,} rejected"
        )

    def close(self) -> None:
        """End the bar's line (if one was drawn) so the next output starts clean."""
        if self.show:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _duration(secs: float) -> str:
    minutes, sec = divmod(round(secs), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{sec:02}" if hours else f"{minutes}:{sec:02}"
