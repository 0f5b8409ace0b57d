"""The real drafts in shared/samples (written by pyJianYingDraft and pycapcut) render.

The samples name media under media/; the test makes small stand-ins for them, so the drafts
render exactly as written, at a quarter of their canvas size to stay fast.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import numpy as np
import pytest
from media_factory import make_clip, make_image, make_tone
from shared import SAMPLES, names, require

import draftrender



@pytest.fixture(autouse=True)
def _samples() -> None:
    require(SAMPLES)


def sample_folder(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    media = folder / "media"
    folder.mkdir(parents=True)
    shutil.copy(SAMPLES / name, folder / "draft_content.json")
    make_clip(media / "clip1.mp4", width=320, height=180, seconds=6.0, color=(40, 90, 200))
    make_clip(media / "clip2_portrait.mp4", width=180, height=320, seconds=5.0, color=(40, 200, 90))
    make_image(media / "photo.png", (160, 120), (200, 60, 40))
    make_tone(media / "bgm.wav", seconds=10.0)
    return folder


@pytest.mark.parametrize("name", names(SAMPLES))
def test_sample_renders_with_its_size_fps_and_duration(tmp_path, name):
    folder = sample_folder(tmp_path, name)
    draft = json.loads((folder / "draft_content.json").read_text(encoding="utf-8"))
    tl = draftrender.load_draft(folder)
    result = draftrender.render(folder, tmp_path / "out.mp4", scale=0.25, preset="ultrafast")
    w, h = draft["canvas_config"]["width"] // 4, draft["canvas_config"]["height"] // 4
    with av.open(str(result.output)) as c:
        v = c.streams.video[0]
        assert (v.width, v.height) == (w, h)
        assert v.average_rate == draft["fps"]
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == round(tl.duration * draft["fps"] / 1e6)
    # Intros start and outros end with the picture (nearly) gone: look between them.
    assert all(f.mean() > 10 for f in frames[15:-15:10]), "every frame shows something"


def test_pycapcut_sample_fills_the_portrait_bands_with_the_blurred_clip(tmp_path):
    folder = sample_folder(tmp_path, "pycapcut_CC_full_draft_content.json")
    frame = draftrender.render_frame(folder, 0.5, scale=0.25)
    # A 16:9 clip fitted in a 9:16 canvas leaves bands above and below: the canvas blur fills them.
    band = frame[5, frame.shape[1] // 2].astype(int)
    assert abs(band[2] - 200) < 40 and band[0] < 90, band


def test_pyjy_sample_draws_the_picture_in_picture_above_the_main_track(tmp_path):
    folder = sample_folder(tmp_path, "pyjy_A_full_draft_content.json")
    tl = draftrender.load_draft(folder)
    order = [(s.track_index, s.target.start) for s in tl.visual_segments()]
    assert order.index((1, 0)) > order.index((0, 0))  # pip (track 1) over main (track 0)
    # At 0.9 s, before the effect track (1–3 s) grades the picture: the main track's blue clip
    # is on screen, and the pip's red photo multiplies it (正片叠底) where the pip lies.
    frame = draftrender.render_frame(folder, 0.9, scale=0.25)
    assert np.any(np.all(np.abs(frame.astype(int) - (40, 90, 200)) < 40, axis=2))
    multiplied = np.array((40, 90, 200)) * (200, 60, 40) // 255
    pip_centre = frame[round(135 - 0.06 * 135), round(240 + 0.6 * 240)]  # transform (0.6, 0.06) at 0.9 s
    assert np.all(np.abs(pip_centre.astype(int) - multiplied) < 25), pip_centre
