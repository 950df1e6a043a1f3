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
from typing import IO

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
