"""What every bench report carries (machine, commit) and how its table reaches the README.

A report's README table sits between `<!-- bench:<name> -->` and `<!-- /bench:<name> -->`, so a
run replaces its own table and nothing else.
"""

from __future__ import annotations

import os
import platform
import subprocess
from typing import Any

from tests.support.stack import ROOT

README = ROOT / "README.md"


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpus": os.cpu_count(),
    }


def commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
    )
    return (result.stdout.strip() or "unknown") + ("+changes" if dirty.stdout.strip() else "")


def replace_readme_section(name: str, text: str) -> bool:
    """Put `text` between the section's markers in the README; False when the markers are missing."""
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    readme = README.read_text(encoding="utf-8")
    if begin not in readme or end not in readme:
        return False
    head, rest = readme.split(begin, 1)
    _, tail = rest.split(end, 1)
    README.write_text(f"{head}{begin}\n{text.strip()}\n{end}{tail}", encoding="utf-8")
    return True
