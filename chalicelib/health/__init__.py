"""Liveness, readiness and a dependency report for operators and load balancers."""
