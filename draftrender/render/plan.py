"""The render plan: which layers show at each output frame, and in what state.

Frame i sits at i/fps seconds, computed as an exact fraction. A layer's state is its clip
values overridden by its keyframes at that instant, and the source time it shows, from the
segment's speed (or speed curve) and direction.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator

from ..timeline.model import Segment, Timeline


@dataclass(frozen=True, slots=True)
class LayerState:
    segment: Segment
    offset: int  # µs since the segment started
    source_time: int  # µs into the medium
    x: float
    y: float
    scale_x: float
    scale_y: float
    rotation: float
    alpha: float
    brightness: float
    contrast: float
    saturation: float


def frame_time(i: int, fps: Fraction) -> int:
    """Output time of frame i in µs, exact, rounded up: editors round cut times to the nearest µs
    (766667 for frame 23 at 30 fps), and decoders floor frame starts, so rounding up never
    lands a hair before the segment or source frame the instant belongs to."""
    return -((-i * 1_000_000 * fps.denominator) // fps.numerator)


def frame_count(duration: int, fps: Fraction) -> int:
    """Frames needed to cover `duration` µs."""
    return math.ceil(Fraction(duration * fps.numerator, 1_000_000 * fps.denominator))


def source_time(seg: Segment, offset: int) -> int:
    """The medium's time (µs) shown `offset` µs into the segment."""
    src = seg.source
    start = src.start if src is not None else 0
    span = src.duration if src is not None else round(seg.target.duration * seg.speed)
    if seg.speed_curve is not None and seg.target.duration > 0:
        moved = round(span * curve_progress(seg.speed_curve.points, offset / seg.target.duration))
    else:
        moved = math.ceil(offset * seg.speed - 1e-6)  # up, like frame_time
    if seg.reverse:
        # The last µs of the range, not its end: the frame that covers `end` is outside it.
        return start + max(span - moved - 1, 0)
    return start + moved


def curve_progress(points: tuple[tuple[float, float], ...], u: float) -> float:
    """Fraction of the source consumed at fraction u of the segment, for a speed curve given as
    (x, speed multiplier) points: the normalised integral of the piecewise-linear speed."""
    u = min(max(u, 0.0), 1.0)
    total = integral(points, 1.0)
    return integral(points, u) / total if total > 0 else u


def integral(points: tuple[tuple[float, float], ...], u: float) -> float:
    area = 0.0
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if u <= x0:
            break
        x_end = min(u, x1)
        if x1 > x0:
            y_end = y0 + (y1 - y0) * (x_end - x0) / (x1 - x0)
            area += (x_end - x0) * (y0 + y_end) / 2
    return area


def layer_state(seg: Segment, t: int) -> LayerState:
    offset = t - seg.target.start
    c = seg.clip
    return LayerState(
        segment=seg,
        offset=offset,
        source_time=source_time(seg, offset),
        x=seg.value_at("position_x", offset, c.x),
        y=seg.value_at("position_y", offset, c.y),
        scale_x=seg.value_at("scale_x", offset, c.scale_x),
        scale_y=seg.value_at("scale_y", offset, c.scale_y),
        rotation=seg.value_at("rotation", offset, c.rotation),
        alpha=min(max(seg.value_at("alpha", offset, c.alpha), 0.0), 1.0),
        brightness=seg.value_at("brightness", offset, 0.0),
        contrast=seg.value_at("contrast", offset, 0.0),
        saturation=seg.value_at("saturation", offset, 0.0),
    )


class LayerSchedule:
    """Visual segments swept in time order: the active ones at t, in draw order, bottom first.

    Frames are asked for in increasing time, so a pointer over the start-sorted segments and a
    short active list replace a scan of every segment per frame.
    """

    def __init__(self, segments: tuple[Segment, ...]):
        order = {id(s): i for i, s in enumerate(segments)}  # draw order, as the timeline gives it
        self._draw_rank = order
        self._by_start = sorted(segments, key=lambda s: s.target.start)
        self._starts = [s.target.start for s in self._by_start]
        self._next = 0
        self._active: list[Segment] = []
        self._last_t = -1

    def at(self, t: int) -> list[Segment]:
        if t < self._last_t:  # a jump back (a still, a range): start the sweep again
            self._next, self._active = 0, []
        self._last_t = t
        end = bisect_right(self._starts, t)
        if end > self._next:
            self._active.extend(self._by_start[self._next:end])
            self._next = end
        self._active = [s for s in self._active if s.target.end > t]
        return sorted(self._active, key=lambda s: self._draw_rank[id(s)])


def frame_plan(tl: Timeline, fps: Fraction, start: int, end: int) -> Iterator[tuple[int, int, list[LayerState]]]:
    """(frame index, output time, layer states bottom first) for each frame in [start, end)."""
    schedule = LayerSchedule(tl.visual_segments())
    first = frame_count(start, fps)
    last = frame_count(end, fps)
    for i in range(first, last):
        t = frame_time(i, fps)
        yield i, t, [layer_state(s, t) for s in schedule.at(t)]
