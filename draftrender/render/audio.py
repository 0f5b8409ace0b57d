"""The draft's sound: every audible segment decoded, timed and mixed on the output's sample clock.

A segment that starts at t µs starts at sample round(t × rate / 1e6) and stops at the sample
of its own end, so hundreds of cuts add no drift. Its source is played by the same time map
as its picture (plan.source_time, plan.curve_progress); a compound clip's segment plays its
nested timeline's own mix (MixReader). Sounds open their decoders when the mix reaches them
and close them when they end, so memory stays flat for long drafts. The mix then takes the
loudness gain (measured in a first pass when a target is set) and goes through the
true-peak limiter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from fractions import Fraction
from itertools import pairwise
from typing import Protocol

import av
import av.filter
import numpy as np

from ..assets import Probe
from ..effects.audio import CUT_RAMP_US, TruePeakLimiter, cut_ramp, db_to_gain, fade_gain, gain_to_db, ramp_out
from ..timeline.model import Compound, FidelityNote, Material, Media, Segment, Timeline
from .audio_sources import REVERSE_CHUNK_US, AudioReader, resampled, reversed_chunks, stretched
from .plan import curve_progress, integral, source_time

US = 1_000_000
# Volume keyframes replace the segment's static volume, as keyframes do for every other
# property. **(calibrate)** If the editor multiplies them instead, set this False.
KEYFRAMES_REPLACE_VOLUME = True
# Source decoded past a segment's end, so the time stretcher's tail is real sound, not padding.
TAIL_US = 250_000
# Mix blocks for the loudness pass.
MEASURE_BLOCK = 4800
# A draft quieter than this (EBU R128's absolute gate) is silence: it is not normalised.
SILENCE_LUFS = -70.0


def sample_index(t_us: int, rate: int) -> int:
    """The output sample at time t µs: round(t × rate / 1e6), in exact integers."""
    return (2 * t_us * rate + US) // (2 * US)


def sample_time(sample: int, rate: int) -> int:
    """The first µs whose sample_index is `sample`."""
    return -(-sample * US // rate)


# ---------------------------------------------------------------- what sounds, and when


class Reader(Protocol):
    """A material's sound at its own rate: AudioReader (a file) or MixReader (a nested timeline)."""

    rate: int

    def forward(self, start_us: float, end_us: float) -> Iterator[np.ndarray]: ...

    def backward(self, start_us: float, end_us: float) -> Iterator[np.ndarray]: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Sound:
    """An audible segment placed on the sample clock: samples [first, end)."""

    segment: Segment
    reader: Callable[[], Reader]  # opens the material's sound when the mix reaches the segment
    first: int
    end: int


def volume_points(seg: Segment) -> tuple[np.ndarray, np.ndarray]:
    """The segment's volume over its own time, as (µs offsets, gains) to interpolate linearly.

    Keyframed curves are sampled densely enough that linear interpolation follows their easing.
    """
    kf = seg.keyframes_for("volume")
    if kf is None:
        return np.array([0.0]), np.array([seg.volume])
    offsets = [o for a, b in pairwise(kf.points)
               for o in np.linspace(a.offset, b.offset, 16, endpoint=False)] + [kf.points[-1].offset]
    scale = 1.0 if KEYFRAMES_REPLACE_VOLUME else seg.volume
    return np.array(offsets, float), np.array([kf.value_at(o) * scale for o in offsets])


def audible(seg: Segment) -> bool:
    return bool(np.any(volume_points(seg)[1] > 0))


def sounds_of(tl: Timeline, probes: dict[str, Probe], rate: int) -> list[Sound]:
    """Every segment that makes sound, by start: audio tracks and the sound of video segments,
    unless the track is muted, the segment hidden or silent, or the medium has no audio."""
    out = []
    for track in tl.tracks:
        if track.muted or track.type not in ("audio", "video"):
            continue
        for seg in track.segments:
            reader = reader_of(seg.material, probes, rate)
            if not seg.visible or reader is None or not audible(seg):
                continue
            first, end = sample_index(seg.target.start, rate), sample_index(seg.target.end, rate)
            if end > first:
                out.append(Sound(seg, reader, first, end))
    return sorted(out, key=lambda s: s.first)


def reader_of(m: Material, probes: dict[str, Probe], rate: int) -> Callable[[], Reader] | None:
    """What opens the material's sound; None when it has none."""
    if isinstance(m, Media):
        probe = probes.get(m.id)
        return partial(AudioReader, probe.path) if probe is not None and probe.has_audio else None
    if isinstance(m, Compound) and sounds_of(m.timeline, probes, rate):
        return partial(MixReader, m.timeline, probes, rate)
    return None


def approximations(sounds: list[Sound], probes: dict[str, Probe], rate: int) -> list[FidelityNote]:
    """What the mix approximates, in nested compound clips too."""
    notes = []
    for s in sounds:
        seg = s.segment
        if seg.tone_modify and seg.speed_curve is not None:
            notes.append(FidelityNote(seg.track_index, seg.index, "curve speed with tone modify", "approximated",
                                      "the pitch follows the curve's mean speed; the tempo follows the curve"))
        if isinstance(seg.material, Compound):
            notes += [replace(n, track=seg.track_index, segment=seg.index,
                              feature=f"compound clip {seg.material.name}: {n.feature}")
                      for n in approximations(sounds_of(seg.material.timeline, probes, rate), probes, rate)]
    return notes


# ---------------------------------------------------------------- one segment's samples


def play_range(seg: Segment) -> tuple[int, int]:
    """(source µs where play begins, µs of source played): the picture's own end points."""
    a, b = source_time(seg, 0), source_time(seg, seg.target.duration)
    if seg.reverse:  # source_time gives the last µs of a reversed range, not its end
        return a + 1, a + 1 - b
    return a, b - a


class CurveSpeed:
    """A speed curve as the sound meets it: the speed after each µs of source played."""

    def __init__(self, points: tuple[tuple[float, float], ...], span: int, duration: int):
        self._grid = np.linspace(0.0, 1.0, 513)
        self._progress = np.array([curve_progress(points, u) for u in self._grid])
        self._x, self._y = np.array([p[0] for p in points]), np.maximum([p[1] for p in points], 0.05)
        self._span = max(span, 1)
        mean = integral(points, 1.0)
        self._scale = span / duration / mean if mean > 0 else span / duration
        self.lowest, self.highest = float(self._y.min() * self._scale), float(self._y.max() * self._scale)

    def at(self, played_us: float) -> float:
        u = np.interp(played_us / self._span, self._progress, self._grid)
        return float(np.interp(u, self._x, self._y)) * self._scale


def segment_blocks(reader: Reader, seg: Segment, rate: int, offset: int) -> Generator[np.ndarray]:
    """The segment's sound from `offset` µs into it, at the output rate, timed like its picture.

    Speed keeps the pitch (atempo) unless the segment modifies tone, which plays it like tape.
    """
    begin, span = play_range(seg)
    played = abs(source_time(seg, offset) - source_time(seg, 0))
    curve = CurveSpeed(seg.speed_curve.points, span, seg.target.duration) if seg.speed_curve else None
    speed = seg.speed if curve is None else span / seg.target.duration
    varispeed = speed if seg.tone_modify else 1.0
    tail = TAIL_US * max(speed, 1.0)
    if seg.reverse:
        read = reader.backward(begin - span - tail, begin - played)
    else:
        read = reader.forward(begin + played, begin + span + tail)
    blocks = resampled(read, reader.rate, rate, varispeed)
    if curve is None:
        tempo = speed / varispeed
        return blocks if math.isclose(tempo, 1.0, rel_tol=1e-6) else stretched(blocks, rate, tempo, tempo, tempo)

    def tempo_after(consumed: int) -> float:  # consumed: samples at the output rate, after varispeed
        return curve.at(played + consumed * varispeed * US / rate) / varispeed

    return stretched(blocks, rate, tempo_after, curve.lowest / varispeed, curve.highest / varispeed)


class Voice:
    """One sound being played: its decoder chain and its gain, read in output order."""

    def __init__(self, sound: Sound, rate: int, begin: int):
        self.sound, self.rate = sound, rate
        self.position, self.end = begin, sound.end
        seg = sound.segment
        self._volume = volume_points(seg)
        self._ramp = sample_index(CUT_RAMP_US, rate)
        self._reader = sound.reader()
        offset = max(0, begin * US // rate - seg.target.start)
        self._blocks = segment_blocks(self._reader, seg, rate, offset)
        self._queue: list[np.ndarray] = []
        self._queued = 0
        self._ended = False

    def read(self, n: int) -> np.ndarray:
        """The next n samples, with volume, fades and cut ramps applied."""
        self._fill(n + self._ramp)  # look ahead, so a medium that ends early can be ramped down
        samples = self._take(n)
        seg = self.sound.segment
        offsets = np.arange(self.position, self.position + n) * (US / self.rate) - seg.target.start
        gain = np.interp(offsets, *self._volume) * cut_ramp(offsets, seg.target.duration)
        if seg.fade is not None:
            gain *= fade_gain(offsets, seg.target.duration, seg.fade.fade_in, seg.fade.fade_out)
        self.position += n
        return samples * gain.astype(np.float32)

    def _fill(self, count: int) -> None:
        while self._queued < count and not self._ended:
            block = next(self._blocks, None)
            if block is None:
                self._ended = True
                tail = np.concatenate(self._queue, axis=1) if self._queue else np.zeros((2, 0), np.float32)
                ramp_out(tail, self._ramp)
                self._queue = [tail]
            elif block.shape[1]:
                self._queue.append(block)
                self._queued += block.shape[1]

    def _take(self, n: int) -> np.ndarray:
        queued = np.concatenate(self._queue, axis=1) if len(self._queue) > 1 else (
            self._queue[0] if self._queue else np.zeros((2, 0), np.float32))
        out, rest = queued[:, :n], queued[:, n:]
        self._queue, self._queued = [rest], rest.shape[1]
        if out.shape[1] < n:  # the medium ended: silence for the rest of the segment
            out = np.pad(out, ((0, 0), (0, n - out.shape[1])))
        return out

    def close(self) -> None:
        self._blocks.close()
        self._reader.close()


# ---------------------------------------------------------------- the mix


class MixBus:
    """Sums the voices sounding over each block of output samples, from sample `position` on."""

    def __init__(self, sounds: list[Sound], rate: int, position: int):
        self.rate, self.position = rate, position
        self._sounds = sounds
        self._next = 0
        self._voices: list[Voice] = []

    def read(self, n: int) -> np.ndarray:
        start, stop = self.position, self.position + n
        mix = np.zeros((2, n), np.float32)
        while self._next < len(self._sounds) and self._sounds[self._next].first < stop:
            sound = self._sounds[self._next]
            self._next += 1
            if sound.end > start:
                self._voices.append(Voice(sound, self.rate, max(sound.first, start)))
        for voice in list(self._voices):
            lo, hi = max(voice.position, start), min(voice.end, stop)
            if hi > lo:
                mix[:, lo - start:hi - start] += voice.read(hi - lo)
            if voice.end <= stop:
                voice.close()
                self._voices.remove(voice)
        self.position = stop
        return mix

    def blocks(self, total: int, size: int = MEASURE_BLOCK) -> Iterator[np.ndarray]:
        for done in range(0, total, size):
            yield self.read(min(size, total - done))

    def close(self) -> None:
        for voice in self._voices:
            voice.close()
        self._voices.clear()


def integrated_loudness(blocks: Iterable[np.ndarray], rate: int) -> float:
    """EBU R128 integrated loudness (LUFS) of stereo blocks, by FFmpeg's ebur128 meter."""
    graph = av.filter.Graph()
    source = graph.add_abuffer(format="fltp", sample_rate=rate, layout="stereo", time_base=Fraction(1, rate))
    meter, sink = graph.add("ebur128", "metadata=1"), graph.add("abuffersink")
    source.link_to(meter)
    meter.link_to(sink)
    graph.configure()
    loudness, pts = -math.inf, 0

    def drain() -> None:
        nonlocal loudness
        while True:
            try:
                frame = sink.pull()
            except (av.BlockingIOError, av.EOFError):
                return
            loudness = float(frame.metadata.get("lavfi.r128.I", loudness))

    for block in blocks:
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format="fltp", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = rate, pts, Fraction(1, rate)
        source.push(frame)
        pts += block.shape[1]
        drain()
    source.push(None)
    drain()
    return loudness


class Soundtrack:
    """The draft's finished sound from `start_us` to `end_us`, as the encoder takes it.

    `until(t)` returns the samples from where the last call stopped up to output time t:
    the mix, times the loudness gain, through the true-peak limiter.
    """

    def __init__(self, tl: Timeline, probes: dict[str, Probe], rate: int, start_us: int, end_us: int,
                 loudness: float | None = None):
        self.rate = rate
        self.sounds = sounds_of(tl, probes, rate)
        self.notes = approximations(self.sounds, probes, rate)
        self.origin = sample_index(start_us, rate)
        self.written = 0
        self.measured: float | None = None
        self.gain_db = 0.0
        if loudness is not None and self.sounds:
            bus = MixBus(self.sounds, rate, self.origin)
            try:
                measured = integrated_loudness(bus.blocks(sample_index(end_us, rate) - self.origin), rate)
            finally:
                bus.close()
            if measured > SILENCE_LUFS:  # silence stays silence: no gain would lift it to a target
                self.measured, self.gain_db = measured, loudness - measured
        self._gain = np.float32(db_to_gain(self.gain_db))
        self._bus = MixBus(self.sounds, rate, self.origin)
        self.limiter = TruePeakLimiter(rate)
        if self.sounds:  # what comes back first is the limiter's own silence
            self.limiter.process(self._bus.read(self.limiter.latency) * self._gain)

    def until(self, t_us: int) -> np.ndarray:
        n = max(0, sample_index(t_us, self.rate) - self.origin - self.written)
        self.written += n
        if not self.sounds:
            return np.zeros((2, n), np.float32)
        return self.limiter.process(self._bus.read(n) * self._gain)

    @property
    def peak_reduction_db(self) -> float:
        return max(0.0, -gain_to_db(self.limiter.min_gain))

    def close(self) -> None:
        self._bus.close()


class MixReader:
    """A compound clip's sound: its nested timeline's finished mix, read like a file's
    (AudioReader) at the output rate. Each read mixes only the nested time it asks for."""

    def __init__(self, tl: Timeline, probes: dict[str, Probe], rate: int):
        self.tl, self.probes, self.rate = tl, probes, rate

    def forward(self, start_us: float, end_us: float) -> Iterator[np.ndarray]:
        return self._samples(sample_index(max(round(start_us), 0), self.rate), sample_index(round(end_us), self.rate))

    def backward(self, start_us: float, end_us: float) -> Iterator[np.ndarray]:
        return reversed_chunks(self._samples, sample_index(max(round(start_us), 0), self.rate),
                               sample_index(round(end_us), self.rate), sample_index(REVERSE_CHUNK_US, self.rate))

    def _samples(self, first: int, end: int) -> Iterator[np.ndarray]:
        """Samples [first, end) of the mix; it ends where the nested timeline does."""
        end = min(end, sample_index(self.tl.duration, self.rate))
        if end <= first:
            return
        sound = Soundtrack(self.tl, self.probes, self.rate, sample_time(first, self.rate), sample_time(end, self.rate))
        try:
            for block in range(first, end, MEASURE_BLOCK):
                yield sound.until(sample_time(min(block + MEASURE_BLOCK, end), self.rate))
        finally:
            sound.close()

    def close(self) -> None:
        pass
