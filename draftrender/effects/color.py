"""Colour adjustments of a layer: the editor's brightness, contrast and saturation (−1 to 1,
0 unchanged), keyframable. **(calibrate)** The editor's curves are not published: these are
linear approximations, with their strengths kept here in one place.
"""

from __future__ import annotations

import numpy as np

BRIGHTNESS_RANGE = 0.4  # brightness 1 adds 40 % of full scale
CONTRAST_RANGE = 1.0  # contrast 1 doubles the distance from mid grey
SATURATION_RANGE = 1.0  # saturation 1 doubles the chroma; −1 removes it


def adjust(rgb: np.ndarray, brightness: float = 0.0, contrast: float = 0.0, saturation: float = 0.0) -> np.ndarray:
    """A new uint8 HxWx3 picture with the adjustments applied (the input is untouched)."""
    if brightness == 0 and contrast == 0 and saturation == 0:
        return rgb
    img = rgb.astype(np.float32)
    if saturation:
        grey = img @ np.array([0.299, 0.587, 0.114], np.float32)
        img = grey[..., None] + (img - grey[..., None]) * max(0.0, 1 + saturation * SATURATION_RANGE)
    if contrast:
        img = (img - 127.5) * max(0.0, 1 + contrast * CONTRAST_RANGE) + 127.5
    if brightness:
        img += brightness * BRIGHTNESS_RANGE * 255
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)
