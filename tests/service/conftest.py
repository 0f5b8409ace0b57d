"""Fixtures for the service core: PostgreSQL and Redis (tests/backends.py), and the
service harness's gates (tests/service_harness.py)."""

from backends import postgres, redis_server  # noqa: F401 - fixtures
from service_harness import gates  # noqa: F401 - fixtures
