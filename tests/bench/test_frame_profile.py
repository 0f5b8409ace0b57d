"""The frame profile's rows: each counts the step it names."""

from __future__ import annotations

import argparse

import pyJianYingDraft as jy
import pytest
from media_factory import make_clip

from draftrender.bench import frame_profile

SEC = 1_000_000


def test_an_opaque_picture_in_picture_counts_as_a_paste_and_a_faded_one_as_drawn(tmp_path):
    script = jy.DraftFolder(str(tmp_path)).create_draft("pip", 320, 180, 30, allow_replace=True)
    main = make_clip(tmp_path / "media" / "main.mp4", color=(200, 60, 40), bt709=True)
    small = make_clip(tmp_path / "media" / "pip.mp4", color=(30, 80, 200), bt709=True)
    script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main"), jy.TrackSpec(jy.TrackType.video, "pip")])
    script.add_segment(jy.VideoSegment(str(main), jy.trange(0, SEC)), "main")
    script.add_segment(jy.VideoSegment(str(small), jy.trange(0, SEC // 2),
                                       clip_settings=jy.ClipSettings(scale_x=0.4, scale_y=0.4)), "pip")
    script.add_segment(jy.VideoSegment(str(small), jy.trange(SEC // 2, SEC // 2),
                                       clip_settings=jy.ClipSettings(scale_x=0.4, scale_y=0.4, alpha=0.5)), "pip")
    script.save()
    opaque = dict(frame_profile.profile(str(tmp_path / "pip"), 0, 10)[2])
    assert "yuv: paste" in opaque and "yuv: drawn by opacity or coverage" not in opaque
    faded = dict(frame_profile.profile(str(tmp_path / "pip"), 20, 30)[2])
    assert "yuv: drawn by opacity or coverage" in faded


def test_frames_are_first_and_last_or_a_one_line_error():
    assert frame_profile.frame_range("0:90") == (0, 90)
    for wrong in ("0:900:1", "90", "a:b", "90:0"):
        with pytest.raises(argparse.ArgumentTypeError, match="FIRST:LAST"):
            frame_profile.frame_range(wrong)
