"""Each dependency declares a lower bound, and what is installed here (what the suite runs
with) meets it; ClientConnectorDNSError, which the fetcher catches, exists from aiohttp 3.10.10."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

PYPROJECT = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8"))


def requirements() -> list[Requirement]:
    project = PYPROJECT["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]


def test_every_dependency_has_a_lower_bound_that_the_installed_version_meets():
    for req in requirements():
        bounds = [s for s in req.specifier if s.operator in (">=", "==")]  # an exact pin bounds it too
        assert bounds, f"{req} has no lower bound"
        assert req.specifier.contains(version(req.name)), f"{req.name} {version(req.name)} does not meet {req}"


def test_aiohttp_is_new_enough_for_the_dns_error():
    from aiohttp import ClientConnectorDNSError  # noqa: F401 - what the fetcher catches

    aiohttp = next(r for r in requirements() if r.name == "aiohttp")
    assert min(Version(s.version) for s in aiohttp.specifier if s.operator == ">=") >= Version("3.10.10")
