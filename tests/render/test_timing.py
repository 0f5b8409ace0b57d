"""Which source frame lands on which output frame.

The clips encode each frame's own index (media_factory.frame_index reads it back), so the
rendered MP4 says exactly which source frame it shows at every output frame.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pyJianYingDraft as jy
import pytest
from drafts import edit_json
from media_factory import clip_frame, frame_index, make_clip

import draftrender
from draftrender.errors import DraftRenderError, MaterialUnreachable

SEC = 1_000_000


def clip_draft(root: Path, segments, *, fps: int = 30, clip_fps: int = 30, clip_seconds: float = 2.0,
               bt709: bool = False) -> Path:
    """A 320×180 draft with one video track; `segments` are (target start, duration, source start, speed).
    A `bt709` clip is composed in YUV (render/yuv.py), an untagged SD one in RGB."""
    script = jy.DraftFolder(str(root)).create_draft("timing", 320, 180, fps, allow_replace=True)
    folder = root / "timing"
    clip = make_clip(folder / "media" / "index.mp4", fps=clip_fps, seconds=clip_seconds, bt709=bt709)
    material = jy.VideoMaterial(str(clip))
    script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main")])
    for start, duration, source_start, speed in segments:
        script.add_segment(jy.VideoSegment(material, jy.trange(start, duration),
                                           source_timerange=jy.trange(source_start, round(duration * speed)),
                                           speed=speed), "main")
    script.save()
    return folder


@pytest.fixture(params=[False, True], ids=["rgb-path", "yuv-path"])
def bt709(request) -> bool:
    return request.param


def rendered_indices(path: Path) -> list[int]:
    with av.open(str(path)) as c:
        return [frame_index(f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]


def test_a_cut_lands_on_the_exact_output_frame(tmp_path, bt709):
    # 0–0.5 s shows source frames 0…14; 0.5–1 s shows the source from 1 s: frames 30…44.
    folder = clip_draft(tmp_path, [(0, SEC // 2, 0, 1.0), (SEC // 2, SEC // 2, SEC, 1.0)], bt709=bt709)
    result = draftrender.render(folder, tmp_path / "out.mp4")
    assert result.frames == 30
    assert rendered_indices(result.output) == list(range(15)) + list(range(30, 45))


def test_a_25_fps_source_in_a_30_fps_output_shows_the_covering_frame(tmp_path, bt709):
    folder = clip_draft(tmp_path, [(0, SEC, 0, 1.0)], clip_fps=25, bt709=bt709)
    out = draftrender.render(folder, tmp_path / "out.mp4").output
    # Output frame i is at i/30 s; the 25 fps frame covering it is floor(i · 25 / 30).
    assert rendered_indices(out) == [i * 25 // 30 for i in range(30)]


def test_speed_two_skips_every_other_frame(tmp_path, bt709):
    folder = clip_draft(tmp_path, [(0, SEC // 2, 0, 2.0)], bt709=bt709)
    assert rendered_indices(draftrender.render(folder, tmp_path / "out.mp4").output) == list(range(0, 30, 2))


def test_reverse_plays_the_source_range_backwards(tmp_path, bt709):
    folder = clip_draft(tmp_path, [(0, SEC, 0, 1.0)], bt709=bt709)
    edit_json(folder, lambda d: d["tracks"][0]["segments"][0].update(reverse=True))
    assert rendered_indices(draftrender.render(folder, tmp_path / "out.mp4").output) == list(range(29, -1, -1))


def test_a_source_shorter_than_its_segment_holds_its_last_frame(tmp_path, bt709):
    folder = clip_draft(tmp_path, [(0, SEC, 0, 1.0)], bt709=bt709)
    make_clip(folder / "media" / "index.mp4", seconds=0.5, bt709=bt709)  # the medium shrank after the edit
    assert rendered_indices(draftrender.render(folder, tmp_path / "out.mp4").output) == list(range(15)) + [14] * 15


def make_vfr_clip(path: Path, starts_ms: list[int]) -> Path:
    """Frame k starts at starts_ms[k] milliseconds: a variable-frame-rate clip."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=1000)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        stream.time_base = Fraction(1, 1000)
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.options = {"preset": "ultrafast", "crf": "12"}
        for k, ms in enumerate(starts_ms):
            frame = av.VideoFrame.from_ndarray(clip_frame(k, 320, 180, None, True), format="rgb24")
            frame.pts, frame.time_base = ms, Fraction(1, 1000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def test_variable_frame_rate_uses_each_frames_real_interval(tmp_path):
    starts = [0, 40, 200, 210, 500, 700, 990]
    folder = clip_draft(tmp_path, [(0, SEC, 0, 1.0)])
    make_vfr_clip(folder / "media" / "index.mp4", starts)
    out = draftrender.render(folder, tmp_path / "out.mp4").output
    expected = [max(k for k, s in enumerate(starts) if s * 1000 <= i * SEC // 30) for i in range(30)]
    assert rendered_indices(out) == expected


def test_a_medium_that_breaks_mid_render_fails_cleanly_and_leaves_no_file(tmp_path):
    script = jy.DraftFolder(str(tmp_path)).create_draft("broken", 320, 180, 30, allow_replace=True)
    folder = tmp_path / "broken"
    first = make_clip(folder / "media" / "first.mp4")
    second = make_clip(folder / "media" / "second.mp4")
    script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main")])
    script.add_segment(jy.VideoSegment(str(first), jy.trange(0, SEC)), "main")
    script.add_segment(jy.VideoSegment(str(second), jy.trange(SEC, SEC)), "main")
    script.save()

    def corrupt_second(event):  # once frames flow, the second clip turns to garbage
        if event["stage"] == "render" and second.read_bytes()[:4] != b"junk":
            second.write_bytes(b"junk" * 1000)

    out_dir = tmp_path / "out"
    with pytest.raises(DraftRenderError) as err:
        draftrender.render(folder, out_dir / "out.mp4", progress=corrupt_second)
    assert "second.mp4" in str(err.value) and "\n" not in str(err.value)
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_a_missing_medium_is_named_and_nothing_is_written(tmp_path):
    folder = clip_draft(tmp_path, [(0, SEC, 0, 1.0)])
    (folder / "media" / "index.mp4").unlink()
    with pytest.raises(MaterialUnreachable) as err:
        draftrender.render(folder, tmp_path / "out.mp4")
    assert "index.mp4" in str(err.value)
    assert not (tmp_path / "out.mp4").exists()


def test_output_has_canvas_size_fps_and_duration(tmp_path):
    folder = clip_draft(tmp_path, [(0, SEC, 0, 1.0), (SEC, SEC // 2, 0, 1.0)], fps=25)
    result = draftrender.render(folder, tmp_path / "out.mp4")
    with av.open(str(result.output)) as c:
        v = c.streams.video[0]
        assert (v.width, v.height, v.average_rate) == (320, 180, 25)
        assert v.frames == 38 and result.frames == 38  # ceil(1.5 s × 25)
        assert v.codec_context.pix_fmt == "yuv420p"
    assert np.isclose(result.duration, 1.52)
