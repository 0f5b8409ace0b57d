"""Filters and video effects: each grade moves the picture the way its name says."""

from __future__ import annotations

import numpy as np
import pytest

from draftrender.effects.filters import MAX_CUBE_BYTES, PRESETS, Grade, apply_lut, grade_picture, load_cube

GREYS = np.linspace(0, 255, 64, dtype=np.uint8)


def picture() -> np.ndarray:
    rng = np.random.default_rng(3)
    pic = rng.integers(30, 225, (120, 160, 3), dtype=np.uint8)
    pic[:8, :64] = np.stack([GREYS, GREYS, GREYS], axis=1)[None]
    return pic


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_changes_the_picture_and_keeps_its_shape(name):
    pic = picture()
    out = grade_picture(pic, PRESETS[name], time=0.4)
    assert out.shape == pic.shape and out.dtype == np.uint8
    assert not np.array_equal(out, pic), name


def test_zero_intensity_leaves_the_picture_unchanged():
    pic = picture()
    for grade in PRESETS.values():
        assert np.array_equal(grade_picture(pic, grade.scaled(0.0)), pic)


def test_mono_makes_every_pixel_grey_and_warm_raises_red_over_blue():
    pic = picture()
    mono = grade_picture(pic, Grade(mono=1.0)).astype(int)
    assert np.abs(mono[..., 0] - mono[..., 1]).max() <= 1 and np.abs(mono[..., 1] - mono[..., 2]).max() <= 1
    warm = grade_picture(pic, PRESETS["warm"]).astype(int)
    assert warm[..., 0].mean() > pic[..., 0].mean() and warm[..., 2].mean() < pic[..., 2].mean()
    cool = grade_picture(pic, PRESETS["cool"]).astype(int)
    assert cool[..., 2].mean() > pic[..., 2].mean()


def test_brightness_contrast_and_saturation_follow_their_definitions():
    grey = np.full((2, 2, 3), 100, np.uint8)
    assert grade_picture(grey, Grade(brightness=0.5))[0, 0, 0] == 100 + round(0.5 * 0.4 * 255)
    assert grade_picture(grey, Grade(contrast=1.0))[0, 0, 0] == 73  # 127.5 − 2 × 27.5, rounded up
    red = np.full((2, 2, 3), (200, 100, 100), np.uint8)
    assert grade_picture(red, Grade(saturation=-1.0))[0, 0].tolist() == [130, 130, 130]


def test_vignette_darkens_the_corners_not_the_centre():
    flat = np.full((60, 80, 3), 200, np.uint8)
    out = grade_picture(flat, Grade(vignette=1.0))
    assert out[30, 40, 0] == 200 and out[0, 0, 0] < 100


def test_blur_and_sharpen_change_an_edge_in_opposite_ways():
    edge = np.zeros((20, 40, 3), np.uint8)
    edge[:, 20:] = 200
    blurred = grade_picture(edge, Grade(blur=1.0)).astype(int)
    sharp = grade_picture(edge, Grade(sharpen=1.0)).astype(int)
    assert 0 < blurred[10, 19, 0] < 200 and sharp[10, 21, 0] > 200 - 1 and sharp[10, 18, 0] == 0


def test_grain_and_shake_change_from_frame_to_frame():
    pic = picture()
    assert not np.array_equal(grade_picture(pic, Grade(grain=1.0), 0.0), grade_picture(pic, Grade(grain=1.0), 0.04))
    moved = [grade_picture(pic, Grade(shake=1.0), t) for t in (0.0, 0.04, 0.08)]
    assert len({m.tobytes() for m in moved}) > 1


def test_a_cube_lut_renders_exactly(tmp_path):
    n = 5
    lines = ["TITLE \"swap\"", f"LUT_3D_SIZE {n}"]
    for b in range(n):
        for g in range(n):
            for r in range(n):  # red varies fastest; this LUT swaps red and blue
                lines.append(f"{b / (n - 1):.6f} {g / (n - 1):.6f} {r / (n - 1):.6f}")
    path = tmp_path / "swap.cube"
    path.write_text("\n".join(lines))
    table = load_cube(str(path))
    pic = picture()
    out = apply_lut(pic, table).astype(int)
    assert np.abs(out - pic[..., ::-1]).max() <= 1
    half = apply_lut(pic, table, 0.5).astype(int)
    assert np.abs(half - (pic.astype(int) + pic[..., ::-1]) / 2).max() <= 1
    assert load_cube(str(tmp_path / "missing.cube")) is None


def test_a_lut_is_bounded_before_it_is_read(tmp_path):
    assert load_cube("/dev/zero") is None  # endless: read no further than the cap
    huge = tmp_path / "huge.cube"
    with open(huge, "w") as f:
        f.write("LUT_3D_SIZE 2\n")
        f.truncate(MAX_CUBE_BYTES + 1)
    assert load_cube(str(huge)) is None
    extra = tmp_path / "extra.cube"
    extra.write_text("LUT_3D_SIZE 2\n" + "0 0 0\n" * 9)  # one row more than 2³
    assert load_cube(str(extra)) is None
    exact = tmp_path / "exact.cube"
    exact.write_text("LUT_3D_SIZE 2\n" + "0 0 0\n" * 8)
    assert load_cube(str(exact)).shape == (2, 2, 2, 3)
