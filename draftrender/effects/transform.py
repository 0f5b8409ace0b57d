"""Layer geometry: where a layer's pixels land on the canvas.

The editor's rule (DRAFT_FORMAT.md): crop, fit the media inside the canvas keeping its
aspect, scale, flip, rotate clockwise about the centre, then put the centre at the
position given in half-canvas units with y pointing up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Placement:
    """A layer's drawn size before rotation, and where its centre sits, in canvas pixels."""

    width: float
    height: float
    cx: float
    cy: float
    rotation: float = 0.0  # degrees clockwise
    flip_horizontal: bool = False
    flip_vertical: bool = False

    @property
    def axis_aligned(self) -> bool:
        return self.rotation % 360 == 0


def fit_contain(width: float, height: float, canvas_w: int, canvas_h: int) -> float:
    """The scale that fits a width×height picture inside the canvas, aspect kept."""
    return min(canvas_w / width, canvas_h / height)


def place(media_w: float, media_h: float, canvas_w: int, canvas_h: int, *, scale_x: float = 1.0,
          scale_y: float = 1.0, x: float = 0.0, y: float = 0.0, rotation: float = 0.0,
          flip_horizontal: bool = False, flip_vertical: bool = False, fit: bool = True) -> Placement:
    """Placement of a (cropped) picture of media_w×media_h pixels.

    `fit` is off for text, whose raster is already in canvas pixels.
    """
    base = fit_contain(media_w, media_h, canvas_w, canvas_h) if fit else 1.0
    return Placement(
        width=media_w * base * abs(scale_x),
        height=media_h * base * abs(scale_y),
        cx=canvas_w / 2 + x * canvas_w / 2,
        cy=canvas_h / 2 - y * canvas_h / 2,
        rotation=rotation,
        # A negative scale mirrors, like a flip.
        flip_horizontal=flip_horizontal != (scale_x < 0),
        flip_vertical=flip_vertical != (scale_y < 0),
    )


def rotated_bounds(p: Placement) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of the placed picture after rotation, in canvas pixels."""
    a = math.radians(p.rotation)
    c, s = abs(math.cos(a)), abs(math.sin(a))
    half_w = (p.width * c + p.height * s) / 2
    half_h = (p.width * s + p.height * c) / 2
    return p.cx - half_w, p.cy - half_h, p.cx + half_w, p.cy + half_h


def inverse_affine(p: Placement, src_w: int, src_h: int, left: int, top: int) -> tuple[float, ...]:
    """Coefficients (a, b, c, d, e, f) mapping an output pixel of the box at (left, top) back to
    a source pixel, as Pillow's Image.transform(AFFINE) wants them.

    Forward: src → centred → scaled to the placement size → rotated clockwise (y down) → centre.
    """
    a = math.radians(p.rotation)
    cos, sin = math.cos(a), math.sin(a)
    kx, ky = src_w / p.width, src_h / p.height
    # Inverse rotation of (u, v) = output - centre, then unscale, then shift to the source centre.
    ox, oy = left - p.cx, top - p.cy
    return (
        cos * kx, sin * kx, (cos * ox + sin * oy) * kx + src_w / 2,
        -sin * ky, cos * ky, (-sin * ox + cos * oy) * ky + src_h / 2,
    )
