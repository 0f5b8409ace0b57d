"""Masks: a layer's coverage cut to a shape, sized against its own picture (the material).

Shapes: line, mirror, circle (an ellipse with width ≠ height), rectangle with round corners,
heart and star. Parameters, as the draft writes them (DRAFT_FORMAT.md, masks):
- centre_x, centre_y: the shape's centre in half-material units from the picture's centre,
  y pointing up like the clip transform **(calibrate)**;
- width, height: the shape's size as fractions of the picture's width and height (the line
  ignores both; the mirror's band is `height` tall);
- rotation: degrees clockwise; feather: 0–1 softness; round_corner: 0–1 of the shorter half
  side (rectangles); invert: keep the outside instead.

Each shape is a signed distance in pixels (negative inside), and the coverage falls off
linearly across a band `feather` wide centred on the edge: 0.5 exactly on the edge.
"""

from __future__ import annotations

import math

import numpy as np

# The feather band's width as a fraction of the shape's smaller side (of the picture's
# shorter side for the line and the mirror), at feather 1. (calibrate)
FEATHER_SPAN = 0.5
# The star's inner radius as a fraction of its outer radius. (calibrate)
STAR_INNER = 0.45

# Each outline's bounds in its own units (x, then y with y up): the mask box maps onto them.
HEART_BOUNDS = (-0.25 - math.sqrt(2) / 4, 0.25 + math.sqrt(2) / 4, 0.0, 0.75 + math.sqrt(2) / 4)
STAR_BOUNDS = (-math.cos(math.radians(18)), math.cos(math.radians(18)), -math.cos(math.radians(36)), 1.0)


def mask_alpha(width: int, height: int, shape: str, *, center_x: float = 0.0, center_y: float = 0.0,
               mask_width: float = 1.0, mask_height: float = 1.0, rotation: float = 0.0, feather: float = 0.0,
               round_corner: float = 0.0, invert: bool = False) -> np.ndarray:
    """HxW float32 coverage 0–1 of a width×height picture."""
    cx = width / 2 + center_x * width / 2
    cy = height / 2 - center_y * height / 2
    a = max(abs(mask_width) * width / 2, 0.5)  # half sizes in pixels
    b = max(abs(mask_height) * height / 2, 0.5)
    # The shape's own frame: pixel centres relative to its centre, turned back by its rotation.
    x = np.arange(width, dtype=np.float32) + np.float32(0.5 - cx)
    y = np.arange(height, dtype=np.float32)[:, None] + np.float32(0.5 - cy)
    t = math.radians(rotation)
    c, s = np.float32(math.cos(t)), np.float32(math.sin(t))
    u = x * c + y * s
    v = y * c - x * s
    ref: float
    if shape == "line":
        d, ref = v, min(width, height)  # the part below the line is cut away
    elif shape == "mirror":
        d, ref = np.abs(v) - b, min(width, height)
    elif shape == "circle":
        d, ref = ellipse(u, v, a, b), 2 * min(a, b)
    elif shape == "heart":
        d, ref = outline(heart, HEART_BOUNDS, u, v, a, b), 2 * min(a, b)
    elif shape == "star":
        d, ref = outline(star, STAR_BOUNDS, u, v, a, b), 2 * min(a, b)
    else:  # rectangle, and any shape the editor adds later
        d, ref = rounded_box(u, v, a, b, min(max(round_corner, 0.0), 1.0) * min(a, b)), 2 * min(a, b)
    band = max(1.0, min(max(feather, 0.0), 1.0) * FEATHER_SPAN * ref)
    alpha = np.clip(np.float32(0.5) - d * np.float32(1 / band), 0, 1).astype(np.float32)
    return 1 - alpha if invert else alpha


def ellipse(u: np.ndarray, v: np.ndarray, a: float, b: float) -> np.ndarray:
    """Approximate signed distance to an axis-aligned ellipse: exact for a circle, and right
    on the outline for any ellipse (where the coverage is decided)."""
    k = np.sqrt((u / a) ** 2 + (v / b) ** 2)
    return (k - 1) * min(a, b)


def rounded_box(u: np.ndarray, v: np.ndarray, a: float, b: float, r: float) -> np.ndarray:
    qx = np.abs(u) - (a - r)
    qy = np.abs(v) - (b - r)
    outside = np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2)
    return outside + np.minimum(np.maximum(qx, qy), 0) - r


def outline(sdf, bounds: tuple[float, float, float, float], u: np.ndarray, v: np.ndarray, a: float,
            b: float) -> np.ndarray:
    """A shape given by a signed distance in its own units, stretched onto the 2a×2b mask box."""
    x0, x1, y0, y1 = bounds
    kx, ky = (x1 - x0) / (2 * a), (y1 - y0) / (2 * b)
    px = u * np.float32(kx) + np.float32((x0 + x1) / 2)
    py = -v * np.float32(ky) + np.float32((y0 + y1) / 2)  # the outlines have y up
    return sdf(px, py) / max(kx, ky)


def heart(px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Signed distance to a heart with its tip at (0, 0), after Inigo Quilez's sdHeart."""
    px = np.abs(px)
    upper = np.sqrt((px - 0.25) ** 2 + (py - 0.75) ** 2) - math.sqrt(2) / 4
    m = 0.5 * np.maximum(px + py, 0)
    lower = np.sqrt(np.minimum(px ** 2 + (py - 1) ** 2, (px - m) ** 2 + (py - m) ** 2)) * np.sign(px - py)
    return np.where(px + py > 1, upper, lower)


def star(px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Signed distance to a five-pointed star of outer radius 1, a point up (sdStar5)."""
    k1x, k1y = 0.809016994375, -0.587785252292
    px = np.abs(px)
    dot = np.maximum(k1x * px + k1y * py, 0)
    px, py = px - 2 * dot * k1x, py - 2 * dot * k1y
    dot = np.maximum(-k1x * px + k1y * py, 0)
    px, py = px + 2 * dot * k1x, py - 2 * dot * k1y
    px = np.abs(px)
    py = py - 1.0
    bax, bay = -k1y * STAR_INNER, k1x * STAR_INNER - 1
    h = np.clip((px * bax + py * bay) / (bax * bax + bay * bay), 0, 1)
    return np.sqrt((px - bax * h) ** 2 + (py - bay * h) ** 2) * np.sign(py * bax - px * bay)


def apply_mask(picture: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The picture (RGB or RGBA uint8) with its coverage multiplied by `alpha` (HxW uint8)."""
    if picture.shape[2] == 3:
        return np.dstack([picture, alpha])
    a = picture[..., 3].astype(np.uint16) * alpha + 128
    return np.dstack([picture[..., :3], ((a + (a >> 8)) >> 8).astype(np.uint8)])


def mask_uint8(alpha: np.ndarray) -> np.ndarray:
    return (alpha * 255 + 0.5).astype(np.uint8)


def nonzero_box(coverage: np.ndarray) -> tuple[int, int, int, int] | None:
    """The box (x0, y0, x1, y1) of a coverage's non-zero pixels; None when it has none."""
    rows = np.flatnonzero(coverage.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(coverage.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1
