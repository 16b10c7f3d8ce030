"""Where `chalice package` (run by chalice's CDK construct) does its work, and the offline mode.

`chalice package` builds two zips: the app code, and a Lambda layer with requirements.txt,
which it downloads from PyPI as manylinux wheels for the Lambda runtime. It caches the layer
in `<project>/.chalice/deployments/managed-layer-<md5 of requirements.txt>-<python>.zip`, so
only the first synthesis after a requirements change needs the network.

Template-only mode (`-c templateOnly=true`, what `make synth` and the tests use) needs none:
it packages a copy of the project whose layer cache already holds a stub, so chalice reuses
the stub instead of calling pip. The copy keeps the stub away from the real cache, where it
would be picked up by a later real deployment. The stack marks such a template undeployable.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

from chalice.config import Config
from chalice.deploy.packager import LayerDeploymentPackager
from chalice.utils import UI, OSUtils

# What `chalice package` reads from a project: the app, its library, its pins, its config.
PROJECT_FILES = ("app.py", "requirements.txt", ".chalice/config.json")
PROJECT_DIRS = ("chalicelib", "vendor")
STUB_NOTICE = "Template-only synthesis: the dependencies were not built. Do not deploy this layer.\n"


def lambda_python_version() -> str:
    """The runtime chalice picks: the one matching the Python that runs the synthesis."""
    return Config.create().lambda_python_version


def template_only_project(project_dir: Path, work_dir: Path) -> Path:
    """A copy of the Chalice project whose dependency layer is already "built" (a stub)."""
    target = work_dir / "chalice-project"
    if target.exists():
        shutil.rmtree(target)
    for name in PROJECT_FILES:
        source = project_dir / name
        if source.exists():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    for name in PROJECT_DIRS:
        source = project_dir / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    version = lambda_python_version()
    # The packager computes the cache name; asking it keeps the stub in step with chalice.
    packager = LayerDeploymentPackager(OSUtils(), None, UI())  # type: ignore[arg-type]
    layer = Path(packager.deployment_package_filename(str(target), version))
    layer.parent.mkdir(parents=True, exist_ok=True)
    # A fixed timestamp keeps the asset hash, and so the template, the same run after run.
    entry = zipfile.ZipInfo(f"python/lib/{version}/site-packages/TEMPLATE_ONLY.txt", date_time=(2020, 1, 1, 0, 0, 0))
    with zipfile.ZipFile(layer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(entry, STUB_NOTICE)
    return target


@contextlib.contextmanager
def working_directory(path: Path) -> Iterator[None]:
    """chalice's construct writes `chalice.out/` under the current directory; point it elsewhere."""
    path.mkdir(parents=True, exist_ok=True)
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)
