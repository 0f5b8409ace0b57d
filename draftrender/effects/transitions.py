"""Transitions: the outgoing and incoming layers mixed across a cut.

Each transition is a pure function `(a, b, p) -> picture` over two canvas-sized stages:
`a` is the outgoing layer drawn with its own placement, `b` the incoming one, both HxWx4
uint8 premultiplied RGBA (transparent where the layer does not reach), and `p` runs from 0 at
cut − d/2 to 1 at cut + d/2. The result is a stage of the same kind, drawn over the canvas.

Directions name where the motion goes: push_left moves both pictures leftwards; a wipe's
edge moves the named way. Parameters are the constants below **(calibrate)**: the editor's
own transitions are resources we approximate by name (names.py).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Callable

import numpy as np
from PIL import Image, ImageFilter

Transition = Callable[[np.ndarray, np.ndarray, float], np.ndarray]

EDGE = 0.02  # soft edge of wipes, irises and blinds, as a fraction of the canvas's longer side
ZOOM = 0.5  # zoom transitions scale by up to 1 + ZOOM
SPIN_DEGREES = 180.0
SPIN_SHRINK = 0.3  # spinning pictures shrink by this much at the cut, so the corners stay in view
BLUR = 0.03  # blur dissolve's peak sigma, as a fraction of the longer side
GLITCH = 0.03  # glitch's peak channel split and band shift, as a fraction of the width
SHAKE = 0.04  # shake's peak offset, as a fraction of the longer side
BLINDS = 8  # slats in the blinds
PIXELS = 0.05  # pixelate's largest block, as a fraction of the longer side
CUT_SPAN = 0.2  # the short cross-fade around the middle of cut-like transitions (glitch, shake, ...)


def ease(p: float) -> float:
    """Smooth start and stop (smoothstep): motions settle rather than halt."""
    p = min(max(p, 0.0), 1.0)
    return p * p * (3 - 2 * p)


def cut_weight(p: float) -> float:
    """The incoming share of a cut-like transition: a quick cross-fade around the middle."""
    return ease((p - 0.5) / CUT_SPAN + 0.5)


# ---------------------------------------------------------------- pixel helpers


def mix(a: np.ndarray, b: np.ndarray, w) -> np.ndarray:
    """a·(1 − w) + b·w, for a weight in 0–1 or an array of weights that broadcasts (H, W, 1)."""
    if np.isscalar(w):
        k = int(round(float(w) * 256))
        if k <= 0:
            return a.copy()
        if k >= 256:
            return b.copy()
        return ((a.astype(np.uint16) * (256 - k) + b.astype(np.uint16) * k + 128) >> 8).astype(np.uint8)
    k = (np.asarray(w, np.float32) * 256 + 0.5).astype(np.uint16)
    return ((a.astype(np.uint16) * (256 - k) + b.astype(np.uint16) * k + 128) >> 8).astype(np.uint8)


def over(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Premultiplied `top` over `bottom`."""
    keep = 255 - top[..., 3:4].astype(np.uint16)
    x = bottom.astype(np.uint16) * keep + 128
    return np.minimum(top.astype(np.uint16) + ((x + (x >> 8)) >> 8), 255).astype(np.uint8)


def shifted(img: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """The stage moved by whole pixels (right, down), transparent where it uncovers."""
    h, w = img.shape[:2]
    out = np.zeros_like(img)
    if abs(dx) >= w or abs(dy) >= h:
        return out
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = img[max(-dy, 0):h - max(dy, 0),
                                                                   max(-dx, 0):w - max(dx, 0)]
    return out


def faded_to(img: np.ndarray, level: int, k: float) -> np.ndarray:
    """The stage's colour moved `k` of the way to grey `level` (0 black, 255 white), alpha kept."""
    target = img.copy()
    a = target[..., 3:4].astype(np.uint16)
    target[..., :3] = (a * level + 127) // 255  # the grey premultiplied by the layer's own alpha
    return mix(img, target, k)


def transformed(img: np.ndarray, scale: float = 1.0, rotation: float = 0.0) -> np.ndarray:
    """The stage scaled and turned clockwise about the canvas centre."""
    if scale == 1 and rotation % 360 == 0:
        return img
    h, w = img.shape[:2]
    t = math.radians(rotation)
    c, s = math.cos(t) / scale, math.sin(t) / scale
    cx, cy = w / 2, h / 2
    # Output pixel → source pixel: undo the turn and the scale about the centre.
    coeffs = (c, s, cx - c * cx - s * cy, -s, c, cy + s * cx - c * cy)
    return np.asarray(Image.fromarray(img, "RGBa").transform((w, h), Image.AFFINE, coeffs, Image.BILINEAR))


def blurred(img: np.ndarray, sigma: float) -> np.ndarray:
    if sigma < 0.3:
        return img
    h, w = img.shape[:2]
    factor = max(1, int(sigma // 3))
    im = Image.fromarray(img, "RGBa")  # premultiplied: blurring never darkens the edges
    if factor > 1:
        im = im.resize((max(1, w // factor), max(1, h // factor)), Image.BILINEAR, reducing_gap=2.0)
    im = im.filter(ImageFilter.GaussianBlur(sigma / factor))
    return np.asarray(im.resize((w, h), Image.BILINEAR) if factor > 1 else im)


def ramp(distance: np.ndarray, edge: float, soft: float) -> np.ndarray:
    """1 where distance < edge, 0 beyond, across a band `soft` wide; shaped to broadcast."""
    return np.clip((edge - distance) / soft + 0.5, 0, 1).astype(np.float32)


def sweep(p: float, length: float, soft: float) -> float:
    """Where a soft edge sits at progress p so that it starts and ends fully off the picture."""
    return -soft / 2 + p * (length + soft)


@lru_cache(maxsize=4)
def polar(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """(radius as a fraction of the half diagonal, clockwise angle from 12 o'clock in 0–1)."""
    y = np.arange(h, dtype=np.float32)[:, None] + np.float32(0.5 - h / 2)
    x = np.arange(w, dtype=np.float32) + np.float32(0.5 - w / 2)
    radius = np.sqrt(x * x + y * y) / np.float32(math.hypot(w, h) / 2)
    angle = (np.arctan2(x, -y) / np.float32(2 * math.pi)) % 1.0
    radius.flags.writeable = angle.flags.writeable = False
    return radius, angle.astype(np.float32)


# ---------------------------------------------------------------- the transitions


def dissolve(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
    return mix(a, b, p)


def fade_black(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
    """Down to black by the cut, up from black after it."""
    return faded_to(a, 0, 2 * p) if p < 0.5 else faded_to(b, 0, 2 - 2 * p)


def fade_white(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
    return faded_to(a, 255, 2 * p) if p < 0.5 else faded_to(b, 255, 2 - 2 * p)


DIRECTIONS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}


def push(direction: str) -> Transition:
    """Both pictures move together the named way: the incoming one pushes the outgoing one out."""
    ux, uy = DIRECTIONS[direction]

    def run(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
        h, w = a.shape[:2]
        span = w if ux else h
        moved = round(ease(p) * span)
        a_moved = shifted(a, ux * moved, uy * moved)
        b_moved = shifted(b, ux * (moved - span), uy * (moved - span))
        return over(b_moved, a_moved)

    return run


def slide(direction: str) -> Transition:
    """The incoming picture slides in the named way over the outgoing one, which stays."""
    ux, uy = DIRECTIONS[direction]

    def run(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
        h, w = a.shape[:2]
        span = w if ux else h
        moved = round(ease(p) * span)
        return over(shifted(b, ux * (moved - span), uy * (moved - span)), a)

    return run


def wipe(direction: str) -> Transition:
    """A soft straight edge crosses the picture the named way, uncovering the incoming one."""
    ux, uy = DIRECTIONS[direction]

    def run(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
        h, w = a.shape[:2]
        soft = EDGE * max(w, h)
        if ux:
            x = np.arange(w, dtype=np.float32) + np.float32(0.5)
            along = x if ux > 0 else w - x
            weight = ramp(along, sweep(p, w, soft), soft)[None, :, None]
        else:
            y = np.arange(h, dtype=np.float32) + np.float32(0.5)
            along = y if uy > 0 else h - y
            weight = ramp(along, sweep(p, h, soft), soft)[:, None, None]
        return mix(a, b, weight)

    return run


def clock_wipe(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
    """A hand sweeps clockwise from 12 o'clock, uncovering the incoming picture."""
    h, w = a.shape[:2]
    _, angle = polar(h, w)
    soft = 0.01
    return mix(a, b, ramp(angle, sweep(p, 1.0, soft), soft)[..., None])


def circle_open(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
    """The incoming picture shows through a circle growing from the centre."""
    h, w = a.shape[:2]
    radius, _ = polar(h, w)
    soft = EDGE * 2
    return mix(a, b, ramp(radius, sweep(ease(p), 1.0, soft), soft)[..., None])


def circle_close(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
    """The outgoing picture shrinks into a circle at the centre, uncovering the incoming one."""
    h, w = a.shape[:2]
    radius, _ = polar(h, w)
    soft = EDGE * 2
    return mix(b, a, ramp(radius, sweep(1 - ease(p), 1.0, soft), soft)[..., None])


def zoom_in(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
    """Into the picture: the outgoing one grows past the viewer as the incoming one grows into place."""
    e = ease(p)
    return mix(transformed(a, 1 + ZOOM * e), transformed(b, (1 + ZOOM * e) / (1 + ZOOM)), e)


def zoom_out(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
    """Out of the picture: the outgoing one shrinks away as the incoming one shrinks into place."""
    e = ease(p)
    return mix(transformed(a, 1 / (1 + ZOOM * e)), transformed(b, (1 + ZOOM) / (1 + ZOOM * e)), e)


def spin(clockwise: bool) -> Transition:
    """Both pictures turn about the centre, shrinking a little at the cut, and swap there."""
    sign = 1 if clockwise else -1

    def run(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
        e = ease(p)
        scale = 1 - SPIN_SHRINK * math.sin(math.pi * p)
        turned_a = transformed(a, scale, sign * SPIN_DEGREES * e)
        turned_b = transformed(b, scale, sign * SPIN_DEGREES * (e - 1))
        return mix(turned_a, turned_b, cut_weight(p))

    return run


def blur_dissolve(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
    h, w = a.shape[:2]
    sigma = BLUR * max(w, h) * math.sin(math.pi * p)
    return mix(blurred(a, sigma), blurred(b, sigma), p)


def glitch(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
    """A digital tear at the cut: colour channels split apart and bands of rows slip sideways."""
    h, w = a.shape[:2]
    out = mix(a, b, cut_weight(p))
    strength = math.sin(math.pi * p)
    split = round(GLITCH * w * strength)
    if split:
        out[..., 0] = shifted(out[..., 0:1], split, 0)[..., 0]
        out[..., 2] = shifted(out[..., 2:3], -split, 0)[..., 0]
    rng = np.random.default_rng(int(p * 1000))
    bands = rng.integers(3, 8)
    for _ in range(bands):
        top = int(rng.integers(0, h))
        rows = slice(top, min(h, top + int(rng.integers(max(1, h // 40), max(2, h // 8)))))
        dx = int(round(rng.uniform(-1, 1) * GLITCH * 2 * w * strength))
        out[rows] = np.roll(out[rows], dx, axis=1)
    return out


def shake(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
    """The picture jolts around the cut, hardest at the middle."""
    h, w = a.shape[:2]
    amplitude = SHAKE * max(w, h) * math.sin(math.pi * p)
    rng = np.random.default_rng(int(p * 1000))
    dx, dy = (int(round(v)) for v in rng.uniform(-amplitude, amplitude, 2))
    return shifted(mix(a, b, cut_weight(p)), dx, dy)


def blinds(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
    """Horizontal slats open together, each uncovering its strip of the incoming picture."""
    h = a.shape[0]
    slat = h / BLINDS
    soft = max(1.0, EDGE * slat * 4)
    y = (np.arange(h, dtype=np.float32) + np.float32(0.5)) % np.float32(slat)
    return mix(a, b, ramp(y, sweep(ease(p), slat, soft), soft)[:, None, None])


def split(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
    """Two doors open from a vertical line through the centre."""
    h, w = a.shape[:2]
    soft = EDGE * max(w, h)
    x = np.abs(np.arange(w, dtype=np.float32) + np.float32(0.5 - w / 2))
    return mix(a, b, ramp(x, sweep(ease(p), w / 2, soft), soft)[None, :, None])


def pixelate(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
    """The picture breaks into blocks that grow to the cut and shrink after it."""
    h, w = a.shape[:2]
    block = max(1, round(PIXELS * max(w, h) * (1 - abs(2 * p - 1))))
    out = mix(a, b, cut_weight(p))
    if block == 1:
        return out
    small = Image.fromarray(out, "RGBa").resize((max(1, w // block), max(1, h // block)), Image.BOX)
    return np.asarray(small.resize((w, h), Image.NEAREST))


TRANSITIONS: dict[str, Transition] = {
    "dissolve": dissolve, "fade_black": fade_black, "fade_white": fade_white,
    **{f"push_{d}": push(d) for d in DIRECTIONS},
    **{f"slide_{d}": slide(d) for d in DIRECTIONS},
    **{f"wipe_{d}": wipe(d) for d in DIRECTIONS},
    "clock_wipe": clock_wipe, "zoom_in": zoom_in, "zoom_out": zoom_out,
    "spin": spin(True), "spin_ccw": spin(False), "circle_open": circle_open, "circle_close": circle_close,
    "blur_dissolve": blur_dissolve, "glitch": glitch, "shake": shake, "blinds": blinds, "split": split,
    "pixelate": pixelate,
}


def transition_frame(effect: str, a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
    """The mixed stage of `effect` at progress p (an unknown key dissolves)."""
    return TRANSITIONS.get(effect, dissolve)(a, b, min(max(p, 0.0), 1.0))
