"""Observability: log ingest and search, dashboards and alerts."""
