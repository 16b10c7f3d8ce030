"""The console's routes and files, in-process: content types, caching, its own CSP, asset
versions, the base path, and the vendored chart library as VENDORED.json records it. What the
page does in a browser is tested in tests/e2e/console."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from app import app as real_app
from chalicelib.console import bundle as console_bundle
from chalicelib.console.routes import CONSOLE_CSP
from chalicelib.http.errors import PROBLEM_CONTENT_TYPE

PACKAGE = Path(console_bundle.__file__).parent
STATIC = PACKAGE / "static"
VENDOR = PACKAGE / "vendor" / "uplot"


class Page(HTMLParser):
    """What an HTML page loads, and anything inline a strict CSP would refuse."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "style" in found or any(name.startswith("on") for name in found):
            self.inline.append(f"<{tag}> attribute")
        if tag == "style":
            self.inline.append("<style>")
        if tag == "script":
            self._in_script = True
            if not found.get("src"):
                self.inline.append("<script> without src")
        for name in ("src", "href"):
            url = found.get(name)
            if url and url.startswith("/"):
                self.urls.append(url)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append("script text")


@pytest.fixture(scope="module")
def client() -> Any:
    with Client(real_app) as test_client:
        yield test_client.http


def parsed(body: bytes) -> Page:
    page = Page()
    page.feed(body.decode("utf-8"))
    return page


def test_page_is_html_revalidated_each_load_with_its_own_csp(client: Any) -> None:
    response = client.get("/console")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    directives = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in CONSOLE_CSP


def test_each_load_of_the_page_carries_its_own_request_id(client: Any) -> None:
    for request_id in ("a" * 32, "b" * 32):
        assert client.get("/console", headers={"X-Request-Id": request_id}).headers["X-Request-Id"] == request_id


def test_api_responses_keep_the_apis_strict_csp(client: Any) -> None:
    assert client.get("/health/live").headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_page_loads_nothing_inline_and_only_current_assets(client: Any) -> None:
    page = parsed(client.get("/console").body)
    assert page.inline == []
    version = console_bundle.bundle().version
    assert page.urls and all(url.startswith(f"/console/assets/{version}/") for url in page.urls)
    for url in page.urls:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    ("asset", "content_type"),
    [
        ("app.js", "text/javascript; charset=utf-8"),
        ("uPlot.iife.min.js", "text/javascript; charset=utf-8"),
        ("console.css", "text/css; charset=utf-8"),
        ("uPlot.min.css", "text/css; charset=utf-8"),
        ("icon.svg", "image/svg+xml; charset=utf-8"),
    ],
)
def test_assets_are_served_immutable_with_their_media_type(client: Any, asset: str, content_type: str) -> None:
    response = client.get(f"/console/assets/{console_bundle.bundle().version}/{asset}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.body


@pytest.mark.parametrize("asset", ["index.html", "nope.js", "LICENSE", "VENDORED.json", "..%2Froutes.py"])
def test_anything_else_is_a_404_problem(client: Any, asset: str) -> None:
    response = client.get(f"/console/assets/{console_bundle.bundle().version}/{asset}")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == PROBLEM_CONTENT_TYPE


def test_an_old_version_is_a_404_not_todays_files_under_an_immutable_url(client: Any) -> None:
    # Served under the old URL, today's app.js would be cached as that version's for a year.
    response = client.get("/console/assets/0123456789abcdef/app.js")
    assert response.status_code == 404


def test_page_below_a_stage_prefix_links_its_assets_below_it_too() -> None:
    event = {
        "requestContext": {"httpMethod": "GET", "resourcePath": "/console", "path": "/api/console"},
        "headers": {},
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "body": None,
    }
    response = real_app(event, None)
    assert response["statusCode"] == 200
    urls = parsed(response["body"].encode()).urls
    assert urls and all(url.startswith("/api/console/assets/") for url in urls)


def test_version_is_a_hash_of_every_asset(tmp_path: Path) -> None:
    static, vendor = tmp_path / "static", tmp_path / "vendor"
    shutil.copytree(STATIC, static)
    shutil.copytree(VENDOR, vendor)
    before = console_bundle.load(static, vendor)
    assert before.version == console_bundle.bundle().version
    (vendor / "uPlot.min.css").write_text((vendor / "uPlot.min.css").read_text() + "\n/* edited */\n")
    assert console_bundle.load(static, vendor).version != before.version


def test_vendored_library_is_the_recorded_release() -> None:
    record = json.loads((VENDOR / "VENDORED.json").read_text())
    assert (record["name"], record["license"]) == ("uplot", "MIT")
    assert re.fullmatch(r"\d+\.\d+\.\d+", record["version"])
    assert set(record["files"]) == set(console_bundle.VENDORED)
    for name, digest in record["files"].items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, f"{name} was edited by hand"
    assert "MIT License" in (VENDOR / "LICENSE").read_text()


def test_scripts_never_write_markup_or_inline_styles() -> None:
    # Values from the API (log messages, dashboard names) become text nodes only, and the CSP
    # has no 'unsafe-inline' for a style attribute or an eval.
    forbidden = re.compile(
        r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML\(|document\.write\("
        r"|setAttribute\([\"']style|\beval\(|new Function\("
    )
    for script in STATIC.glob("*.js"):
        assert not forbidden.search(script.read_text()), script.name
