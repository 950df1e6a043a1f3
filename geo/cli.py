"""Command line: ``python -m geo build`` and ``python -m geo parse``.

Errors the user can cause (bad input, missing data) print one clear line to stderr and exit
with status 2; they never show a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import gzip
import os
import signal
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from geo import settings as settings_mod
from geo._atomic import AtomicFile
from geo._progress import Progress
from geo.errors import BadInput, GeoError
from geo.geocode import online_fallback
from geo.parallel import (
    Chunk,
    ChunkResult,
    local_client,
    parse_chunks,
    parse_many_on,
    read_chunks,
    remote_client,
    warm_workers,
)
from geo.parser import Geoparser, load_parser

if TYPE_CHECKING:
    from distributed import Client


@dataclass(frozen=True, slots=True)
class _Job:
    """One input (a path, or ``-`` for stdin), its name in messages and its output file."""

    src: str
    name: str
    out: Path | None


def _expand(patterns: Sequence[str]) -> list[str]:
    paths: list[str] = []
    for pattern in patterns:
        if glob.has_magic(pattern):
            found = sorted(glob.glob(pattern))
            if not found:
                raise BadInput(f"no file matches {pattern!r}")
            paths += found
        else:
            paths.append(pattern)
    return paths


def _jobs(patterns: Sequence[str], out: str | None) -> list[_Job]:
    """The inputs (files, globs, ``-``) and where each one's output goes.

    One plain input: ``out`` is a file (or stdout).  Several inputs or a pattern: ``out`` is a
    folder holding one output per input, named like the input without ``.gz``.
    """
    paths = _expand(patterns)
    if len(paths) == 1 and not any(glob.has_magic(p) for p in patterns):
        src = paths[0]
        jobs = [_Job(src, "stdin" if src == "-" else repr(src), Path(out) if out else None)]
    else:
        jobs = _folder_jobs(paths, out)
    for job in jobs:
        if job.out and job.src != "-" and _same_file(job.out, Path(job.src)):
            raise BadInput(f"the output for {job.src!r} would overwrite it: choose another --out")
    return jobs


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _folder_jobs(paths: list[str], out: str | None) -> list[_Job]:
    if out is None:
        raise BadInput("several inputs (or a pattern) need --out FOLDER for their outputs")
    if "-" in paths:
        raise BadInput("stdin (-) cannot be one of several inputs")
    jobs, seen = [], set()
    for src in paths:
        name = Path(src).name.removesuffix(".gz")
        if name in seen:
            raise BadInput(f"two inputs are named {name!r}: their outputs would collide")
        seen.add(name)
        jobs.append(_Job(src, repr(src), Path(out) / name))
    return jobs


def rejected_path(out: Path) -> Path:
    """Where the rejected lines of output ``out`` go: ``NAME.rejected.jsonl`` beside it."""
    return out.with_name(out.name.removesuffix(".jsonl") + ".rejected.jsonl")


@contextlib.contextmanager
def _open_input(job: _Job) -> Iterator[IO[bytes]]:
    if job.src == "-":
        yield sys.stdin.buffer
        return
    try:
        opener = gzip.open if job.src.endswith(".gz") else open
        fh = cast("IO[bytes]", opener(job.src, "rb"))
    except OSError as err:
        raise BadInput(f"cannot read {job.src!r}: {err.strerror or err}") from err
    with fh:
        yield fh


def _chunks(jobs: Sequence[_Job], chunk_bytes: int) -> Iterator[Chunk]:
    for job in jobs:
        with _open_input(job) as src:
            try:
                yield from read_chunks(src, job.name, chunk_bytes=chunk_bytes)
            except (OSError, EOFError) as err:  # a corrupt or truncated .gz, a read error
                raise BadInput(f"cannot read {job.src!r}: {err}") from err


def _total_bytes(jobs: Sequence[_Job]) -> int | None:
    """Input bytes to parse (for the progress bar), ``None`` if unknown."""
    total = 0
    try:
        for job in jobs:
            if job.src == "-":
                return None
            if job.src.endswith(".gz"):  # gzip's trailer: the uncompressed size mod 2**32
                with open(job.src, "rb") as fh:
                    fh.seek(-4, os.SEEK_END)
                    total += int.from_bytes(fh.read(4), "little")
            else:
                total += os.path.getsize(job.src)
    except OSError:
        return None  # reading the input will report the problem
    return total


class _Sink:
    """The output (and, under ``--on-error skip``, the rejected lines) of one input."""

    def __init__(self, job: _Job, *, skip: bool) -> None:
        self.skip = skip
        try:
            self.out = AtomicFile(job.out) if job.out else None
            self.rejects = AtomicFile(rejected_path(job.out)) if job.out and skip else None
        except OSError as err:
            raise BadInput(f"cannot write {str(job.out)!r}: {err.strerror or err}") from err

    def write(self, result: ChunkResult) -> None:
        if self.out:
            self.out.write(result.output)
        else:
            sys.stdout.write(result.output.decode("utf-8"))
        for rejected in result.rejected:
            if not self.skip:
                raise BadInput(rejected.message)
            if self.rejects:
                self.rejects.write(rejected.to_json())
            else:
                print(f"warning: skipped {rejected.message}", file=sys.stderr)

    def commit(self) -> None:
        try:
            for fh in (self.rejects, self.out):
                if fh:
                    fh.commit()
        except OSError as err:
            raise BadInput(f"cannot write {str(err.filename)!r}: {err.strerror or err}") from err

    def discard(self) -> None:
        for fh in (self.out, self.rejects):
            if fh:
                fh.discard()


def _write_outputs(
    jobs: Sequence[_Job], results: Iterator[ChunkResult], *, skip: bool, progress: Progress
) -> None:
    """Write each input's results to its output, in order, committing one file at a time."""
    current, sink = 0, _Sink(jobs[0], skip=skip)
    try:
        for result in results:
            while jobs[current].name != result.source:
                sink.commit()
                current += 1
                sink = _Sink(jobs[current], skip=skip)
            sink.write(result)
            progress.update(result.articles, result.nbytes, len(result.rejected))
        sink.commit()
    except BaseException:
        sink.discard()
        raise
    for job in jobs[current + 1 :]:  # inputs with no line at all
        _Sink(job, skip=skip).commit()


@contextlib.contextmanager
def _engine(args: argparse.Namespace) -> Iterator[tuple[Client | None, Geoparser | None]]:
    """Where the parse runs: a cluster's client, or (no client) this process's parser."""
    cfg = settings_mod.load()
    if args.workers is None and args.scheduler is None:
        fallback = online_fallback(cfg)
        yield (
            None,
            load_parser(cfg.data_dir, cache_dir=cfg.cache_dir, fallback=fallback, freeze=True),
        )
        if fallback and fallback.error:
            print(f"warning: {fallback.error} (parsed offline)", file=sys.stderr)
        return
    with _cluster(args) as client:
        yield client, None


@contextlib.contextmanager
def _cluster(args: argparse.Namespace) -> Iterator[Client]:
    """A warmed client of the cluster ``--workers`` or ``--scheduler`` asks for."""
    if settings_mod.load().online:
        raise BadInput(
            "NEWS_ATLAS_ONLINE=1 works in one process only (the online geocoder's rate limit "
            "is per process): unset it, or drop --workers/--scheduler"
        )
    connect = (
        remote_client(args.scheduler) if args.scheduler is not None else local_client(args.workers)
    )
    with connect as client:
        warm_workers(client)
        yield client


def _cmd_parse(args: argparse.Namespace) -> int:
    jobs = _jobs(args.jsonl, args.out)
    skip = args.on_error == "skip"
    show = args.progress or sys.stderr.isatty()
    with _engine(args) as (client, parser), _terminate_as_exit():
        progress = Progress(sys.stderr, total_bytes=_total_bytes(jobs), show=show)
        chunks = _chunks(jobs, max(1, int(args.chunk_mb * 1e6)))
        results = parse_chunks(chunks, client=client, parser=parser, stop=not skip)
        try:
            with contextlib.closing(results):
                _write_outputs(jobs, results, skip=skip, progress=progress)
        finally:
            progress.close()
    if show or progress.rejected:
        print(progress.summary(), file=sys.stderr)
    return 0


@contextlib.contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """Turn SIGTERM into ``SystemExit`` so that half-written outputs are removed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _cmd_build(args: argparse.Namespace) -> int:
    from geo.build import build  # noqa: PLC0415  (heavy imports only for this command)

    if args.jsonl:
        return _cmd_ingest(args)
    cfg = settings_mod.load()
    seeds = Path(args.seeds) if args.seeds else None
    with contextlib.ExitStack() as stack:
        parse_many = None
        if args.workers is not None or args.scheduler is not None:

            def parse_many(items: Sequence[tuple[str, str]]) -> Any:
                # The cluster starts only once the build knows it has articles to parse.
                client = stack.enter_context(_cluster(args))
                return parse_many_on(client)(items)

        report = build(cfg, seeds_dir=seeds, wait=args.wait, parse_many=parse_many)
    print(report)
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    from geo import ingest  # noqa: PLC0415  (heavy imports only for this command)

    if args.seeds:
        raise BadInput("--seeds and --jsonl are two corpora: give one of them")
    cfg = settings_mod.load()
    paths = ingest.input_files(args.jsonl)
    show = args.progress or sys.stderr.isatty()
    progress = Progress(sys.stderr, total_bytes=ingest.total_bytes(paths), show=show)
    with contextlib.ExitStack() as stack, _terminate_as_exit():
        parse_many = None
        if args.workers is not None or args.scheduler is not None:

            def parse_many(items: Iterable[tuple[str, str]]) -> Any:
                # The cluster starts only once the build knows it has articles to parse.
                client = stack.enter_context(_cluster(args))
                return parse_many_on(client)(items)

        try:
            report = ingest.ingest(
                cfg, paths, wait=args.wait, parse_many=parse_many, progress=progress
            )
        finally:
            progress.close()
    if show:
        secs = max(progress.clock() - progress.start, 1e-9)
        print(
            f"read {progress.articles:,} articles, {progress.nbytes / 1e6:,.1f} MB in "
            f"{secs:.1f} s ({progress.nbytes / 1e6 / secs:.2f} MB/s): {report.parsed:,} parsed, "
            f"{report.removed:,} removed",
            file=sys.stderr,
        )
    print(report)
    return 0


# -- the analyst loop: add, correct, corrections, export ---------------------------------------


def _cmd_add(args: argparse.Namespace) -> int:
    from geo import edits  # noqa: PLC0415  (heavy imports only for this command)

    cfg = settings_mod.load()
    files = []
    for name in args.files:
        try:
            files.append((name, Path(name).read_bytes()))
        except OSError as err:
            raise BadInput(f"cannot read {name!r}: {err.strerror or err}") from err
    meta = {
        "title": args.title, "outlet": args.outlet, "author": args.author, "date": args.date,
        "date_approximate": args.approximate, "url": args.url,
    }  # fmt: skip
    ids, report = edits.add_articles(cfg, files, meta, wait=args.wait)
    for name, art_id in zip(args.files, ids, strict=True):
        print(f"{art_id}\t{name}")
    print(report, file=sys.stderr)
    return 0


def _fix(args: argparse.Namespace) -> Any:
    from geo import corrections, edits  # noqa: PLC0415

    if args.article is None or args.start is None or args.end is None:
        raise BadInput("give ARTICLE START END (or --undo ID)")
    if not (args.place or args.at or args.not_a_place):
        raise BadInput(
            "say what the words are: --place ID, --at LAT,LON --name NAME, or --not-a-place"
        )
    at = corrections.parse_at(args.at) if args.at else None
    if at is not None and not args.name:
        raise BadInput(f"--at {args.at!r} needs --name NAME for the place")
    if at is None and (args.name or args.kind):
        raise BadInput("--name and --kind go with --at LAT,LON")
    return edits.Fix(
        args.article, args.start, args.end, place_id=args.place, at=at, name=args.name or "",
        kind=args.kind or corrections.DEFAULT_KIND, scope=args.scope, note=args.note or "",
    )  # fmt: skip


def _cmd_correct(args: argparse.Namespace) -> int:
    from geo import corrections, edits  # noqa: PLC0415

    cfg = settings_mod.load()
    if args.undo:
        if args.article is not None or args.place or args.at or args.not_a_place:
            raise BadInput("--undo ID takes no ARTICLE, START, END or place")
        gone, report = edits.undo(cfg, args.undo, wait=args.wait)
        print(f"undone: {corrections.describe(gone)}")
    else:
        saved, report = edits.correct(cfg, _fix(args), wait=args.wait)
        print(corrections.describe(saved))
    print(report, file=sys.stderr)
    return 0


def _cmd_corrections(args: argparse.Namespace) -> int:
    from geo import corrections  # noqa: PLC0415

    cfg = settings_mod.load()
    items = corrections.load(corrections.corrections_path(cfg.data_dir))
    for c in items:
        print(corrections.describe(c))
    if not items:
        print("no corrections", file=sys.stderr)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from geo import export  # noqa: PLC0415

    cfg = settings_mod.load()
    view = export.View(
        articles=frozenset(args.article) if args.article else None,
        date_from=export.check_date(args.date_from or "", "--from"),
        date_to=export.check_date(args.date_to or "", "--to"),
    )
    out = Path(args.html)
    if out.is_dir():
        raise BadInput(f"--html {args.html!r} is a folder; give a file name such as pack.html")
    try:
        evidence = export.write_pack(cfg.data_dir, view, out)
    except OSError as err:
        raise BadInput(f"cannot write {args.html!r}: {err.strerror or err}") from err
    print(export.describe(evidence, out))
    return 0


def _span_number(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a character offset") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is negative")
    return number


def _analyst_commands(sub: Any) -> None:
    a = sub.add_parser("add", help="add article files (.txt, .md) to the corpus and build")
    a.add_argument("files", nargs="+", metavar="FILE", help="UTF-8 text files")
    for flag in ("title", "outlet", "author", "url"):
        a.add_argument(f"--{flag}", help=f"the articles' {flag}")
    a.add_argument("--date", help="YYYY-MM-DD (YYYY-MM or YYYY with --approximate)")
    a.add_argument("--approximate", action="store_true", help="the date is approximate")
    a.add_argument("--no-wait", dest="wait", action="store_false", help="fail if busy")
    a.set_defaults(func=_cmd_add)
    c = sub.add_parser("correct", help="correct the place of a mention (or undo a correction)")
    c.add_argument("article", nargs="?", help="article id")
    c.add_argument("start", nargs="?", type=_span_number, help="start offset of the words")
    c.add_argument("end", nargs="?", type=_span_number, help="end offset of the words")
    what = c.add_mutually_exclusive_group()
    what.add_argument("--place", help="a gazetteer place id (e.g. one of the runner-ups)")
    what.add_argument("--at", metavar="LAT,LON", help="coordinates of a place the gazetteer lacks")
    what.add_argument("--not-a-place", action="store_true", help="the words name no place")
    c.add_argument("--name", help="name of the place given with --at")
    c.add_argument("--kind", help="kind of the place given with --at (default: city)")
    c.add_argument("--scope", default="mention", choices=("mention", "article", "corpus"))
    c.add_argument("--note", help="why (kept in the corrections file)")
    c.add_argument("--undo", metavar="ID", help="undo the correction with this id")
    c.add_argument("--no-wait", dest="wait", action="store_false", help="fail if busy")
    c.set_defaults(func=_cmd_correct)
    ls = sub.add_parser("corrections", help="list the corrections, with their ids")
    ls.set_defaults(func=_cmd_corrections)
    e = sub.add_parser("export", help="write the evidence pack: one self-contained HTML file")
    e.add_argument("--html", required=True, metavar="OUT.html", help="file to write")
    e.add_argument("--article", action="append", metavar="ID", help="only this article (repeat)")
    e.add_argument("--from", dest="date_from", metavar="DATE", help="articles dated from DATE")
    e.add_argument("--to", dest="date_to", metavar="DATE", help="articles dated up to DATE")
    e.set_defaults(func=_cmd_export)


def make_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m geo``."""
    ap = argparse.ArgumentParser(prog="python -m geo", description="News Atlas geoparser")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("parse", help="geoparse JSON lines {id, text} into {id, toponyms}")
    p.add_argument(
        "--jsonl",
        required=True,
        nargs="+",
        help="input JSON-lines files (.gz too), glob patterns ('corpus/*.jsonl'), or - for stdin",
    )
    p.add_argument(
        "--out", help="output file (default: stdout); a folder for several inputs or a pattern"
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=int, metavar="N", help="parse on a local Dask cluster of N processes"
    )
    where.add_argument(
        "--scheduler", metavar="ADDRESS", help="parse on a running Dask cluster (tcp://HOST:PORT)"
    )
    p.add_argument(
        "--on-error",
        choices=("stop", "skip"),
        default="stop",
        help="a bad line stops the run (exit 2, default) or is skipped into NAME.rejected.jsonl",
    )
    p.add_argument(
        "--progress",
        action="store_true",
        help="show progress and a summary on stderr (default: only on a terminal)",
    )
    p.add_argument("--chunk-mb", type=float, default=2.0, help="input MB per task (default: 2)")
    p.set_defaults(func=_cmd_parse)
    b = sub.add_parser("build", help="build the GeoJSON layers from the articles")
    b.add_argument("--seeds", help="article folder (default: seeds/)")
    b.add_argument(
        "--jsonl",
        nargs="+",
        metavar="FILE",
        help="build from JSON lines {id, text, title, date, ...} instead (files, .gz, globs):"
        " they become the atlas's whole corpus",
    )
    b.add_argument(
        "--progress",
        action="store_true",
        help="with --jsonl: show progress and a summary (default: only on a terminal)",
    )
    b.add_argument("--wait", action="store_true", help="wait for a running build to finish")
    on = b.add_mutually_exclusive_group()
    on.add_argument(
        "--workers", type=int, metavar="N", help="parse changed articles on a local Dask cluster"
    )
    on.add_argument(
        "--scheduler", metavar="ADDRESS", help="parse changed articles on a running Dask cluster"
    )
    b.set_defaults(func=_cmd_build)
    _analyst_commands(sub)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = make_parser().parse_args(argv)
    try:
        settings_mod.load()  # a bad setting is reported like any other bad input
        return int(args.func(args))
    except GeoError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `python -m geo parse ... | head`
        sys.stderr.close()
        return 0
    except OSError as err:  # a read-only data folder, a full disk, an unreadable article
        where = f" {err.filename!r}" if err.filename else ""
        print(f"error: cannot read or write{where}: {err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
