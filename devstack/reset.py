"""`make reset`: forget what the local cloud kept, so that the next start is empty.

The data folder is DEVSTACK_DATA_DIR (default .devstack/ in the project). Refused while a local
cloud runs on it. The HTTPS certificate is kept, so a browser that trusts it still does.
"""

from __future__ import annotations

import sys

from chalicelib.config import ConfigError
from devstack.cloud import CloudOptions
from devstack.state.store import DataFolder, DataFolderInUse


def main() -> int:
    try:
        folder = DataFolder(CloudOptions.from_env().data_dir)
        folder.lock()
    except (ConfigError, DataFolderInUse) as exc:
        print(f"not reset: {exc}", file=sys.stderr)
        return 1
    try:
        folder.reset()
    finally:
        folder.unlock()
    print(f"Forgot everything kept in {folder.state}; the next start is empty.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
