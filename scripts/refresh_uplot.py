"""Refresh the console's vendored chart library (uPlot) from the npm registry.

    make vendor-uplot                 # the latest release
    make vendor-uplot VERSION=1.6.32  # a given one

`npm pack` downloads the release tarball and checks it against the registry's integrity hash;
the files the console serves are copied into chalicelib/console/vendor/uplot/ beside the
licence, and VENDORED.json records the version, licence, tarball integrity and each file's
sha256 (tests/unit/test_console.py checks the files still match it).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "uplot"
ROOT = Path(__file__).resolve().parents[1]
DEST = ROOT / "chalicelib" / "console" / "vendor" / "uplot"
# Inside the tarball: what the console loads, and the licence that must travel with it.
FILES = {"package/dist/uPlot.iife.min.js": "uPlot.iife.min.js", "package/dist/uPlot.min.css": "uPlot.min.css"}
LICENSE = "package/LICENSE"


def main(version: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        packed = subprocess.run(
            ["npm", "pack", f"{PACKAGE}@{version}", "--json", "--pack-destination", tmp],
            check=True,
            capture_output=True,
            text=True,
        )
        (release,) = json.loads(packed.stdout)
        with tarfile.open(Path(tmp) / release["filename"]) as tar:
            tar.extractall(tmp, filter="data")
        manifest = json.loads((Path(tmp) / "package" / "package.json").read_text())
        DEST.mkdir(parents=True, exist_ok=True)
        for old in DEST.iterdir():
            old.unlink()
        shutil.copy(Path(tmp) / LICENSE, DEST / "LICENSE")
        for source, name in FILES.items():
            shutil.copy(Path(tmp) / source, DEST / name)
    record = {
        "name": release["name"],
        "version": release["version"],
        "license": manifest["license"],
        "integrity": release["integrity"],
        "files": {name: hashlib.sha256((DEST / name).read_bytes()).hexdigest() for name in sorted(FILES.values())},
    }
    (DEST / "VENDORED.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"{record['name']} {record['version']} ({record['license']}) -> {DEST.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "latest")
