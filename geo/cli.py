"""Command line: ``python -m geo build`` and ``python -m geo parse``.

Errors the user can cause (bad input, missing data) print one clear line to stderr and exit
with status 2; they never show a traceback.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from geo import settings as settings_mod
from geo._atomic import atomic_write_text
from geo.errors import BadInput, GeoError
from geo.geocode import online_fallback
from geo.parser import Geoparser, load_parser, parse_record


def _lines(stream: IO[bytes], name: str) -> Iterator[tuple[int, str, str]]:
    """Yield ``(line number, id, text)`` from a JSON-lines byte stream, validating each."""
    for lineno, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise BadInput(f"{name} line {lineno}: not UTF-8 (byte {err.start})") from err
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise BadInput(f"{name} line {lineno}: not valid JSON ({err.msg})") from err
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise BadInput(f"{name} line {lineno}: expected an object with a string 'text'")
        yield lineno, obj.get("id", lineno), obj["text"]


def run_parse(src: IO[bytes], dst: IO[str], parser: Geoparser, *, name: str) -> int:
    """Parse every JSON line of ``src`` into ``dst``; returns the number of lines written."""
    count = 0
    for _, art_id, text in _lines(src, name):
        record = parse_record(parser, art_id, text)
        dst.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def _cmd_parse(args: argparse.Namespace) -> int:
    cfg = settings_mod.load()
    fallback = online_fallback(cfg)
    parser = load_parser(cfg.data_dir, cache_dir=cfg.cache_dir, fallback=fallback, freeze=True)
    name = "stdin" if args.jsonl == "-" else repr(args.jsonl)
    if args.jsonl == "-":
        status = _parse_to(sys.stdin.buffer, args.out, parser, name)
    else:
        try:
            with open(args.jsonl, "rb") as src:
                status = _parse_to(src, args.out, parser, name)
        except OSError as err:
            raise BadInput(f"cannot read {args.jsonl!r}: {err.strerror}") from err
    if fallback and fallback.error:
        print(f"warning: {fallback.error} (parsed offline)", file=sys.stderr)
    return status


def _parse_to(src: IO[bytes], out: str | None, parser: Geoparser, name: str) -> int:
    if out is None:
        run_parse(src, sys.stdout, parser, name=name)
        return 0

    buffer = io.StringIO()
    run_parse(src, buffer, parser, name=name)
    try:
        atomic_write_text(Path(out), buffer.getvalue())
    except OSError as err:
        raise BadInput(f"cannot write {out!r}: {err.strerror or err}") from err
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    from geo.build import build  # noqa: PLC0415  (heavy imports only for this command)

    cfg = settings_mod.load()
    report = build(cfg, seeds_dir=Path(args.seeds) if args.seeds else None, wait=args.wait)
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
    p.add_argument("--jsonl", required=True, help="input JSON-lines file, or - for stdin")
    p.add_argument("--out", help="output file (default: stdout)")
    p.set_defaults(func=_cmd_parse)
    b = sub.add_parser("build", help="build the GeoJSON layers from the articles")
    b.add_argument("--seeds", help="article folder (default: seeds/)")
    b.add_argument("--wait", action="store_true", help="wait for a running build to finish")
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
