"""The probe app (app.py) and its resources; `probe_env` is what a stack needs to serve it."""

from __future__ import annotations

from pathlib import Path


def probe_env(journal: Path) -> dict[str, str]:
    """The stack's settings for the probe app, whose handlers append to `journal` (made here)."""
    journal.touch()
    return {
        "DEVSTACK_APP": "tests.integration.probe_app.app:app",
        "DEVSTACK_DECLARATIONS": "tests.integration.probe_app.resources",
        "PROBE_JOURNAL": str(journal),
    }
