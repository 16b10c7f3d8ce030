"""The CDK app: one stack, the stage named by context.

    python -m infrastructure.app -c stage=dev -c templateOnly=true   # what `make synth` runs
    cd infrastructure && npx aws-cdk@2.1148.1 deploy -c stage=dev ... # cdk.json runs this file

Context keys (all optional): stage (dev | prod), resourcePrefix (sp-<stage>), publicBaseUrl,
mailFrom, alarmEmail, templateOnly, declarations (modules adding resources, comma-separated),
cacheEngine (redis | valkey), projectDir (another Chalice project; the repository root by default).
The template lands in cdk.out/ at the repository root unless CDK_OUTDIR says otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# cdk.json runs `python app.py` in infrastructure/: this folder must not shadow the root, where
# chalicelib and the Chalice app.py (the one `chalice package` imports as `app`) live.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aws_cdk as cdk  # noqa: E402

from infrastructure.stack import PlatformStack  # noqa: E402
from infrastructure.stages import StageOptions  # noqa: E402


def parse_context(argv: list[str]) -> dict[str, str]:
    """`-c key=value` pairs, as the cdk CLI takes them, for runs without the CLI."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    context = {}
    for pair in args.context:
        key, sep, value = pair.partition("=")
        if not sep:
            parser.error(f"--context expects KEY=VALUE, got {pair!r}")
        context[key] = value
    return context


def build(context: dict[str, str] | None = None, outdir: str | None = None) -> cdk.App:
    # `chalice package` asks boto3 for a region only to spell service principals (which differ
    # by partition, e.g. China); nothing is called. The stack itself stays region-agnostic.
    region = os.environ.get("CDK_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    app = cdk.App(
        context=context or {},
        outdir=outdir or (None if os.environ.get("CDK_OUTDIR") else str(ROOT / "cdk.out")),
    )
    options = StageOptions.from_context(app.node.try_get_context)
    for module in options.declarations:
        importlib.import_module(module)
    PlatformStack(
        app,
        options,
        project_dir=Path(options.project_dir).resolve() if options.project_dir else ROOT,
        stack_name=f"serverless-platform-{options.stage}",
        description=f"serverless-platform, stage {options.stage}: Chalice app, tables, queues, search, cache",
    )
    return app


def main(argv: list[str] | None = None) -> int:
    app = build(parse_context(sys.argv[1:] if argv is None else argv))
    assembly = app.synth()
    for stack in assembly.stacks:
        print(f"{stack.stack_name}: {Path(assembly.directory) / stack.template_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
