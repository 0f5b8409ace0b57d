"""The render plan: which layers show at each output frame, and in what state.

Frame i sits at i/fps seconds, computed as an exact fraction. A layer's state is its clip
values overridden by its keyframes at that instant, the source time it shows (from the
segment's speed or speed curve, and direction), and where it stands in its transitions and
animations. A transition's window is centred on its cut: the outgoing segment keeps showing
past its end and the incoming one from before its start, each in its own state, tagged with
the transition's progress; the frame renderer mixes the two. The plan knows no pixels.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from typing import Literal

from ..timeline.model import NamedEffect, Segment, Timeline

# A transition joins two segments of one track that meet within this many µs (editors snap
# cuts to frames; writers round).
ADJACENT_US = 1_000
# One cycle of a loop animation. Drafts give a loop's span (pyJianYingDraft: the rest of the
# segment), not its cycle. (calibrate)
LOOP_PERIOD_US = 1_000_000


@dataclass(frozen=True, slots=True)
class TransitionWindow:
    """A transition across the cut between two segments of one track: [start, end) around `cut`."""

    effect: NamedEffect
    start: int
    end: int
    cut: int
    track: int


@dataclass(frozen=True, slots=True)
class LayerSpan:
    """A segment and when it shows: its own range, widened by the transitions at its ends."""

    segment: Segment
    start: int
    end: int
    entering: TransitionWindow | None = None  # the transition into this segment
    leaving: TransitionWindow | None = None  # the transition out of it


@dataclass(frozen=True, slots=True)
class TransitionPhase:
    """Where a layer stands in a transition: outgoing ("out") or incoming ("in"), and the
    progress 0–1 across the window. `cut` and `track` name the pair."""

    effect: NamedEffect
    role: Literal["out", "in"]
    progress: float
    cut: int
    track: int


@dataclass(frozen=True, slots=True)
class AnimationPhase:
    """An animation under way: its effect, kind (in, out, group, loop) and progress 0–1
    (for a loop, the phase within its cycle)."""

    effect: NamedEffect
    type: Literal["in", "out", "group", "loop"]
    progress: float


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
    transition: TransitionPhase | None = None
    animations: tuple[AnimationPhase, ...] = ()


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
    for (x0, y0), (x1, y1) in pairwise(points):
        if u <= x0:
            break
        x_end = min(u, x1)
        if x1 > x0:
            y_end = y0 + (y1 - y0) * (x_end - x0) / (x1 - x0)
            area += (x_end - x0) * (y0 + y_end) / 2
    return area


def layer_state(layer: LayerSpan | Segment, t: int) -> LayerState:
    """The layer's state at output time t. Inside a transition window t may lie before the
    segment's start or past its end: the source time then runs on (the reader holds the
    medium's first or last frame where it runs out), and keyframes hold their end values."""
    span = layer if isinstance(layer, LayerSpan) else LayerSpan(layer, layer.target.start, layer.target.end)
    seg = span.segment
    offset = t - seg.target.start
    c = seg.clip
    return LayerState(
        segment=seg,
        offset=offset,
        source_time=max(source_time(seg, offset), 0),
        x=seg.value_at("position_x", offset, c.x),
        y=seg.value_at("position_y", offset, c.y),
        scale_x=seg.value_at("scale_x", offset, c.scale_x),
        scale_y=seg.value_at("scale_y", offset, c.scale_y),
        rotation=seg.value_at("rotation", offset, c.rotation),
        alpha=min(max(seg.value_at("alpha", offset, c.alpha), 0.0), 1.0),
        brightness=seg.value_at("brightness", offset, 0.0),
        contrast=seg.value_at("contrast", offset, 0.0),
        saturation=seg.value_at("saturation", offset, 0.0),
        transition=transition_phase(span, t),
        animations=animation_phases(seg, offset),
    )


def transition_phase(span: LayerSpan, t: int) -> TransitionPhase | None:
    windows: tuple[tuple[TransitionWindow | None, Literal["out", "in"]], ...] = (
        (span.leaving, "out"), (span.entering, "in"))
    for window, role in windows:
        if window is not None and window.start <= t < window.end:
            progress = (t - window.start) / (window.end - window.start)
            return TransitionPhase(window.effect, role, progress, window.cut, window.track)
    return None


def animation_phases(seg: Segment, offset: int) -> tuple[AnimationPhase, ...]:
    """The segment's animations under way `offset` µs into it. Outside the segment (in a
    transition's overhang) the animations hold their state at its nearer end."""
    offset = min(max(offset, 0), seg.target.duration - 1)
    phases = []
    for anim in seg.animations:
        if anim.duration <= 0:
            continue
        into = offset - anim.start
        if anim.type == "loop":
            if 0 <= into < anim.duration:
                phases.append(AnimationPhase(anim.effect, "loop", (into % LOOP_PERIOD_US) / LOOP_PERIOD_US))
        elif anim.type == "in":
            if into < anim.duration:
                phases.append(AnimationPhase(anim.effect, "in", min(max(into / anim.duration, 0.0), 1.0)))
        elif into >= 0 or anim.type == "group":
            # An outro holds its end state after it is done (the layer stays gone).
            phases.append(AnimationPhase(anim.effect, anim.type, min(max(into / anim.duration, 0.0), 1.0)))
    return tuple(phases)


def layer_spans(segments: tuple[Segment, ...]) -> list[LayerSpan]:
    """Each segment's span, with the transitions between neighbours on one track: a window of
    the transition's duration centred on the cut, cut short where a segment is shorter."""
    tracks: dict[int, list[Segment]] = {}
    for seg in segments:
        tracks.setdefault(seg.track_index, []).append(seg)
    entering: dict[int, TransitionWindow] = {}
    leaving: dict[int, TransitionWindow] = {}
    for track, segs in tracks.items():
        segs.sort(key=lambda s: s.target.start)
        for a, b in pairwise(segs):
            tr = a.transition
            if tr is None or tr.duration <= 0 or abs(b.target.start - a.target.end) > ADJACENT_US:
                continue
            cut = a.target.end
            lead = min(tr.duration // 2, a.target.duration)
            trail = min(tr.duration - tr.duration // 2, b.target.end - cut)
            if lead + trail <= 0:
                continue
            window = TransitionWindow(tr.effect, cut - lead, cut + trail, cut, track)
            leaving[id(a)] = entering[id(b)] = window
    spans = []
    for seg in segments:
        into, out = entering.get(id(seg)), leaving.get(id(seg))
        start = min(seg.target.start, into.start) if into else seg.target.start
        end = max(seg.target.end, out.end) if out else seg.target.end
        spans.append(LayerSpan(seg, start, end, into, out))
    return spans


class LayerSchedule:
    """Visual segments swept in time order: the layers showing at t, in draw order, bottom first.

    Frames are asked for in increasing time, so a pointer over the start-sorted spans and a
    short active list replace a scan of every segment per frame.
    """

    def __init__(self, segments: tuple[Segment, ...]):
        order = {id(s): i for i, s in enumerate(segments)}  # draw order, as the timeline gives it
        self._draw_rank = order
        self._by_start = sorted(layer_spans(segments), key=lambda s: s.start)
        self._starts = [s.start for s in self._by_start]
        self._next = 0
        self._active: list[LayerSpan] = []
        self._last_t = -1

    def at(self, t: int) -> list[LayerSpan]:
        if t < self._last_t:  # a jump back (a still, a range): start the sweep again
            self._next, self._active = 0, []
        self._last_t = t
        end = bisect_right(self._starts, t)
        if end > self._next:
            self._active.extend(self._by_start[self._next:end])
            self._next = end
        self._active = [s for s in self._active if s.end > t]
        return sorted(self._active, key=lambda s: self._draw_rank[id(s.segment)])


def frame_plan(tl: Timeline, fps: Fraction, start: int, end: int) -> Iterator[tuple[int, int, list[LayerState]]]:
    """(frame index, output time, layer states bottom first) for each frame in [start, end)."""
    schedule = LayerSchedule(tl.visual_segments())
    first = frame_count(start, fps)
    last = frame_count(end, fps)
    for i in range(first, last):
        t = frame_time(i, fps)
        yield i, t, [layer_state(s, t) for s in schedule.at(t)]
