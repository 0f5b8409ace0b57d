"""Audio sources: a medium's sound as stereo float32 blocks, and the stages that time it.

`AudioReader` decodes one file's first audio stream (any container or codec FFmpeg reads)
over a source range, forward or backward, downmixed to stereo at the file's own rate.
`resampled` brings blocks to the output rate, optionally as varispeed (pitch follows speed,
as FFmpeg's asetrate does); `stretched` changes tempo with pitch kept, through FFmpeg's
atempo. Each is a generator of (2, n) float32 blocks, so a sound streams through them in
bounded memory however long the medium.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import av.filter
import numpy as np

from draftrender.effects.audio import downmix_matrix
from draftrender.errors import MaterialUnreachable

US = 1_000_000
# Decoders (AAC, MP3) need audio before the seek point to settle: seek this much earlier.
SEEK_PREROLL_US = 200_000
# Reverse playback decodes this much source at a time, stepping backwards.
REVERSE_CHUNK_US = 2_000_000
# A frame whose timestamp is this far from where the last one ended starts a new run:
# a gap is filled with silence; smaller jitter is ignored so samples stay contiguous.
GAP_TOLERANCE_US = 2_000
# atempo's quality range per stage: factors outside it are chained.
ATEMPO_MIN, ATEMPO_MAX = 0.5, 2.0


def _reason(e: BaseException) -> str:
    return " ".join(str(getattr(e, "strerror", None) or e or type(e).__name__).split())


class AudioReader:
    """Stereo float32 samples of one medium's first audio stream at its own rate.

    Source time 0 is the start of the file's video stream when it has one (so sound stays
    with picture as VideoReader shows it), else of the audio stream.
    """

    def __init__(self, path):
        self.path = Path(path)
        try:
            self._container = av.open(str(self.path))
        except (av.FFmpegError, OSError) as e:
            raise MaterialUnreachable(f"audio of {self.path} cannot be opened: {_reason(e)}",
                                      [str(self.path)]) from None
        if not self._container.streams.audio:
            self._container.close()
            raise MaterialUnreachable(f"{self.path} has no audio stream", [str(self.path)])
        self._stream = self._container.streams.audio[0]
        self.rate = self._stream.codec_context.sample_rate or self._stream.rate
        self._origin = self._start_of(self._picture_stream() or self._stream)
        self._to_float = av.AudioResampler(format="fltp")  # format only: layout and rate stay
        self._fresh = True  # nothing decoded yet: reading from the start needs no seek

    def _picture_stream(self):
        return next((s for s in self._container.streams.video
                     if not s.disposition & av.stream.Disposition.attached_pic), None)

    @staticmethod
    def _start_of(stream) -> Fraction:
        return Fraction(stream.start_time or 0) * stream.time_base if stream.time_base else Fraction(0)

    def sample_at(self, t_us: float) -> int:
        return round(t_us * self.rate / US)

    def forward(self, start_us: float, end_us: float) -> Iterator[np.ndarray]:
        """Samples of source time [start_us, end_us), in order; stops early where the medium ends."""
        yield from self._samples(self.sample_at(max(start_us, 0)), self.sample_at(end_us))

    def backward(self, start_us: float, end_us: float) -> Iterator[np.ndarray]:
        """Samples of source time [start_us, end_us), last first: decoded in chunks stepping back."""
        return reversed_chunks(self._samples, self.sample_at(max(start_us, 0)), self.sample_at(end_us),
                               self.sample_at(REVERSE_CHUNK_US))

    def _samples(self, first: int, end: int) -> Iterator[np.ndarray]:
        """Samples [first, end) counted from source time 0, in blocks as decoded."""
        if end <= first:
            return
        self._seek(first)
        emitted = first  # the next sample owed to the caller
        at = None  # where the next decoded frame starts, counting samples since the last resync
        try:
            for frame in self._container.decode(self._stream):
                start = self._position(frame)
                if at is None or abs(start - at) > self.sample_at(GAP_TOLERANCE_US):
                    at = start  # trust the timestamp: a gap becomes silence, an overlap is skipped
                if at > emitted:
                    yield from _silence(emitted, min(at, end))
                    emitted = min(at, end)
                block = self._stereo(frame)
                lo, hi = max(emitted - at, 0), min(end - at, block.shape[1])
                if hi > lo:
                    yield block[:, lo:hi]
                    emitted = at + hi
                at += block.shape[1]
                if emitted >= end:
                    return
        except av.FFmpegError as e:
            raise MaterialUnreachable(f"decoding the audio of {self.path} failed: {_reason(e)}",
                                      [str(self.path)]) from None

    def _seek(self, sample: int) -> None:
        near_start = sample < self.sample_at(SEEK_PREROLL_US)
        if self._fresh and near_start:
            self._fresh = False  # some demuxers (raw ADTS, some MP3s) seek only roughly
            return
        self._fresh = False
        t = Fraction(sample, self.rate) - Fraction(SEEK_PREROLL_US, US) + self._origin
        self._container.seek(max(int(t / self._stream.time_base), 0) if t > 0 else 0,
                             stream=self._stream, backward=True)

    def _position(self, frame: av.AudioFrame) -> int:
        if frame.pts is None or frame.time_base is None:
            return 0
        return round((frame.pts * frame.time_base - self._origin) * self.rate)

    def _stereo(self, frame: av.AudioFrame) -> np.ndarray:
        names = tuple(c.name for c in frame.layout.channels)
        planar = np.concatenate([f.to_ndarray() for f in self._to_float.resample(frame)], axis=1)
        if len(names) == 2:
            return planar
        return downmix_matrix(names) @ planar

    def close(self) -> None:
        self._container.close()


def reversed_chunks(samples: Callable[[int, int], Iterator[np.ndarray]], first: int, end: int,
                    step: int) -> Iterator[np.ndarray]:
    """Samples [first, end) last first, read forward by `samples` in chunks of `step` stepping back."""
    while end > first:
        begin = max(first, end - step)
        blocks = list(samples(begin, end))
        chunk = np.concatenate(blocks, axis=1) if blocks else np.zeros((2, 0), np.float32)
        if chunk.shape[1] < end - begin:  # past the medium's end: silence there, not a shift
            chunk = np.pad(chunk, ((0, 0), (0, end - begin - chunk.shape[1])))
        yield np.ascontiguousarray(chunk[:, ::-1])
        end = begin


def _silence(first: int, end: int) -> Iterator[np.ndarray]:
    if end > first:
        yield np.zeros((2, end - first), np.float32)


def _frame(block: np.ndarray, rate: int, pts: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block, dtype=np.float32), format="fltp", layout="stereo")
    frame.sample_rate, frame.pts, frame.time_base = rate, pts, Fraction(1, rate)
    return frame


def resampled(blocks: Iterable[np.ndarray], rate: int, out_rate: int,
              speed: float = 1.0) -> Generator[np.ndarray]:
    """Blocks at `rate` as blocks at `out_rate`. With `speed`, they play that much faster
    and pitch follows, like tape (FFmpeg's asetrate then aresample)."""
    played_as = max(1, round(rate * speed))
    if played_as == out_rate:
        yield from blocks
        return
    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=out_rate)
    pts = 0
    for block in blocks:
        for out in resampler.resample(_frame(block, played_as, pts)):
            yield out.to_ndarray()
        pts += block.shape[1]
    for out in resampler.resample(None):
        yield out.to_ndarray()


def atempo_stages(lowest: float, highest: float) -> int:
    """How many chained atempo filters keep each one's factor within 0.5–2 over this tempo range."""
    octaves = max(math.log2(highest / ATEMPO_MAX) if highest > ATEMPO_MAX else 0.0,
                  math.log2(ATEMPO_MIN / lowest) if lowest < ATEMPO_MIN else 0.0)
    return 1 + math.ceil(octaves - 1e-9) if octaves > 0 else 1


def stretched(blocks: Iterable[np.ndarray], rate: int, tempo: float | Callable[[int], float],
              lowest: float, highest: float) -> Generator[np.ndarray]:
    """Blocks played at `tempo` with their pitch kept (FFmpeg's atempo, chained when needed).

    `tempo` is a number, or a function of the samples consumed so far (a speed curve): it is
    asked again for each block and sent to the filters as a command, so the sound glides.
    """
    stages = atempo_stages(lowest, highest)
    graph = av.filter.Graph()
    node = source = graph.add_abuffer(format="fltp", sample_rate=rate, layout="stereo", time_base=Fraction(1, rate))
    factor = (tempo if not callable(tempo) else tempo(0)) ** (1 / stages)
    filters = [graph.add("atempo", f"tempo={factor:.6f}") for _ in range(stages)]
    for f in filters + [graph.add("aformat", "sample_fmts=fltp:channel_layouts=stereo")]:
        node.link_to(f)
        node = f
    sink = graph.add("abuffersink")
    node.link_to(sink)
    graph.configure()

    def drain() -> Iterator[np.ndarray]:
        while True:
            try:
                yield cast(av.AudioFrame, sink.pull()).to_ndarray()
            except (av.BlockingIOError, av.EOFError):
                return

    consumed = 0
    for block in blocks:
        if callable(tempo):
            now = tempo(consumed) ** (1 / stages)
            if abs(now / factor - 1) > 1e-3:
                factor = now
                for f in filters:
                    f.process_command("tempo", f"{factor:.6f}")
        source.push(_frame(block, rate, consumed))
        consumed += block.shape[1]
        yield from drain()
    source.push(None)
    yield from drain()
