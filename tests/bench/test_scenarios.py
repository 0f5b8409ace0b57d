"""The scenarios' keyframes as each tool gets them: the draft draftrender reads, and the
ffmpeg peer's ducking expression run by ffmpeg itself."""

from __future__ import annotations

import subprocess

import numpy as np

import draftrender
from draftrender.bench import peers_ffmpeg
from draftrender.bench.drafts import write_draft
from draftrender.bench.scenarios import SEC, ken_burns, talking_head
from draftrender.render.audio import volume_points

RATE = 48_000  # and 1024 samples a frame, as AAC decodes


def test_the_talking_heads_music_is_ducked_by_volume_keyframes_under_the_voice(tmp_path):
    comp = talking_head(seconds=12)
    voice, music = comp.music
    tl = draftrender.load_draft(write_draft(comp, tmp_path / "media", tmp_path / "draft"))
    audio = {t.name: t.segments for t in tl.tracks if t.type == "audio"}
    assert set(audio) == {"voice", "music"}  # on tracks of their own: they play together
    offsets, gains = volume_points(audio["music"][0])
    at = np.array([1, 8.15, 9, 10, 11]) * SEC  # speaking, ramping up, a pause, speaking again
    assert np.allclose(np.interp(at, offsets, gains), [0.12, 0.31, 0.5, 0.12, 0.12], atol=0.01)
    assert volume_points(audio["voice"][0])[1].tolist() == [1.0]


def test_the_ffmpeg_peer_applies_the_same_ducking_curve(tmp_path):
    music = talking_head(seconds=12).music[1]
    out = subprocess.run(
        [peers_ffmpeg.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
         f"anullsrc=r={RATE}:cl=mono:nb_samples=1024,aeval=1,atrim=duration=12", "-af",
         f"volume='{peers_ffmpeg.piecewise(music.gains)}':eval=frame", "-f", "f32le", "-"],
        capture_output=True, check=True).stdout
    gain = np.frombuffer(out, np.float32)
    times, values = zip(*music.gains, strict=True)
    for second in (1, 8.15, 9, 10, 11):
        # Evaluated once per audio frame: within a frame's step of the curve on the ramps.
        expected = np.interp(second * SEC, times, values)
        assert abs(gain[int(second * RATE)] - expected) < 0.03, (second, gain[int(second * RATE)], expected)


def test_the_slideshow_alternates_zooms_and_pans_by_keyframes(tmp_path):
    tl = draftrender.load_draft(write_draft(ken_burns(photos=4), tmp_path / "media", tmp_path / "draft"))
    segments = next(t for t in tl.tracks if t.type == "video").segments
    moved = [sorted(p for p in ("scale_x", "position_x") if s.keyframes_for(p) is not None) for s in segments]
    assert moved == [["scale_x"], ["position_x"], ["scale_x"], ["position_x"]]
    first, last = segments[1].keyframes_for("position_x").points[0], segments[1].keyframes_for("position_x").points[-1]
    assert (first.value, last.value) == (-0.1, 0.1)  # left to right, half-canvas units
