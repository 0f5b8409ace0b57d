"""Fixtures for the service core: PostgreSQL and Redis (see tests/backends.py)."""

from backends import postgres, redis_server  # noqa: F401 - fixtures
