"""`make createsuperuser`: create an administrator in the running local cloud, interactively.

Asks the running stack (PORT, default 8000) where its AWS endpoint is, then calls the
identity service directly, as a Django `createsuperuser` would call the ORM.
"""

from __future__ import annotations

import getpass
import os
import sys

from chalicelib.errors import DomainError, ValidationFailed
from devstack.control import control


def stack_endpoints(port: str) -> dict[str, str]:
    return control(port=port)["endpoints"]


def main() -> int:
    port = os.environ.get("PORT", "8000")
    try:
        endpoints = stack_endpoints(port)
    except OSError:
        print(f"No local cloud answers on port {port}: start it with `make run` first.", file=sys.stderr)
        return 1
    os.environ.update(
        AWS_ENDPOINT_URL=endpoints["aws"],
        OPENSEARCH_URL=endpoints["opensearch"],
        REDIS_URL=endpoints["redis"],
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    from chalicelib import composition
    from chalicelib.auth.container import identity

    composition.wire()

    username = input("Username: ").strip()
    email = input("Email: ").strip()
    password = getpass.getpass("Password: ")
    if password != getpass.getpass("Password (again): "):
        print("The passwords do not match.", file=sys.stderr)
        return 1
    try:
        profile = identity().service.ensure_admin(username, email, password)
    except ValidationFailed as exc:
        for error in exc.errors:
            print(f"{error.path}: {error.message}", file=sys.stderr)
        return 1
    except DomainError as exc:
        print(exc.detail, file=sys.stderr)
        return 1
    print(f"Administrator {profile['username']} ({profile['id']}) is ready.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
