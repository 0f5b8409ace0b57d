"""A missing shared corpus skips its tests on a developer's machine and fails them in CI."""

from __future__ import annotations

import pytest
from shared import require


def test_a_missing_corpus_fails_in_ci_and_skips_elsewhere(tmp_path, monkeypatch):
    require(tmp_path)  # present: the test goes on
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="samples/ is missing.*CI must run these tests"):
        require(tmp_path / "samples")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="samples/ is missing: the shared folder goes beside"):
        require(tmp_path / "samples")
