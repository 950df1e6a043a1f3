"""Benchmark corpora of 5, 800 and 10,000 articles, built into ``benchmarks/out/`` (not in git).

    python benchmarks/corpora.py --articles 800     # writes and builds benchmarks/out/corpus-800

Each holds the five seed articles (so the routes and the places the benchmark clicks are
there), then:

* 800: 495 articles of the development set (``../shared/eval/geowebnews.jsonl``, read at run
  time, never copied into the repository; repeated under distinct ids) and 300 generated ones;
* 10,000: 1,995 of the development set (ten times over) and 8,000 generated ones.

A generated article is four of this module's own sentences naming three towns drawn at random
(seeded) from a pool of 10,000 gazetteer towns with unambiguous one-word names, beside their
country: the development set alone saturates at about 500 distinct places here.

Every article gets a date spread over 2023-2024 (seeded): one in five only a month
(``date_approximate = true``), one in thirty none at all.  The texts land in
``corpus-N/seeds``; ``corpus-N/data`` links the checked-in gazetteer, recognizer, base map
and routes file and receives the store, built once with ``python -m geo build`` (the figures
of later runs reuse it).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
DEV_SET = ROOT.parent / "shared" / "eval" / "geowebnews.jsonl"
DATA_INPUTS = ("gazetteer", "recognizer", "basemap", "routes.yaml")
SIZES = (5, 800, 10_000)
SEED = 20231

_SENTENCES = (
    "Reporters in {a}, {ca}, described long queues outside the railway station.",
    "The mayor of {a} met a trade delegation on Tuesday.",
    "Farmers near {b}, {cb}, said the harvest had come in late this year.",
    "A new bridge between {b} and the coast is due to open next spring.",
    "Officials in {c}, {cc}, confirmed that the port would reopen.",
    "Residents of {c} gathered in the main square after the announcement.",
    "Buses from {a} to {b} were cancelled for the day.",
)


def _dates(rng: random.Random) -> tuple[str, bool]:
    """A date in 2023-2024: (ISO date or month or "", approximate?)."""
    roll = rng.random()
    year, month = rng.choice((2023, 2024)), rng.randint(1, 12)
    if roll < 1 / 30:
        return "", False
    if roll < 0.2:
        return f"{year}-{month:02d}", True
    return f"{year}-{month:02d}-{rng.randint(1, 28):02d}", False


def _dev_set() -> list[dict[str, str]]:
    with DEV_SET.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _towns(count: int, rng: random.Random) -> list[tuple[str, str]]:
    """(town, country name) pairs: towns of >= 15,000 people whose name no other gazetteer
    record has, drawn at random."""
    path = ROOT / "data" / "gazetteer" / "places.tsv.gz"
    names: Counter[str] = Counter()
    towns, countries = [], {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            f = line.rstrip("\n").split("\t")
            names[f[8].lower()] += 1
            if f[1] == "country":
                countries[f[4]] = f[8]
            elif f[1] == "city" and f[6] and int(f[6]) >= 15_000 and f[8].isascii():
                towns.append((f[8], f[4]))
    pool = [(n, countries[c]) for n, c in towns if names[n.lower()] == 1 and c in countries]
    pool = [p for p in pool if " " not in p[0] and "-" not in p[0]]
    return rng.sample(sorted(pool), min(count, len(pool)))


def _generated(count: int, rng: random.Random) -> Iterator[str]:
    towns = _towns(10_000, rng)
    for _ in range(count):
        (a, ca), (b, cb), (c, cc) = rng.sample(towns, 3)
        picked = rng.sample(_SENTENCES, 4)
        yield " ".join(s.format(a=a, b=b, c=c, ca=ca, cb=cb, cc=cc) for s in picked) + "\n"


def _toml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def write_seeds(size: int, seeds: Path) -> None:
    """Write the texts and ``articles.toml`` of the corpus of ``size`` articles."""
    rng = random.Random(SEED + size)
    shutil.copytree(ROOT / "seeds", seeds)
    if size == 5:
        return
    dev_count = {800: 495, 10_000: 1_995}[size]
    dev = (_dev_set() * 10)[:dev_count]
    texts = [(f"b{i:05d}", a["title"], a["text"]) for i, a in enumerate(dev)]
    texts += [
        (f"g{i:05d}", f"Town report {i}", text)
        for i, text in enumerate(_generated(size - 5 - dev_count, rng))
    ]
    meta = [(seeds / "articles.toml").read_text(encoding="utf-8")]
    for art_id, title, text in texts:
        (seeds / f"{art_id}_bench.txt").write_text(text, encoding="utf-8")
        date, approx = _dates(rng)
        meta.append(f'["{art_id}"]\ntitle = {_toml(title)}\n')
        if date:
            meta.append(f"date = {_toml(date)}\ndate_approximate = {str(approx).lower()}\n")
    (seeds / "articles.toml").write_text("\n".join(meta), encoding="utf-8")


def env(size: int) -> dict[str, str]:
    """The environment that points the app (and ``geo build``) at corpus ``size``."""
    folder = OUT / f"corpus-{size}"
    return {
        "NEWS_ATLAS_DATA": str(folder / "data"),
        "NEWS_ATLAS_SEEDS": str(folder / "seeds"),
        "NEWS_ATLAS_CACHE": str(ROOT / ".cache"),
        "NEWS_ATLAS_ONLINE": "0",
    }


def ensure_corpus(size: int) -> dict[str, str]:
    """Write and build corpus ``size`` unless a finished build is there; return its env."""
    folder = OUT / f"corpus-{size}"
    done = folder / "built"
    if not done.is_file():
        shutil.rmtree(folder, ignore_errors=True)
        write_seeds(size, folder / "seeds")
        data = folder / "data"
        data.mkdir()
        for name in DATA_INPUTS:
            src = ROOT / "data" / name
            (data / name).symlink_to(src, target_is_directory=src.is_dir())
        cmd = [sys.executable, "-m", "geo", "build"]
        subprocess.run(cmd, cwd=ROOT, env={**os.environ, **env(size)}, check=True)
        done.write_text("ok\n", encoding="utf-8")
    return env(size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, choices=SIZES, required=True)
    args = parser.parse_args()
    print(json.dumps(ensure_corpus(args.articles), indent=1))


if __name__ == "__main__":
    main()
