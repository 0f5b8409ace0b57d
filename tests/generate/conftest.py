"""The clip every fake API hands back: real, tiny, made by PyAV."""

from __future__ import annotations

import pytest
from media_factory import make_clip


@pytest.fixture(scope="session")
def result_video(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("fake-results") / "result.mp4", width=320, height=180, seconds=1.0)
