"""The opaque canvas's fast path (Pillow's paste) against the stage's numpy arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from draftrender.effects.transform import Placement
from draftrender.render.compositor import blend, draw, paste_over


@pytest.fixture
def pictures():
    rng = np.random.default_rng(7)
    dst = rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)
    rgba = rng.integers(0, 256, (90, 160, 4), dtype=np.uint8)
    rgba[:10, :, 3] = 0  # fully transparent rows
    rgba[10:20, :, 3] = 255  # fully opaque rows
    return dst, rgba


@pytest.mark.parametrize("channels, opacity", [(3, 0.4), (3, 1.0), (4, 1.0), (4, 0.6)])
def test_paste_over_matches_the_alpha_formula(pictures, channels, opacity):
    dst, rgba = pictures
    src = rgba[..., :channels]
    fast = dst.copy()
    paste_over(fast, src, opacity)
    # The stage formula, colour·a + dst·(1 − a), with a coverage plane it needs but we ignore.
    exact = dst.copy()
    blend(exact, src, opacity, coverage=np.zeros(dst.shape[:2], np.uint8))
    assert np.abs(fast.astype(int) - exact.astype(int)).max() <= 1
    if channels == 4:
        assert np.array_equal(fast[:10], dst[:10])  # transparent: untouched
        if opacity == 1:
            assert np.array_equal(fast[10:20], src[10:20, :, :3])  # opaque: replaced


def test_rotated_layer_on_an_opaque_canvas_has_no_dark_fringe():
    canvas = np.full((100, 100, 3), 255, np.uint8)
    colour = np.array([200, 60, 20])
    draw(canvas, np.full((40, 40, 3), colour, np.uint8), Placement(40, 40, 50, 50, rotation=30.0), 1.0)
    assert canvas[50, 50].tolist() == colour.tolist() and canvas[2, 2].tolist() == [255, 255, 255]
    # Every edge pixel mixes the square's colour with the white below, channel by channel:
    # none is darker than the square (which a warp of straight alpha would make).
    partial = (canvas != 255).any(axis=2) & (canvas != colour).any(axis=2)
    assert partial.sum() > 20
    assert np.all(canvas[partial] >= colour - 1)
