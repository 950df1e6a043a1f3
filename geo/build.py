"""``python -m geo build``: articles -> GeoJSON layers under ``data/layers/``.

Everything is computed in memory first (geoparse, routes, claim check); only then are the
files written, each atomically.  A bad article, routes file or gazetteer entry therefore
fails the build with a clear message and leaves the last good layers untouched.  Running
the build twice on the same input writes the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from geo import layers, routes
from geo.corpus import load_articles
from geo.geocode import online_fallback
from geo.model import Article, Resolution
from geo.parser import Geoparser, load_parser
from geo.settings import Settings

LAYERS_DIR = "layers"
ROUTES_FILE = "routes.yaml"
FILES = (
    "places.geojson",
    "mentions.geojson",
    "routes.geojson",
    "articles.json",
    "claim_check.json",
)


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What a build wrote."""

    out_dir: Path
    articles: int
    mentions: int
    places: int
    routes: int
    warning: str = ""

    def __str__(self) -> str:
        text = (
            f"built {self.places} places from {self.mentions} mentions in {self.articles} "
            f"articles, and {self.routes} routes -> {self.out_dir}"
        )
        return f"{text}\nwarning: {self.warning}" if self.warning else text


def parse_articles(articles: Sequence[Article], parser: Geoparser) -> dict[str, list[Resolution]]:
    """Geoparse every article; returns resolutions by article id."""
    return {a.id: parser.parse(a.text, article_id=a.id) for a in articles}


def _titled_quotes(quotes_json: str, articles: Sequence[Article]) -> str:
    """A route's quotes with the title of the article each comes from."""
    titles = {a.id: a.title for a in articles}
    quotes = json.loads(quotes_json)
    for q in quotes:
        q["title"] = titles.get(str(q.get("article_id")), "")
    return json.dumps(quotes, ensure_ascii=False, separators=(",", ":"))


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1) + "\n"


def _claim_json(data_dir: Path, parser: Geoparser, texts: Mapping[str, str]) -> str:
    raw = routes.read_routes_file(data_dir / ROUTES_FILE)
    if "claim_check" not in raw:
        return _json({"rows": []})
    spec = routes.parse_claim_spec(raw)
    if spec.quote.article_id not in texts:  # a corpus without the claim's article
        return _json({"rows": []})
    routes.check_quote(spec.quote, texts, "claim_check")
    table = routes.claim_table(spec, parser.gazetteer.lookup)
    return _json({
        "claimed_share": spec.claimed_share,
        "arctic_via": spec.arctic_via,
        "suez_via": spec.suez_via,
        "quote": {"article_id": spec.quote.article_id, "text": spec.quote.text},
        "rows": table.to_dict(orient="records"),
    })  # fmt: skip


def build_files(
    articles: Sequence[Article], parser: Geoparser, data_dir: Path
) -> tuple[dict[str, str], BuildReport]:
    """Compute the content of every layer file (no writing)."""
    resolved = parse_articles(articles, parser)
    texts = {a.id: a.text for a in articles}
    places = layers.places_frame(articles, resolved)
    mentions = layers.mentions_frame(articles, resolved)
    route_frame = routes.build_routes(data_dir / ROUTES_FILE, parser.gazetteer, texts)
    route_frame["quotes"] = [_titled_quotes(q, articles) for q in route_frame["quotes"]]
    files = {
        "places.geojson": layers.to_geojson(places),
        "mentions.geojson": layers.to_geojson(mentions),
        "routes.geojson": layers.to_geojson(route_frame),
        "articles.json": _json(layers.articles_records(articles)),
        "claim_check.json": _claim_json(data_dir, parser, texts),
    }
    skipped = route_frame.attrs.get("skipped", [])
    note = f"left out {len(skipped)} routes whose articles are not in the corpus" if skipped else ""
    report = BuildReport(
        data_dir / LAYERS_DIR, len(articles), len(mentions), len(places), len(route_frame), note
    )
    return files, report


def build(cfg: Settings, *, seeds_dir: Path | None = None) -> BuildReport:
    """Build the layers of the articles in ``seeds_dir`` (default: the settings' seeds)."""
    articles = load_articles(seeds_dir or cfg.seeds_dir)
    fallback = online_fallback(cfg)
    parser = load_parser(cfg.data_dir, cache_dir=cfg.cache_dir, fallback=fallback)
    files, report = build_files(articles, parser, cfg.data_dir)
    layers.write_layers(report.out_dir, files)
    if fallback and fallback.error:
        notes = [report.warning, f"{fallback.error} (built offline)"]
        report = replace(report, warning="; ".join(n for n in notes if n))
    return report
