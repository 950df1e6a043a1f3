"""Fault points: where the fault tests stop a real build process.

``NEWS_ATLAS_FAULT=<point>`` makes the process kill itself with SIGKILL when it reaches
``<point>``; ``NEWS_ATLAS_FAULT=pause:<point>`` makes it print ``paused at <point>`` to
stderr and sleep there (the test then does its checks and kills it).  Unset, a point costs
one dictionary lookup.  The tests use this to kill a build at each of its phases.
"""

from __future__ import annotations

import os
import signal
import sys
import time

VARIABLE = "NEWS_ATLAS_FAULT"


def point(name: str) -> None:
    """A place where a fault test may stop this process."""
    wanted = os.environ.get(VARIABLE)
    if not wanted:
        return
    if wanted == name:
        os.kill(os.getpid(), signal.SIGKILL)
    if wanted == f"pause:{name}":
        print(f"paused at {name}", file=sys.stderr, flush=True)
        time.sleep(600)
