"""Corpus at scale: ``python -m geo parse`` on 10,000 and 100,000 articles, 1 and 2 workers.

    python benchmarks/scale.py [--gold ../shared/eval/geowebnews.jsonl] [--sizes 10000 100000]

The corpora are made from the development set (200 GeoWebNews articles): article ``k`` is
the sentences of source article ``k mod 200`` in a shuffled order, plus two sentences from
another random article, so every text is distinct (the vocabulary of place names is still
the development set's: the name caches warm up after the first few hundred articles, as
they would on a newsroom's archive).  ``--repeated`` adds a run on exact copies, for the
difference.

Each configuration runs the real command line in a fresh process (one process with no
Dask, ``--workers 1``, ``--workers 2``), timed from start to finish (cluster start and
gazetteer loads included); the command's own summary gives the parse rate after start-up.
Below 100,000 articles each figure is the best of ``--repeat`` runs, taken round-robin (the
machine is shared: its load varies); the load average and CPU seconds are printed beside.
The peak memory (VmHWM) of every process in the command's tree is sampled twice a second.
All outputs of one corpus must be byte-identical.  Reads ../shared/eval at run time; the
corpora are written to a temporary folder (``--tmp``) and deleted afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_GOLD = ROOT.parent / "shared" / "eval" / "geowebnews.jsonl"
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def make_corpus(docs: list[str], n: int, path: Path, *, repeated: bool = False) -> float:
    """Write ``n`` articles made from ``docs`` to ``path``; return the MB of text."""
    sentences = [SENTENCE_END.split(d) for d in docs]
    nbytes = 0
    with path.open("w", encoding="utf-8") as fh:
        for k in range(n):
            if repeated:
                text = docs[k % len(docs)]
            else:
                rng = random.Random(k)
                own = list(sentences[k % len(docs)])
                rng.shuffle(own)
                other = sentences[rng.randrange(len(docs))]
                own += rng.sample(other, min(2, len(other)))
                text = " ".join(own)
            nbytes += len(text.encode("utf-8"))
            fh.write(json.dumps({"id": f"a{k}", "text": text}, ensure_ascii=False) + "\n")
    return nbytes / 1e6


def vmhwm_mb(pid: int) -> float | None:
    """The peak resident memory of process ``pid`` so far, in MB (``None`` if it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run(
    corpus: Path, out: Path, extra: list[str], *, env: dict[str, str] | None = None
) -> dict[str, object]:
    """Run one parse (``out`` a file), or one build of ``corpus`` into the data folder
    ``env`` points at (``out`` unused); return its wall time, summary line and peak memory
    by process role."""
    if env is None:
        cmd = [sys.executable, "-m", "geo", "parse", "--jsonl", str(corpus), "--out", str(out)]
    else:
        cmd = [sys.executable, "-m", "geo", "build", "--jsonl", str(corpus)]
    # stderr (the progress bar) to a file: a pipe nobody reads fills up on long runs and
    # blocks the command
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [*cmd, *extra, "--progress"], cwd=ROOT, stderr=log, text=True, env=env,
            stdout=subprocess.DEVNULL if env else None,
        )  # fmt: skip
        peaks, cpu = _watch(proc)
        wall = time.perf_counter() - start
        log.seek(0)
        err = log.read()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {err}")
    summary = err.rsplit("\x1b[K", 1)[-1].strip()  # the line after the progress bar
    client = peaks.pop(proc.pid, 0.0)
    workers = sorted((mb for mb in peaks.values() if mb > 100), reverse=True)  # not helpers
    return {
        "wall": wall,
        "summary": summary,
        "client_mb": client,
        "worker_mb": workers,
        "client_cpu": cpu.pop(proc.pid, 0.0),
        "worker_cpu": sum(cpu.values()),
        "load": os.getloadavg()[0],
    }


def _watch(proc: subprocess.Popen[str]) -> tuple[dict[int, float], dict[int, float]]:
    """Until ``proc`` ends: the peak memory and CPU seconds of every process of its tree."""
    peaks: dict[int, float] = {}
    cpu: dict[int, float] = {}
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for p in tree:
            mb = vmhwm_mb(p.pid)
            if mb is not None:
                peaks[p.pid] = max(peaks.get(p.pid, 0.0), mb)
            with contextlib.suppress(psutil.Error):
                times = p.cpu_times()
                cpu[p.pid] = times.user + times.system
        time.sleep(0.5)
    proc.wait()
    return peaks, cpu


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()[:16]


CONFIGS = {
    "1 process (no Dask)": [],
    "--workers 1": ["--workers", "1"],
    "--workers 2": ["--workers", "2"],
}


def bench(corpus: Path, mb: float, n: int, tmp: Path, *, repeat: int = 1) -> None:
    """Run every configuration ``repeat`` times, round-robin; print the fastest run of each."""
    digests = set()
    runs: dict[str, list[dict[str, object]]] = {label: [] for label in CONFIGS}
    for _ in range(repeat):
        for label, extra in CONFIGS.items():
            out = tmp / f"out-{n}-{len(extra)}.jsonl"
            runs[label].append(run(corpus, out, extra))
            digests.add(digest(out))
            out.unlink()
    base = None
    for label, tries in runs.items():
        r = min(tries, key=lambda t: float(t["wall"]))  # type: ignore[arg-type]
        wall = float(r["wall"])  # type: ignore[arg-type]
        base = base or wall
        workers = ", ".join(f"{x:.0f}" for x in r["worker_mb"]) or "-"  # type: ignore[attr-defined]
        walls = ", ".join(f"{float(t['wall']):.1f}" for t in tries)  # type: ignore[arg-type]
        print(
            f"{n:>7,} articles ({mb:.0f} MB text) | {label:<20} | {wall:6.1f} s wall "
            f"| {mb / wall:5.2f} MB/s | {n / wall:6.0f} art/s | x{base / wall:.2f} "
            f"| client peak {r['client_mb']:.0f} MB | worker peaks {workers} MB "
            f"| CPU s client {r['client_cpu']:.1f}, others {r['worker_cpu']:.1f} "
            f"| load {r['load']:.1f} | all runs {walls} s"
        )
        print(f"        summary: {r['summary']}")
    print(f"        outputs identical: {'yes' if len(digests) == 1 else 'NO'}", flush=True)


def bench_ingest(corpus: Path, mb: float, n: int, tmp: Path, extra: list[str]) -> None:
    """``python -m geo build --jsonl`` of the corpus into a fresh atlas, then again
    (nothing changed), then with one article in a hundred changed."""
    data = tmp / "data"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir()
    for name in ("gazetteer", "recognizer", "basemap", "routes.yaml"):
        src = ROOT / "data" / name
        (data / name).symlink_to(src, target_is_directory=src.is_dir())
    env = {**os.environ, "NEWS_ATLAS_DATA": str(data), "NEWS_ATLAS_CACHE": str(ROOT / ".cache")}
    print(f"ingest of {n:,} articles ({mb:.1f} MB), {' '.join(extra) or 'one process'}:")
    changed = tmp / "changed.jsonl"
    with corpus.open(encoding="utf-8") as src, changed.open("w", encoding="utf-8") as dst:
        for k, line in enumerate(src):
            record = json.loads(line)
            if k % 100 == 0:
                record["text"] += " Ships also called at Vladivostok."
            dst.write(json.dumps(record, ensure_ascii=False) + "\n")
    for what, path in (("first", corpus), ("again", corpus), ("1 % changed", changed)):
        r = run(path, tmp / "unused", extra, env=env)
        sizes = {p.name: round(p.stat().st_size / 1e6, 1) for p in (data / "layers").iterdir()}
        print(
            f"  {what}: {r['wall']:.1f} s (load {r['load']:.1f}); build process "
            f"{r['client_mb']:.0f} MB peak, {r['client_cpu']:.1f} CPU s; workers "
            f"{[round(float(m)) for m in r['worker_mb']]} MB, {r['worker_cpu']:.1f} CPU s; "
            f"store {(data / 'atlas.sqlite').stat().st_size / 1e6:.0f} MB; layers {sizes}"
        )
        print(f"    {r['summary']}", flush=True)
    changed.unlink()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure under 100,000")
    ap.add_argument("--repeated", action="store_true", help="also time exact copies (10,000)")
    ap.add_argument("--tmp", type=Path, default=None, help="folder for the corpora")
    ap.add_argument(
        "--ingest", type=int, nargs="+", default=[], metavar="N",
        help="instead: atlases of N articles by `build --jsonl` (first, again, 1 %% changed)",
    )  # fmt: skip
    ap.add_argument("--workers", type=int, default=2, help="--workers of the ingest (0: none)")
    args = ap.parse_args()
    docs = [json.loads(line)["text"] for line in args.gold.open(encoding="utf-8")]
    tmp = Path(tempfile.mkdtemp(prefix="scale-", dir=args.tmp))
    try:
        # Warm the gazetteer's index cache once, as a first run on a fresh clone would.
        subprocess.run(
            [sys.executable, "-m", "geo", "parse", "--jsonl", "-"],
            input=b"", cwd=ROOT, check=True,
        )  # fmt: skip
        for n in args.ingest:
            corpus = tmp / f"corpus-{n}.jsonl"
            mb = make_corpus(docs, n, corpus)
            extra = ["--workers", str(args.workers)] if args.workers else []
            bench_ingest(corpus, mb, n, tmp, extra)
            corpus.unlink()
        for n in args.sizes if not args.ingest else []:
            corpus = tmp / f"corpus-{n}.jsonl"
            mb = make_corpus(docs, n, corpus)
            bench(corpus, mb, n, tmp, repeat=args.repeat if n < 100_000 else 1)
            corpus.unlink()
        if args.repeated:
            corpus = tmp / "repeated.jsonl"
            mb = make_corpus(docs, 10_000, corpus, repeated=True)
            print("exact copies of the development set:")
            bench(corpus, mb, 10_000, tmp, repeat=args.repeat)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
