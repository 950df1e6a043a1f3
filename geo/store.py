"""The atlas store: one SQLite file (``data/atlas.sqlite``) holding the whole atlas.

Articles (id, content hash, the parser version that parsed them, metadata, text), their
passages, their mentions (offsets, passage, place, confidence, runner-up candidates), the
places those mentions name, the routes and the claim check.  SQLite in WAL mode: one
writer at a time (see :mod:`geo._lock`), any number of readers that keep reading the last
committed state while a build writes the next one.

This module is the store's edge: rows are decoded here, once, into the records of
:mod:`geo.model`; nothing outside it sees SQL or JSON columns.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo.errors import DataFileError
from geo.model import Article, Excerpt, Passage, Place, PlaceStats, StoredMention

if TYPE_CHECKING:
    import pandas as pd

STORE_FILE = "atlas.sqlite"
SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    parsed_with TEXT NOT NULL,
    title TEXT NOT NULL, outlet TEXT NOT NULL, author TEXT NOT NULL,
    date TEXT NOT NULL, date_approximate INTEGER NOT NULL, url TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS passages (
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, paragraph INTEGER NOT NULL,
    PRIMARY KEY (article_id, start)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS places (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL, kind TEXT NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL,
    country TEXT NOT NULL, source TEXT NOT NULL, population INTEGER NOT NULL,
    admin1 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS mentions (
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
    passage_start INTEGER NOT NULL, passage_end INTEGER NOT NULL,
    place_id TEXT, confidence REAL NOT NULL,
    candidates TEXT NOT NULL,
    parsed_place_id TEXT, correction TEXT NOT NULL DEFAULT '',
    parsed_confidence REAL NOT NULL DEFAULT 0, added INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (article_id, start, "end")
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS mentions_by_place ON mentions (place_id, article_id, passage_start);
CREATE TABLE IF NOT EXISTS routes (
    ord INTEGER PRIMARY KEY,
    properties TEXT NOT NULL,
    geometry TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS revision_log (rev INTEGER PRIMARY KEY, token TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revisions (
    article_id TEXT PRIMARY KEY,
    mentions INTEGER,
    article INTEGER
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS rev_article_insert AFTER INSERT ON articles BEGIN
    INSERT INTO revisions VALUES (new.id, NULL, NULL)
    ON CONFLICT (article_id) DO UPDATE SET mentions = NULL, article = NULL;
END;
CREATE TRIGGER IF NOT EXISTS rev_article_update AFTER UPDATE ON articles BEGIN
    INSERT INTO revisions VALUES (new.id, NULL, NULL)
    ON CONFLICT (article_id) DO UPDATE SET article = NULL;
END;
CREATE TRIGGER IF NOT EXISTS rev_mention_insert AFTER INSERT ON mentions BEGIN
    INSERT INTO revisions VALUES (new.article_id, NULL, NULL)
    ON CONFLICT (article_id) DO UPDATE SET mentions = NULL WHERE mentions IS NOT NULL;
END;
CREATE TRIGGER IF NOT EXISTS rev_mention_update AFTER UPDATE ON mentions BEGIN
    INSERT INTO revisions VALUES (new.article_id, NULL, NULL)
    ON CONFLICT (article_id) DO UPDATE SET mentions = NULL WHERE mentions IS NOT NULL;
END;
CREATE TRIGGER IF NOT EXISTS rev_mention_delete AFTER DELETE ON mentions BEGIN
    INSERT INTO revisions VALUES (old.article_id, NULL, NULL)
    ON CONFLICT (article_id) DO UPDATE SET mentions = NULL WHERE mentions IS NOT NULL;
END;
CREATE TRIGGER IF NOT EXISTS rev_place_insert AFTER INSERT ON places BEGIN
    INSERT INTO revisions SELECT DISTINCT article_id, NULL, NULL FROM mentions
    WHERE place_id = new.id
    ON CONFLICT (article_id) DO UPDATE SET mentions = NULL WHERE mentions IS NOT NULL;
END;
CREATE TRIGGER IF NOT EXISTS rev_place_update AFTER UPDATE ON places BEGIN
    INSERT INTO revisions SELECT DISTINCT article_id, NULL, NULL FROM mentions
    WHERE place_id = new.id
    ON CONFLICT (article_id) DO UPDATE SET mentions = NULL WHERE mentions IS NOT NULL;
END;
"""

_ARTICLE_COLS = "id, title, outlet, author, date, date_approximate, url"
_PLACE_COLS = "id, name, kind, lat, lon, country, source, population, admin1"
_MENTION_COLS = (
    'article_id, start, "end", text, passage_start, passage_end, place_id, confidence, '
    "candidates, parsed_place_id, correction"
)


def store_path(data_dir: Path) -> Path:
    """Where the store of the atlas in ``data_dir`` lives."""
    return data_dir / STORE_FILE


def _connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    uri = f"{path.resolve().as_uri()}?mode={'ro' if readonly else 'rwc'}"
    conn = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def _place(row: Sequence[Any]) -> Place:
    return Place(
        id=row[0], name=row[1], kind=row[2], lat=float(row[3]), lon=float(row[4]),
        country=row[5], source=row[6], population=int(row[7]), admin1=row[8],
    )  # fmt: skip


def _article(row: Sequence[Any], text: str = "") -> Article:
    return Article(
        id=row[0], text=text, title=row[1], outlet=row[2], author=row[3], date=row[4],
        date_approximate=bool(row[5]), url=row[6],
    )  # fmt: skip


def _candidates(value: str) -> tuple[str, ...]:
    if not value:
        return ()
    try:
        items = json.loads(value)
    except ValueError:
        return ()
    return tuple(str(i) for i in items) if isinstance(items, list) else ()


def _mention(row: Sequence[Any]) -> StoredMention:
    return StoredMention(
        article_id=row[0], start=int(row[1]), end=int(row[2]), text=row[3],
        passage_start=int(row[4]), passage_end=int(row[5]), place_id=row[6],
        confidence=float(row[7]), candidates=_candidates(row[8]), parsed_place_id=row[9],
        correction=row[10] or "",
    )  # fmt: skip


class Store:
    """A read-only view of the store; every query reads the last committed build.

    Raises
    ------
    DataFileError
        If the file is missing or is not an atlas store.
    """

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise DataFileError(f"no atlas store at {str(path)!r}; run `python -m geo build`")
        self.path = path
        try:
            self._conn = _connect(path, readonly=True)
            version = self.meta("schema")
        except sqlite3.DatabaseError as err:
            msg = f"{str(path)!r} is not an atlas store ({err}); delete it and rebuild"
            raise DataFileError(msg) from err
        if version != SCHEMA_VERSION:
            msg = f"{str(path)!r} has store schema {version!r}, not {SCHEMA_VERSION!r}; rebuild"
            raise DataFileError(msg)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def snapshot(self) -> Iterator[Store]:
        """Read several queries from one committed state (a read transaction)."""
        self._conn.execute("BEGIN")
        try:
            yield self
        finally:
            self._conn.execute("COMMIT")

    def meta(self, key: str, default: str = "") -> str:
        """A value of the ``meta`` table (``build_id``, ``version_key``, ``claim``…)."""
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.OperationalError as err:
            if "no such table" in str(err):
                return default
            raise
        return str(row[0]) if row else default

    def build_id(self) -> int:
        """The number of the last committed build: the data version readers cache on."""
        return int(self.meta("build_id", "0") or 0)

    def counts(self) -> dict[str, int]:
        """How many articles, placed mentions, distinct mentioned places and routes."""
        sql = (
            "SELECT (SELECT count(*) FROM articles),"
            " (SELECT count(*) FROM mentions WHERE place_id IS NOT NULL),"
            " (SELECT count(DISTINCT place_id) FROM mentions), (SELECT count(*) FROM routes)"
        )
        row = self._conn.execute(sql).fetchone()
        return dict(zip(("articles", "mentions", "places", "routes"), map(int, row), strict=True))

    # -- articles and passages -------------------------------------------------------------

    def articles(self, *, with_text: bool = False) -> list[Article]:
        """Every article's metadata, by id (``text`` left empty unless ``with_text``)."""
        text = ", text" if with_text else ""
        rows = self._conn.execute(f"SELECT {_ARTICLE_COLS}{text} FROM articles ORDER BY id")
        return [_article(r, r[7] if with_text else "") for r in rows]

    def article(self, article_id: str) -> Article | None:
        """One article with its text, or ``None``."""
        row = self._conn.execute(
            f"SELECT {_ARTICLE_COLS}, text FROM articles WHERE id = ?", (article_id,)
        ).fetchone()
        return _article(row, row[7]) if row else None

    def hashes(self) -> dict[str, tuple[str, str]]:
        """Article id -> (content hash, parser version key it was parsed with)."""
        rows = self._conn.execute("SELECT id, hash, parsed_with FROM articles")
        return {r[0]: (r[1], r[2]) for r in rows}

    def passages(self, article_id: str) -> list[Passage]:
        """An article's passages (sentences) in order, with their text."""
        rows = self._conn.execute(
            'SELECT p.start, p."end", p.paragraph, substr(a.text, p.start + 1, p."end" - p.start)'
            " FROM passages p JOIN articles a ON a.id = p.article_id"
            " WHERE p.article_id = ? ORDER BY p.start",
            (article_id,),
        )
        return [Passage(article_id, int(s), int(e), t, int(n)) for s, e, n, t in rows]

    def neighbours(self, article_id: str, passage_start: int) -> tuple[str, str]:
        """The text of the passages just before and after the one starting at
        ``passage_start`` (empty at either end of the article)."""
        sql = (
            'SELECT substr(a.text, p.start + 1, p."end" - p.start) FROM passages p'
            " JOIN articles a ON a.id = p.article_id WHERE p.article_id = ? AND p.start {op} ?"
            " ORDER BY p.start {order} LIMIT 1"
        )
        before = self._conn.execute(
            sql.format(op="<", order="DESC"), (article_id, passage_start)
        ).fetchone()
        after = self._conn.execute(
            sql.format(op=">", order="ASC"), (article_id, passage_start)
        ).fetchone()
        return (before[0] if before else "", after[0] if after else "")

    # -- places and mentions ---------------------------------------------------------------

    def place(self, place_id: str) -> Place | None:
        """One place record (any place a mention or candidate names), or ``None``."""
        row = self._conn.execute(
            f"SELECT {_PLACE_COLS} FROM places WHERE id = ?", (place_id,)
        ).fetchone()
        return _place(row) if row else None

    def places(self, ids: Iterable[str]) -> dict[str, Place]:
        """Place records by id (ids not in the store are left out)."""
        wanted = list(dict.fromkeys(ids))
        out: dict[str, Place] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT {_PLACE_COLS} FROM places WHERE id IN ({marks})", chunk
            )
            out.update((r[0], _place(r)) for r in rows)
        return out

    def mentions(
        self, article_id: str | None = None, *, candidates: bool = True
    ) -> list[StoredMention]:
        """The mentions of one article (or of all), in text order (``candidates=False``:
        without their runner-ups, which are then not decoded)."""
        where, args = ("WHERE article_id = ?", (article_id,)) if article_id else ("", ())
        cols = _MENTION_COLS if candidates else _MENTION_COLS.replace("candidates", "''")
        rows = self._conn.execute(
            f"SELECT {cols} FROM mentions {where} ORDER BY article_id, start", args
        )
        return [_mention(r) for r in rows]

    def mention_features(
        self, articles: Collection[str] | None = None
    ) -> Iterator[tuple[str, str]]:
        """Every placed mention (of ``articles``, if given) as ``(article id, GeoJSON Feature)``,
        the feature as JSON text made by SQLite, in article and text order: the mentions
        layer, written without a Python object per mention.  Read lazily."""
        where, args = self._ids_filter("m.article_id", articles)
        sql = (
            "SELECT m.article_id, json_object('type', 'Feature', 'properties', json_object("
            "'place_id', p.id, 'name', p.name, 'kind', p.kind, 'article_id', m.article_id,"
            " 'start', m.start, 'end', m.\"end\", 'text', m.text,"
            " 'passage_start', m.passage_start, 'passage_end', m.passage_end,"
            " 'confidence', m.confidence, 'correction', m.correction),"
            " 'geometry', json_object('type', 'Point', 'coordinates', json_array(p.lon, p.lat)))"
            f" FROM mentions m JOIN places p ON p.id = m.place_id {where}"
            ' ORDER BY m.article_id, m.start, m."end"'
        )
        return iter(self._conn.execute(sql, args))

    def full_articles(self, articles: Collection[str] | None = None) -> Iterator[Article]:
        """Every article (of ``articles``, if given) with its text, by id; read lazily."""
        where, args = self._ids_filter("id", articles)
        rows = self._conn.execute(
            f"SELECT {_ARTICLE_COLS}, text FROM articles {where} ORDER BY id", args
        )
        return (_article(r, r[7]) for r in rows)

    def article_ids(self) -> list[str]:
        """Every article id, in the order the layers list them."""
        return [r[0] for r in self._conn.execute("SELECT id FROM articles ORDER BY id")]

    def place_stats(self) -> list[PlaceStats]:
        """Every place that placed mentions name, with their counts and dates (one query).

        The mentions are read in table order (``INDEXED BY`` its primary key: the planner
        would otherwise walk ``mentions_by_place`` and look up every row, twice as slow)
        and counted per article and place first, then per place."""
        cols = ", ".join(f"p.{c}" for c in _PLACE_COLS.split(", "))
        sql = (
            f"SELECT {cols}, sum(pa.n), count(*), min(nullif(a.date, '')),"
            " max(nullif(a.date, '')), min(pa.c), max(pa.k) FROM (SELECT place_id, article_id,"
            " count(*) AS n, min(confidence) AS c, max(correction != '') AS k"
            " FROM mentions INDEXED BY sqlite_autoindex_mentions_1 WHERE place_id IS NOT NULL"
            " GROUP BY article_id, place_id) pa JOIN articles a ON a.id = pa.article_id"
            " JOIN places p ON p.id = pa.place_id GROUP BY p.id"
        )
        return [
            PlaceStats(_place(r), int(r[9]), int(r[10]), r[11] or "", r[12] or "",
                       float(r[13]), bool(r[14]))
            for r in self._conn.execute(sql)
        ]  # fmt: skip

    def layer_state(self) -> tuple[str, int]:
        """The store's id (made when it was first written) and its revision (a count of
        its write transactions): a published layer set records both, so that the next
        publish knows which articles changed since (:meth:`changed_since`)."""
        return self.meta("store_id"), int(self.meta("revision", "0") or 0)

    def revision_token(self, revision: int) -> str:
        """The random token written with ``revision`` ('' if the store has none): tells
        this store's revision from the same number reached again after a backup of the
        store was put back."""
        try:
            row = self._conn.execute(
                "SELECT token FROM revision_log WHERE rev = ?", (revision,)
            ).fetchone()
        except sqlite3.OperationalError as err:  # a store written before revisions
            if "no such table" in str(err):
                return ""
            raise
        return str(row[0]) if row else ""

    def changed_since(self, revision: int) -> tuple[set[str], set[str]]:
        """The articles whose placed mentions (or their places), and whose own row
        (metadata, text), may have changed after store ``revision``."""
        sql = (
            "SELECT article_id, mentions > ? OR mentions IS NULL, article > ? OR article IS NULL"
            " FROM revisions"
        )
        try:
            rows = self._conn.execute(sql, (revision, revision)).fetchall()
        except sqlite3.OperationalError as err:  # a store written before revisions
            if "no such table" in str(err):
                ids = set(self.article_ids())
                return ids, set(ids)
            raise
        return {r[0] for r in rows if r[1]}, {r[0] for r in rows if r[2]}

    def mention_table(self) -> pd.DataFrame:
        """Every placed mention as a compact table for filtering and aggregation:
        ``article_id, place_id, start, end, text, passage_start, confidence, date,
        correction`` (the id of the correction that placed it, or '')."""
        sql = (
            'SELECT m.article_id, m.place_id, m.start, m."end", m.text, m.passage_start,'
            " m.confidence, a.date, m.correction FROM mentions m"
            " JOIN articles a ON a.id = m.article_id"
            " WHERE m.place_id IS NOT NULL ORDER BY m.article_id, m.start"
        )
        cols = [
            "article_id", "place_id", "start", "end", "text", "passage_start", "confidence",
            "date", "correction",
        ]  # fmt: skip
        import pandas as pd  # noqa: PLC0415  (the dashboard's tables; a build needs none)

        return pd.DataFrame(self._conn.execute(sql).fetchall(), columns=cols)

    def place_table(self) -> pd.DataFrame:
        """Every place that at least one mention names, with its record's fields."""
        sql = (
            f"SELECT {_PLACE_COLS} FROM places WHERE id IN"
            " (SELECT DISTINCT place_id FROM mentions WHERE place_id IS NOT NULL) ORDER BY id"
        )
        cols = ["place_id", "name", "kind", "lat", "lon", "country", "source", "population"]
        rows = [r[:8] for r in self._conn.execute(sql)]
        import pandas as pd  # noqa: PLC0415  (the dashboard's tables; a build needs none)

        return pd.DataFrame(rows, columns=cols)

    def candidates_of(self, place_id: str, limit: int = 5) -> list[Place]:
        """The runner-up places of the mentions of ``place_id``, most frequent first."""
        counts: dict[str, int] = {}
        rows = self._conn.execute("SELECT candidates FROM mentions WHERE place_id = ?", (place_id,))
        for (value,) in rows:
            for rank, cand in enumerate(_candidates(value)):
                if cand != place_id:
                    counts[cand] = counts.get(cand, 0) + 100 - rank
        best = sorted(counts, key=lambda c: -counts[c])[:limit]
        found = self.places(best)
        return [found[c] for c in best if c in found]

    def count_passages(self, place_id: str, articles: Iterable[str] | None = None) -> int:
        """How many distinct passages mention ``place_id`` (in ``articles``, if given)."""
        where, args = self._article_filter(articles)
        row = self._conn.execute(
            "SELECT count(*) FROM (SELECT DISTINCT article_id, passage_start FROM mentions m"
            f" WHERE place_id = ? {where})",
            (place_id, *args),
        ).fetchone()
        return int(row[0])

    def excerpts(
        self,
        place_id: str,
        *,
        articles: Iterable[str] | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> list[Excerpt]:
        """One page of the passages that mention ``place_id``: oldest article first, then
        in text order; each with every span of the place in it highlighted."""
        where, args = self._article_filter(articles)
        page = (
            "SELECT DISTINCT m.place_id, m.article_id, m.passage_start, m.passage_end, a.date"
            " FROM mentions m JOIN articles a ON a.id = m.article_id"
            f" WHERE m.place_id = ? {where}"
            " ORDER BY a.date, m.article_id, m.passage_start LIMIT ? OFFSET ?"
        )
        return self._excerpts(page, (place_id, *args, limit, offset))

    def first_excerpts(self, per_place: int = 3) -> dict[str, tuple[Excerpt, ...]]:
        """The first ``per_place`` passages of every place (as :meth:`excerpts` orders
        them), in one query: what the map's popups show."""
        page = (
            "SELECT place_id, article_id, passage_start, passage_end, date FROM ("
            " SELECT *, row_number() OVER (PARTITION BY place_id"
            "  ORDER BY date, article_id, passage_start) AS rn FROM ("
            "  SELECT DISTINCT m.place_id, m.article_id, m.passage_start, m.passage_end, a.date"
            "  FROM mentions m JOIN articles a ON a.id = m.article_id"
            "  WHERE m.place_id IS NOT NULL)) WHERE rn <= ?"
        )
        out: dict[str, list[Excerpt]] = {}
        for pid, excerpt in zip(*self._excerpt_rows(page, (per_place,)), strict=True):
            out.setdefault(pid, []).append(excerpt)
        return {k: tuple(v) for k, v in out.items()}

    def _excerpts(self, page: str, args: tuple[object, ...]) -> list[Excerpt]:
        return self._excerpt_rows(page, args)[1]

    def _excerpt_rows(self, page: str, args: tuple[object, ...]) -> tuple[list[str], list[Excerpt]]:
        sql = (
            f"WITH page AS ({page})"
            " SELECT p.place_id, p.article_id, p.passage_start, a.title, a.outlet, a.date,"
            " a.url, substr(a.text, p.passage_start + 1, p.passage_end - p.passage_start),"
            " (SELECT json_group_array(json_array(m.start - p.passage_start,"
            ' m."end" - p.passage_start)) FROM mentions m WHERE m.article_id = p.article_id'
            " AND m.passage_start = p.passage_start AND m.place_id = p.place_id)"
            " FROM page p JOIN articles a ON a.id = p.article_id"
            " ORDER BY p.place_id, p.date, p.article_id, p.passage_start"
        )
        ids, out = [], []
        for pid, art, start, title, outlet, date, url, sentence, spans in self._conn.execute(
            sql, args
        ):
            pairs = tuple(sorted((int(a), int(b)) for a, b in json.loads(spans)))
            ids.append(pid)
            out.append(Excerpt(art, title, outlet, date, url, int(start), sentence, pairs))
        return ids, out

    @staticmethod
    def _ids_filter(column: str, ids: Collection[str] | None) -> tuple[str, tuple[str, ...]]:
        if ids is None:
            return "", ()
        return f"WHERE {column} IN (SELECT value FROM json_each(?))", (_dumps(list(ids)),)

    @staticmethod
    def _article_filter(articles: Iterable[str] | None) -> tuple[str, tuple[str, ...]]:
        if articles is None:
            return "", ()
        ids = tuple(articles)
        if not ids:
            return "AND 0", ()
        return f"AND m.article_id IN ({','.join('?' * len(ids))})", ids

    # -- routes and the claim check --------------------------------------------------------

    def routes(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """The routes as ``(properties, GeoJSON geometry)`` pairs, in file order."""
        rows = self._conn.execute("SELECT properties, geometry FROM routes ORDER BY ord")
        return [(json.loads(p), json.loads(g)) for p, g in rows]

    def claim(self) -> dict[str, Any]:
        """The claim check (empty when the routes file has none)."""
        value = json.loads(self.meta("claim", "{}") or "{}")
        return value if isinstance(value, dict) else {}


class StoreWriter:
    """The write side, used by a build inside :func:`write`: one transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def delete_articles(self, ids: Iterable[str]) -> None:
        """Drop articles with their passages and mentions."""
        self._conn.executemany("DELETE FROM articles WHERE id = ?", [(i,) for i in ids])

    def put_article(
        self,
        article: Article,
        *,
        content_hash: str,
        parsed_with: str,
        passages: Sequence[Passage],
        mentions: Sequence[StoredMention],
    ) -> None:
        """Insert or replace one article with its passages and mentions."""
        self._conn.execute("DELETE FROM articles WHERE id = ?", (article.id,))
        a = article
        self._conn.execute(
            "INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (a.id, content_hash, parsed_with, a.title, a.outlet, a.author, a.date,
             int(a.date_approximate), a.url, a.text),
        )  # fmt: skip
        self._conn.executemany(
            "INSERT INTO passages VALUES (?, ?, ?, ?)",
            [(a.id, p.start, p.end, p.paragraph) for p in passages],
        )
        self._conn.executemany(
            f"INSERT OR REPLACE INTO mentions ({_MENTION_COLS}, parsed_confidence)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [(*_mention_row(m), m.confidence) for m in mentions],
        )

    def update_metadata(self, article: Article) -> None:
        """Replace an article's metadata (title, outlet…) without touching its parse."""
        a = article
        self._conn.execute(
            "UPDATE articles SET title = ?, outlet = ?, author = ?, date = ?,"
            " date_approximate = ?, url = ? WHERE id = ?",
            (a.title, a.outlet, a.author, a.date, int(a.date_approximate), a.url, a.id),
        )

    def put_places(self, places: Iterable[Place]) -> None:
        """Insert place records, or update those that differ (an unchanged record is not
        written, so the layer lines of the mentions naming it stay as they are)."""
        cols = _PLACE_COLS.split(", ")
        olds = ", ".join(f"places.{c}" for c in cols[1:])
        news = ", ".join(f"excluded.{c}" for c in cols[1:])
        self._conn.executemany(
            f"INSERT INTO places ({_PLACE_COLS}) VALUES (?,?,?,?,?,?,?,?,?)"
            f" ON CONFLICT (id) DO UPDATE SET ({', '.join(cols[1:])}) = ({news})"
            f" WHERE ({olds}) IS NOT ({news})",
            [(p.id, p.name, p.kind, p.lat, p.lon, p.country, p.source, p.population, p.admin1)
             for p in places],
        )  # fmt: skip

    def set_place(
        self, article_id: str, span: tuple[int, int], place_id: str | None, correction: str
    ) -> int:
        """Set the effective place of the mention at ``span`` of an article (a correction
        with id ``correction``); returns how many mentions changed (0 or 1)."""
        cur = self._conn.execute(
            "UPDATE mentions SET place_id = ?, correction = ?, confidence = 1.0"
            ' WHERE article_id = ? AND start = ? AND "end" = ?',
            (place_id, correction, article_id, *span),
        )
        return int(cur.rowcount)

    def add_mention(self, mention: StoredMention) -> None:
        """Add a mention the parser did not find (a correction on a new span)."""
        self._conn.execute(
            f"INSERT OR REPLACE INTO mentions ({_MENTION_COLS}, added)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,1)",
            _mention_row(mention),
        )

    def reset_corrections(self) -> None:
        """Undo every applied correction: mentions get their parsed place back and the
        ones corrections added are dropped (before corrections are applied again)."""
        self._conn.execute("DELETE FROM mentions WHERE added = 1")
        self._conn.execute(
            "UPDATE mentions SET place_id = parsed_place_id, correction = '',"
            " confidence = parsed_confidence WHERE correction != ''"
        )

    def mentions(
        self, *, articles: Collection[str] = (), texts: Collection[str] = ()
    ) -> list[StoredMention]:
        """The mentions in ``articles`` or whose words are one of ``texts``, as this
        transaction sees them, in article and text order."""
        sql = (
            f"SELECT {_MENTION_COLS} FROM mentions WHERE article_id IN (SELECT value FROM"
            " json_each(?1)) OR text IN (SELECT value FROM json_each(?2))"
            " ORDER BY article_id, start"
        )
        rows = self._conn.execute(sql, (_dumps(list(articles)), _dumps(list(texts))))
        return [_mention(r) for r in rows]

    def articles(self, ids: Collection[str]) -> dict[str, Article]:
        """The articles ``ids`` (those in the store) with their text, by id."""
        rows = self._conn.execute(
            f"SELECT {_ARTICLE_COLS}, text FROM articles"
            " WHERE id IN (SELECT value FROM json_each(?))",
            (_dumps(list(ids)),),
        )
        return {r[0]: _article(r, r[7]) for r in rows}

    def article_page(self, after: str, limit: int) -> list[Article]:
        """Up to ``limit`` articles (with text) whose ids come after ``after``, by id."""
        rows = self._conn.execute(
            f"SELECT {_ARTICLE_COLS}, text FROM articles WHERE id > ? ORDER BY id LIMIT ?",
            (after, limit),
        )
        return [_article(r, r[7]) for r in rows]

    def stored(self, ids: Collection[str]) -> dict[str, tuple[str, str, Article]]:
        """Of the articles ``ids`` in the store: content hash, the parser version key that
        parsed it, and its metadata (``text`` left empty), by id."""
        rows = self._conn.execute(
            f"SELECT hash, parsed_with, {_ARTICLE_COLS} FROM articles"
            " WHERE id IN (SELECT value FROM json_each(?))",
            (_dumps(list(ids)),),
        )
        return {r[2]: (r[0], r[1], _article(r[2:])) for r in rows}

    def hashes(self, ids: Collection[str]) -> dict[str, str]:
        """The content hashes of the articles ``ids`` in the store."""
        return {i: h for i, (h, _, _) in self.stored(ids).items()}

    # -- a corpus streamed in: which ids it holds (a temporary table, not in memory) -------

    def see(self, items: Sequence[tuple[str, str]]) -> tuple[str, str, str] | None:
        """Record that the input holds the article ids of ``items`` (id, where it is: a
        file and line); returns ``(id, first place, second place)`` for an id seen before."""
        self._conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, place TEXT NOT NULL)"
            " WITHOUT ROWID"
        )
        first: dict[str, str] = {}
        for art_id, place in items:
            if art_id in first:
                return art_id, first[art_id], place
            first[art_id] = place
        rows = self._conn.execute(
            "SELECT id, place FROM seen WHERE id IN (SELECT value FROM json_each(?))",
            (_dumps(list(first)),),
        ).fetchall()
        if rows:
            art_id, place = rows[0]
            return art_id, place, first[art_id]
        self._conn.executemany("INSERT INTO seen VALUES (?, ?)", items)
        return None

    def delete_unseen(self) -> int:
        """Drop every article :meth:`see` was not told of; returns how many."""
        self.see([])
        cur = self._conn.execute("DELETE FROM articles WHERE id NOT IN (SELECT id FROM seen)")
        return int(cur.rowcount)

    def known_places(self, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` have a place record, as this transaction sees it."""
        wanted = list(dict.fromkeys(ids))
        found: set[str] = set()
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(f"SELECT id FROM places WHERE id IN ({marks})", chunk)
            found.update(r[0] for r in rows)
        return found

    def drop_unused_places(self) -> None:
        """Delete place records that no mention names or lists as a candidate."""
        self._conn.execute(
            "DELETE FROM places WHERE id NOT IN (SELECT place_id FROM mentions"
            " WHERE place_id IS NOT NULL UNION SELECT parsed_place_id FROM mentions"
            " WHERE parsed_place_id IS NOT NULL UNION SELECT j.value FROM mentions,"
            " json_each(mentions.candidates) AS j)"
        )

    def put_routes(self, routes: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]) -> None:
        """Replace the routes: ``(properties, GeoJSON geometry)`` pairs in order."""
        self._conn.execute("DELETE FROM routes")
        self._conn.executemany(
            "INSERT INTO routes VALUES (?, ?, ?)",
            [(i, _dumps(p), _dumps(g)) for i, (p, g) in enumerate(routes)],
        )

    def set_meta(self, key: str, value: str) -> None:
        """Set a value of the ``meta`` table."""
        self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def meta(self, key: str, default: str = "") -> str:
        """A value of the ``meta`` table, as this transaction sees it."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else default

    def close_revision(self) -> None:
        """Number this write transaction (the store's ``revision``) and stamp the articles
        it changed with it (the triggers marked them NULL); give the store an id if it has
        none.  :func:`write` calls it last."""
        rev = int(self.meta("revision", "0") or 0) + 1
        self._conn.execute(
            "UPDATE revisions SET mentions = coalesce(mentions, ?1),"
            " article = coalesce(article, ?1) WHERE mentions IS NULL OR article IS NULL",
            (rev,),
        )
        self._conn.execute(
            "DELETE FROM revisions WHERE article_id NOT IN (SELECT id FROM articles)"
        )
        self._conn.execute(
            "INSERT INTO revisions SELECT id, ?1, ?1 FROM articles"
            " WHERE id NOT IN (SELECT article_id FROM revisions)",
            (rev,),
        )
        self.set_meta("revision", str(rev))
        self._conn.execute(
            "INSERT OR REPLACE INTO revision_log VALUES (?, ?)", (rev, uuid.uuid4().hex)
        )
        if not self.meta("store_id"):
            self.set_meta("store_id", uuid.uuid4().hex)


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def _mention_row(m: StoredMention) -> tuple[object, ...]:
    return (
        m.article_id, m.start, m.end, m.text, m.passage_start, m.passage_end, m.place_id,
        m.confidence, _dumps(list(m.candidates)), m.parsed_place_id, m.correction,
    )  # fmt: skip


@contextmanager
def write(path: Path) -> Iterator[StoreWriter]:
    """Open (creating if needed) the store at ``path`` and run one write transaction.

    Everything written inside the ``with`` block is committed together when it ends, or
    not at all if it raises (or the process dies): readers see the old state until then.
    The caller holds the build lock (:mod:`geo._lock`), so there is one writer at a time.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = _connect(path, readonly=False)
        conn.execute("PRAGMA journal_mode = WAL")
    except sqlite3.DatabaseError as err:
        msg = f"{str(path)!r} is not an atlas store ({err}); delete it and rebuild"
        raise DataFileError(msg) from err
    try:
        conn.execute("PRAGMA synchronous = FULL")
        conn.executescript(_SCHEMA)
        conn.execute("BEGIN IMMEDIATE")
        writer = StoreWriter(conn)
        schema = writer.meta("schema", SCHEMA_VERSION)
        if schema != SCHEMA_VERSION:
            msg = f"{str(path)!r} has store schema {schema!r}; delete it and rebuild"
            raise DataFileError(msg)
        writer.set_meta("schema", SCHEMA_VERSION)
        try:
            yield writer
            writer.close_revision()
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()
