"""The shared corpus beside the checkout (shared/samples, shared/real_drafts).

A missing folder skips its tests on a developer's machine and fails them in CI (CI=true),
so a CI run cannot pass without running them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SAMPLES = SHARED / "samples"
REAL_DRAFTS = SHARED / "real_drafts"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require(folder: Path) -> None:
    """Skip the test without `folder`; in CI, fail it."""
    if folder.is_dir():
        return
    message = f"{folder.name}/ is missing: the shared folder goes beside the checkout ({folder})"
    if in_ci():
        pytest.fail(f"{message}; CI must run these tests", pytrace=False)
    pytest.skip(message)


def names(folder: Path, pattern: str = "*.json") -> list[str]:
    """The folder's files as test parameters; without the folder, one placeholder, so that the
    test still runs and require() says what is missing."""
    return sorted(p.name for p in folder.glob(pattern)) if folder.is_dir() else [f"({folder.name} absent)"]
