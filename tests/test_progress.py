"""The progress bar and summary of long parses (stderr), driven by a fake clock."""

from __future__ import annotations

import io

from geo._progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bar_shows_articles_mb_rate_and_time_left():
    clock, out = Clock(), io.StringIO()
    bar = Progress(out, total_bytes=10_000_000, show=True, clock=clock, interval=0.5)
    clock.now += 2.0
    bar.update(1_000, 2_500_000)
    drawn = out.getvalue()
    assert drawn.startswith("\r[######                  ]  25% 1,000 articles, 2.5 MB, 1.25 MB/s")
    assert drawn.endswith(", 0:06 left\x1b[K")
    clock.now += 0.1  # too soon to redraw
    bar.update(10, 10)
    assert out.getvalue() == drawn
    clock.now += 3600 * 2
    bar.update(0, 0)
    assert out.getvalue().endswith(" 0.00 MB/s, 6:00:06 left\x1b[K")  # slowed down: H:MM:SS


def test_unknown_total_has_no_bar_and_no_time_left():
    clock = Clock()
    bar = Progress(io.StringIO(), total_bytes=None, show=True, clock=clock)
    bar.update(3, 3_000_000)
    clock.now += 1.5
    assert bar.line(clock.now) == "3 articles, 3.0 MB, 2.00 MB/s"


def test_hidden_bar_counts_for_the_summary():
    clock, out = Clock(), io.StringIO()
    bar = Progress(out, total_bytes=None, show=False, clock=clock)
    bar.update(2, 1_500_000, rejected=1)
    bar.update(1_000, 500_000, rejected=2)
    clock.now += 4.0
    bar.close()
    assert out.getvalue() == ""
    assert bar.summary() == "parsed 1,002 articles, 2.0 MB in 4.0 s (0.50 MB/s), 3 rejected"


def test_close_clears_the_bar_line():
    out = io.StringIO()
    bar = Progress(out, total_bytes=1, show=True, clock=Clock())
    bar.close()
    assert out.getvalue() == "\r\x1b[K"
