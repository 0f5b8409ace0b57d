"""A draft rendered in chunks on two processes and joined: the same frame count and
timestamps, the same audio samples, and every frame within 45 dB PSNR of the
single-process render. (The 2-minute draft on two `draftrender worker`s is in
tests/service/test_scale_out.py.)"""

from __future__ import annotations

from pathlib import Path

import av
import pytest
from long_draft import compare, long_draft

from draftrender import load_draft
from draftrender.errors import RenderFailed
from draftrender.render.chunks import Part, in_processes, join, plan_parts, render_chunked
from draftrender.render.pipeline import RenderOptions, render_timeline


@pytest.fixture(scope="module")
def long_timeline(tmp_path_factory):
    return load_draft(long_draft(tmp_path_factory.mktemp("long"), seconds=24))


def test_a_chunked_render_matches_the_single_process_render(tmp_path, long_timeline):
    opts = RenderOptions()
    single = render_timeline(long_timeline, tmp_path / "single.mp4", opts)
    chunked = render_chunked(long_timeline, tmp_path / "chunked.mp4", opts, 7.0,
                             in_processes(long_timeline, opts, workers=2))
    assert single.frames == chunked.frames == 24 * 30
    figures = compare(tmp_path / "single.mp4", tmp_path / "chunked.mp4")
    print(f"chunk equality: {figures}")
    assert figures["samples"] == 24 * 48000
    assert figures["worst_psnr_db"] >= 45
    with av.open(str(tmp_path / "chunked.mp4")) as c:  # one stream each, as a single render has
        assert [s.type for s in c.streams] == ["video", "audio"]


def test_parts_cover_the_frames_once(long_timeline):
    parts = plan_parts(long_timeline, RenderOptions(), 10.0)
    assert parts[0] == Part("sound", 0, 720)
    assert [(p.first, p.last) for p in parts[1:]] == [(0, 300), (300, 600), (600, 720)]
    assert [p.kind for p in plan_parts(long_timeline, RenderOptions(audio=False), 10.0)] == ["video"] * 3


def test_chunks_that_do_not_meet_are_refused(tmp_path):
    with pytest.raises(RenderFailed, match="chunks do not meet: frames 0–10 then 11–20"):
        join([(Part("video", 0, 10), Path("a.mp4")), (Part("video", 11, 20), Path("b.mp4"))], None,
             tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()
