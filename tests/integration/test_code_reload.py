"""A running stack picks up a code change: the API and the event handlers switch to it, the
embedded services and their data stay, and code that does not import leaves the old serving."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests

from tests.support.stack import ROOT, start_stack, wait_for

RESOURCES = """
from chalicelib.resources import Key, TableSpec, declare

declare(TableSpec(key="reload-notes", hash_key=Key("pk"), stream=True))
"""

APP = """
import json
import os

from chalice import Chalice

import reloadprobe.resources  # noqa: F401
from chalicelib import clients
from chalicelib.config import get_settings
from chalicelib.resources import stream_arn

VERSION = "@VERSION@"
app = Chalice(app_name="reloadprobe")
TABLE = get_settings().resource_name("reload-notes")


@app.route("/version")
def version():
    return {"version": VERSION}


@app.route("/notes/{key}", methods=["PUT"])
def put_note(key):
    clients.aws("dynamodb").put_item(TableName=TABLE, Item={"pk": {"S": key}})
    return {"key": key}


@app.route("/notes/{key}")
def get_note(key):
    return {"found": "Item" in clients.aws("dynamodb").get_item(TableName=TABLE, Key={"pk": {"S": key}})}


@app.on_dynamodb_record(stream_arn=stream_arn("reload-notes"), starting_position="TRIM_HORIZON")
def on_note(event):
    with open(os.environ["PROBE_JOURNAL"], "a") as out:
        for record in event:
            out.write(json.dumps({"key": record.keys["pk"]["S"], "version": VERSION}) + "\\n")
"""


def write_app(package: Path, version: str, broken: bool = False) -> None:
    source = APP.replace("@VERSION@", version)
    if broken:
        source = source.replace("def version():", "def version(:")
    (package / "app.py").write_text(source)


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    root = tmp_path_factory.mktemp("reload")
    package = root / "reloadprobe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "resources.py").write_text(RESOURCES)
    write_app(package, "one")
    journal = root / "journal.jsonl"
    journal.touch()
    stack = start_stack(
        {
            "DEVSTACK_APP": "reloadprobe.app:app",
            "DEVSTACK_DECLARATIONS": "reloadprobe.resources",
            "DEVSTACK_RELOAD": "true",
            "DEVSTACK_RELOAD_POLL_S": "0.1",
            "PYTHONPATH": os.pathsep.join([str(root), str(ROOT)]),
            "PROBE_JOURNAL": str(journal),
        }
    )
    yield stack, package, journal
    stack.stop()


def delivered(journal: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in journal.read_text().splitlines()]


def reloads(stack, message: str, count: int) -> list[dict]:
    return wait_for(lambda: (found := stack.logs(message)) and len(found) >= count and found, timeout_s=20)


def test_a_change_reloads_api_and_handlers_and_keeps_the_data(probe):
    stack, package, journal = probe
    api, before = stack.endpoints["api"], requests.get(stack.endpoints["control"], timeout=10).json()
    assert requests.get(f"{api}/version", timeout=10).json() == {"version": "one"}
    assert requests.put(f"{api}/notes/a", timeout=10).ok
    wait_for(lambda: delivered(journal) == [{"key": "a", "version": "one"}])

    write_app(package, "two")
    reloaded = reloads(stack, "code reloaded", 1)[0]
    assert [Path(path).name for path in reloaded["changed"]] == ["app.py"]
    assert reloaded["handlers"] == ["on_note"] and reloaded["runtime"]["kept"] == ["stream:on_note"]
    assert requests.get(f"{api}/version", timeout=10).json() == {"version": "two"}
    assert requests.get(f"{api}/notes/a", timeout=10).json() == {"found": True}
    assert requests.put(f"{api}/notes/b", timeout=10).ok
    stack.settle()
    # The new handler got the new write, and the poller kept its place: `a` was not delivered again.
    assert delivered(journal) == [{"key": "a", "version": "one"}, {"key": "b", "version": "two"}]
    after = requests.get(stack.endpoints["control"], timeout=10).json()
    assert after["endpoints"] == before["endpoints"], "moto, OpenSearch and Redis kept running"
    assert after["code"]["generation"] == 1


def test_code_that_does_not_import_leaves_the_old_code_serving(probe):
    stack, package, _ = probe
    api = stack.endpoints["api"]
    write_app(package, "three", broken=True)
    failed = reloads(stack, "code reload failed; the previous code keeps serving", 1)[0]
    assert failed["error"]["type"] == "SyntaxError"
    assert Path(failed["error"]["file"]).name == "app.py" and failed["error"]["line"]
    assert any(line.startswith("reload failed") for line in stack.lines), "the error is printed"
    assert requests.get(f"{api}/version", timeout=10).json() == {"version": "two"}
    assert requests.get(f"{api}/notes/b", timeout=10).json() == {"found": True}

    write_app(package, "three")
    reloads(stack, "code reloaded", 2)
    assert requests.get(f"{api}/version", timeout=10).json() == {"version": "three"}
