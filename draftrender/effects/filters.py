"""Filters and video effects: parametric colour grades and a few spatial looks.

A `Grade` is a set of named adjustments, each 0 when neutral; a preset is a Grade, and the
draft's intensity (0–1) scales every adjustment of it. Colour adjustments fold into one 3×4
affine matrix (a per-channel lookup table when no channel mixes), applied once per frame;
the spatial ones (blur, sharpen, vignette, grain) and the dynamic ones (shake, flash) follow.
A `.cube` LUT renders exactly (trilinear), loaded once per file.

Adjustments (all **(calibrate)**: the editor's filters are resources we approximate):
- brightness −1…1: adds up to 40 % of full scale; contrast −1…1: scales the distance from
  mid grey by up to 2×; saturation −1…1: chroma from none to 2×;
- temperature −1…1: warm (+) raises red and lowers blue by up to 25 %; tint −1…1: magenta (+)
  or green (−), up to 15 %;
- mono 0…1: towards grey; sepia 0…1: towards a brown-toned grey; fade 0…1: lifts the blacks
  and lowers the whites by up to 25 %; invert 0…1: towards the negative;
- vignette 0…1: darkens the corners by up to 70 %; sharpen 0…1: unsharp mask up to 150 %;
  blur 0…1: Gaussian sigma up to 2 % of the longer side; grain 0…1: noise of up to ±20 levels;
- shake 0…1: moves the picture up to 2 % of the longer side, a new offset every frame;
- flash 0…1: towards white, pulsing twice a second.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, fields, replace
from functools import lru_cache

import numpy as np
from PIL import Image, ImageFilter
from PIL.Image import Resampling

BRIGHTNESS = 0.4
CONTRAST = 1.0
SATURATION = 1.0
TEMPERATURE = 0.25
TINT = 0.15
FADE = 0.25
VIGNETTE = 0.7
SHARPEN = 150  # percent, at sharpen 1
BLUR = 0.02
GRAIN = 20.0
SHAKE = 0.02
FLASH_HZ = 2.0
LUMA = (0.299, 0.587, 0.114)
SEPIA_TONE = (1.07, 0.74, 0.43)  # the sepia print's colour relative to grey


@dataclass(frozen=True, slots=True)
class Grade:
    brightness: float = 0.0
    contrast: float = 0.0
    saturation: float = 0.0
    temperature: float = 0.0
    tint: float = 0.0
    mono: float = 0.0
    sepia: float = 0.0
    fade: float = 0.0
    invert: float = 0.0
    vignette: float = 0.0
    sharpen: float = 0.0
    blur: float = 0.0
    grain: float = 0.0
    shake: float = 0.0
    flash: float = 0.0

    def scaled(self, amount: float) -> Grade:
        """Every adjustment at `amount` of its strength (the draft's intensity)."""
        return Grade(*(getattr(self, f.name) * amount for f in fields(self)))


# Filters (colour grades)...
PRESETS: dict[str, Grade] = {
    "mono": Grade(mono=1.0, contrast=0.1),
    "sepia": Grade(sepia=1.0, contrast=0.05),
    "vintage": Grade(sepia=0.35, fade=0.35, saturation=-0.2, vignette=0.3, grain=0.3),
    "faded": Grade(fade=0.6, saturation=-0.3),
    "warm": Grade(temperature=0.45, saturation=0.1),
    "cool": Grade(temperature=-0.45, brightness=0.02),
    "pink": Grade(tint=0.5, temperature=0.1, brightness=0.05),
    "green": Grade(tint=-0.45, saturation=0.1),
    "vivid": Grade(saturation=0.45, contrast=0.15),
    "bright": Grade(brightness=0.15, contrast=-0.05, saturation=0.05),
    "moody": Grade(brightness=-0.15, contrast=0.2, saturation=-0.25, vignette=0.35),
    "cinematic": Grade(contrast=0.2, saturation=-0.15, temperature=-0.15, fade=0.15, vignette=0.25),
    "soft": Grade(fade=0.3, contrast=-0.15, blur=0.08, brightness=0.05),
    "crisp": Grade(sharpen=0.6, contrast=0.1, saturation=0.1),
    # ...and video effects (spatial and dynamic looks).
    "blur": Grade(blur=0.5),
    "vignette": Grade(vignette=1.0),
    "sharpen": Grade(sharpen=1.0),
    "grain": Grade(grain=1.0),
    "shake": Grade(shake=1.0),
    "old_film": Grade(sepia=0.6, fade=0.3, vignette=0.6, grain=0.7, shake=0.15),
    "flash": Grade(flash=0.8),
    "dim": Grade(brightness=-0.4, vignette=0.5),
    "invert": Grade(invert=1.0),
}


def grade_picture(rgb: np.ndarray, grade: Grade, time: float = 0.0) -> np.ndarray:
    """A new HxWx3 uint8 picture with the grade applied. `time` (s) drives the dynamic parts."""
    out = color_grade(rgb, grade, time)
    h, w = out.shape[:2]
    if grade.blur > 0:
        out = blur(out, grade.blur * BLUR * max(w, h))
    if grade.sharpen > 0:
        out = np.asarray(Image.fromarray(out).filter(ImageFilter.UnsharpMask(2, round(grade.sharpen * SHARPEN), 2)))
    if grade.vignette > 0:
        gain = vignette_gain(w, h, round(min(grade.vignette, 1.0) * 100))
        out = ((out.astype(np.uint16) * gain[..., None]) >> 8).astype(np.uint8)
    if grade.grain > 0:
        out = add_grain(out, grade.grain * GRAIN, seed=round(time * 1000) & 0xFFFFFFFF)
    if grade.shake > 0:
        out = shake(out, grade.shake * SHAKE * max(w, h), time)
    return out if out is not rgb else rgb.copy()


def color_grade(rgb: np.ndarray, grade: Grade, time: float = 0.0) -> np.ndarray:
    matrix = color_matrix(replace(grade, flash=flash_level(grade.flash, time)))
    if np.allclose(matrix, np.hstack([np.eye(3), np.zeros((3, 1))])):
        return rgb
    img = Image.fromarray(np.ascontiguousarray(rgb[..., :3]))
    if np.count_nonzero(matrix[:, :3] - np.diag(np.diag(matrix[:, :3]))) == 0:
        # No channel mixes: one 256-entry table per channel.
        levels = np.arange(256, dtype=np.float64)
        tables = [np.clip(levels * matrix[c, c] + matrix[c, 3] * 255 + 0.5, 0, 255).astype(np.uint8)
                  for c in range(3)]
        return np.asarray(img.point(np.concatenate(tables).tolist()))
    # Pillow's matrix conversion: the affine map in C, rounded and clipped.
    coefficients = tuple(float(v) for row in matrix for v in (row[0], row[1], row[2], row[3] * 255))
    return np.asarray(img.convert("RGB", coefficients))


def flash_level(flash: float, time: float) -> float:
    return flash * (0.5 - 0.5 * math.cos(2 * math.pi * FLASH_HZ * time)) if flash else 0.0


@lru_cache(maxsize=256)
def color_matrix(grade: Grade) -> np.ndarray:
    """The grade's colour part as a 3×4 affine matrix over 0–1 RGB (the last column adds)."""
    m = np.hstack([np.eye(3), np.zeros((3, 1))])
    luma = np.array(LUMA)
    grey = np.outer(np.ones(3), luma)  # RGB → its grey, in every channel

    def then(step: np.ndarray) -> None:
        nonlocal m
        full = np.vstack([m, [0, 0, 0, 1]])
        m = (np.vstack([step, [0, 0, 0, 1]]) @ full)[:3]

    def affine(linear: np.ndarray, offset=(0.0, 0.0, 0.0)) -> np.ndarray:
        return np.hstack([linear, np.asarray(offset, float).reshape(3, 1)])

    g = grade
    if g.saturation or g.mono:
        s = max(0.0, 1 + g.saturation * SATURATION) * (1 - min(g.mono, 1.0))
        then(affine(grey + s * (np.eye(3) - grey)))
    if g.sepia:
        k = min(g.sepia, 1.0)
        then(affine((1 - k) * np.eye(3) + k * np.diag(SEPIA_TONE) @ grey))
    if g.temperature or g.tint:
        t, n = g.temperature * TEMPERATURE, g.tint * TINT
        then(affine(np.diag([1 + t + n / 2, 1 - n, 1 - t + n / 2])))
    if g.contrast:
        k = max(0.0, 1 + g.contrast * CONTRAST)
        then(affine(k * np.eye(3), [0.5 * (1 - k)] * 3))
    if g.brightness:
        then(affine(np.eye(3), [g.brightness * BRIGHTNESS] * 3))
    if g.fade:
        k = min(g.fade, 1.0) * FADE
        then(affine((1 - 2 * k) * np.eye(3), [k] * 3))
    if g.invert:
        k = min(g.invert, 1.0)
        then(affine((1 - 2 * k) * np.eye(3), [k] * 3))
    if g.flash:
        k = min(g.flash, 1.0)
        then(affine((1 - k) * np.eye(3), [k] * 3))
    return m


def blur(rgb: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur; large ones run on a smaller picture, since the result is smooth anyway."""
    if sigma < 0.3:
        return rgb
    h, w = rgb.shape[:2]
    img = Image.fromarray(np.ascontiguousarray(rgb))
    factor = max(1, int(sigma // 4))
    if factor > 1:
        small = img.resize((max(1, w // factor), max(1, h // factor)), Resampling.BILINEAR, reducing_gap=2.0)
        small = small.filter(ImageFilter.GaussianBlur(sigma / factor))
        return np.asarray(small.resize((w, h), Resampling.BILINEAR))
    return np.asarray(img.filter(ImageFilter.GaussianBlur(sigma)))


@lru_cache(maxsize=8)
def vignette_gain(width: int, height: int, percent: int) -> np.ndarray:
    """HxW uint16 gains out of 256: 1 in the middle, down by `percent` × VIGNETTE in the corners."""
    x = (np.arange(width, dtype=np.float32) + 0.5) / width * 2 - 1
    y = (np.arange(height, dtype=np.float32)[:, None] + 0.5) / height * 2 - 1
    r2 = (x * x + y * y) / 2  # 0 in the centre, 1 in the corners
    gain = 1 - percent / 100 * VIGNETTE * np.clip(r2 - 0.15, 0, None) / 0.85
    gain.flags.writeable = False
    return (gain * 256 + 0.5).astype(np.uint16)


@lru_cache(maxsize=1)
def grain_tile() -> np.ndarray:
    # One fixed tile of noise, sampled at a different offset each frame: cheap and never
    # visibly repeating at video speed.
    return np.random.default_rng(7).normal(0, 0.5, (512, 512)).clip(-1, 1).astype(np.float32)


def add_grain(rgb: np.ndarray, levels: float, seed: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    tile = grain_tile()
    rng = np.random.default_rng(seed)
    dy, dx = rng.integers(0, tile.shape[0]), rng.integers(0, tile.shape[1])
    reps = (h // tile.shape[0] + 2, w // tile.shape[1] + 2)
    noise = np.tile(tile, reps)[dy:dy + h, dx:dx + w] * np.float32(levels)
    out = rgb.astype(np.int16) + noise.astype(np.int16)[..., None]
    return np.clip(out, 0, 255).astype(np.uint8)


def shake(rgb: np.ndarray, amplitude: float, time: float) -> np.ndarray:
    """The picture moved by a pseudo-random offset that changes each frame, edges repeated."""
    rng = np.random.default_rng((round(time * 1000) + 1) & 0xFFFFFFFF)
    dx, dy = (int(round(v)) for v in rng.uniform(-amplitude, amplitude, 2))
    if dx == 0 and dy == 0:
        return rgb
    h, w = rgb.shape[:2]
    ys = np.clip(np.arange(h) - dy, 0, h - 1)
    xs = np.clip(np.arange(w) - dx, 0, w - 1)
    return rgb[ys][:, xs]


# ---------------------------------------------------------------- .cube LUTs


# A 65-point LUT, the largest editors write, is about 8 MB of text; a larger file is refused
# before it is read (a hostile draft may name /dev/zero or a huge file).
MAX_CUBE_BYTES = 16 << 20
MAX_CUBE_SIZE = 129


@lru_cache(maxsize=8)
def load_cube(path: str) -> np.ndarray | None:
    """A .cube 3D LUT as an N×N×N×3 float32 table indexed [b, g, r], or None when unreadable
    or larger than MAX_CUBE_BYTES."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CUBE_BYTES + 1)  # bounded even where st_size says nothing
    except OSError:
        return None
    if len(raw) > MAX_CUBE_BYTES:
        return None
    size, rows, table = 0, 0, None
    for line in io.StringIO(raw.decode("utf-8", errors="replace")):
        parts = line.split("#", 1)[0].split()
        if not parts:
            continue
        if parts[0].upper() == "LUT_3D_SIZE" and len(parts) > 1 and table is None:
            size = int(parts[1]) if parts[1].isdigit() else 0
            if not 2 <= size <= MAX_CUBE_SIZE:
                return None
            table = np.empty((size ** 3, 3), np.float32)
        elif parts[0][0] in "+-.0123456789" and len(parts) == 3:
            if table is None or rows == len(table):
                return None  # values before the size, or more than it allows
            try:
                table[rows] = [float(p) for p in parts]
            except ValueError:
                return None
            rows += 1
    if table is None or rows != len(table):
        return None
    cube = table.reshape(size, size, size, 3)  # red varies fastest
    cube.flags.writeable = False
    return cube


def apply_lut(rgb: np.ndarray, table: np.ndarray, amount: float = 1.0) -> np.ndarray:
    """Trilinear lookup of every pixel in the LUT, mixed with the original by `amount`."""
    n = table.shape[0]
    pos = rgb[..., :3].astype(np.float32) * np.float32((n - 1) / 255)
    i0 = np.minimum(pos.astype(np.int32), n - 2)
    f = pos - i0
    r0, g0, b0 = i0[..., 0], i0[..., 1], i0[..., 2]
    fr, fg, fb = f[..., 0:1], f[..., 1:2], f[..., 2:3]
    out = np.zeros(rgb.shape[:2] + (3,), np.float32)
    for db, wb in ((0, 1 - fb), (1, fb)):
        for dg, wg in ((0, 1 - fg), (1, fg)):
            w = wb * wg
            out += table[b0 + db, g0 + dg, r0] * (w * (1 - fr)) + table[b0 + db, g0 + dg, r0 + 1] * (w * fr)
    out *= 255
    if amount < 1:
        out = rgb[..., :3] + (out - rgb[..., :3]) * np.float32(amount)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
