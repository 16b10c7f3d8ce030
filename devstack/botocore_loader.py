"""One botocore data loader for every boto3 session of the local cloud's process.

The app builds each client from a session of its own (chalicelib/clients.py), and every
session brings a loader that reads and parses the service's JSON model again: about a quarter
of a second per client here. That is paid once per Lambda container in AWS, but the local
cloud builds clients again after each code reload (a fresh chalicelib.clients), which made a
reload take two seconds. The models are read-only, so sharing the loader is safe; it took the
five clients of a bootstrap from 1.2 s to 0.06 s.
"""

from __future__ import annotations

import functools

_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    import botocore.session

    botocore.session.create_loader = functools.cache(botocore.session.create_loader)
    _applied = True
