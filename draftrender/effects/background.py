"""The canvas background behind the bottom video track: a colour, or the layer's own picture
scaled to cover the canvas and blurred.

**(calibrate)** The editor's blur levels (0.0625, 0.375, 0.75, 1.0) have no published radius:
BLUR_RADIUS_PER_LEVEL is our estimate, as a fraction of the canvas's longer side.
"""

from __future__ import annotations

import math

import av
import numpy as np
from PIL import Image, ImageFilter
from PIL.Image import Resampling

BLUR_RADIUS_PER_LEVEL = 0.05
# The blur runs on a picture this many times smaller: the result is smooth anyway, and it
# costs a fraction of a full-size Gaussian.
BLUR_DOWNSCALE = 8


def opaque_rgb(rgba: tuple[float, float, float, float]) -> tuple[int, int, int]:
    """The 8-bit colour of `rgba` composited over black."""
    a = rgba[3]
    r, g, b = (round(c * a * 255) for c in rgba[:3])
    return r, g, b


def solid(width: int, height: int, rgba: tuple[float, float, float, float]) -> np.ndarray:
    """An opaque HxWx3 canvas of the colour (its alpha composited over black)."""
    canvas = np.empty((height, width, 3), np.uint8)
    canvas[:] = opaque_rgb(rgba)
    return canvas


def cover_size(pw: float, ph: float, width: int, height: int) -> tuple[int, int]:
    """The size a pw×ph picture needs to cover the blur's small canvas: a decoder can deliver it
    at that size directly."""
    small_w, small_h = max(1, width // BLUR_DOWNSCALE), max(1, height // BLUR_DOWNSCALE)
    scale = max(small_w / pw, small_h / ph)
    return max(small_w, math.ceil(pw * scale)), max(small_h, math.ceil(ph * scale))


def blurred_cover(picture: np.ndarray, width: int, height: int, level: float) -> np.ndarray:
    """The picture scaled to cover width×height, centred, blurred by the editor's level."""
    ph, pw = picture.shape[:2]
    small_w, small_h = max(1, width // BLUR_DOWNSCALE), max(1, height // BLUR_DOWNSCALE)
    scale = max(small_w / pw, small_h / ph)
    # The source box that covers the small canvas, centred.
    bw, bh = small_w / scale, small_h / scale
    # Clamped: float rounding may put an edge a hair outside the picture.
    box = (max(0.0, (pw - bw) / 2), max(0.0, (ph - bh) / 2), min(pw, (pw + bw) / 2), min(ph, (ph + bh) / 2))
    img = Image.fromarray(np.ascontiguousarray(picture[..., :3])).resize((small_w, small_h), Resampling.BILINEAR,
                                                                          box=box, reducing_gap=2.0)
    radius = level * BLUR_RADIUS_PER_LEVEL * max(width, height) / BLUR_DOWNSCALE
    if radius > 0:
        img = img.filter(ImageFilter.GaussianBlur(radius))
    return upscale(np.asarray(img), width, height)


def upscale(small: np.ndarray, width: int, height: int) -> np.ndarray:
    """A smooth picture brought up to width×height. Through YUV because SwScale scales YUV and
    converts same-size YUV to RGB several times faster than it scales packed RGB; chroma
    subsampling costs nothing visible on a blurred picture."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(small), format="rgb24")
    yuv = frame.reformat(width=width, height=height, format="yuv444p" if width % 2 or height % 2 else "yuv420p",
                         interpolation="BILINEAR")
    return yuv.reformat(format="rgb24").to_ndarray()
