"""The geoparser: recognize and resolve in one call, over the embedded gazetteer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from geo import gazetteer as gazetteer_mod
from geo.gazetteer import Gazetteer
from geo.model import Mention, Resolution
from geo.recognize import Lexicon, load_lexicon, recognize
from geo.resolve import Fallback, resolve


@dataclass(frozen=True, slots=True)
class Geoparser:
    """Everything a parse needs, loaded once: gazetteer, lexicon and an optional fallback."""

    gazetteer: Gazetteer
    lexicon: Lexicon
    fallback: Fallback | None = None

    def parse(self, text: str, *, article_id: str = "") -> list[Resolution]:
        """Find and resolve the toponyms of ``text`` (the ones that could be placed)."""
        return self.parse_all(text, article_id=article_id)[0]

    def parse_all(
        self, text: str, *, article_id: str = ""
    ) -> tuple[list[Resolution], list[Mention]]:
        """Find the toponyms of ``text``: the resolved ones and those that could not be placed."""
        mentions = recognize(text, self.gazetteer, self.lexicon, article_id=article_id)
        resolved = resolve(text, mentions, self.gazetteer, fallback=self.fallback)
        placed = {(r.mention.start, r.mention.end) for r in resolved}
        return resolved, [m for m in mentions if (m.start, m.end) not in placed]


def load_parser(
    data_dir: Path,
    *,
    cache_dir: Path | None = None,
    fallback: Fallback | None = None,
    freeze: bool = False,
) -> Geoparser:
    """Load the embedded gazetteer and lexicon from ``data_dir`` (``freeze``: see
    :func:`geo.gazetteer.load`)."""
    gaz = gazetteer_mod.load(data_dir, cache_dir=cache_dir, freeze=freeze)
    return Geoparser(gaz, load_lexicon(data_dir), fallback)


def unplaced_record(m: Mention) -> dict[str, object]:
    """The evaluation-interface JSON object of a toponym that could not be placed."""
    return {
        "start": m.start, "end": m.end, "text": m.text, "name": m.text, "lat": None,
        "lon": None, "kind": None, "country": None, "score": 0.0, "id": None, "source": None,
    }  # fmt: skip


def parse_record(parser: Geoparser, art_id: object, text: str) -> dict[str, object]:
    """One output line of ``python -m geo parse``: every toponym, in text order."""
    resolved, unplaced = parser.parse_all(text, article_id=str(art_id))
    items = [toponym_record(r) for r in resolved] + [unplaced_record(m) for m in unplaced]
    items.sort(key=lambda t: int(t["start"]))  # type: ignore[call-overload]
    return {"id": art_id, "toponyms": items}


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
