"""Animations: how a layer enters (intro), leaves (outro), moves over its whole segment
(group) or keeps moving (loop), as a `Motion` on top of its own clip state.

A motion is named by where it goes (slide_left moves leftwards, zoom_in grows), so one name
serves both ends: as an intro the layer arrives by that motion, as an outro it leaves by it.
`motion(effect, kind, progress)` gives the Motion at a progress 0–1 through the animation.
Text layers also reveal character by character (typewriter) or line by line; on other
layers those become wipes. Amounts are the constants below **(calibrate)**: the editor's
animations are resources we approximate by name (names.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageFilter

SLIDE = 1.0  # a video layer slides in from a whole canvas away (off screen)
TEXT_SLIDE = 0.15  # text slides a short way, fading as it goes
SMALL = 0.3  # the size a layer grows from, or shrinks to
LARGE = 1.8  # the size a layer shrinks from, or grows to
SPIN = 360.0  # degrees turned by rotate
BOUNCE_OVERSHOOT = 1.7  # easeOutBack's overshoot constant: about 10 % past full size
SHAKE = 0.03  # shake's offset at its strongest, in canvas sizes
PUNCH_FROM = 0.6  # 动感放大 starts at this size and snaps to full size
PUNCH_TO = 1.8
BLUR = 0.05  # blur in/out peak sigma, as a fraction of the picture's shorter side
PENDULUM = 15.0  # degrees of swing
PULSE = 0.08  # size change of a pulse
FLOAT = 0.02  # canvas heights of drift
GROUP_SPLIT = 0.4  # a group animation enters over its first 40 % and leaves over its last 40 %


@dataclass(frozen=True, slots=True)
class Motion:
    """A layer's change at one instant, on top of its clip state.

    opacity multiplies; dx, dy move it (canvas widths and heights, x right, y down); scale_x,
    scale_y size it about its centre; rotation turns it clockwise (degrees); wipe keeps only
    the span (axis "x" or "y", from, to) of its picture, as fractions from the left or top;
    blur softens it (sigma, a fraction of its shorter side); chars and lines are the share of
    a text's characters and lines shown.
    """

    opacity: float = 1.0
    dx: float = 0.0
    dy: float = 0.0
    scale_x: float = 1.0
    scale_y: float = 1.0
    rotation: float = 0.0
    wipe: tuple[str, float, float] | None = None
    blur: float = 0.0
    chars: float = 1.0
    lines: float = 1.0

    def then(self, other: Motion) -> Motion:
        """Both motions at once (an intro and a loop, say)."""
        wipe = self.wipe if other.wipe is None else other.wipe
        return Motion(self.opacity * other.opacity, self.dx + other.dx, self.dy + other.dy,
                      self.scale_x * other.scale_x, self.scale_y * other.scale_y, self.rotation + other.rotation,
                      wipe, max(self.blur, other.blur), min(self.chars, other.chars), min(self.lines, other.lines))

    @property
    def is_still(self) -> bool:
        return self == STILL


STILL = Motion()


# ---------------------------------------------------------------- easing


def smooth(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


def out_back(x: float) -> float:
    """Past the end and back: a bounce into place."""
    x = min(max(x, 0.0), 1.0) - 1
    return 1 + x * x * ((BOUNCE_OVERSHOOT + 1) * x + BOUNCE_OVERSHOOT)


def lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


# ---------------------------------------------------------------- entrances and exits
# Each takes `away` (0 settled … 1 fully gone, already eased: see LINEAR), whether the layer
# is leaving, the raw progress p, and whether it is text.

Step = Callable[[float, bool, float, bool], Motion]
DIRECTIONS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}


def fade(away: float, leaving: bool, p: float, text: bool) -> Motion:
    return Motion(opacity=1 - away)


def slide(direction: str) -> Step:
    ux, uy = DIRECTIONS[direction]

    def run(away: float, leaving: bool, p: float, text: bool) -> Motion:
        d = away * (TEXT_SLIDE if text else SLIDE) * (1 if leaving else -1)
        return Motion(opacity=1 - away if text else 1.0, dx=ux * d, dy=uy * d)

    return run


def zoom(grows: bool) -> Step:
    def run(away: float, leaving: bool, p: float, text: bool) -> Motion:
        far = LARGE if grows == leaving else SMALL
        s = lerp(1.0, far, away)
        return Motion(opacity=1 - away, scale_x=s, scale_y=s)

    return run


def rotate(clockwise: bool) -> Step:
    sign = 1 if clockwise else -1

    def run(away: float, leaving: bool, p: float, text: bool) -> Motion:
        s = lerp(1.0, SMALL, away)
        return Motion(opacity=1 - away, scale_x=s, scale_y=s, rotation=sign * SPIN * away * (1 if leaving else -1))

    return run


def bounce(away: float, leaving: bool, p: float, text: bool) -> Motion:
    s = out_back(1 - p if leaving else p)
    return Motion(opacity=min(1.0, 3 * (1 - away)), scale_x=max(s, 0.0), scale_y=max(s, 0.0))


def shake(away: float, leaving: bool, p: float, text: bool) -> Motion:
    strength = SHAKE * math.sin(math.pi * min(1.0, 2 * away))  # strongest half way to gone
    return Motion(opacity=min(1.0, 3 * (1 - away)), dx=strength * math.sin(2 * math.pi * 4 * p + 0.7),
                  dy=strength * math.cos(2 * math.pi * 3 * p + 0.3))


def punch_zoom(away: float, leaving: bool, p: float, text: bool) -> Motion:
    """动感放大: a fast zoom that snaps into place (in) or flies at the viewer (out), blurred by its speed."""
    if leaving:
        e = p ** 3
        s = lerp(1.0, PUNCH_TO, e)
        return Motion(opacity=min(1.0, 3 * (1 - p)), scale_x=s, scale_y=s, blur=BLUR * 0.5 * e)
    e = 1 - (1 - p) ** 3
    s = lerp(PUNCH_FROM, 1.0, e)
    return Motion(scale_x=s, scale_y=s, blur=BLUR * 0.5 * (1 - e))


def wipe(direction: str) -> Step:
    """The edge moves the named way: arriving it uncovers the layer, leaving it covers it."""
    ux, uy = DIRECTIONS[direction]
    axis = "x" if ux else "y"
    forward = (ux or uy) > 0

    def run(away: float, leaving: bool, p: float, text: bool) -> Motion:
        if away <= 0:
            return STILL
        shown = 1 - away
        span = (0.0, shown) if forward != leaving else (1 - shown, 1.0)
        return Motion(wipe=(axis, *span))

    return run


def blur(away: float, leaving: bool, p: float, text: bool) -> Motion:
    return Motion(opacity=1 - away, blur=BLUR * away)


def flip(away: float, leaving: bool, p: float, text: bool) -> Motion:
    return Motion(opacity=1.0 if away < 1 else 0.0, scale_x=max(math.cos(math.pi / 2 * away), 0.0))


def typewriter(away: float, leaving: bool, p: float, text: bool) -> Motion:
    if not text:
        return wipe("right")(away, leaving, p, text)
    return Motion(chars=1 - away)


def line_reveal(away: float, leaving: bool, p: float, text: bool) -> Motion:
    if not text:
        return wipe("down")(away, leaving, p, text)
    return Motion(lines=1 - away)


def pendulum(away: float, leaving: bool, p: float, text: bool) -> Motion:
    return Motion(opacity=1 - away, rotation=PENDULUM * 2 * away * math.cos(2.5 * math.pi * p))


def pulse(away: float, leaving: bool, p: float, text: bool) -> Motion:
    s = 1 + PULSE * 2 * math.sin(math.pi * 3 * p) * away
    return Motion(opacity=1 - away, scale_x=s, scale_y=s)


def blink(away: float, leaving: bool, p: float, text: bool) -> Motion:
    lit = away <= 0 or math.sin(2 * math.pi * 4 * p) > 0
    return Motion(opacity=(1 - away) * (1.0 if lit else 0.3))


def float_in(away: float, leaving: bool, p: float, text: bool) -> Motion:
    return Motion(opacity=1 - away, dy=FLOAT * 2 * away * (-1 if leaving else 1))


STEPS: dict[str, Step] = {
    "fade": fade,
    **{f"slide_{d}": slide(d) for d in DIRECTIONS},
    "zoom_in": zoom(True), "zoom_out": zoom(False), "rotate": rotate(True), "rotate_ccw": rotate(False),
    "bounce": bounce, "shake": shake, "punch_zoom": punch_zoom,
    **{f"wipe_{d}": wipe(d) for d in DIRECTIONS},
    "blur": blur, "flip": flip, "typewriter": typewriter, "line_reveal": line_reveal,
    "pendulum": pendulum, "pulse": pulse, "blink": blink, "float": float_in,
}
# How far from settled a layer is at progress p: most effects glide, these run evenly.
LINEAR = {"typewriter", "line_reveal", "fade", "wipe_left", "wipe_right", "wipe_up", "wipe_down"}

# ---------------------------------------------------------------- loops
# Each takes the phase 0–1 within one period.


def swing(degrees: float) -> Callable[[float], Motion]:
    return lambda ph: Motion(rotation=degrees * math.sin(2 * math.pi * ph))


def pulse_loop(ph: float) -> Motion:
    s = 1 + PULSE * math.sin(2 * math.pi * ph)
    return Motion(scale_x=s, scale_y=s)


def drift(ux: int, uy: int) -> Callable[[float], Motion]:
    return lambda ph: Motion(dx=ux * FLOAT * math.sin(2 * math.pi * ph), dy=uy * FLOAT * math.sin(2 * math.pi * ph))


LOOPS: dict[str, Callable[[float], Motion]] = {
    "rotate": lambda ph: Motion(rotation=SPIN * ph),
    "rotate_ccw": lambda ph: Motion(rotation=-SPIN * ph),
    "pendulum": swing(PENDULUM),
    "pulse": pulse_loop, "zoom_in": pulse_loop, "zoom_out": pulse_loop, "punch_zoom": pulse_loop,
    "blink": lambda ph: Motion(opacity=0.5 + 0.5 * math.cos(2 * math.pi * ph)),
    "fade": lambda ph: Motion(opacity=0.65 + 0.35 * math.cos(2 * math.pi * ph)),
    "float": drift(0, 1), "slide_up": drift(0, 1), "slide_down": drift(0, 1),
    "slide_left": drift(1, 0), "slide_right": drift(1, 0),
    "shake": lambda ph: Motion(dx=SHAKE / 3 * math.sin(2 * math.pi * 3 * ph),
                               dy=SHAKE / 3 * math.sin(2 * math.pi * 5 * ph + 1)),
    "bounce": lambda ph: Motion(dy=-FLOAT * 2 * abs(math.sin(math.pi * ph))),
    "flip": lambda ph: Motion(scale_x=abs(math.cos(math.pi * ph))),
    "blur": lambda ph: Motion(blur=BLUR / 5 * (0.5 - 0.5 * math.cos(2 * math.pi * ph))),
}
LOOP_NATIVE = {"pendulum", "pulse", "blink", "float"}  # effects that are a loop even as a group


def motion(effect: str, kind: str, progress: float, *, text: bool = False) -> Motion:
    """The Motion of animation `effect` of `kind` (in, out, group, loop) at progress 0–1
    (for a loop, the phase within one period). An unknown effect fades."""
    p = min(max(progress, 0.0), 1.0)
    step = STEPS.get(effect, fade)
    if kind == "loop" or (kind == "group" and effect in LOOP_NATIVE):
        loop = LOOPS.get(effect)
        return loop(p) if loop is not None else entrance(step, effect, p, text)
    if kind == "group":
        if GROUP_SPLIT <= p <= 1 - GROUP_SPLIT:
            return STILL
        m = entrance(step, effect, p / GROUP_SPLIT, text) if p < GROUP_SPLIT else \
            exit_(step, effect, (p - 1 + GROUP_SPLIT) / GROUP_SPLIT, text)
        # A combo moves the picture for the whole segment and never hides it: only a fade fades.
        return m if effect == "fade" else replace(m, opacity=1.0)
    if kind == "out":
        return exit_(step, effect, p, text)
    return entrance(step, effect, p, text)


def entrance(step: Step, effect: str, p: float, text: bool) -> Motion:
    return step(1 - (p if effect in LINEAR else smooth(p)), False, p, text)


def exit_(step: Step, effect: str, p: float, text: bool) -> Motion:
    return step(p if effect in LINEAR else smooth(p), True, p, text)


# ---------------------------------------------------------------- applying a motion to pixels


def wiped(picture: np.ndarray, span: tuple[str, float, float]) -> np.ndarray:
    """The picture with only the span (axis, from, to) of it kept; RGBA out."""
    axis, lo, hi = span
    rgba = picture if picture.shape[2] == 4 else np.dstack([picture, np.full(picture.shape[:2], 255, np.uint8)])
    out = rgba.copy()
    n = out.shape[1] if axis == "x" else out.shape[0]
    a, b = round(lo * n), round(hi * n)
    if axis == "x":
        out[:, :max(a, 0), 3] = 0
        out[:, max(b, 0):, 3] = 0
    else:
        out[:max(a, 0), :, 3] = 0
        out[max(b, 0):, :, 3] = 0
    return out


def softened(picture: np.ndarray, blur_fraction: float) -> np.ndarray:
    """The picture blurred by a sigma of `blur_fraction` of its shorter side (premultiplied, so
    transparent edges do not darken)."""
    sigma = blur_fraction * min(picture.shape[:2])
    if sigma < 0.3:
        return picture
    if picture.shape[2] == 3:
        return np.asarray(Image.fromarray(np.ascontiguousarray(picture)).filter(ImageFilter.GaussianBlur(sigma)))
    im = Image.fromarray(np.ascontiguousarray(picture)).convert("RGBa")
    return np.asarray(im.filter(ImageFilter.GaussianBlur(sigma)).convert("RGBA"))


@dataclass(frozen=True, slots=True)
class TextLines:
    """Where a text's lines and characters sit in its picture, in picture pixels, for reveals.

    Each line is (start, end) across the lines and the far edge of each character along the
    line, in reading order. Horizontal text: rows, and columns along the line. Vertical text
    reads in columns from the right: across is measured from the picture's right edge, and
    along the line is rows.
    """

    lines: tuple[tuple[float, float, tuple[float, ...]], ...]
    vertical: bool = False


def revealed(picture: np.ndarray, layout: TextLines, chars: float, lines: float) -> np.ndarray:
    """The text picture with only the first `chars` of its characters, and the first `lines`
    of its lines (the last one partly faded in), showing."""
    total = sum(len(edges) for _, _, edges in layout.lines)
    if not layout.lines or (chars >= 1 and lines >= 1):
        return picture
    out = picture.copy()
    alpha = out[..., 3]
    if layout.vertical:
        alpha = alpha.T[::-1]  # a view: columns become rows, the rightmost first
    n_lines = len(layout.lines)
    shown_chars = math.floor(chars * total + 1e-6)
    seen = 0
    for i, (start, end, edges) in enumerate(layout.lines):
        # Bands split half way between neighbouring lines, the outer ones run to the picture's edge.
        lo = 0 if i == 0 else round((layout.lines[i - 1][1] + start) / 2)
        hi = alpha.shape[0] if i == n_lines - 1 else round((end + layout.lines[i + 1][0]) / 2)
        band = alpha[lo:hi]
        line_share = min(max(lines * n_lines - i, 0.0), 1.0)
        k = shown_chars - seen
        seen += len(edges)
        if k <= 0 or line_share <= 0:
            band[:] = 0
            continue
        if k < len(edges):
            band[:, max(round(edges[k - 1]), 0):] = 0
        if line_share < 1:
            band[:] = (band.astype(np.uint16) * round(line_share * 256) >> 8).astype(np.uint8)
    return out
