"""Vendor the JS/CSS/font/image files the folium map needs, so it works air-gapped.

Usage::

    python scripts/vendor_assets.py [OUT_DIR]      # default: static/vendor

Each npm package is fetched with ``npm pack`` into a temporary folder (the tarballs are never
kept), and only the files the map loads are copied to ``OUT_DIR/<package>/<file>``, together
with the package's licence text.  Source maps are dropped and their ``sourceMappingURL``
comments removed.  ``OUT_DIR/MANIFEST.json`` records package, version, licence and the
SHA-256 of every file.  The versions are the ones folium 0.20's ``default_js``/``default_css``
(and those of the plugins used by ``geo/mapview.py``) point to; the mapping from folium's asset
names to these files lives in ``geo/assets.py``.

Two files are not in any npm package and are generated here (see the manifest's ``note``):

* ``awesome-rotate/leaflet.awesome.rotate.css`` - folium's own tiny ``fa-rotate-N`` rules;
* ``glyphicons/bootstrap-glyphicons.css`` - the Glyphicons rules of Bootstrap 3.4.1's
  ``bootstrap.css`` (folium still links the 3.0.0 ``bootstrap-glyphicons.css`` from a CDN).

Font Awesome's CSS is trimmed to its woff2 fonts (every browser that runs Leaflet 1.9 reads
woff2), which keeps the folder small.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

Transform = Callable[[bytes], bytes]


def _strip_sourcemap(data: bytes) -> bytes:
    return re.sub(rb"\n?/[/*][#@] sourceMappingURL=[^\n]*", b"", data)


def _woff2_only(data: bytes) -> bytes:
    """Drop the ``.ttf`` fallbacks from Font Awesome's ``@font-face`` rules."""
    data = re.sub(rb',url\([^)]*\.ttf\) format\("truetype"\)', b"", data)
    return _strip_sourcemap(data)


@dataclass(frozen=True)
class Package:
    """One npm package and the files taken from it: ``(path in tarball, path in OUT_DIR)``."""

    spec: str
    folder: str
    files: tuple[tuple[str, str], ...]
    licence_file: str | None
    transforms: tuple[tuple[str, Transform], ...] = ()


PACKAGES = (
    Package(
        "leaflet@1.9.3",
        "leaflet",
        (
            ("dist/leaflet.js", "leaflet.js"),
            ("dist/leaflet.css", "leaflet.css"),
            *(
                (f"dist/images/{name}", f"images/{name}")
                for name in (
                    "layers.png",
                    "layers-2x.png",
                    "marker-icon.png",
                    "marker-icon-2x.png",
                    "marker-shadow.png",
                )
            ),
        ),
        "LICENSE",
    ),
    Package("jquery@3.7.1", "jquery", (("dist/jquery.min.js", "jquery.min.js"),), "LICENSE.txt"),
    Package(
        "bootstrap@5.2.2",
        "bootstrap",
        (
            ("dist/js/bootstrap.bundle.min.js", "bootstrap.bundle.min.js"),
            ("dist/css/bootstrap.min.css", "bootstrap.min.css"),
        ),
        "LICENSE",
    ),
    Package(
        "bootstrap@3.4.1",
        "glyphicons",
        (
            (
                "dist/fonts/glyphicons-halflings-regular.woff2",
                "fonts/glyphicons-halflings-regular.woff2",
            ),
            (
                "dist/fonts/glyphicons-halflings-regular.woff",
                "fonts/glyphicons-halflings-regular.woff",
            ),
        ),
        "LICENSE",
    ),
    Package(
        "@fortawesome/fontawesome-free@6.2.0",
        "fontawesome",
        (
            ("css/all.min.css", "css/all.min.css"),
            *(
                (f"webfonts/{n}.woff2", f"webfonts/{n}.woff2")
                for n in ("fa-brands-400", "fa-regular-400", "fa-solid-900", "fa-v4compatibility")
            ),
        ),
        "LICENSE.txt",
        (("css/all.min.css", _woff2_only),),
    ),
    Package(
        "drmonty-leaflet-awesome-markers@2.0.2",
        "awesome-markers",
        (
            ("js/leaflet.awesome-markers.min.js", "leaflet.awesome-markers.min.js"),
            ("css/leaflet.awesome-markers.css", "leaflet.awesome-markers.css"),
            *(
                (f"css/images/{n}", f"images/{n}")
                for n in (
                    "markers-soft.png",
                    "markers-soft@2x.png",
                    "markers-shadow.png",
                    "markers-shadow@2x.png",
                )
            ),
        ),
        None,
    ),
    Package(
        "leaflet.markercluster@1.1.0",
        "markercluster",
        (
            ("dist/leaflet.markercluster.js", "leaflet.markercluster.js"),
            ("dist/MarkerCluster.css", "MarkerCluster.css"),
            ("dist/MarkerCluster.Default.css", "MarkerCluster.Default.css"),
        ),
        "MIT-LICENCE.txt",
    ),
    Package(
        "leaflet.fullscreen@3.0.0",
        "fullscreen",
        (
            ("Control.FullScreen.js", "Control.FullScreen.js"),
            ("Control.FullScreen.css", "Control.FullScreen.css"),
            ("icon-fullscreen.svg", "icon-fullscreen.svg"),
        ),
        "LICENSE",
    ),
    Package(
        "leaflet-measure@2.1.7",
        "measure",
        (
            ("dist/leaflet-measure.min.js", "leaflet-measure.min.js"),
            ("dist/leaflet-measure.css", "leaflet-measure.css"),
            *(
                (f"dist/images/{n}{s}.png", f"images/{n}{s}.png")
                for n in ("cancel", "check", "focus", "rulers", "start", "trash")
                for s in ("", "_@2X")
            ),
        ),
        "LICENSE",
    ),
    Package(
        "leaflet-mouse-position@1.2.0",
        "mouseposition",
        (
            ("src/L.Control.MousePosition.js", "L.Control.MousePosition.js"),
            ("src/L.Control.MousePosition.css", "L.Control.MousePosition.css"),
        ),
        "MIT-LICENCE.txt",
    ),
)

NOTES = {
    "drmonty-leaflet-awesome-markers": "npm mirror of lvoogdt/Leaflet.awesome-markers 2.0.2, "
    "MIT per its package.json; the tarball carries no licence file.",
    "bootstrap@3.4.1": "only the Glyphicons Halflings fonts; glyphicons/bootstrap-glyphicons.css "
    "is extracted from this package's dist/css/bootstrap.css by this script.",
    "leaflet.fullscreen": "npm has no Control.FullScreen.min.js (folium links a CDN-minified "
    "copy); the unminified 8 kB file is vendored instead.",
}


def npm_pack(spec: str, workdir: Path) -> tuple[Path, dict[str, object]]:
    """Fetch ``spec`` with ``npm pack`` and unpack it; return its folder and package.json."""
    out = subprocess.run(
        ["npm", "pack", spec, "--silent", "--pack-destination", str(workdir)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    dest = workdir / spec.replace("/", "_").replace("@", "_")
    with tarfile.open(workdir / out) as tar:
        tar.extractall(dest, filter="data")
    (workdir / out).unlink()
    package_dir = dest / "package"
    meta = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
    return package_dir, meta


def _licence_of(meta: dict[str, object]) -> str:
    licence = meta.get("license")
    if isinstance(licence, str):
        return licence
    licences = meta.get("licenses")
    if isinstance(licences, list) and licences:
        return str(licences[0].get("type", ""))
    return ""


def copy_package(pkg: Package, src: Path, out: Path) -> list[str]:
    """Copy ``pkg``'s files from the unpacked ``src`` into ``out/pkg.folder``; list them."""
    transforms = dict(pkg.transforms)
    written = []
    for inner, rel in pkg.files:
        data = (src / inner).read_bytes()
        data = (
            transforms.get(inner, _strip_sourcemap)(data)
            if inner.endswith((".js", ".css"))
            else data
        )
        target = out / pkg.folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(f"{pkg.folder}/{rel}")
    if pkg.licence_file:
        shutil.copyfile(src / pkg.licence_file, out / pkg.folder / f"LICENSE-{_slug(pkg.spec)}")
        written.append(f"{pkg.folder}/LICENSE-{_slug(pkg.spec)}")
    return written


def _slug(spec: str) -> str:
    return spec.lstrip("@").rsplit("@", 1)[0].replace("/", "-")


_GLYPH_FONT_FACE = """@font-face {
  font-family: "Glyphicons Halflings";
  src: url("fonts/glyphicons-halflings-regular.woff2") format("woff2"),
    url("fonts/glyphicons-halflings-regular.woff") format("woff");
}
"""


def glyphicons_css(bootstrap3_css: str) -> str:
    """Extract the ``.glyphicon`` rules of Bootstrap 3's ``bootstrap.css``."""
    rules = [
        m.group(0).strip()
        for m in re.finditer(r"([^{}]+)\{[^{}]*\}", bootstrap3_css)
        if all(sel.strip().startswith(".glyphicon") for sel in m.group(1).split(","))
    ]
    header = "/* Glyphicons rules extracted from Bootstrap 3.4.1 (MIT) by vendor_assets.py */\n"
    return header + _GLYPH_FONT_FACE + "\n".join(rules) + "\n"


def rotate_css() -> str:
    """Folium's ``leaflet.awesome.rotate.css``: one ``fa-rotate-N`` class per degree.

    No npm package carries this file (folium links it from its own GitHub repository), so an
    equivalent is generated here.
    """
    lines = [
        "/* Equivalent of folium's leaflet.awesome.rotate.css, generated by vendor_assets.py */"
    ]
    lines += [f".fa-rotate-{d}{{transform:rotate({d}deg)}}" for d in range(360)]
    return "\n".join(lines) + "\n"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _entry(pkg: Package, meta: dict[str, object], files: list[str], out: Path) -> dict[str, object]:
    entry: dict[str, object] = {
        "package": meta["name"],
        "version": meta["version"],
        "licence": _licence_of(meta),
        "folder": pkg.folder,
        "files": {f: _sha256(out / f) for f in files},
    }
    note = NOTES.get(str(meta["name"])) or NOTES.get(pkg.spec)
    if note:
        entry["note"] = note
    return entry


def _generated(out: Path) -> list[dict[str, object]]:
    (out / "awesome-rotate").mkdir(parents=True, exist_ok=True)
    (out / "awesome-rotate/leaflet.awesome.rotate.css").write_text(rotate_css(), encoding="utf-8")
    files = ["awesome-rotate/leaflet.awesome.rotate.css"]
    return [
        {
            "package": "folium leaflet.awesome.rotate.css (generated)",
            "version": "folium 0.20.0",
            "licence": "MIT",
            "folder": "awesome-rotate",
            "files": {f: _sha256(out / f) for f in files},
            "note": "not on npm; equivalent rules generated by scripts/vendor_assets.py",
        }
    ]


def vendor(out: Path) -> dict[str, object]:
    """Fetch every package, copy the needed files into ``out`` and write ``MANIFEST.json``."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    entries = []
    with tempfile.TemporaryDirectory() as tmp:
        for pkg in PACKAGES:
            src, meta = npm_pack(pkg.spec, Path(tmp))
            files = copy_package(pkg, src, out)
            if pkg.folder == "glyphicons":
                css = glyphicons_css((src / "dist/css/bootstrap.css").read_text(encoding="utf-8"))
                (out / "glyphicons/bootstrap-glyphicons.css").write_text(css, encoding="utf-8")
                files.append("glyphicons/bootstrap-glyphicons.css")
            entries.append(_entry(pkg, meta, files, out))
    entries += _generated(out)
    manifest = {"generated_by": "scripts/vendor_assets.py", "packages": entries}
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    (out / "MANIFEST.json").write_text(text, encoding="utf-8")
    return manifest


def main(argv: list[str]) -> int:
    """Command-line entry point."""
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "static" / "vendor"
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-"))
    try:
        manifest = vendor(staging)  # a failed download leaves the old folder as it was
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = out.with_name(f".{out.name}-old")
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"vendored {len(manifest['packages'])} packages into {out} ({total / 1024:.0f} kB)")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
