"""Keyframed properties and their evaluator.

Before the first keyframe the first value holds; after the last, the last value holds.
Between two keyframes the curve is linear, or a cubic bezier on the normalised interval
when the editor wrote control points. **(calibrate)** The editor's control-point units are
reverse engineered: we read them as (time fraction, value fraction) of the interval, with
(0, 0) meaning "no handle".
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

# The property names the renderer reads, by the editor's property_type.
PROPERTY_NAMES = {
    "KFTypePositionX": "position_x",
    "KFTypePositionY": "position_y",
    "KFTypeScaleX": "scale_x",
    "KFTypeScaleY": "scale_y",
    "KFTypeUniformScale": "uniform_scale",
    "KFTypeRotation": "rotation",
    "KFTypeAlpha": "alpha",
    "KFTypeBrightness": "brightness",
    "KFTypeContrast": "contrast",
    "KFTypeSaturation": "saturation",
    "KFTypeVolume": "volume",
}


@dataclass(frozen=True, slots=True)
class Keyframe:
    offset: int  # µs from the segment start on the output timeline
    value: float
    curve: str = "Line"
    left_control: tuple[float, float] = (0.0, 0.0)
    right_control: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True, slots=True)
class Keyframes:
    property: str  # a value of PROPERTY_NAMES, or the raw property_type when unknown
    points: tuple[Keyframe, ...]  # sorted by offset, at least one

    def value_at(self, offset: float) -> float:
        pts = self.points
        if offset <= pts[0].offset:
            return pts[0].value
        if offset >= pts[-1].offset:
            return pts[-1].value
        i = bisect_right([p.offset for p in pts], offset)
        a, b = pts[i - 1], pts[i]
        u = (offset - a.offset) / (b.offset - a.offset)
        return a.value + (b.value - a.value) * ease(u, a, b)


def ease(u: float, a: Keyframe, b: Keyframe) -> float:
    """Progress 0–1 of the value at time fraction u between keyframes a and b."""
    if a.curve == "Line" or (a.right_control == (0.0, 0.0) and b.left_control == (0.0, 0.0)):
        return u
    return cubic_bezier(u, a.right_control, b.left_control)


def cubic_bezier(u: float, p1: tuple[float, float], p2: tuple[float, float]) -> float:
    """CSS-style timing curve from (0,0) to (1,1): solve x(s) = u for s, return y(s)."""
    x1, y1 = min(max(p1[0], 0.0), 1.0), p1[1]
    x2, y2 = min(max(p2[0], 0.0), 1.0), p2[1]

    def coord(s: float, c1: float, c2: float) -> float:
        return 3 * (1 - s) ** 2 * s * c1 + 3 * (1 - s) * s**2 * c2 + s**3

    lo, hi = 0.0, 1.0
    for _ in range(40):  # x(s) is monotonic for x1, x2 in [0, 1]: bisection converges
        mid = (lo + hi) / 2
        if coord(mid, x1, x2) < u:
            lo = mid
        else:
            hi = mid
    return coord((lo + hi) / 2, y1, y2)
