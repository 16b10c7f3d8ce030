"""The console's files: its page, scripts and styles, and the vendored chart library.

Every asset is served under one version segment, a hash of all of them
(`/console/assets/<version>/app.js`). The scripts import each other by relative URL
(`./api.js`), which stays inside that segment, so no build step has to rewrite imports; the
assets can be cached as immutable because a change to any file moves every URL at once. The
page itself names the version and is revalidated on every load (no-cache).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

PAGE = "index.html"
ASSETS_PLACEHOLDER = "{{assets}}"
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml; charset=utf-8",
}
# What the console loads from the vendored release (vendor/uplot/VENDORED.json says which one).
VENDORED = ("uPlot.iife.min.js", "uPlot.min.css")


@dataclass(frozen=True)
class Asset:
    body: str
    content_type: str


@dataclass(frozen=True)
class Bundle:
    version: str
    assets: dict[str, Asset]
    page_template: str

    def page(self, base_path: str) -> str:
        """The HTML page, its asset URLs absolute below the prefix the API is mounted under."""
        return self.page_template.replace(ASSETS_PLACEHOLDER, f"{base_path}/console/assets/{self.version}")


def load(static: Traversable, vendor: Traversable) -> Bundle:
    files = [entry for entry in static.iterdir() if entry.name != PAGE and _content_type(entry.name)]
    files += [vendor.joinpath(name) for name in VENDORED]
    assets = {entry.name: Asset(entry.read_text(encoding="utf-8"), _content_type(entry.name)) for entry in files}
    digest = hashlib.sha256()
    for name in sorted(assets):
        digest.update(name.encode() + b"\0" + assets[name].body.encode() + b"\0")
    return Bundle(digest.hexdigest()[:16], assets, static.joinpath(PAGE).read_text(encoding="utf-8"))


@functools.cache
def bundle() -> Bundle:
    package = resources.files(__package__)
    return load(package.joinpath("static"), package.joinpath("vendor", "uplot"))


def _content_type(name: str) -> str:
    dot = name.rfind(".")
    return CONTENT_TYPES.get(name[dot:], "") if dot > 0 else ""
