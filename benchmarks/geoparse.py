"""Geoparsing benchmark on GeoWebNews: accuracy (the scorer's report), throughput, load cost.

    python benchmarks/geoparse.py [--gold ../shared/eval/geowebnews.jsonl]

Prints the scorer's report with ``--ignore-adjectives`` (the product figure) and ``--strict``
(EUPEG-comparable), each ``--by-type``; the throughput on distinct text after loading (MB of
text per second, articles per second, one core); and, each in a fresh process, the cold first
load (the index built from the data files) and the warm load (cached index), with their time
and peak memory.  Reads ../shared/eval at run time; copies nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSES = 5
DEFAULT_GOLD = ROOT.parent / "shared" / "eval" / "geowebnews.jsonl"

_LOAD_PROBE = """
import sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from geo.parser import load_parser
t, c = time.perf_counter(), time.process_time()
load_parser(Path({data!r}), cache_dir=Path({cache!r}), freeze=True)
dt, dc = time.perf_counter() - t, time.process_time() - c
# VmHWM, not ru_maxrss: the latter keeps the forking parent's size across exec.
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
print(dt, dc, int(hwm) / 1024)
"""


_Cost = tuple[float, float, float]


def load_cost(data: Path, cache: Path) -> tuple[_Cost, _Cost]:
    """Wall seconds, CPU seconds and peak RSS (MB) of loading the parser in a fresh process:
    cold (an empty cache folder, so the index is built from the data files) and then warm
    (cached index)."""
    code = _LOAD_PROBE.format(root=str(ROOT), data=str(data), cache=str(cache))
    runs = []
    for _ in range(2):  # the first builds and writes the cache, the second reads it
        out = subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        )
        secs, cpu, rss = out.stdout.split()
        runs.append((float(secs), float(cpu), float(rss)))
    return runs[0], runs[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "gwn_pred.jsonl")
    args = ap.parse_args()
    from geo.gazetteer import normalize, respelling
    from geo.parser import load_parser, parse_record

    cache = ROOT / ".cache"
    docs = [json.loads(line) for line in args.gold.open(encoding="utf-8")]
    times, cpu_times = [], []
    for _ in range(PASSES):  # a fresh parser and name cache each pass: nothing carried over
        normalize.cache_clear()
        respelling.cache_clear()
        parser = load_parser(ROOT / "data", cache_dir=cache, freeze=True)
        t, c = time.perf_counter(), time.process_time()
        results = [parse_record(parser, d["id"], d["text"]) for d in docs]
        times.append(time.perf_counter() - t)
        cpu_times.append(time.process_time() - c)
    elapsed, cpu = statistics.median(times), statistics.median(cpu_times)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as fh:
        for record in results:
            fh.write(json.dumps(record) + "\n")
    score = args.gold.parent / "score.py"
    for flag in ("--ignore-adjectives", "--strict"):
        print(f"== score.py {flag} --by-type")
        subprocess.run(
            [sys.executable, str(score), str(args.gold), str(args.out), flag, "--by-type"],
            check=True,
        )
    mb = sum(len(d["text"].encode("utf-8")) for d in docs) / 1e6
    print(
        f"== throughput on distinct text: {mb / elapsed:.2f} MB/s wall, {mb / cpu:.2f} MB/s "
        f"of CPU time, {len(docs) / elapsed:.0f} articles/s ({len(docs)} distinct articles, "
        f"{mb:.2f} MB in {elapsed:.2f} s; median of {PASSES} passes, each with a freshly "
        "loaded parser and empty name caches, so no text is seen twice; one core, after loading)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        cold, warm = load_cost(ROOT / "data", Path(tmp))
    for what, (secs, cpu, rss) in (
        ("cold first load (index built from the data files, cache written)", cold),
        ("warm load (cached index)", warm),
    ):
        print(f"== {what}: {secs:.2f} s wall, {cpu:.2f} s CPU, peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
