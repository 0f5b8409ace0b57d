"""The encoder floor: the renderer's encoder alone on a rendered video's frames, held in memory."""

from __future__ import annotations

import re

from media_factory import make_clip

from draftrender.bench import floor
from draftrender.options import EncodeSettings
from draftrender.render.encode import X264_THREADS_MAX, usable_cores


def test_the_floor_encodes_every_frame_from_memory_with_the_renderers_threads(tmp_path, capsys):
    clip = make_clip(tmp_path / "out.mp4", seconds=1.0, fps=25)
    assert floor.main([str(clip)]) == 0
    line = capsys.readouterr().out.strip()
    threads = min(usable_cores(), X264_THREADS_MAX)
    assert line.startswith(f"25 frames 320x180, libx264 veryfast crf 20, {threads} frame threads: "
                           "encoded from memory in ")
    assert re.search(r"in \d+\.\d s wall, \d+\.\d CPU s$", line)


def test_the_floors_frames_are_the_videos_in_yuv420p(tmp_path):
    clip = make_clip(tmp_path / "out.mp4", seconds=1.0, fps=25)
    frames, width, height, fps = floor.decoded(str(clip))
    assert (len(frames), width, height, fps) == (25, 320, 180, 25)
    assert all(f.shape == (270, 320) for f in frames)
    wall, cpu = floor.encode(frames, width, height, fps, EncodeSettings())
    assert wall > 0 and cpu > 0


def test_a_missing_video_is_one_line_and_status_1(tmp_path, capsys):
    assert floor.main([str(tmp_path / "none.mp4")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot read ") and "none.mp4" in err[0]
