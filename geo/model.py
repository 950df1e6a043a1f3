"""Small typed records that flow through the pipeline.

Coordinates are always held as named ``lat``/``lon`` (WGS 84 degrees).  GeoJSON and shapely
use (lon, lat) and folium uses (lat, lon): the conversions live in :func:`to_xy` and
:func:`to_latlon` and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Kinds of place a gazetteer record can have.
KINDS = (
    "continent",
    "country",
    "admin1",
    "city",
    "port",
    "region",
    "island",
    "peninsula",
    "mountain",
    "river",
    "lake",
    "strait",
    "sea",
    "bay",
    "ocean",
    "facility",
)

#: Map legend groups: kind -> group shown to the user.
KIND_GROUPS = {
    "continent": "region",
    "country": "country",
    "admin1": "region",
    "city": "city",
    "port": "city",
    "region": "region",
    "island": "region",
    "peninsula": "region",
    "mountain": "region",
    "river": "water",
    "lake": "water",
    "strait": "water",
    "sea": "water",
    "bay": "water",
    "ocean": "water",
    "facility": "facility",
}


@dataclass(frozen=True, slots=True)
class Article:
    """One news article and what is known about it."""

    id: str
    text: str
    title: str = ""
    outlet: str = ""
    author: str = ""
    date: str = ""
    date_approximate: bool = False
    url: str = ""


@dataclass(frozen=True, slots=True)
class Passage:
    """A sentence of an article, with its character offsets into the article text."""

    article_id: str
    start: int
    end: int
    text: str
    paragraph: int = 0


@dataclass(frozen=True, slots=True)
class Mention:
    """A toponym as written in an article: ``text == article.text[start:end]``."""

    article_id: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Place:
    """A gazetteer record (or a resolved place)."""

    id: str
    name: str
    kind: str
    lat: float
    lon: float
    country: str = ""
    source: str = ""
    population: int = 0
    admin1: str = ""
    score: float = 0.0


@dataclass(frozen=True, slots=True)
class Resolution:
    """A mention resolved to a place, with the confidence and the runner-up candidates."""

    mention: Mention
    place: Place
    confidence: float
    alternatives: tuple[Place, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Quote:
    """A source passage for a route: the article and the exact words it uses."""

    article_id: str
    text: str


@dataclass(frozen=True, slots=True)
class Route:
    """A route described by the articles, before its geometry is computed."""

    id: str
    title: str
    mode: str
    status: str
    waypoints: tuple[str, ...]
    quotes: tuple[Quote, ...]
    period: str = ""
    description: str = ""
    arctic: bool = False


def to_xy(lat: float, lon: float) -> tuple[float, float]:
    """Return GeoJSON/shapely order ``(lon, lat)`` for a named latitude and longitude."""
    return (lon, lat)


def to_latlon(x: float, y: float) -> tuple[float, float]:
    """Return folium/Leaflet order ``(lat, lon)`` for a GeoJSON/shapely ``(x, y)`` pair."""
    return (y, x)


@dataclass(frozen=True, slots=True)
class StoredMention:
    """A mention as the store keeps it: where it is, the passage around it and its place.

    ``place_id`` is ``None`` for a toponym that was recognised but could not be placed (or
    that a correction declared not a place).  ``candidates`` are the runner-up place ids,
    best first.  ``parsed_place_id`` is the parser's own choice, before any correction.
    """

    article_id: str
    start: int
    end: int
    text: str
    passage_start: int
    passage_end: int
    place_id: str | None
    confidence: float
    candidates: tuple[str, ...] = ()
    parsed_place_id: str | None = None
    correction: str = ""


@dataclass(frozen=True, slots=True)
class PlaceStats:
    """A mentioned place with what the places layer says of it: how many placed mentions
    and articles name it, the first and last date it was mentioned ('' when no article
    naming it is dated), the lowest confidence and whether a correction placed any."""

    place: Place
    mentions: int
    articles: int
    first_date: str
    last_date: str
    confidence: float
    corrected: bool


@dataclass(frozen=True, slots=True)
class Excerpt:
    """A passage quoted as evidence for a place: the sentence, the mention spans in it
    (offsets into ``sentence``) and where it comes from."""

    article_id: str
    title: str
    outlet: str
    date: str
    url: str
    passage_start: int
    sentence: str
    spans: tuple[tuple[int, int], ...]


#: Scopes of a correction, narrowest first: the one mention, every mention of the same
#: words in its article, every mention of them anywhere in the corpus.
SCOPES = ("mention", "article", "corpus")


@dataclass(frozen=True, slots=True)
class Correction:
    """An analyst's fix of one mention's place, kept in ``data/corrections.toml``.

    The span (``article_id``, ``start``, ``end``, ``text``) says which words it is about;
    ``scope`` widens it to every mention of the same words in the article or the corpus.
    ``place_id`` is the chosen place: a gazetteer id, a ``user:`` id of a place given by
    coordinates (``lat``/``lon``, ``name``, ``kind``), or ``None`` for "not a place".
    ``name``, ``kind``, ``lat``, ``lon`` and ``country`` describe the chosen place, so the
    file reads on its own and a build needs no gazetteer to apply it.
    """

    id: str
    article_id: str
    start: int
    end: int
    text: str
    place_id: str | None
    name: str = ""
    kind: str = ""
    lat: float | None = None
    lon: float | None = None
    country: str = ""
    scope: str = "mention"
    created: str = ""
    note: str = ""

    @property
    def not_a_place(self) -> bool:
        """Whether the correction says the words name no place."""
        return self.place_id is None
