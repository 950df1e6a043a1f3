"""Derive the recognizer's word lists in ``data/recognizer/``.

``common_words.txt``: English words that are also place names.
``given_names.txt``: common given names (US Census 1990 frequency lists, shipped by the
``names`` package, MIT; the census data is public domain), to tell "John Bolton" and
"Andrew Jordan" from places.
``english_words.txt.gz``: all lower-case English words (to tell "Toronto Police" from
"Vladimir Putin": an organisation's name goes on with ordinary words, a person's does not).

A capitalised "Reading", "Mobile", "Nice" or "March" is a place only when the context says
so.  This script lists the lower-case words of an English dictionary that are also a one-word
name in the gazetteer; the recognizer asks for place evidence before accepting them.

Source: the SCOWL-derived word lists of Debian's ``wamerican`` and ``wbritish`` packages
(``apt-get install wamerican wbritish``; /usr/share/dict/*-english, copyright Kevin Atkinson
and others, free to use, copy and distribute, see /usr/share/doc/wamerican/copyright).
Its lower-case entries are common words; capitalised entries (proper nouns) are skipped.

Usage::

    python scripts/build_lexicon.py [--dict /usr/share/dict/american-english]
"""

from __future__ import annotations

import argparse
import gzip
import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from geo import gazetteer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dict",
        type=Path,
        nargs="+",
        default=[Path("/usr/share/dict/american-english"), Path("/usr/share/dict/british-english")],
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "data" / "recognizer" / "common_words.txt"
    )
    args = parser.parse_args()
    words = {
        w.strip()
        for path in args.dict
        for w in path.read_text(encoding="utf-8").splitlines()
        if w.strip().isalpha() and w.strip().islower()
    }
    gaz = gazetteer.load(ROOT / "data")
    keep = sorted(w for w in words if gaz.has_key(gazetteer.normalize(w)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    english = args.out.parent / "english_words.txt.gz"
    fd, tmp = tempfile.mkstemp(dir=args.out.parent, suffix=".tmp")
    with (
        os.fdopen(fd, "wb") as out,
        gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as fh,
    ):
        fh.write(("\n".join(sorted(w for w in words if len(w) >= 3)) + "\n").encode("utf-8"))
    os.replace(tmp, english)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=args.out.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(
            "# English words that are also gazetteer names; built by scripts/build_lexicon.py\n"
        )
        fh.write("\n".join(keep) + "\n")
    os.replace(tmp, args.out)
    given = _given_names()
    fd, tmp = tempfile.mkstemp(dir=args.out.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("# Given names with frequency >= 0.01% in the US Census 1990 lists\n")
        fh.write("\n".join(given) + "\n")
    os.replace(tmp, args.out.parent / "given_names.txt")
    langs = write_languages(args.out.parent)
    print(
        f"{len(keep)} ambiguous common words, {len(given)} given names, {langs} languages "
        f"-> {args.out.parent}"
    )


def _languages() -> list[str]:
    """The one-word English names of the ISO 639-1 languages ("english", "arabic"), through
    the ``pycountry`` package (its ISO 639 data)."""
    import pycountry  # build-time only dependency (requirements-build.txt)

    out = set()
    for lang in pycountry.languages:
        if hasattr(lang, "alpha_2"):
            for part in lang.name.split(";"):
                name = part.split(" (")[0].strip()  # "Modern Greek (1453-)"
                if name.isalpha():  # one word: not "Church Slavic"
                    out.add(name.lower())
    return sorted(out)


def write_languages(folder: Path) -> int:
    """Write ``languages.txt`` into ``folder`` (atomically); returns how many."""
    langs = _languages()
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("# One-word English names of the ISO 639-1 languages (pycountry); built by\n")
        fh.write("# scripts/build_lexicon.py\n")
        fh.write("\n".join(langs) + "\n")
    os.replace(tmp, folder / "languages.txt")
    return len(langs)


def _given_names(min_percent: float = 0.01) -> list[str]:
    import names  # build-time only dependency (requirements-build.txt)

    folder = Path(names.__file__).parent
    out = set()
    for name in ("dist.male.first", "dist.female.first"):
        for line in (folder / name).read_text(encoding="ascii").splitlines():
            parts = line.split()
            if len(parts) >= 2 and float(parts[1]) >= min_percent:
                out.add(parts[0].lower())
    return sorted(out)


if __name__ == "__main__":
    main()
