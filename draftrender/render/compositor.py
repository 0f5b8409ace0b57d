"""Drawing one layer onto the canvas, inside the layer's own bounding box only.

The canvas is an opaque HxWx3 uint8 RGB array; or a transparent stage, which a transition
draws each of its two layers on before mixing them: premultiplied colour in that array and
the stage's coverage in a separate HxW plane (`coverage`). A layer picture is HxWx3 (opaque)
or HxWx4 (straight alpha). Axis-aligned layers are resized and pasted on whole pixels;
rotated layers are warped in premultiplied alpha with a transparent margin, so their edges
are antialiased and carry no dark fringe. An opaque layer at full opacity replaces what is
below it. A blend mode (effects/blend.py) mixes the layer's colour with the canvas below by
its formula, still inside the bounding box only.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image
from PIL.Image import Resampling, Transform

from ..effects.blend import blend_into, div255, row_bands
from ..effects.transform import Placement, rotated_bounds
from ..effects.warp import MARGIN, padded_inverse


def draw(canvas: np.ndarray, picture: np.ndarray, p: Placement, opacity: float = 1.0,
         mode: str | None = None, coverage: np.ndarray | None = None) -> None:
    """Composite `picture`, placed by `p`, onto `canvas` in place, normally or by blend `mode`
    (a key of effects.blend.BLEND_MODES). With `coverage` the canvas is a transparent stage
    whose coverage this updates (a stage is mixed by its transition: no blend mode there)."""
    if opacity <= 0 or p.width < 0.5 or p.height < 0.5:
        return
    if coverage is not None:
        mode = None
    if p.axis_aligned:
        draw_axis_aligned(canvas, picture, p, opacity, mode, coverage)
    else:
        draw_rotated(canvas, picture, p, opacity, mode, coverage)


def footprint(p: Placement, width: int, height: int) -> tuple[int, int, int, int] | None:
    """The box (x0, y0, x1, y1) of a width×height canvas that draw() may change for `p`."""
    if p.axis_aligned:
        w, h = max(1, round(p.width)), max(1, round(p.height))
        x0, y0 = round(p.cx - w / 2), round(p.cy - h / 2)
        x1, y1 = x0 + w, y0 + h
    else:
        left, top, right, bottom = rotated_bounds(p)
        x0, y0, x1, y1 = math.floor(left) - 1, math.floor(top) - 1, math.ceil(right) + 1, math.ceil(bottom) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def visible(picture: np.ndarray, p: Placement, width: int, height: int) -> tuple[np.ndarray, int, int] | None:
    """The part of `picture`, placed upright by `p`, that falls on a width×height canvas,
    resized to its drawn size, and where its top-left lands; None when none does."""
    w, h = max(1, round(p.width)), max(1, round(p.height))
    left, top = round(p.cx - w / 2), round(p.cy - h / 2)
    box = footprint(p, width, height)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    return crop_to_visible(flipped(picture, p), w, h, (x0 - left, y0 - top, x1 - left, y1 - top)), x0, y0


def draw_axis_aligned(canvas: np.ndarray, picture: np.ndarray, p: Placement, opacity: float,
                      mode: str | None = None, coverage: np.ndarray | None = None) -> None:
    part = visible(picture, p, canvas.shape[1], canvas.shape[0])
    if part is None:
        return
    shown, x0, y0 = part
    below = canvas[y0:y0 + shown.shape[0], x0:x0 + shown.shape[1]]
    if mode is not None:
        alpha = np.float32(opacity) if shown.shape[2] == 3 else shown[..., 3] * np.float32(opacity / 255)
        blend_into(below, shown[..., :3], np.broadcast_to(alpha, shown.shape[:2]), mode)
        return
    if coverage is None:
        paste_over(below, shown, opacity)
    else:
        blend(below, shown, opacity, coverage[y0:y0 + shown.shape[0], x0:x0 + shown.shape[1]])


def flipped(picture: np.ndarray, p: Placement) -> np.ndarray:
    """The picture mirrored as the placement asks (views, no copy)."""
    if p.flip_horizontal:
        picture = picture[:, ::-1]
    if p.flip_vertical:
        picture = picture[::-1]
    return picture


def crop_to_visible(picture: np.ndarray, w: int, h: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """The part of `picture` resized to w×h that falls in box (in the resized picture's pixels),
    resampling only that part."""
    ph, pw = picture.shape[:2]
    if (pw, ph) == (w, h):
        return picture[box[1]:box[3], box[0]:box[2]]
    sx, sy = pw / w, ph / h
    src_box = (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)
    # Only the source pixels the filter reaches go into Pillow (which premultiplies an RGBA
    # picture whole before resizing it): the filter spans a source pixel each side, more
    # when it shrinks.
    mx, my = math.ceil(max(sx, 1.0)) + 1, math.ceil(max(sy, 1.0)) + 1
    x0, y0 = max(0, math.floor(src_box[0]) - mx), max(0, math.floor(src_box[1]) - my)
    x1, y1 = min(pw, math.ceil(src_box[2]) + mx), min(ph, math.ceil(src_box[3]) + my)
    img = Image.fromarray(np.ascontiguousarray(picture[y0:y1, x0:x1]))
    size = (box[2] - box[0], box[3] - box[1])
    # reducing_gap keeps large downscales fast and free of aliasing.
    return np.asarray(img.resize(size, Resampling.BILINEAR, reducing_gap=3.0,
                                 box=(src_box[0] - x0, src_box[1] - y0, src_box[2] - x0, src_box[3] - y0)))


def draw_rotated(canvas: np.ndarray, picture: np.ndarray, p: Placement, opacity: float,
                 mode: str | None = None, coverage: np.ndarray | None = None) -> None:
    box = footprint(p, canvas.shape[1], canvas.shape[0])
    if box is None:
        return
    x0, y0, x1, y1 = box
    img = Image.fromarray(np.ascontiguousarray(flipped(picture, p)))
    # Resample to the drawn size first with a proper filter, so the warp only rotates.
    w, h = max(1, round(p.width)), max(1, round(p.height))
    if img.size != (w, h):
        img = img.resize((w, h), Resampling.BILINEAR, reducing_gap=3.0)
    warped = warp(img.convert("RGBa"), p, box)
    if mode is not None:
        straight = np.asarray(warped.convert("RGBA"))
        blend_into(canvas[y0:y1, x0:x1], straight[..., :3], straight[..., 3] * np.float32(opacity / 255), mode)
        return
    if coverage is None:
        paste_over(canvas[y0:y1, x0:x1], np.asarray(warped.convert("RGBA")), opacity)
        return
    premultiplied = np.asarray(warped)
    blend_premultiplied(canvas[y0:y1, x0:x1], premultiplied[..., :3], premultiplied[..., 3], opacity,
                        coverage[y0:y1, x0:x1])


def warp(img: Image.Image, p: Placement, box: tuple[int, int, int, int]) -> Image.Image:
    """The premultiplied 4-channel `img`, at its drawn size, rotated as `p` places it, over the
    canvas pixels of `box` (transparent where it does not reach)."""
    w, h = img.size
    x0, y0, x1, y1 = box
    padded = Image.new(img.mode, (w + 2 * MARGIN, h + 2 * MARGIN))  # a transparent margin antialiases the edges
    padded.paste(img, (MARGIN, MARGIN))
    inverse = padded_inverse((w, h), p, x0, y0)
    return padded.transform((x1 - x0, y1 - y0), Transform.AFFINE, inverse, Resampling.BILINEAR)


def paste_over(dst: np.ndarray, src: np.ndarray, opacity: float) -> None:
    """Straight-alpha `src` (RGB or RGBA) over the opaque RGB `dst` of the same size, in place.
    Pillow's paste mixes through a coverage mask in one C loop, about five times faster than
    numpy's uint16 arithmetic over the same pixels; in bands of rows, so that its copies in
    and out of Pillow stay small."""
    if src.shape[2] == 3 and opacity >= 1:
        dst[:] = src
        return
    for rows in row_bands(dst.shape[0]):
        paste_band(dst[rows], src[rows], opacity)


def paste_band(dst: np.ndarray, src: np.ndarray, opacity: float) -> None:
    h, w = src.shape[:2]
    if src.shape[2] == 3:
        top, mask = Image.fromarray(src), Image.new("L", (w, h), round(opacity * 255))
    else:
        top = Image.fromarray(np.ascontiguousarray(src))  # RGBA pastes onto RGB as it is
        mask = top if opacity >= 1 else Image.fromarray(
            div255(src[..., 3].astype(np.uint16) * round(opacity * 255)).astype(np.uint8))
    base = Image.fromarray(dst)
    base.paste(top, (0, 0), mask)
    dst[:] = np.asarray(base)


def blend(dst: np.ndarray, src: np.ndarray, opacity: float, coverage: np.ndarray | None = None) -> None:
    """Straight-alpha `src` (RGB or RGBA) over `dst`, in place: a stage's premultiplied colour
    and its `coverage` (colour·a + dst·(1 − a) for both), or an opaque canvas without it."""
    if src.shape[2] == 3:
        if opacity >= 1:
            dst[:] = src
            if coverage is not None:
                coverage[:] = 255
            return
        alpha = np.full(src.shape[:2], round(opacity * 255), np.uint16)
        rgb = src
    else:
        rgb = src[..., :3]
        alpha = src[..., 3].astype(np.uint16)
        if opacity < 1:
            alpha = div255(alpha * round(opacity * 255))
    a = alpha[..., None]
    dst[:] = div255(rgb.astype(np.uint16) * a + dst.astype(np.uint16) * (255 - a))
    if coverage is not None:
        coverage[:] = alpha + div255(coverage.astype(np.uint16) * (255 - alpha))


def blend_premultiplied(dst: np.ndarray, rgb: np.ndarray, alpha: np.ndarray, opacity: float = 1.0,
                        coverage: np.ndarray | None = None) -> None:
    """Premultiplied colour `rgb` with coverage `alpha` (HxW) over `dst`, in place: an opaque
    canvas, or a stage's premultiplied colour when its `coverage` is given."""
    rgb = rgb.astype(np.uint16)
    alpha = alpha.astype(np.uint16)
    if opacity < 1:
        op = round(opacity * 255)
        rgb, alpha = div255(rgb * op), div255(alpha * op)
    dst[:] = np.minimum(rgb + div255(dst.astype(np.uint16) * (255 - alpha[..., None])), 255)
    if coverage is not None:
        coverage[:] = np.minimum(alpha + div255(coverage.astype(np.uint16) * (255 - alpha)), 255)
