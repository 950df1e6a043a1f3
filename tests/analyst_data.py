"""Helpers of the analyst-loop tests: a private, changeable copy of the built seed atlas."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from conftest import SEEDS, AtlasData, data_folder

from geo import layers, store

#: The seed mention the issue names: "the Ussuri incident" drawn as the town of Lesozavodsk,
#: with the Ussuri river a runner-up.
USSURI = ("004", 3576, 3582)
LESOZAVODSK = "gn:2020812"
USSURI_RIVER = "ne:1159122531"


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
