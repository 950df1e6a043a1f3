"""Analyst-loop benchmark: time from adding an article to its place on the map.

    python benchmarks/analyst.py [--gold ../shared/eval/geowebnews.jsonl] [--runs 3]

For a 5,000-word article that names a place not yet on the map ("Birobidzhan"), measures
the time from handing the file to the add code path (:func:`geo.edits.add_articles`, what
the dashboard's upload and ``python -m geo add`` call) until the place is in the published
places layer, which is what the map draws on its next rerun.  Twice: on the seed corpus (5
articles) and on an 800-article corpus (the 200 GeoWebNews articles four times over, under
distinct ids), each built first in a temporary folder; once as ``python -m geo add`` does
(the build loads the parser) and once with the parser kept loaded, as the dashboard does.
Also measures a correction (``geo.edits.correct``: no parse), and the whole
``python -m geo add`` command in a fresh process (interpreter start and imports included).
Reads ../shared/eval at run time and copies nothing into the repository.  Target: <= 3 s
from upload to the map.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo import build, edits, layers, settings, store
from geo.parser import Geoparser, load_parser

DEFAULT_GOLD = ROOT.parent / "shared" / "eval" / "geowebnews.jsonl"
INPUTS = ("gazetteer", "recognizer", "basemap", "routes.yaml")
NEW_PLACE = "Birobidzhan"
WORDS = 5_000


def long_article(texts: list[str]) -> str:
    """About :data:`WORDS` words of news text, with a sentence naming :data:`NEW_PLACE`."""
    words: list[str] = []
    paragraphs = []
    for text in texts:
        paragraphs.append(text.strip())
        words += text.split()
        if len(words) >= WORDS:
            break
    lead = f"Freight trains from {NEW_PLACE} now cross the Amur bridge every week."
    return "\n\n".join([lead, *paragraphs]) + "\n"


def make_corpus(folder: Path, texts: list[tuple[str, str]] | None) -> None:
    """The seed articles (``texts`` None) or the given (id, text) pairs, in ``folder``."""
    if texts is None:
        shutil.copytree(ROOT / "seeds", folder)
        return
    folder.mkdir()
    for art_id, text in texts:
        (folder / f"{art_id}_bench.txt").write_text(text, encoding="utf-8")


def make_cfg(root: Path, corpus: list[tuple[str, str]] | None) -> settings.Settings:
    data = root / "data"
    data.mkdir(parents=True)
    for name in INPUTS:
        (data / name).symlink_to(ROOT / "data" / name)
    seeds = root / "seeds"
    make_corpus(seeds, corpus)
    base = settings.load()
    return dataclasses.replace(
        base, data_dir=data, seeds_dir=seeds, cache_dir=ROOT / ".cache", online=False
    )


def on_map(cfg: settings.Settings) -> bool:
    text = (layers.layers_dir(cfg.data_dir) / "places.geojson").read_text(encoding="utf-8")
    return f'"name":"{NEW_PLACE}"' in text


def time_add(cfg: settings.Settings, article: str, n: int, parser: Geoparser | None) -> float:
    """Seconds from the add call to the new place in the published layer."""
    start = time.perf_counter()
    text = f"{article}\nRun {n}.\n"  # a new text each run: a repeated one is refused
    meta = {"title": f"Bench {n}"}
    edits.add_articles(cfg, [(f"bench-{n}.txt", text.encode())], meta, parser=parser)
    assert on_map(cfg), f"{NEW_PLACE} is not on the map"
    return time.perf_counter() - start


def time_correct(cfg: settings.Settings) -> float:
    with store.Store(store.store_path(cfg.data_dir)) as st:
        m = next(m for m in st.mentions() if m.text == NEW_PLACE and m.place_id)
    start = time.perf_counter()
    saved, _ = edits.correct(
        cfg,
        edits.Fix(
            m.article_id,
            m.start,
            m.end,
            at=(48.8, 132.9),
            name="Birobidzhan station",
            kind="facility",
        ),
    )
    took = time.perf_counter() - start
    edits.undo(cfg, saved.id)
    return took


def time_cli(cfg: settings.Settings, article: str, root: Path) -> float:
    path = root / "cli-article.txt"
    path.write_text(f"{article}\nFrom the command line.\n", encoding="utf-8")
    env = {**os.environ, "NEWS_ATLAS_DATA": str(cfg.data_dir),
           "NEWS_ATLAS_SEEDS": str(cfg.seeds_dir), "NEWS_ATLAS_CACHE": str(cfg.cache_dir),
           "NEWS_ATLAS_ONLINE": "0"}  # fmt: skip
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "geo", "add", str(path)], cwd=ROOT, env=env,
                   check=True, capture_output=True)  # fmt: skip
    return time.perf_counter() - start


def bench(name: str, corpus: list[tuple[str, str]] | None, article: str, runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="news-atlas-bench-") as tmp:
        root = Path(tmp)
        cfg = make_cfg(root, corpus)
        start = time.perf_counter()
        report = build.build(cfg)
        setup = time.perf_counter() - start
        adds = [time_add(cfg, article, n, None) for n in range(runs)]
        parser = load_parser(cfg.data_dir, cache_dir=cfg.cache_dir)
        kept = [time_add(cfg, article, 100 + n, parser) for n in range(runs)]
        fixes = [time_correct(cfg) for _ in range(runs)]
        cli = time_cli(cfg, article, root)
        print(
            f"{name}: {report.articles} articles ({setup:.1f} s to build first); "
            f"add a {len(article.split()):,}-word article -> on the map: median "
            f"{statistics.median(adds):.2f} s (max {max(adds):.2f} s, {runs} runs), with the "
            f"parser kept loaded as the dashboard does: {statistics.median(kept):.2f} s; "
            f"`python -m geo add` in a fresh process: {cli:.2f} s; a correction: median "
            f"{statistics.median(fixes):.2f} s"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", type=Path, default=DEFAULT_GOLD, help="GeoWebNews JSON lines")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    rows = [json.loads(line) for line in args.gold.read_text(encoding="utf-8").splitlines()]
    texts = [str(r["text"]) for r in rows]
    article = long_article(texts[::-1])
    big = [(f"{copy}{n:03d}", t) for copy in range(1, 5) for n, t in enumerate(texts)][:800]
    bench("seed corpus", None, article, args.runs)
    bench("800-article corpus", big, article, args.runs)


if __name__ == "__main__":
    main()
