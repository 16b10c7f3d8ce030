"""The AWS deployment: a CDK v2 app that wraps the Chalice app and every declared resource.

`python -m infrastructure.app` synthesizes it; docs/deploy.md explains deploying it.
"""
