"""Build benchmark: full and incremental builds of the atlas store and its layers.

    python benchmarks/build.py [--sizes 5 800 5000] [--big-mb 10] [--gold PATH]

For each corpus size it writes a corpus folder under ``benchmarks/out/build/`` and runs
``python -m geo build`` in a fresh process (as a user does), reporting:

* the full build: wall time and the child's peak memory (``ru_maxrss`` of that child);
* adding one article to the built corpus: wall time, beside the gazetteer's load time
  measured in the same way (the target is the load plus 0.5 s);
* a no-change build, and the store's and the published layers' sizes.

Then one article of ``--big-mb`` MB of text (target: under 15 s and 600 MB).

Corpora are made from the development set (``../shared/eval/geowebnews.jsonl``, read here,
copied nowhere in the repository): size 5 is the seed articles; larger corpora take the
200 development articles and, past 200, make each further article distinct by recombining
the paragraphs of two development articles in a seeded order, so no two texts are equal
(names still repeat, as they do in any newsroom's archive).  Dates spread over two years.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out" / "build"
DEFAULT_GOLD = ROOT.parent / "shared" / "eval" / "geowebnews.jsonl"
DATA_INPUTS = ("gazetteer", "recognizer", "basemap", "routes.yaml")

_LOAD = (
    "import time; from pathlib import Path; from geo.parser import load_parser; "
    "t, c = time.perf_counter(), time.process_time(); "
    "load_parser(Path({data!r}), cache_dir=Path({cache!r})); "
    "print(time.perf_counter() - t, time.process_time() - c)"
)


def dev_texts(gold: Path) -> list[str]:
    with gold.open(encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh if line.strip()]


def article_texts(texts: list[str], count: int) -> list[str]:
    """``count`` distinct article texts from the development set (see the module doc)."""
    rng = random.Random(20261201)
    out = list(texts[:count])
    while len(out) < count:
        a, b = rng.sample(texts, 2)
        paras = [p for p in (a + "\n\n" + b).split("\n") if p.strip()]
        rng.shuffle(paras)
        out.append("\n\n".join(paras[: max(3, len(paras) * 2 // 3)]))
    return out


def write_corpus(folder: Path, texts: list[str]) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    lines = []
    for number, text in enumerate(texts):
        art_id = f"b{number:06d}"
        (folder / f"{art_id}_bench.txt").write_text(text, encoding="utf-8")
        month = 1 + number % 24
        lines.append(
            f'["{art_id}"]\ndate = "{2023 + (month - 1) // 12}-{(month - 1) % 12 + 1:02d}"'
        )
    (folder / "articles.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def data_folder(root: Path) -> Path:
    data = root / "data"
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    for name in DATA_INPUTS:
        (data / name).symlink_to(
            ROOT / "data" / name, target_is_directory=(ROOT / "data" / name).is_dir()
        )
    return data


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and stdout of a child process (its CPU seconds, user
    and system, in :data:`LAST_CPU`)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    LAST_CPU[0] = usage.ru_utime + usage.ru_stime
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err}")
    return wall, usage.ru_maxrss / 1024, out


LAST_CPU = [0.0]


def env_for(data: Path, seeds: Path) -> dict[str, str]:
    return {
        **os.environ,
        "NEWS_ATLAS_DATA": str(data),
        "NEWS_ATLAS_SEEDS": str(seeds),
        "NEWS_ATLAS_CACHE": str(ROOT / ".cache"),
        "NEWS_ATLAS_ONLINE": "0",
    }


def size_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 1e6
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def _median_pair(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return (
        round(statistics.median(w for w, _ in runs), 2),
        round(statistics.median(c for _, c in runs), 2),
    )


def bench_corpus(name: str, seeds: Path, extra: str, repeat: int = 3) -> dict[str, object]:
    root = OUT / name
    data = data_folder(root)
    env = env_for(data, seeds)
    build = [sys.executable, "-m", "geo", "build"]
    full, full_mb, report = run(build, env)
    full_cpu = LAST_CPU[0]
    again, _, _ = run(build, env)
    again_cpu = LAST_CPU[0]
    new = seeds / "zz_added.txt"
    adds, removes = [], []
    for _ in range(repeat):  # add one article, then remove it: both publish a new set
        new.write_text(extra, encoding="utf-8")
        try:
            added, _, added_report = run(build, env)
            adds.append((round(added, 2), round(LAST_CPU[0], 2)))
        finally:
            new.unlink()
            removes.append((run(build, env)[0], LAST_CPU[0]))
    load, _, out = run(
        [sys.executable, "-c", _LOAD.format(data=str(data), cache=str(ROOT / ".cache"))], env
    )
    layers = (data / "layers").resolve()
    return {
        "corpus": name,
        "articles": report.split(" articles")[0].rsplit(" ", 1)[-1],
        "full build s (wall, CPU)": (round(full, 2), round(full_cpu, 2)),
        "full build peak MB": round(full_mb),
        "no-change build s (wall, CPU)": (round(again, 2), round(again_cpu, 2)),
        "add one article s (wall, CPU; median)": _median_pair(adds),
        "add one article s (each run)": adds,
        "remove it again s (wall, CPU; median)": _median_pair(removes),
        "gazetteer load s (in a fresh process; wall, CPU)": tuple(
            round(float(x), 2) for x in out.split()
        ),
        "fresh process with load s (wall, CPU)": (round(load, 2), round(LAST_CPU[0], 2)),
        "store MB": round(size_mb(data / "atlas.sqlite"), 1),
        "layers MB": round(size_mb(layers), 1),
        "mentions layer MB": round(size_mb(layers / "mentions.geojson"), 1),
        "places layer MB": round(size_mb(layers / "places.geojson"), 2),
        "add report": added_report.splitlines()[0],
    }


def bench_big(texts: list[str], megabytes: float) -> dict[str, object]:
    seeds = OUT / "big" / "seeds"
    body, number = [], 0
    while sum(len(t) for t in body) < megabytes * 1e6:
        body.append(texts[number % len(texts)])
        number += 1
    write_corpus(seeds, ["\n\n".join(body)])
    data = data_folder(OUT / "big")
    wall, peak, report = run([sys.executable, "-m", "geo", "build"], env_for(data, seeds))
    layers = (data / "layers").resolve()
    return {
        "article MB": round(sum(len(t) for t in body) / 1e6, 1),
        "build s": round(wall, 1),
        "peak MB": round(peak),
        "store MB": round(size_mb(data / "atlas.sqlite"), 1),
        "layers MB": round(size_mb(layers), 1),
        "report": report.splitlines()[0],
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", type=int, nargs="*", default=[5, 800, 5000])
    ap.add_argument("--big-mb", type=float, default=10.0)
    ap.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    args = ap.parse_args()
    texts = dev_texts(args.gold)
    extra = texts[7]  # one development article (about 3 kB) added to each corpus
    rows = []
    for size in args.sizes:
        if size <= 5:
            seeds = OUT / "seeds5"
            if seeds.exists():
                shutil.rmtree(seeds)
            shutil.copytree(ROOT / "seeds", seeds)
        else:
            seeds = OUT / f"seeds{size}"
            write_corpus(seeds, article_texts(texts, size))
        rows.append(bench_corpus(f"{size} articles", seeds, extra))
        print(json.dumps(rows[-1], indent=1), flush=True)
    if args.big_mb > 0:
        print(json.dumps(bench_big(texts, args.big_mb), indent=1), flush=True)


if __name__ == "__main__":
    main()
