"""Time building the routes layer and the claim-check table (cold, then warm searoute cache).

Run: ``.venv/bin/python benchmarks/routes.py``
"""

from __future__ import annotations

import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    """Build the routes twice and the claim table once; print timings and the table."""
    from geo import gazetteer
    from geo.corpus import load_articles
    from geo.routes import build_routes, claim_table, parse_claim_spec, read_routes_file

    gaz = gazetteer.load(ROOT / "data", cache_dir=ROOT / ".cache")
    articles = {a.id: a.text for a in load_articles(ROOT / "seeds")}
    for label in ("cold", "warm"):
        start = time.perf_counter()
        frame = build_routes(ROOT / "data" / "routes.yaml", gaz, articles)
        print(f"build_routes ({label}): {len(frame)} routes in {time.perf_counter() - start:.2f} s")
    start = time.perf_counter()
    table = claim_table(
        parse_claim_spec(read_routes_file(ROOT / "data" / "routes.yaml")), gaz.lookup
    )
    print(f"claim_table: {time.perf_counter() - start:.2f} s")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
