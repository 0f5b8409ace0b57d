"""A rotated picture's warp by a table (effects/warp.py) against Pillow's (compositor.warp),
which the RGB path draws with, and the YUV canvas taking the table for a layer that stays put."""

from __future__ import annotations

import av
import numpy as np
import pytest
from PIL import Image

from draftrender.effects.transform import Placement
from draftrender.effects.warp import MARGIN, padded, padded_inverse, warp_padded, warp_table
from draftrender.render.compositor import footprint, warp
from draftrender.render.yuv import YuvCanvas, even_box, planes

W, H = 320, 180


@pytest.mark.parametrize("size, p", [
    ((120, 70), Placement(120, 70, 160.0, 90.0, 15.0)),
    ((121, 67), Placement(121, 67, 60.3, 40.7, 33.3)),  # odd sides, off-centre
    ((90, 50), Placement(90, 50, 300.0, 10.0, -71.0)),  # clipped by the canvas's corner
    ((7, 3), Placement(7, 3, 30.0, 30.0, 45.0)),
    ((64, 64), Placement(64, 64, 100.0, 100.0, 180.0)),
])
def test_a_table_warps_as_pillow_does_within_a_level(size, p):
    w, h = size
    rng = np.random.default_rng(w)
    straight = rng.integers(0, 256, (h, w, 4), np.uint8)  # noise: every weight shows
    premultiplied = Image.fromarray(straight).convert("RGBa")
    box = footprint(p, W, H)
    theirs = np.asarray(warp(premultiplied, p, box)).astype(int)
    table = warp_table(size, (box[2] - box[0], box[3] - box[1]), padded_inverse(size, p, box[0], box[1]))
    framed = padded(h, w)
    framed[MARGIN:MARGIN + h, MARGIN:MARGIN + w] = np.asarray(premultiplied)
    mine = warp_padded(framed, table).astype(int)
    assert mine.shape == theirs.shape
    diff = np.abs(mine - theirs)
    assert (diff <= 1).mean() > 0.9999 and diff.max() <= 2  # the weights in 256ths: a level, rarely two
    assert (diff == 0).mean() > 0.6
    assert ((mine[..., 3] > 0) == (theirs[..., 3] > 0)).mean() > 0.999  # the same pixels reached


def test_a_rotated_layer_shown_again_in_place_is_warped_by_a_table_drawing_the_same():
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (70, 120, 3), np.uint8)
    picture = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    coverage = np.full((70, 120), 200, np.uint8)
    coverage[:, :30] = 0
    p = Placement(120, 70, 170.0, 95.0, 20.0)
    canvas = YuvCanvas(W, H)
    drawn = []
    for _ in range(3):
        canvas.start((30, 90, 150))
        canvas.draw_rotated(picture, p, 0.8, coverage)
        drawn.append([plane.astype(int) for plane in planes(canvas.frame)])
    assert canvas.warp_tables_made == 1  # made on the second frame, used from then on
    x0, y0, x1, y1 = even_box(footprint(p, W, H), W, H)
    assert np.ptp(drawn[0][0][y0:y1, x0:x1]) > 50  # something was drawn
    for by_table in drawn[1:]:
        for mine, pillows in zip(by_table, drawn[0], strict=True):
            assert np.abs(mine - pillows).max() <= 1


def test_tables_that_do_not_fit_together_are_not_made_again_frame_after_frame(monkeypatch):
    """Three tilted layers that stay put, with room for one table: the others are warped by
    Pillow every frame, and no table is made, dropped and made again."""
    from draftrender.render import yuv

    picture = av.VideoFrame.from_ndarray(np.full((40, 60, 3), 200, np.uint8), format="rgb24").reformat(format="yuv420p")
    placements = [Placement(60, 40, 60.0 + 90 * n, 90.0, 10.0 + 5 * n) for n in range(3)]
    canvas = YuvCanvas(W, H)
    one = 16 * max((b[2] - b[0]) * (b[3] - b[1]) for b in (even_box(footprint(p, W, H), W, H) for p in placements))
    monkeypatch.setattr(yuv, "TABLE_BYTES", one)
    for frame in range(6):
        canvas.start((0, 0, 0))
        for p in placements:
            canvas.draw_rotated(picture, p)
        assert canvas.warp_tables_made == (frame > 0)
    canvas.start((0, 0, 0))  # a frame without them: their tables go
    canvas.start((0, 0, 0))
    assert not canvas._warps
