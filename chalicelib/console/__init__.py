"""The web console: the observability product (logs, dashboards, alerts) in a browser, served by the API."""
