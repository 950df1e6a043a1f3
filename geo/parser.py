"""The geoparser: recognize and resolve in one call, over the embedded gazetteer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from geo import gazetteer as gazetteer_mod
from geo.gazetteer import Gazetteer
from geo.model import Resolution
from geo.recognize import Lexicon, load_lexicon, recognize
from geo.resolve import Fallback, resolve


@dataclass(frozen=True, slots=True)
class Geoparser:
    """Everything a parse needs, loaded once: gazetteer, lexicon and an optional fallback."""

    gazetteer: Gazetteer
    lexicon: Lexicon
    fallback: Fallback | None = None

    def parse(self, text: str, *, article_id: str = "") -> list[Resolution]:
        """Find and resolve the toponyms of ``text``."""
        mentions = recognize(text, self.gazetteer, self.lexicon, article_id=article_id)
        return resolve(text, mentions, self.gazetteer, fallback=self.fallback)


def load_parser(
    data_dir: Path, *, cache_dir: Path | None = None, fallback: Fallback | None = None
) -> Geoparser:
    """Load the embedded gazetteer and lexicon from ``data_dir``."""
    gaz = gazetteer_mod.load(data_dir, cache_dir=cache_dir)
    return Geoparser(gaz, load_lexicon(data_dir), fallback)


def toponym_record(res: Resolution) -> dict[str, object]:
    """The evaluation-interface JSON object of one resolved toponym."""
    p = res.place
    return {
        "start": res.mention.start,
        "end": res.mention.end,
        "text": res.mention.text,
        "name": p.name,
        "lat": round(p.lat, 5),
        "lon": round(p.lon, 5),
        "kind": p.kind,
        "country": p.country,
        "score": res.confidence,
        "id": p.id,
        "source": p.source,
    }
