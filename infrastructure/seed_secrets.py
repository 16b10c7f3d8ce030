"""Give each deployed secret its first real value, once, after the first deploy.

The stack creates every SecretSpec's secret with a random placeholder, because Secrets Manager
cannot generate the app's formats (an RSA key ring, say) and a real value must never sit in a
template. This writes the value the spec's generator makes, locally, straight to Secrets
Manager, and only where the placeholder is still there: a secret already seeded or rotated is
left alone.

    python -m infrastructure.seed_secrets --stage dev            # uses your AWS credentials
    python -m infrastructure.seed_secrets --stage prod --dry-run
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any

from chalicelib import declarations, resources  # noqa: F401  (declarations fill the registry)


def is_placeholder(value: str) -> bool:
    try:
        document = json.loads(value)
    except ValueError:
        return False
    return isinstance(document, dict) and document.get("placeholder") is True


def generate(spec: resources.SecretSpec) -> str:
    module, _, function = spec.generator.partition(":")
    return getattr(importlib.import_module(module), function)()


def seed(client: Any, prefix: str, dry_run: bool = False) -> dict[str, str]:
    """Secret name → what happened to it: seeded, kept, or would seed."""
    outcome = {}
    for key, spec in resources.SECRETS.items():
        name = f"{prefix}-{key}"
        current = client.get_secret_value(SecretId=name)["SecretString"]
        if not is_placeholder(current):
            outcome[name] = "kept"
            continue
        if dry_run:
            outcome[name] = "would seed"
            continue
        client.put_secret_value(SecretId=name, SecretString=generate(spec))
        outcome[name] = "seeded"
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", required=True, help="the deployed stage (dev, prod)")
    parser.add_argument("--prefix", help="resource prefix, if the stack was synthesized with -c resourcePrefix=...")
    parser.add_argument("--region", help="AWS region (default: your AWS configuration's)")
    parser.add_argument("--dry-run", action="store_true", help="report without writing")
    args = parser.parse_args(argv)
    import boto3

    client = boto3.session.Session(region_name=args.region).client("secretsmanager")
    for name, what in seed(client, args.prefix or f"sp-{args.stage}", dry_run=args.dry_run).items():
        print(f"{name}: {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
