"""Blend modes: how a layer's colour combines with the backdrop below it.

The ten modes the editor names (DRAFT_FORMAT.md), with the standard separable formulas
(W3C Compositing and Blending Level 1). Each takes the backdrop `b` and the source `s` as
float32 arrays in 0–1 and returns the blended colour; the compositor then mixes it with the
backdrop by the layer's alpha, inside the layer's bounding box only.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np

Blend = Callable[[np.ndarray, np.ndarray], np.ndarray]


def multiply(b: np.ndarray, s: np.ndarray) -> np.ndarray:
    return b * s


def screen(b: np.ndarray, s: np.ndarray) -> np.ndarray:
    return b + s - b * s


def hard_light(b: np.ndarray, s: np.ndarray) -> np.ndarray:
    # multiply where the source is dark, screen where it is light, each at double strength
    return np.where(s <= 0.5, 2 * b * s, 1 - 2 * (1 - b) * (1 - s))


def overlay(b: np.ndarray, s: np.ndarray) -> np.ndarray:
    return hard_light(s, b)  # hard light with the roles swapped: the backdrop decides


def soft_light(b: np.ndarray, s: np.ndarray) -> np.ndarray:
    d = np.where(b <= 0.25, ((16 * b - 12) * b + 4) * b, np.sqrt(b))
    return np.where(s <= 0.5, b - (1 - 2 * s) * b * (1 - b), b + (2 * s - 1) * (d - b))


def darken(b: np.ndarray, s: np.ndarray) -> np.ndarray:
    return np.minimum(b, s)


def lighten(b: np.ndarray, s: np.ndarray) -> np.ndarray:
    return np.maximum(b, s)


def color_dodge(b: np.ndarray, s: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.minimum(1.0, b / (1 - s))
    return np.where(b <= 0, 0.0, np.where(s >= 1, 1.0, out)).astype(np.float32)


def color_burn(b: np.ndarray, s: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 1 - np.minimum(1.0, (1 - b) / s)
    return np.where(b >= 1, 1.0, np.where(s <= 0, 0.0, out)).astype(np.float32)


def linear_burn(b: np.ndarray, s: np.ndarray) -> np.ndarray:
    return np.maximum(b + s - 1, 0.0)


def div255(x: np.ndarray) -> np.ndarray:
    """Exact round(x / 255) for 0 <= x <= 255 * 255, without a division."""
    x = x + 128
    return (x + (x >> 8)) >> 8


def lift(b: np.ndarray, s: np.ndarray) -> np.ndarray:
    """2·b·s/255 where s is dark, 255 − 2·(255 − b)·(255 − s)/255 where it is light."""
    return np.where(s <= 127, div255(2 * b * s), 255 - div255(2 * (255 - b) * (255 - s)))


# The modes with an exact uint16 form (b, s: uint16 levels 0–255): the same results as their
# tables, every pair checked, at half a table lookup's cost.
INTEGER_BLENDS: dict[str, Blend] = {
    "multiply": lambda b, s: div255(b * s),
    "screen": lambda b, s: 255 - div255((255 - b) * (255 - s)),
    "overlay": lambda b, s: lift(s, b),
    "hard_light": lift,
    "darken": np.minimum,
    "lighten": np.maximum,
    "linear_burn": lambda b, s: np.maximum(b + s, 255) - 255,
}


def product255(a: np.ndarray, b: np.ndarray, out: np.ndarray, x: np.ndarray, t: np.ndarray) -> None:
    """out = div255(a·b) of uint8 arrays, through the uint16 scratch arrays x and t of their
    shape: no allocation per band (a fresh temporary of a band's size costs its page faults)."""
    np.multiply(a, b, out=x, dtype=np.uint16)
    div255_into(x, t)
    np.copyto(out, x, casting="unsafe")


def div255_into(x: np.ndarray, t: np.ndarray) -> None:
    """x = div255(x) in place for uint16 x, through the scratch array t of its shape."""
    x += 128
    np.right_shift(x, 8, out=t)
    x += t
    x >>= 8


def screen_uint8(b: np.ndarray, s: np.ndarray, out: np.ndarray, x: np.ndarray, t: np.ndarray) -> None:
    """INTEGER_BLENDS' screen of uint8 arrays into `out` (which may be `b`): the inverse of the
    product of the inverses, through the uint16 scratch arrays x and t."""
    np.subtract(255, b, out=x, dtype=np.uint16)
    np.subtract(255, s, out=t, dtype=np.uint16)
    x *= t
    div255_into(x, t)
    np.subtract(255, x, out=out, casting="unsafe")


# Uint8 forms of the commonest modes at full opacity (a light leak in screen mode over a whole
# frame): the same results as INTEGER_BLENDS, in a few passes over scratch arrays.
UINT8_BLENDS: dict[str, Callable[..., None]] = {"multiply": product255, "screen": screen_uint8}

BLEND_MODES: dict[str, Blend] = {
    "multiply": multiply, "screen": screen, "overlay": overlay, "soft_light": soft_light,
    "hard_light": hard_light, "darken": darken, "lighten": lighten, "color_dodge": color_dodge,
    "color_burn": color_burn, "linear_burn": linear_burn,
}


@cache
def blend_table(mode: str) -> np.ndarray:
    """The mode's result for every pair of uint8 values, indexed by backdrop << 8 | source.
    The formulas are separable, so one 64 K table replaces the float maths per pixel."""
    levels = np.arange(256, dtype=np.float32) / 255
    b, s = np.meshgrid(levels, levels, indexing="ij")
    return np.clip(BLEND_MODES[mode](b, s) * 255 + 0.5, 0, 255).astype(np.uint8).ravel()


BAND_ROWS = 64


def row_bands(height: int) -> list[slice]:
    """Slices of BAND_ROWS rows covering a picture `height` tall: full-frame work done band by
    band keeps its temporaries small (and in cache) instead of several frame-sized arrays."""
    return [slice(top, top + BAND_ROWS) for top in range(0, height, BAND_ROWS)]


def blend_into(dst: np.ndarray, src: np.ndarray, alpha: np.ndarray, mode: str) -> None:
    """Mix `mode(dst, src)` into the opaque uint8 RGB `dst` in place, by `alpha` (HxW float32
    0–1, the layer's coverage times its opacity). `src` is straight uint8 RGB of the same size."""
    if mode in UINT8_BLENDS and alpha.strides == (0, 0) and alpha.flat[0] * 256 >= 255.5:
        blend_opaque_into(dst, src, mode)  # fully opaque: the blend is the result
        return
    # In bands of rows: the table lookup widens its index to int64, 8 bytes a sample, which
    # for a whole 1080p frame would be a 48 MB temporary.
    for rows in row_bands(dst.shape[0]):
        blend_band(dst[rows], src[rows], alpha[rows], mode)


def blend_opaque_into(dst: np.ndarray, src: np.ndarray, mode: str) -> None:
    """dst = mode(dst, src) for a mode of UINT8_BLENDS, in bands sharing two scratch arrays."""
    x = np.empty((min(BAND_ROWS, dst.shape[0]), *dst.shape[1:]), np.uint16)
    t = np.empty_like(x)
    for rows in row_bands(dst.shape[0]):
        d = dst[rows]
        n = d.shape[0]
        UINT8_BLENDS[mode](d, src[rows], d, x[:n], t[:n])


def blend_band(dst: np.ndarray, src: np.ndarray, alpha: np.ndarray, mode: str) -> None:
    if mode in INTEGER_BLENDS:
        mixed = INTEGER_BLENDS[mode](dst.astype(np.uint16), src.astype(np.uint16)).astype(np.uint8)
    else:
        index = dst.astype(np.uint16) << 8
        index |= src
        mixed = blend_table(mode)[index]
    if alpha.strides == (0, 0):  # one opacity for the whole layer (a broadcast scalar)
        k = round(float(alpha.flat[0]) * 256)
        if k >= 256:
            dst[:] = mixed
            return
        weight = np.asarray(k, np.uint16)
    else:
        weight = (alpha * 256 + 0.5).astype(np.uint16)[..., None]
    out = dst * (256 - weight)
    out += mixed * weight
    out += 128
    out >>= 8
    dst[:] = out
