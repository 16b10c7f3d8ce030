"""Every resource the platform declares: importing this module fills the registry of
chalicelib/resources.py with each context's declarations.

It stands above the contexts, beside app.py: the local bootstrap (devstack/bootstrap.py), the
LocalStack init hook and the CDK stack (infrastructure/) import it before they read the registry,
and they need no app (app.py wants the stream ARNs the bootstrap makes).
"""

import chalicelib.audit.resources
import chalicelib.auth.resources
import chalicelib.catalog.resources
import chalicelib.documents.resources
import chalicelib.observability.resources
import chalicelib.orders.resources
import chalicelib.tasks.resources  # noqa: F401
