"""Schemathesis over /openapi.json, with valid credentials: generated requests for every
operation must never get a 5xx, and every response must match what the document says.

Run through its CLI: its pytest plugin does not load under this pytest version, and the CLI
is the interface it keeps stable.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.e2e.users import new_user

EXAMPLES_PER_OPERATION = 8
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"


def test_generated_requests_never_get_a_5xx(stack, api, tally, tmp_path):
    # An account of its own, and its session never ended: a generated logout would end it, and
    # every later request would test nothing but the 401 (logout has tests of its own).
    auth = new_user(api, "fuzz")
    seen = len(stack.logs("request"))
    report = tmp_path / "run.json"
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        stack.endpoints["openapi"],
        "--checks",
        CHECKS,
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        "20261123",
        "--generation-deterministic",
        "--request-timeout",
        "10",
        "--header",
        f"Authorization:{auth['Authorization']}",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--no-color",
        "--exclude-path-regex",
        "/auth/logout",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    summary = json.loads(report.read_text()) if report.exists() else {}
    tally["inputs fuzzed"] += _count_requests(summary)
    assert result.returncode == 0, result.stdout[-12000:]
    # A run that tested nothing would pass the checks trivially.
    assert summary["operations"]["tested"] >= 40
    assert _count_requests(summary) > 200
    answered = [line["status"] for line in stack.logs("request")[seen:]]
    assert sum(status == 401 for status in answered) < len(answered) / 4, "most requests never got past the 401"


def _count_requests(summary: dict) -> int:
    """Test cases the run generated, from its JSON report."""
    return int((summary.get("test_cases") or {}).get("generated", 0))
