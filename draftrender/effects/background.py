"""The canvas background behind the bottom video track: a colour, or the layer's own picture
scaled to cover the canvas and blurred.

**(calibrate)** The editor's blur levels (0.0625, 0.375, 0.75, 1.0) have no published radius:
BLUR_RADIUS_PER_LEVEL is our estimate, as a fraction of the canvas's longer side.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

BLUR_RADIUS_PER_LEVEL = 0.05
# The blur runs on a picture this many times smaller: the result is smooth anyway, and it
# costs a fraction of a full-size Gaussian.
BLUR_DOWNSCALE = 8


def solid(width: int, height: int, rgba: tuple[float, float, float, float]) -> np.ndarray:
    """An opaque HxWx3 canvas of the colour (its alpha composited over black)."""
    a = rgba[3]
    rgb = [round(c * a * 255) for c in rgba[:3]]
    canvas = np.empty((height, width, 3), np.uint8)
    canvas[:] = rgb
    return canvas


def blurred_cover(picture: np.ndarray, width: int, height: int, level: float) -> np.ndarray:
    """The picture scaled to cover width×height, centred, blurred by the editor's level."""
    ph, pw = picture.shape[:2]
    small_w, small_h = max(1, width // BLUR_DOWNSCALE), max(1, height // BLUR_DOWNSCALE)
    scale = max(small_w / pw, small_h / ph)
    # The source box that covers the small canvas, centred.
    bw, bh = small_w / scale, small_h / scale
    box = ((pw - bw) / 2, (ph - bh) / 2, (pw + bw) / 2, (ph + bh) / 2)
    img = Image.fromarray(np.ascontiguousarray(picture[..., :3])).resize((small_w, small_h), Image.BILINEAR,
                                                                          box=box, reducing_gap=2.0)
    radius = level * BLUR_RADIUS_PER_LEVEL * max(width, height) / BLUR_DOWNSCALE
    if radius > 0:
        img = img.filter(ImageFilter.GaussianBlur(radius))
    return np.asarray(img.resize((width, height), Image.BILINEAR)).copy()
