"""ruff and mypy, as configured in pyproject.toml, over the package and the tests: what they
find fails the suite, so CI keeps the code clean. Run `ruff check --fix` for what it can fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("tool, args", [
    ("ruff", ["check", "--no-cache", "draftrender", "tests", "fixtures"]),
    ("mypy", []),  # the files and the cache folder come from [tool.mypy]
])
def test_clean(tool, args):
    done = subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"{tool} found problems:\n{done.stdout}{done.stderr}"
