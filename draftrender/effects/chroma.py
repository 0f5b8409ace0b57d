"""Chroma key: make the pixels near a key colour transparent, on the layer's own picture.

Distances are measured in the chroma plane (BT.601 Cb/Cr), so a shadowed green is still
green and a dark or grey pixel is never keyed. Parameters, 0–1 as the draft writes them:
- intensity: how far from the key colour a pixel is still removed (the key's radius);
- edge_smooth: the width of the soft band past that radius;
- shadow: how much of the keyed area's darkening (shadows cast on the screen) is kept, as
  translucent black;
- spill: how much of the key colour's tint is taken out of the pixels that stay.
"""

from __future__ import annotations

import numpy as np

KEY_RANGE = 1.0  # chroma distance keyed at intensity 1 (the Cb/Cr plane spans about ±0.5) (calibrate)
EDGE_MIN = 0.02  # the soft band at edge_smooth 0: antialiases the key's edge (calibrate)
EDGE_RANGE = 0.25  # extra band width at edge_smooth 1 (calibrate)

LUMA = np.array([0.299, 0.587, 0.114], np.float32)
CB = np.float32(0.5 / (1 - 0.114))
CR = np.float32(0.5 / (1 - 0.299))


def chroma_key(picture: np.ndarray, color: tuple[float, ...], *, intensity: float = 0.2, shadow: float = 0.0,
               edge_smooth: float = 0.0, spill: float = 0.0) -> np.ndarray:
    """A new HxWx4 uint8 straight-alpha picture with the key colour removed."""
    rgb = picture[..., :3].astype(np.float32) * np.float32(1 / 255)
    y = rgb @ LUMA
    cb = (rgb[..., 2] - y) * CB
    cr = (rgb[..., 0] - y) * CR
    key = np.asarray(color[:3], np.float32)
    key_y = float(key @ LUMA)
    key_cb, key_cr = float((key[2] - key_y) * CB), float((key[0] - key_y) * CR)

    dist = np.hypot(cb - np.float32(key_cb), cr - np.float32(key_cr))
    band = EDGE_MIN + max(edge_smooth, 0.0) * EDGE_RANGE
    alpha = np.clip((dist - np.float32(max(intensity, 0.0) * KEY_RANGE)) * np.float32(1 / band), 0, 1)

    if spill > 0:
        # Take the key's hue out of what stays: remove the chroma along the key's direction.
        norm = float(np.hypot(key_cb, key_cr))
        if norm > 1e-6:
            ux, uy = key_cb / norm, key_cr / norm
            along = np.maximum(cb * np.float32(ux) + cr * np.float32(uy), 0) * np.float32(min(spill, 1.0))
            cb = cb - along * np.float32(ux)
            cr = cr - along * np.float32(uy)
            rgb = np.stack([y + cr / CR, y - (0.299 / 0.587) * cr / CR - (0.114 / 0.587) * cb / CB,
                            y + cb / CB], axis=-1)

    if shadow > 0 and key_y > 1e-3:
        # Where the key is removed, a pixel darker than the key colour was in shadow: keep
        # that darkness as black of matching opacity.
        dark = np.clip((np.float32(key_y) - y) * np.float32(1 / key_y), 0, 1) * np.float32(min(shadow, 1.0))
        kept = alpha + (1 - alpha) * dark
        rgb = rgb * (alpha / np.maximum(kept, np.float32(1e-6)))[..., None]
        alpha = kept

    if picture.shape[2] == 4:
        alpha = alpha * (picture[..., 3].astype(np.float32) * np.float32(1 / 255))
    out = np.empty(picture.shape[:2] + (4,), np.uint8)
    out[..., :3] = np.clip(rgb * 255 + 0.5, 0, 255)
    out[..., 3] = alpha * 255 + 0.5
    return out
