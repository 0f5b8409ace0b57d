"""The encoder floor: the renderer's encoder alone on a rendered video's frames, held in memory."""

from __future__ import annotations

import re

import av
import numpy as np
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
    floor.encode(frames, width, height, fps, EncodeSettings(), tmp_path / "floor.mp4")
    with av.open(str(tmp_path / "floor.mp4")) as encoded:
        back = [f.to_ndarray() for f in encoded.decode(video=0)]
    assert len(back) == 25 and all(f.shape == (270, 320) for f in back)
    # crf 20 of a flat test pattern: each frame comes back as it went in, within a level on average
    # (against its neighbour: 4 levels).
    assert all(np.abs(a.astype(int) - b).mean() < 1 for a, b in zip(back, frames, strict=True))


def test_a_missing_video_is_one_line_and_status_1(tmp_path, capsys):
    assert floor.main([str(tmp_path / "none.mp4")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot read ") and "none.mp4" in err[0]
