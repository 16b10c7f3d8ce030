"""Structured documents: plans and any JSON type a client registers a schema for."""
