"""Parse many articles at once, in this process or on Dask (``dask.distributed``).

The work is cut into chunks of whole input lines (about :data:`CHUNK_BYTES` each); a chunk is
one task.  Tasks are submitted with a bounded number in flight and their results come back in
input order, so the output is the one-process output byte for byte, however many workers run
and whatever order they finish in.  A worker that dies loses nothing: its tasks are pure, and
Dask runs them again elsewhere.

Each worker process loads the parser once, from its own settings (``NEWS_ATLAS_DATA``,
``NEWS_ATLAS_CACHE``), on its first task (:func:`worker_parser`); the gazetteer never travels
with a task.  Workers parse offline (the online geocoder's rate limit is per process).

Two entry points:

* :func:`parse_chunks` — JSON lines ``{id, text}`` in (:func:`read_chunks`), output lines of
  ``python -m geo parse`` out (:class:`ChunkResult`); used by the CLI.
* :func:`parse_texts` — ``(article id, text)`` pairs in, :class:`Parsed` (the resolved and the
  unplaced toponyms, as :meth:`geo.parser.Geoparser.parse_all` returns them) out, for the build.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, TypeVar

from geo import settings as settings_mod
from geo.errors import BadInput, GeoError
from geo.model import Mention, Resolution
from geo.parser import Geoparser, load_parser, parse_record

if TYPE_CHECKING:  # distributed is imported only when a cluster is used
    from distributed import Client

#: Input bytes per task: large enough that scheduling costs little, small enough to balance.
CHUNK_BYTES = 2 * 1024 * 1024

#: Dask settings of the clusters we start.  The statistical profiler samples the parsing
#: thread's stack every 10 ms and costs pure-Python tasks about a tenth of their time; the
#: monitors (memory, system, event-loop tick) cost the client 3 % of a core and each worker
#: 2 % at their default rates, a third of that at these.
WORKER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.tick.interval": "200ms",
}

_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True, slots=True)
class Chunk:
    """A run of whole JSON lines of one input, as read, and the number of its first line."""

    source: str
    first_line: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Rejected:
    """An input line that was not parsed, and why."""

    source: str
    line: int
    reason: str
    raw: str

    @property
    def message(self) -> str:
        """The one-line error message: input, line number and problem."""
        return f"{self.source} line {self.line}: {self.reason}"

    def to_json(self) -> bytes:
        """The line of the ``*.rejected.jsonl`` file that records it."""
        obj = {"source": self.source, "line": self.line, "reason": self.reason, "raw": self.raw}
        return json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n"


@dataclass(frozen=True, slots=True)
class ChunkResult:
    """What a chunk gives: output lines (UTF-8, input order), counts and rejected lines."""

    source: str
    output: bytes
    articles: int
    nbytes: int
    rejected: tuple[Rejected, ...]


@dataclass(frozen=True, slots=True)
class Parsed:
    """One article's toponyms: the resolved ones and those that could not be placed."""

    article_id: str
    resolved: tuple[Resolution, ...]
    unplaced: tuple[Mention, ...]


# --------------------------------------------------------------------------- input lines


def read_chunks(
    stream: IO[bytes], source: str, *, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[Chunk]:
    """Cut a JSON-lines byte stream into chunks of whole lines of about ``chunk_bytes``.

    Lines are split on ``\\n`` only, as a binary file iterates, so line numbers match
    ``enumerate(stream, start=1)``.
    """
    lines: list[bytes] = []
    size, first = 0, 1
    for lineno, raw in enumerate(stream, start=1):
        lines.append(raw)
        size += len(raw)
        if size >= chunk_bytes:
            yield Chunk(source, first, b"".join(lines))
            lines, size, first = [], 0, lineno + 1
    if lines:
        yield Chunk(source, first, b"".join(lines))


def read_line(raw: bytes, lineno: int) -> tuple[object, str] | None:
    """The ``(id, text)`` of one JSON line (``None`` for a blank line).

    The id defaults to the line number.  Raises :class:`BadInput` (without the input's name)
    for a line that is not UTF-8, not JSON, not an object with a string ``text``, or whose id
    or text cannot be written back as JSON (NaN, infinity, a lone surrogate).
    """
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadInput(f"not UTF-8 (byte {err.start})") from err
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise BadInput(f"not valid JSON ({err.msg})") from err
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        raise BadInput("expected an object with a string 'text'")
    art_id, text = obj.get("id", lineno), obj["text"]
    _check_writable("id", art_id)
    _check_writable("text", text)
    return art_id, text


def _check_writable(field: str, value: object) -> None:
    """Raise :class:`BadInput` if ``value`` cannot be written as JSON in UTF-8."""
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError as err:
        char = err.object[err.start : err.start + 1]
        raise BadInput(
            f"{field!r} has a lone surrogate {char!r}, which UTF-8 cannot encode; "
            "fix or drop the line"
        ) from err
    except ValueError as err:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise BadInput(
            f"{field!r} {shown} cannot be written as JSON (NaN or infinity); use a string"
        ) from err


# --------------------------------------------------------------------------- tasks


_PARSERS: dict[tuple[str, str], Geoparser] = {}
_PARSERS_LOCK = threading.Lock()


def worker_parser() -> Geoparser:
    """This process's parser, loaded once from its own settings and kept for later tasks."""
    cfg = settings_mod.load()
    key = (str(cfg.data_dir), str(cfg.cache_dir))
    with _PARSERS_LOCK:
        if key not in _PARSERS:
            _PARSERS[key] = load_parser(cfg.data_dir, cache_dir=cfg.cache_dir, freeze=True)
        return _PARSERS[key]


def parse_chunk(chunk: Chunk, *, stop: bool = True, parser: Geoparser | None = None) -> ChunkResult:
    """Parse the lines of ``chunk`` into output lines of ``python -m geo parse``.

    A bad line is rejected with its reason; with ``stop`` the chunk ends there (the lines
    before it are kept).  Without ``parser``, the process's :func:`worker_parser` is used.
    """
    use = worker_parser() if parser is None else parser
    out: list[bytes] = []
    rejected: list[Rejected] = []
    for offset, raw in enumerate(io.BytesIO(chunk.data)):
        lineno = chunk.first_line + offset
        try:
            item = read_line(raw, lineno)
        except BadInput as err:
            shown = raw.decode("utf-8", "backslashreplace").rstrip("\r\n")
            rejected.append(Rejected(chunk.source, lineno, str(err), shown))
            if stop:
                break
            continue
        if item is not None:
            record = parse_record(use, *item)
            out.append(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
    return ChunkResult(chunk.source, b"".join(out), len(out), len(chunk.data), tuple(rejected))


def parse_batch(
    batch: tuple[tuple[str, str], ...], *, parser: Geoparser | None = None
) -> list[Parsed]:
    """Parse ``(article id, text)`` pairs (one task of :func:`parse_texts`)."""
    use = worker_parser() if parser is None else parser
    found = []
    for art_id, text in batch:
        resolved, unplaced = use.parse_all(text, article_id=art_id)
        found.append(Parsed(art_id, tuple(resolved), tuple(unplaced)))
    return found


# --------------------------------------------------------------------------- scheduling


def ordered_map(
    fn: Callable[[_T], _R],
    items: Iterable[_T],
    *,
    client: Client | None = None,
    in_flight: int | None = None,
) -> Generator[_R, None, None]:
    """``map(fn, items)``, on ``client``'s cluster when given, results in input order.

    At most ``in_flight`` tasks (default: twice the cluster's threads, at least 4) are
    submitted and not yet collected, so neither the client nor the cluster holds more than
    that many items at once.  Closing the iterator early cancels the tasks still pending.
    """
    if client is None:
        yield from map(fn, items)
        return
    threads = client.nthreads()  # type: ignore[no-untyped-call]
    limit = in_flight or max(4, 2 * sum(threads.values()))
    pending: deque[object] = deque()
    try:
        for item in items:
            pending.append(client.submit(fn, item, pure=False))
            if len(pending) >= limit:
                yield _result(pending.popleft())
        while pending:
            yield _result(pending.popleft())
    finally:
        for future in pending:
            future.cancel()  # type: ignore[attr-defined]


def _result(future: Any) -> Any:
    """The future's result; a task that killed every worker it ran on becomes a GeoError."""
    from distributed import KilledWorker  # noqa: PLC0415

    try:
        return future.result()
    except KilledWorker as err:
        raise GeoError(
            f"a task made every worker that ran it die ({err}): out of memory on a very "
            "long line? give the workers more memory or split the input"
        ) from err


def parse_chunks(
    chunks: Iterable[Chunk],
    *,
    client: Client | None = None,
    parser: Geoparser | None = None,
    stop: bool = True,
    in_flight: int | None = None,
) -> Generator[ChunkResult, None, None]:
    """Parse ``chunks`` (see :func:`read_chunks`) and yield their results in input order.

    Parameters
    ----------
    chunks
        Chunks of JSON lines, possibly from several inputs, in order.
    client
        A ``distributed.Client``: the chunks run on its workers.  ``None``: in this process.
    parser
        The parser to use in this process (only without ``client``; default: one loaded from
        the settings).  Workers always use their own :func:`worker_parser`.
    stop
        End a chunk at its first bad line (the caller then stops); otherwise skip bad lines.
    in_flight
        Tasks submitted and not yet collected (see :func:`ordered_map`).
    """
    task = functools.partial(parse_chunk, stop=stop, parser=None if client else parser)
    return ordered_map(task, chunks, client=client, in_flight=in_flight)


def parse_texts(
    items: Iterable[tuple[str, str]],
    *,
    client: Client | None = None,
    parser: Geoparser | None = None,
    batch_chars: int = CHUNK_BYTES,
) -> Iterator[Parsed]:
    """Parse ``(article id, text)`` pairs and yield one :class:`Parsed` each, in input order.

    The articles travel in batches of about ``batch_chars`` characters; ``client`` and
    ``parser`` are as in :func:`parse_chunks`.  ``items`` is read lazily, a bounded number of
    batches ahead, so it may be a generator over a corpus larger than memory.
    """
    task = functools.partial(parse_batch, parser=None if client else parser)
    for found in ordered_map(task, _batches(items, batch_chars), client=client):
        yield from found


def parse_many_on(
    client: Client,
) -> Callable[[Iterable[tuple[str, str]]], Iterator[tuple[list[Resolution], list[Mention]]]]:
    """A ``parse_many`` for :func:`geo.build.build` that parses on ``client``'s cluster.

    It yields, per ``(article id, text)`` and in order, what
    :meth:`geo.parser.Geoparser.parse_all` returns.
    """

    def parse_many(
        items: Iterable[tuple[str, str]],
    ) -> Iterator[tuple[list[Resolution], list[Mention]]]:
        for found in parse_texts(items, client=client):
            yield list(found.resolved), list(found.unplaced)

    return parse_many


def _batches(items: Iterable[tuple[str, str]], size: int) -> Iterator[tuple[tuple[str, str], ...]]:
    batch: list[tuple[str, str]] = []
    chars = 0
    for art_id, text in items:
        batch.append((art_id, text))
        chars += len(text)
        if chars >= size:
            yield tuple(batch)
            batch, chars = [], 0
    if batch:
        yield tuple(batch)


# --------------------------------------------------------------------------- clusters


def _load_worker_parser() -> None:
    worker_parser()


def warm_workers(client: Client) -> int:
    """Load the parser on every worker of ``client`` now; return the number of workers.

    One worker goes first, so that a cold gazetteer index is built once (the others then
    read it), and a worker that lacks the data reports it here, before any input is read.
    """
    workers = sorted(client.scheduler_info()["workers"])
    if not workers:
        raise BadInput("the Dask cluster has no workers: start some with `dask worker ADDRESS`")
    for group in (workers[:1], workers[1:]):
        futures = [
            client.submit(_load_worker_parser, workers=[w], pure=False, allow_other_workers=False)
            for w in group
        ]
        try:
            client.gather(futures)  # type: ignore[no-untyped-call]
        except (RuntimeError, ImportError) as err:  # geo (or dask) missing or different there
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise BadInput(
                f"the Dask cluster cannot run News Atlas tasks ({first}): the scheduler and "
                "every worker need this project importable (start them from its checkout or "
                "with PYTHONPATH set to it) and the same dask and distributed versions"
            ) from err
    return len(workers)


@contextlib.contextmanager
def local_client(workers: int) -> Iterator[Client]:
    """A ``distributed.Client`` on a new cluster of ``workers`` processes on 127.0.0.1.

    One thread per worker (parsing holds the GIL), no dashboard, :data:`WORKER_CONFIG`; the
    cluster stops on exit.  Workers inherit this process's environment, hence its settings.
    """
    import logging  # noqa: PLC0415

    import dask  # noqa: PLC0415  (heavy: only when used)
    from distributed import Client, LocalCluster  # noqa: PLC0415

    if workers < 1:
        raise BadInput(f"--workers {workers!r}: need at least one worker")
    with (
        dask.config.set(WORKER_CONFIG),
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # no dashboard; the scheduler's small HTTP server (health) on a free local port
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        yield client


@contextlib.contextmanager
def remote_client(address: str, *, timeout: float = 10.0) -> Iterator[Client]:
    """A ``distributed.Client`` connected to the running scheduler at ``address``."""
    from distributed import Client  # noqa: PLC0415  (heavy: only when used)

    try:
        client = Client(address, timeout=timeout)  # type: ignore[no-untyped-call]
    except (OSError, ValueError, TypeError) as err:
        raise BadInput(
            f"cannot reach the Dask scheduler at {address!r} ({err}); start one with "
            "`dask scheduler` and pass its tcp://HOST:PORT"
        ) from err
    with client:
        yield client
