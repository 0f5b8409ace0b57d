"""Mask coverage: shape, size against the picture, feather profile, rotation and invert."""

from __future__ import annotations

import numpy as np
import pytest

from draftrender.effects.masks import FEATHER_SPAN, apply_mask, mask_alpha

W, H = 200, 100


def test_circle_radius_is_half_the_height_fraction_and_the_edge_is_half_covered():
    # size 0.6 of the 100 px height: a 60 px circle, as pyJianYingDraft writes width = 0.6·100/200.
    a = mask_alpha(W, H, "circle", mask_width=0.6 * H / W, mask_height=0.6)
    row = a[H // 2]
    centre = W / 2
    inside = np.flatnonzero(row >= 0.5)
    assert (inside[0], inside[-1] + 1) == (centre - 30, centre + 30)
    assert row[int(centre)] == 1.0 and row[0] == 0.0


def test_circle_feather_falls_off_linearly_across_its_band():
    feather = 0.4
    a = mask_alpha(W, H, "circle", mask_width=0.6 * H / W, mask_height=0.6, feather=feather)
    band = feather * FEATHER_SPAN * 60  # 12 px, centred on the 30 px radius
    x = np.arange(W) + 0.5 - W / 2  # each pixel centre of the row, from the centre
    distance = np.hypot(x, 0.5)  # the row's pixel centres lie half a pixel below the centre
    want = np.clip(0.5 - (distance - 30) / band, 0, 1)
    assert np.allclose(a[H // 2], want, atol=1e-5)
    # Zero at radius + band/2, full at radius − band/2.
    assert a[H // 2, int(W / 2 + 30 + band / 2) + 1] == 0 and a[H // 2, int(W / 2 + 30 - band / 2) - 1] == 1


def test_circle_centre_is_in_half_material_units_with_y_up():
    a = mask_alpha(W, H, "circle", center_x=0.5, center_y=0.5, mask_width=0.2, mask_height=0.4)
    ys, xs = np.nonzero(a > 0.5)
    assert abs(xs.mean() + 0.5 - (W / 2 + 0.5 * W / 2)) < 0.6  # right of centre
    assert abs(ys.mean() + 0.5 - (H / 2 - 0.5 * H / 2)) < 0.6  # above the centre


def test_rectangle_is_sized_against_the_picture_and_round_corners_cut_the_corners():
    a = mask_alpha(W, H, "rectangle", mask_width=0.5, mask_height=0.5)
    ys, xs = np.nonzero(a >= 0.5)
    assert (xs.min(), xs.max() + 1, ys.min(), ys.max() + 1) == (50, 150, 25, 75)
    rounded = mask_alpha(W, H, "rectangle", mask_width=0.5, mask_height=0.5, round_corner=1.0)
    assert rounded[25, 50] == 0 and rounded[50, 100] == 1 and rounded[26, 100] == 1


def test_rotation_turns_the_shape_clockwise():
    a = mask_alpha(W, H, "rectangle", mask_width=0.2, mask_height=0.1, rotation=90)
    # A 40×10 bar turned a quarter is 10 wide and 40 tall.
    ys, xs = np.nonzero(a >= 0.5)
    assert ys.max() - ys.min() + 1 == 40 and xs.max() - xs.min() + 1 == 10
    line = mask_alpha(W, H, "line", rotation=90)
    assert line[50, 10] == 0 and line[50, 190] == 1  # the cut-away side turned clockwise from below to the left


def test_line_keeps_the_part_above_and_mirror_keeps_a_band():
    line = mask_alpha(W, H, "line")
    assert line[10, 100] == 1 and line[90, 100] == 0
    mirror = mask_alpha(W, H, "mirror", mask_height=0.4)
    assert mirror[50, 0] == 1 and mirror[15, 100] == 0 and mirror[85, 100] == 0


@pytest.mark.parametrize("shape", ["heart", "star"])
def test_heart_and_star_fill_their_box_and_are_symmetric(shape):
    a = mask_alpha(W, H, shape, mask_width=0.5, mask_height=0.8)
    ys, xs = np.nonzero(a >= 0.5)
    assert abs(xs.min() - 50) <= 1 and abs(xs.max() + 1 - 150) <= 1
    assert abs(ys.min() - 10) <= 1 and abs(ys.max() + 1 - 90) <= 1
    assert np.allclose(a, a[:, ::-1], atol=1e-4)  # mirror symmetric left to right
    assert 0.2 < a[10:90, 50:150].mean() < 0.8


def test_invert_keeps_the_outside():
    a = mask_alpha(W, H, "circle", mask_width=0.3, mask_height=0.6)
    assert np.allclose(mask_alpha(W, H, "circle", mask_width=0.3, mask_height=0.6, invert=True), 1 - a)


def test_apply_mask_multiplies_the_pictures_own_alpha():
    rgba = np.zeros((1, 2, 4), np.uint8)
    rgba[..., 3] = 128
    out = apply_mask(rgba, np.array([[255, 128]], np.uint8))
    assert out[0, 0, 3] == 128 and out[0, 1, 3] == 64
    assert apply_mask(np.zeros((1, 2, 3), np.uint8), np.array([[255, 0]], np.uint8)).shape == (1, 2, 4)
