"""Helpers of the analyst-loop tests: a private, changeable copy of the built seed atlas,
and the seed mention the issue names."""

from __future__ import annotations

import dataclasses
import functools
import shutil
from pathlib import Path

from conftest import CACHE, DATA, SEEDS, AtlasData, data_folder

from geo import layers, store
from geo.model import Place

#: The seed mention the issue names: "Ussuri" in "the Ussuri incident" (article 004).
USSURI = ("004", 3576, 3582)
#: A gazetteer record of the Ussuri river (a valid place id whatever the parser draws).
USSURI_RIVER = "ne:1159122531"
#: The gazetteer record of the town of Lesozavodsk (another candidate for "Ussuri").
LESOZAVODSK = "gn:2020812"


@functools.cache
def ussuri_places() -> tuple[Place, Place]:
    """The place the parser draws the Ussuri mention as, and its first runner-up (a
    different place): the issue's correction goes from the one to the other.  Read from a
    parse of the seed article, so the tests follow the parser (it drew the town of
    Lesozavodsk when the issue was written, the river since)."""
    from geo.parser import load_parser

    parser = load_parser(DATA, cache_dir=CACHE)
    text = next(SEEDS.glob("004_*.txt")).read_text(encoding="utf-8")
    resolved, _ = parser.parse_all(text, article_id="004")
    found = next(r for r in resolved if (r.mention.start, r.mention.end) == USSURI[1:])
    runner_up = next(p for p in found.alternatives if p.id != found.place.id)
    return found.place, runner_up


def drawn() -> str:
    """The id of the place the parser draws the Ussuri mention as."""
    return ussuri_places()[0].id


def runner_up() -> str:
    """The id of its first runner-up."""
    return ussuri_places()[1].id


def own_copy(atlas: AtlasData, root: Path) -> AtlasData:
    """A copy of the built seed atlas (its seeds, store and published layers) under
    ``root``, which a test may change freely."""
    seeds = root / "seeds"
    shutil.copytree(SEEDS, seeds)
    data = data_folder(root)
    shutil.copyfile(atlas.store, store.store_path(data))
    files = {n: (atlas.layers_dir / n).read_text(encoding="utf-8") for n in layers.FILES}
    with store.Store(atlas.store) as st:
        layers.publish(data, files, name=str(st.build_id()))
    cfg = dataclasses.replace(atlas.cfg, data_dir=data, seeds_dir=seeds)
    return AtlasData(cfg)


def mention(data: AtlasData, article_id: str, start: int, end: int) -> store.StoredMention:
    """The stored mention at a span."""
    with store.Store(data.store) as st:
        found = [m for m in st.mentions(article_id) if (m.start, m.end) == (start, end)]
    assert found, f"no mention at {article_id} {start}..{end}"
    return found[0]
