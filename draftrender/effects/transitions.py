"""Transitions: the outgoing and incoming layers mixed across a cut.

Each transition is a pure function `(a, b, p) -> Stage` over two canvas-sized stages: `a` is
the outgoing layer drawn with its own placement, `b` the incoming one, each a `Stage` of
premultiplied colour and coverage (transparent where the layer does not reach), and `p`
runs from 0 at cut − d/2 to 1 at cut + d/2. The result is a stage of the same kind, drawn
over the canvas. Colour and coverage are separate planes so that every step runs over
contiguous memory (interleaved RGBA costs several times more at 1080×1920).

Directions name where the motion goes: push_left moves both pictures leftwards; a wipe's
edge moves the named way. Parameters are the constants below **(calibrate)**: the editor's
own transitions are resources we approximate by name (names.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageFilter
from PIL.Image import Resampling, Transform

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


@dataclass(frozen=True, slots=True)
class Stage:
    """A layer drawn alone on a transparent canvas: premultiplied colour (HxWx3 uint8) and
    coverage (HxW uint8)."""

    rgb: np.ndarray
    alpha: np.ndarray

    @classmethod
    def empty(cls, height: int, width: int) -> Stage:
        return cls(np.zeros((height, width, 3), np.uint8), np.zeros((height, width), np.uint8))

    @classmethod
    def opaque(cls, rgb: np.ndarray) -> Stage:
        return cls(rgb, opaque_alpha(rgb.shape[:2]))

    @property
    def shape(self) -> tuple[int, int]:
        return self.alpha.shape


@lru_cache(maxsize=4)
def opaque_alpha(shape: tuple[int, int]) -> np.ndarray:
    """Full coverage, shared (read-only) by every opaque stage of this size: it is never written,
    and two stages sharing it are known to be opaque without a scan."""
    alpha = np.full(shape, 255, np.uint8)
    alpha.flags.writeable = False
    return alpha


Transition = Callable[[Stage, Stage, float], Stage]


def ease(p: float) -> float:
    """Smooth start and stop (smoothstep): motions settle rather than halt."""
    p = min(max(p, 0.0), 1.0)
    return p * p * (3 - 2 * p)


def cut_weight(p: float) -> float:
    """The incoming share of a cut-like transition: a quick cross-fade around the middle."""
    return ease((p - 0.5) / CUT_SPAN + 0.5)


# ---------------------------------------------------------------- pixel helpers


def lerp(a: np.ndarray, b: np.ndarray, w) -> np.ndarray:
    """a·(1 − w) + b·w on uint8 planes, for a weight in 0–1 or an array of weights that
    broadcasts against them."""
    if not isinstance(w, np.ndarray):
        k = int(round(float(w) * 256))
        if k <= 0:
            return a
        if k >= 256:
            return b
        x = np.multiply(a, 256 - k, dtype=np.uint16)
        x += np.multiply(b, k, dtype=np.uint16)
    else:
        ks = (np.asarray(w, np.float32) * 256 + 0.5).astype(np.uint16)
        x = a * (256 - ks)
        x += b * ks
    x += 128
    x >>= 8
    return x.astype(np.uint8)


def mix(a: Stage, b: Stage, w) -> Stage:
    """The two stages mixed, `w` of the way to b (a weight, or weights per pixel shaped HxW,
    1xW or Hx1)."""
    wc = w if np.isscalar(w) else np.asarray(w)[..., None]
    # Two opaque stages (full-frame clips, the usual case) stay opaque: no coverage to mix.
    alpha = a.alpha if a.alpha is b.alpha else lerp(a.alpha, b.alpha, w)
    return Stage(lerp(a.rgb, b.rgb, wc), alpha)


def scaled_by(plane: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """plane × keep / 255, rounded (keep: uint16, broadcasting against the plane)."""
    x = plane * keep
    x += 128
    x += x >> 8
    x >>= 8
    return x.astype(np.uint8)


def over(top: Stage, bottom: Stage) -> Stage:
    keep = (255 - top.alpha).astype(np.uint16)
    return Stage(top.rgb + scaled_by(bottom.rgb, keep[..., None]), top.alpha + scaled_by(bottom.alpha, keep))


def shifted_plane(img: np.ndarray, dx: int, dy: int) -> np.ndarray:
    h, w = img.shape[:2]
    out = np.zeros_like(img)
    if abs(dx) >= w or abs(dy) >= h:
        return out
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = img[max(-dy, 0):h - max(dy, 0),
                                                                   max(-dx, 0):w - max(dx, 0)]
    return out


def shifted(stage: Stage, dx: int, dy: int) -> Stage:
    """The stage moved by whole pixels (right, down), transparent where it uncovers."""
    if dx == 0 and dy == 0:
        return stage
    return Stage(shifted_plane(stage.rgb, dx, dy), shifted_plane(stage.alpha, dx, dy))


def faded_to(stage: Stage, level: int, k: float) -> Stage:
    """The stage's colour moved `k` of the way to grey `level` (0 black, 255 white), coverage kept."""
    if level == 0:
        target = np.zeros_like(stage.rgb)
    else:
        grey = scaled_by(stage.alpha, np.asarray(level, np.uint16))  # the grey premultiplied by the coverage
        target = np.repeat(grey[..., None], 3, axis=2)
    return Stage(lerp(stage.rgb, target, k), stage.alpha)


def transformed(stage: Stage, scale: float = 1.0, rotation: float = 0.0) -> Stage:
    """The stage scaled and turned clockwise about the canvas centre."""
    if scale == 1 and rotation % 360 == 0:
        return stage
    if rotation % 360 == 0:
        return zoomed(stage, scale)
    h, w = stage.shape
    t = math.radians(rotation)
    c, s = math.cos(t) / scale, math.sin(t) / scale
    cx, cy = w / 2, h / 2
    # Output pixel → source pixel: undo the turn and the scale about the centre. Colour is
    # premultiplied, so each plane resamples on its own.
    coeffs = (c, s, cx - c * cx - s * cy, -s, c, cy + s * cx - c * cy)

    def warp(plane: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(plane).transform((w, h), Transform.AFFINE, coeffs, Resampling.BILINEAR))

    return Stage(warp(stage.rgb), warp(stage.alpha))


def zoomed(stage: Stage, scale: float) -> Stage:
    """The stage scaled about the canvas centre by resizing (separable, so cheaper than a warp)."""
    h, w = stage.shape
    if scale >= 1:
        # The middle 1/scale of the picture, resized to fill it.
        bw, bh = w / scale, h / scale
        box = ((w - bw) / 2, (h - bh) / 2, (w + bw) / 2, (h + bh) / 2)
        grow = lambda plane: np.asarray(Image.fromarray(plane).resize((w, h), Resampling.BILINEAR, box=box))  # noqa: E731
        return Stage(grow(stage.rgb), grow(stage.alpha))
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    x0, y0 = (w - sw) // 2, (h - sh) // 2
    out = Stage.empty(h, w)
    out.rgb[y0:y0 + sh, x0:x0 + sw] = np.asarray(Image.fromarray(stage.rgb).resize((sw, sh), Resampling.BILINEAR,
                                                                                     reducing_gap=2.0))
    out.alpha[y0:y0 + sh, x0:x0 + sw] = np.asarray(Image.fromarray(stage.alpha).resize((sw, sh), Resampling.BILINEAR,
                                                                                         reducing_gap=2.0))
    return out


def blurred(stage: Stage, sigma: float) -> Stage:
    if sigma < 0.3:
        return stage
    h, w = stage.shape
    factor = max(1, int(sigma // 3))

    def blur(plane: np.ndarray) -> np.ndarray:
        im = Image.fromarray(plane)
        if factor > 1:
            im = im.resize((max(1, w // factor), max(1, h // factor)), Resampling.BILINEAR, reducing_gap=2.0)
        im = im.filter(ImageFilter.GaussianBlur(sigma / factor))
        return np.asarray(im.resize((w, h), Resampling.BILINEAR) if factor > 1 else im)

    return Stage(blur(stage.rgb), blur(stage.alpha))


def ramp(distance: np.ndarray, edge: float, soft: float) -> np.ndarray:
    """1 where distance < edge, 0 beyond, across a band `soft` wide."""
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
    angle = ((np.arctan2(x, -y) / np.float32(2 * math.pi)) % 1.0).astype(np.float32)
    radius.flags.writeable = angle.flags.writeable = False
    return radius, angle


# ---------------------------------------------------------------- the transitions


def dissolve(a: Stage, b: Stage, p: float) -> Stage:
    return mix(a, b, p)


def fade_black(a: Stage, b: Stage, p: float) -> Stage:
    """Down to black by the cut, up from black after it."""
    return faded_to(a, 0, 2 * p) if p < 0.5 else faded_to(b, 0, 2 - 2 * p)


def fade_white(a: Stage, b: Stage, p: float) -> Stage:
    return faded_to(a, 255, 2 * p) if p < 0.5 else faded_to(b, 255, 2 - 2 * p)


DIRECTIONS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}


def push(direction: str) -> Transition:
    """Both pictures move together the named way: the incoming one pushes the outgoing one out."""
    ux, uy = DIRECTIONS[direction]

    def run(a: Stage, b: Stage, p: float) -> Stage:
        h, w = a.shape
        span = w if ux else h
        moved = round(ease(p) * span)
        # The two pictures never overlap: the frame is a strip of each, side by side.
        return Stage(*(joined(pa, pb, moved, ux + uy, axis=1 if ux else 0) for pa, pb in ((a.rgb, b.rgb),
                                                                                        (a.alpha, b.alpha))))

    return run


def joined(a: np.ndarray, b: np.ndarray, moved: int, sign: int, axis: int) -> np.ndarray:
    """`a` pushed `moved` pixels along the axis (the positive way for sign 1) with `b` following it in."""
    span = a.shape[axis]
    take = lambda plane, lo, hi: plane[:, lo:hi] if axis else plane[lo:hi]  # noqa: E731
    if sign < 0:  # moving left or up: a's far part, then b's near part
        return np.concatenate([take(a, moved, span), take(b, 0, moved)], axis=axis)
    return np.concatenate([take(b, span - moved, span), take(a, 0, span - moved)], axis=axis)


def slide(direction: str) -> Transition:
    """The incoming picture slides in the named way over the outgoing one, which stays."""
    ux, uy = DIRECTIONS[direction]

    def run(a: Stage, b: Stage, p: float) -> Stage:
        h, w = a.shape
        span = w if ux else h
        moved = round(ease(p) * span)
        return over(shifted(b, ux * (moved - span), uy * (moved - span)), a)

    return run


def wipe(direction: str) -> Transition:
    """A soft straight edge crosses the picture the named way, uncovering the incoming one."""
    ux, uy = DIRECTIONS[direction]

    def run(a: Stage, b: Stage, p: float) -> Stage:
        h, w = a.shape
        soft = EDGE * max(w, h)
        if ux:
            x = np.arange(w, dtype=np.float32) + np.float32(0.5)
            along = x if ux > 0 else w - x
            weight = ramp(along, sweep(p, w, soft), soft)[None, :]
        else:
            y = np.arange(h, dtype=np.float32) + np.float32(0.5)
            along = y if uy > 0 else h - y
            weight = ramp(along, sweep(p, h, soft), soft)[:, None]
        return mix(a, b, weight)

    return run


def clock_wipe(a: Stage, b: Stage, p: float) -> Stage:
    """A hand sweeps clockwise from 12 o'clock, uncovering the incoming picture."""
    h, w = a.shape
    _, angle = polar(h, w)
    soft = 0.01
    return mix(a, b, ramp(angle, sweep(p, 1.0, soft), soft))


def circle_open(a: Stage, b: Stage, p: float) -> Stage:
    """The incoming picture shows through a circle growing from the centre."""
    h, w = a.shape
    radius, _ = polar(h, w)
    soft = EDGE * 2
    return mix(a, b, ramp(radius, sweep(ease(p), 1.0, soft), soft))


def circle_close(a: Stage, b: Stage, p: float) -> Stage:
    """The outgoing picture shrinks into a circle at the centre, uncovering the incoming one."""
    h, w = a.shape
    radius, _ = polar(h, w)
    soft = EDGE * 2
    return mix(b, a, ramp(radius, sweep(1 - ease(p), 1.0, soft), soft))


def zoom_in(a: Stage, b: Stage, p: float) -> Stage:
    """Into the picture: the outgoing one grows past the viewer as the incoming one grows into place."""
    e = ease(p)
    return mix(transformed(a, 1 + ZOOM * e), transformed(b, (1 + ZOOM * e) / (1 + ZOOM)), e)


def zoom_out(a: Stage, b: Stage, p: float) -> Stage:
    """Out of the picture: the outgoing one shrinks away as the incoming one shrinks into place."""
    e = ease(p)
    return mix(transformed(a, 1 / (1 + ZOOM * e)), transformed(b, (1 + ZOOM) / (1 + ZOOM * e)), e)


def spin(clockwise: bool) -> Transition:
    """Both pictures turn about the centre, shrinking a little at the cut, and swap there."""
    sign = 1 if clockwise else -1

    def run(a: Stage, b: Stage, p: float) -> Stage:
        e = ease(p)
        scale = 1 - SPIN_SHRINK * math.sin(math.pi * p)
        turned_a = transformed(a, scale, sign * SPIN_DEGREES * e)
        turned_b = transformed(b, scale, sign * SPIN_DEGREES * (e - 1))
        return mix(turned_a, turned_b, cut_weight(p))

    return run


def blur_dissolve(a: Stage, b: Stage, p: float) -> Stage:
    h, w = a.shape
    sigma = BLUR * max(w, h) * math.sin(math.pi * p)
    return mix(blurred(a, sigma), blurred(b, sigma), p)


def glitch(a: Stage, b: Stage, p: float) -> Stage:
    """A digital tear at the cut: colour channels split apart and bands of rows slip sideways."""
    h, w = a.shape
    mixed = mix(a, b, cut_weight(p))
    rgb, alpha = mixed.rgb.copy(), mixed.alpha.copy()
    strength = math.sin(math.pi * p)
    split = round(GLITCH * w * strength)
    if split:
        rgb[..., 0] = shifted_plane(rgb[..., 0], split, 0)
        rgb[..., 2] = shifted_plane(rgb[..., 2], -split, 0)
    rng = np.random.default_rng(int(p * 1000))
    for _ in range(rng.integers(3, 8)):
        top = int(rng.integers(0, h))
        rows = slice(top, min(h, top + int(rng.integers(max(1, h // 40), max(2, h // 8)))))
        dx = int(round(rng.uniform(-1, 1) * GLITCH * 2 * w * strength))
        rgb[rows] = np.roll(rgb[rows], dx, axis=1)
        alpha[rows] = np.roll(alpha[rows], dx, axis=1)
    return Stage(rgb, alpha)


def shake(a: Stage, b: Stage, p: float) -> Stage:
    """The picture jolts around the cut, hardest at the middle."""
    h, w = a.shape
    amplitude = SHAKE * max(w, h) * math.sin(math.pi * p)
    rng = np.random.default_rng(int(p * 1000))
    dx, dy = (int(round(v)) for v in rng.uniform(-amplitude, amplitude, 2))
    return shifted(mix(a, b, cut_weight(p)), dx, dy)


def blinds(a: Stage, b: Stage, p: float) -> Stage:
    """Horizontal slats open together, each uncovering its strip of the incoming picture."""
    h = a.shape[0]
    slat = h / BLINDS
    soft = max(1.0, EDGE * slat * 4)
    y = (np.arange(h, dtype=np.float32) + np.float32(0.5)) % np.float32(slat)
    return mix(a, b, ramp(y, sweep(ease(p), slat, soft), soft)[:, None])


def split(a: Stage, b: Stage, p: float) -> Stage:
    """Two doors open from a vertical line through the centre."""
    h, w = a.shape
    soft = EDGE * max(w, h)
    x = np.abs(np.arange(w, dtype=np.float32) + np.float32(0.5 - w / 2))
    return mix(a, b, ramp(x, sweep(ease(p), w / 2, soft), soft)[None, :])


def pixelate(a: Stage, b: Stage, p: float) -> Stage:
    """The picture breaks into blocks that grow to the cut and shrink after it."""
    h, w = a.shape
    block = max(1, round(PIXELS * max(w, h) * (1 - abs(2 * p - 1))))
    out = mix(a, b, cut_weight(p))
    if block == 1:
        return out
    small = (max(1, w // block), max(1, h // block))

    def blocks(plane: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(plane).resize(small, Resampling.BOX).resize((w, h), Resampling.NEAREST))

    return Stage(blocks(out.rgb), blocks(out.alpha))


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


def transition_frame(effect: str, a: Stage, b: Stage, p: float) -> Stage:
    """The mixed stage of `effect` at progress p (an unknown key dissolves)."""
    return TRANSITIONS.get(effect, dissolve)(a, b, min(max(p, 0.0), 1.0))
