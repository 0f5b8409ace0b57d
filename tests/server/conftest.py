"""Fixtures for the gen_video service tests: see tests/service_harness.py."""

from service_harness import gates, start_service  # noqa: F401 - fixtures
