"""The encoder floor: libx264 alone on a rendered video, with the bench's settings."""

from __future__ import annotations

import re

from media_factory import make_clip

from draftrender.bench import floor


def test_the_floor_encodes_every_frame_and_reports_the_encoders_cpu(tmp_path, capsys):
    clip = make_clip(tmp_path / "out.mp4", seconds=1.0, fps=25)
    assert floor.main([str(clip)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("25 frames, libx264 veryfast crf 20: decode + encode ")
    assert re.search(r"the encoder alone -?\d+\.\d CPU s$", line)


def test_a_missing_video_is_one_line_and_status_1(tmp_path, capsys):
    assert floor.main([str(tmp_path / "none.mp4")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot read ") and "none.mp4" in err[0]
