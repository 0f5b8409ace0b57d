"""A rotated picture's bilinear warp by a table made once per placement.

Pillow's affine warp (compositor.warp) computes every output pixel's source position and its
four weights in doubles, each frame: 11 ms for a 672×378 picture turned 15° on a 1080p
canvas, most of a rotated video layer's cost. A layer that stays where it is (a tilted
picture in picture) is warped the same way every frame: the table keeps, for each output
pixel the picture reaches, its top-left source pixel and its four weights (in 256ths), so a
frame costs four gathers and a weighted sum. The four channels are summed two at a time in
the 16-bit halves of uint32 words (a weight of at most 256 times a level of at most 255
fits in 16 bits), and the sum truncated as Pillow's is. The table imitates Pillow's warp (its
sample positions, the transparent margin, the edges): within a level of it, rarely two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .transform import Placement, inverse_affine

CHUNK = 16384  # pixels made or summed at a time: the scratch stays in the core's cache
MARGIN = 1  # transparent pixels around the picture (as compositor.warp pads it): edges antialiased


@dataclass(frozen=True, slots=True)
class WarpTable:
    """For a w×h picture warped onto an out_w×out_h box: the box pixels it reaches (`drawn`,
    flat indices), each one's top-left tap in the picture padded by MARGIN (flat, in pixels)
    and its four weights (top-left, top-right, bottom-left, bottom-right; uint16, sum 256).
    16 bytes a drawn pixel."""

    size: tuple[int, int]
    out: tuple[int, int]
    drawn: np.ndarray
    tap: np.ndarray
    weights: np.ndarray
    BYTES_PER_PIXEL = 16  # the most a drawn pixel takes: its index, tap and four weights

    @property
    def nbytes(self) -> int:
        return self.drawn.nbytes + self.tap.nbytes + self.weights.nbytes


def padded_inverse(size: tuple[int, int], p: Placement, left: int, top: int) -> tuple[float, ...]:
    """The affine map (a, b, c, d, e, f, as Pillow's transform takes it) from canvas pixels,
    counted from (left, top), to the pixels of a picture of `size` placed by `p` and padded by
    MARGIN: the one geometry of Pillow's warp (compositor.warp) and of the tables."""
    w, h = size
    a, b, c, d, e, f = inverse_affine(Placement(w, h, p.cx, p.cy, p.rotation), w, h, left, top)
    return a, b, c + MARGIN, d, e, f + MARGIN


def warp_table(size: tuple[int, int], out: tuple[int, int], inverse: tuple[float, ...]) -> WarpTable:
    """The table for a picture of `size` (w, h) warped onto a box of `out` (w, h) by the affine
    map `inverse` (padded_inverse's: box pixel → padded picture pixel),
    sampled as Pillow samples: at pixel centres, nothing outside the picture and its one-pixel
    margin, weights by the distance to the four nearest pixel centres."""
    rows = max(1, CHUNK // max(1, out[0]))  # in bands of rows: the doubles stay a few MB
    bands = [_band(size, out, inverse, top, min(top + rows, out[1])) for top in range(0, max(1, out[1]), rows)]
    drawn, tap, weights = (np.concatenate(parts, axis=-1) for parts in zip(*bands, strict=True))
    return WarpTable(size, out, drawn, tap, weights)


def _band(size: tuple[int, int], out: tuple[int, int], inverse: tuple[float, ...], top: int,
          bottom: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """warp_table's drawn pixels, taps and weights for the box's rows top to bottom."""
    w, h = size
    a, b, c, d, e, f = inverse
    xs = np.arange(out[0], dtype=np.float64) + 0.5
    ys = np.arange(top, bottom, dtype=np.float64)[:, None] + 0.5
    # Positions in the padded picture (the same operations in the same order as Pillow's).
    x = a * xs + b * ys + c
    y = d * xs + e * ys + f
    x -= 0.5
    y -= 0.5
    x0, y0 = np.floor(x), np.floor(y)
    # A pixel is drawn where a tap is inside the picture, so all four are inside the padded
    # one (elsewhere Pillow's taps are all margin, or it draws nothing).
    reached = (x0 >= 0) & (x0 <= w) & (y0 >= 0) & (y0 <= h)
    drawn = np.flatnonzero(reached)
    x, y, x0, y0 = x.ravel()[drawn], y.ravel()[drawn], x0.ravel()[drawn], y0.ravel()[drawn]
    dx, dy = x - x0, y - y0
    exact = np.stack([(1 - dx) * (1 - dy), dx * (1 - dy), (1 - dx) * dy, dx * dy])
    weights = np.rint(exact * 256).astype(np.int32)
    # Rounding may leave the sum a 256th off: the largest weight takes the difference.
    weights[exact.argmax(axis=0), np.arange(drawn.size)] += 256 - weights.sum(axis=0)
    tap = y0.astype(np.int32) * (w + 2 * MARGIN) + x0.astype(np.int32)
    return (drawn + top * out[0]).astype(np.int32), tap, weights.astype(np.uint16)


def padded(height: int, width: int) -> np.ndarray:
    """A transparent 4-channel picture of height×width inside its MARGIN, to fill in and warp."""
    return np.zeros((height + 2 * MARGIN, width + 2 * MARGIN, 4), np.uint8)


def warp_padded(picture: np.ndarray, table: WarpTable) -> np.ndarray:
    """The 4-channel uint8 `picture` (padded(): its content inside MARGIN transparent pixels)
    warped by `table`: an out_h×out_w×4 uint8 array, zero where the picture does not reach."""
    assert picture.shape == (table.size[1] + 2 * MARGIN, table.size[0] + 2 * MARGIN, 4), "not the table's picture"
    words = picture.view(np.uint32).reshape(-1)
    stride = picture.shape[1]
    shifted = [words[offset:] for offset in (0, 1, stride, stride + 1)]  # the four taps' pictures
    n = table.drawn.size
    sums = np.empty(n, np.uint32)
    low, high, part = (np.empty(min(n, CHUNK), np.uint32) for _ in range(3))
    for start in range(0, n, CHUNK):
        end = min(start + CHUNK, n)
        m = end - start
        lo, hi, tap = low[:m], high[:m], part[:m]
        for k in range(4):
            weight = table.weights[k, start:end]
            np.take(shifted[k], table.tap[start:end], out=tap, mode="clip")  # clip: not buffered
            if k == 0:
                np.bitwise_and(tap, 0x00FF00FF, out=lo)  # channels 0 and 2, in 16-bit halves
                lo *= weight
                np.right_shift(tap, 8, out=hi)  # channels 1 and 3
                hi &= 0x00FF00FF
                hi *= weight
                continue
            rest = sums[start:end]  # free until this chunk's end: scratch
            np.bitwise_and(tap, 0x00FF00FF, out=rest)
            rest *= weight
            lo += rest
            tap >>= 8
            tap &= 0x00FF00FF
            tap *= weight
            hi += tap
        lo >>= 8
        lo &= 0x00FF00FF
        hi &= 0xFF00FF00
        np.bitwise_or(lo, hi, out=sums[start:end])
    warped = np.zeros(table.out[0] * table.out[1], np.uint32)
    warped[table.drawn] = sums
    return warped.view(np.uint8).reshape(table.out[1], table.out[0], 4)
