"""The Chalice application: wiring only. Each context brings its own blueprint and handlers;
chalicelib/composition.py builds the contexts and plugs one context's ports into another's; the
identity context authenticates the callers of every protected route."""

from chalice import Chalice

from chalicelib import composition, jsonlog
from chalicelib.audit.handlers import handlers as audit_handlers
from chalicelib.audit.routes import api as audit_api
from chalicelib.auth.guard import authenticate
from chalicelib.auth.handlers import handlers as auth_handlers
from chalicelib.auth.routes import api as auth_api
from chalicelib.catalog.handlers import handlers as catalog_handlers
from chalicelib.catalog.routes import api as catalog_api
from chalicelib.config import get_settings
from chalicelib.console.routes import api as console_api
from chalicelib.documents.handlers import handlers as document_handlers
from chalicelib.documents.routes import api as documents_api
from chalicelib.health.routes import api as health_api
from chalicelib.http.middleware import http_middleware
from chalicelib.meta.routes import api as meta_api
from chalicelib.observability.handlers import handlers as observability_handlers
from chalicelib.observability.routes import api as observability_api
from chalicelib.orders.handlers import handlers as orders_handlers
from chalicelib.orders.routes import api as orders_api
from chalicelib.tasks.handlers import handlers as task_handlers
from chalicelib.tasks.routes import api as tasks_api

settings = get_settings()
jsonlog.configure(settings.log_level)
composition.wire()

app = Chalice(app_name="serverless-platform")
app.register_middleware(http_middleware, "http")
for api in (
    meta_api,
    health_api,
    auth_api,
    documents_api,
    catalog_api,
    tasks_api,
    observability_api,
    orders_api,
    audit_api,
    console_api,
):
    app.register_blueprint(api.mount(authenticate))
for handlers in (
    auth_handlers,
    document_handlers,
    catalog_handlers,
    task_handlers,
    observability_handlers,
    orders_handlers,
    audit_handlers,
):
    app.register_blueprint(handlers)
