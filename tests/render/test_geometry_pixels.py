"""Layer geometry, checked on pixels an independent calculation predicts.

Each draft is written by pyJianYingDraft on a 320×180 canvas: a white photo fills the bottom
track and a coloured square photo on the track above carries the clip settings under test.
The square is 90×90, so the contain fit scales it by 2 to 180×180 before the clip's scale.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyJianYingDraft as jy
import pytest
from media_factory import make_image
from PIL import Image

import draftrender

SEC = 1_000_000
W, H = 320, 180
WHITE = (255, 255, 255)
RED = (230, 20, 20)


def square_draft(root: Path, clip: jy.ClipSettings, *, image: Path | None = None,
                 keyframes: tuple = (), crop: jy.CropSettings | None = None) -> Path:
    script = jy.DraftFolder(str(root)).create_draft("geo", W, H, 30, allow_replace=True)
    folder = root / "geo"
    white = make_image(folder / "media" / "white.png", (W, H), WHITE)
    image = image or make_image(folder / "media" / "square.png", (90, 90), RED)
    script.append_tracks([jy.TrackSpec(jy.TrackType.video, "bg"), jy.TrackSpec(jy.TrackType.video, "top")])
    script.add_segment(jy.VideoSegment(str(white), jy.trange(0, SEC)), "bg")
    seg = jy.VideoSegment(jy.VideoMaterial(str(image), crop_settings=crop) if crop else str(image),
                          jy.trange(0, SEC), clip_settings=clip)
    for prop, offset, value in keyframes:
        seg.add_keyframe(prop, offset, value)
    script.add_segment(seg, "top")
    script.save()
    return folder


def frame(folder: Path, t: float = 0.5) -> np.ndarray:
    return draftrender.render_frame(folder, t).astype(int)


def close(pixel, colour, tol=6) -> bool:
    return bool(np.all(np.abs(np.asarray(pixel[:3]) - np.asarray(colour)) <= tol))


def test_position_and_scale_put_the_square_where_the_units_say(tmp_path):
    # scale 0.5 → 90×90; centre at W/2 + 0.5·W/2 = 240, H/2 − 0.5·H/2 = 45 (y points up).
    img = frame(square_draft(tmp_path, jy.ClipSettings(scale_x=0.5, scale_y=0.5, transform_x=0.5, transform_y=0.5)))
    cx, cy, half = 240, 45, 45
    assert close(img[cy, cx], RED)
    for dx, dy in ((-1, -1), (1, -1), (-1, 1), (1, 1)):
        assert close(img[cy + dy * (half - 2), cx + dx * (half - 2)], RED)  # just inside each corner
    assert close(img[cy, cx - half - 2], WHITE)  # just outside the left edge
    assert close(img[cy + half + 2, cx], WHITE)  # just below the bottom edge
    assert img.shape == (H, W, 3)


def test_rotation_is_clockwise_about_the_centre(tmp_path):
    # Top half red, bottom half blue: a quarter turn clockwise puts the red on the right.
    two = np.zeros((90, 90, 3), np.uint8)
    two[:45], two[45:] = RED, (20, 20, 230)
    path = tmp_path / "two.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(two).save(path)
    img = frame(square_draft(tmp_path, jy.ClipSettings(rotation=90), image=path))
    assert close(img[90, 160 + 45], RED, 10)
    assert close(img[90, 160 - 45], (20, 20, 230), 10)


def test_rotated_square_becomes_a_diamond_with_soft_edges(tmp_path):
    img = frame(square_draft(tmp_path, jy.ClipSettings(rotation=45, scale_x=0.5, scale_y=0.5)))
    reach = 45 * math.sqrt(2)  # half-diagonal of the 90×90 square
    assert close(img[90, 160 + int(reach) - 3], RED, 12)
    assert close(img[90, 160 + int(reach) + 3], WHITE)
    assert close(img[90 + 40, 160 + 40], WHITE)  # |dx|+|dy| = 80 > 63.6: outside the diamond
    # Antialiased edge: some pixel across the edge is a mix, neither red nor white.
    row = img[90, 160 + int(reach) - 2: 160 + int(reach) + 3]
    assert any(not close(p, RED, 12) and not close(p, WHITE, 12) for p in row)


def test_horizontal_flip_mirrors_the_picture(tmp_path):
    halves = np.zeros((90, 90, 3), np.uint8)
    halves[:, :45], halves[:, 45:] = RED, (20, 200, 20)
    path = tmp_path / "halves.png"
    Image.fromarray(halves).save(path)
    img = frame(square_draft(tmp_path, jy.ClipSettings(flip_horizontal=True), image=path))
    assert close(img[90, 160 - 45], (20, 200, 20))
    assert close(img[90, 160 + 45], RED)


def test_crop_keeps_only_the_named_part_then_fits_it(tmp_path):
    # Left half red, right half green; keeping x 0–0.5 leaves a 45×90 red picture, fitted to 90×180.
    halves = np.zeros((90, 90, 3), np.uint8)
    halves[:, :45], halves[:, 45:] = RED, (20, 200, 20)
    path = tmp_path / "halves.png"
    Image.fromarray(halves).save(path)
    crop = jy.CropSettings(upper_left_x=0.0, upper_left_y=0.0, upper_right_x=0.5, upper_right_y=0.0,
                           lower_left_x=0.0, lower_left_y=1.0, lower_right_x=0.5, lower_right_y=1.0)
    img = frame(square_draft(tmp_path, jy.ClipSettings(), image=path, crop=crop))
    assert close(img[90, 160 - 40], RED) and close(img[90, 160 + 40], RED)
    assert close(img[90, 160 - 50], WHITE) and close(img[90, 160 + 50], WHITE)


def test_half_alpha_mixes_with_the_layer_below(tmp_path):
    img = frame(square_draft(tmp_path, jy.ClipSettings(alpha=0.5)))
    expected = [(c + 255) / 2 for c in RED]
    assert close(img[90, 160], expected, 3)


def test_keyframed_position_is_linear_at_the_midpoint(tmp_path):
    kp = jy.KeyframeProperty
    keys = ((kp.position_x, 0, -0.5), (kp.position_x, SEC, 0.5), (kp.uniform_scale, 0, 0.25),
            (kp.uniform_scale, SEC, 0.25))
    folder = square_draft(tmp_path, jy.ClipSettings(), keyframes=keys)
    # 45×45 square; at t=0.5 s the centre is at x = 160; at t=0 it was at x = 80.
    mid, start = frame(folder, 0.5), frame(folder, 0.0)
    assert close(mid[90, 160], RED) and close(mid[90, 160 - 26], WHITE) and close(mid[90, 160 + 26], WHITE)
    assert close(start[90, 80], RED) and close(start[90, 160], WHITE)


@pytest.mark.parametrize("alpha_key, expected", [(0.0, WHITE), (1.0, RED)])
def test_keyframed_alpha_overrides_the_static_value(tmp_path, alpha_key, expected):
    kp = jy.KeyframeProperty
    folder = square_draft(tmp_path, jy.ClipSettings(alpha=0.5), keyframes=((kp.alpha, 0, alpha_key),))
    assert close(frame(folder)[90, 160], expected)
