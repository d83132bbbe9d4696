"""Gateways wrap every side effect acme has (git, the filesystem outside the repo).

Each gateway is an ABC with a Real implementation and a Fake used by tests.
"""
