"""Long drafts in chunks: frame ranges rendered apart (other processes, other machines) and
joined into one MP4 without re-encoding, with the sound rendered once.

- A chunk is frames [first, last) of the whole timeline, encoded with the same settings as
  every other chunk (and a fixed thread count, so the bytes match too): each starts on an IDR
  frame and x264's GOPs are closed, so a chunk decodes on its own. join() checks that every
  chunk carries the same SPS/PPS before it puts them one after another.
- The sound is one part of its own, mixed on the output's sample clock from frame 0 to the
  end and encoded to AAC once: no priming at the joins, so no gap and no drift there.
- join() shifts each chunk's timestamps by its first frame and interleaves the sound's
  packets by time, so memory stays flat however long the video is.
"""

from __future__ import annotations

import heapq
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..assets import prepare_media
from ..errors import RenderFailed
from ..timeline.model import FidelityNote, Timeline
from .audio import Soundtrack
from .encode import AAC_FRAME, part_file
from .pipeline import AUDIO_EVERY, RenderOptions, RenderResult, output_geometry, render_timeline, time_range
from .plan import frame_count, frame_time

CHUNK_THREADS = 2  # encoder threads in every chunk, whatever machine renders it


@dataclass(frozen=True)
class Part:
    """One piece of a chunked render: the sound (kind "sound") or frames [first, last)."""

    kind: str  # "video" | "sound"
    first: int
    last: int

    @property
    def name(self) -> str:
        return "sound.m4a" if self.kind == "sound" else f"frames-{self.first:08d}-{self.last:08d}.mp4"


def plan_parts(tl: Timeline, opts: RenderOptions, chunk_seconds: float) -> list[Part]:
    """The sound (when the render has one) and the frame ranges of about `chunk_seconds` each."""
    _, _, fps = output_geometry(tl, opts)
    start, end = time_range(tl, opts)
    first, last = frame_count(start, fps), frame_count(end, fps)
    per_chunk = max(1, math.ceil(chunk_seconds * fps))
    parts = [Part("sound", first, last)] if opts.audio else []
    return parts + [Part("video", a, min(a + per_chunk, last)) for a in range(first, last, per_chunk)]


def render_part(tl: Timeline, part: Part, output: Path, opts: RenderOptions) -> RenderResult | None:
    """Render one part to `output`: a video-only MP4 of its frames, or the sound as AAC."""
    if part.kind == "sound":
        render_sound(tl, part, output, opts)
        return None
    _, _, fps = output_geometry(tl, opts)
    # The pipeline starts at frame_count(start): the µs rounded down maps back to `first` exactly.
    chunk = opts.model_copy(update=dict(
        start=_frame_floor(part.first, fps) / 1e6, end=_frame_floor(part.last, fps) / 1e6, audio=False,
        encode=opts.encode.model_copy(update=dict(threads=CHUNK_THREADS))))
    return render_timeline(tl, output, chunk)


def render_sound(tl: Timeline, part: Part, output: Path, opts: RenderOptions) -> None:
    """The sound of frames [first, last) as one AAC stream, pulled frame by frame as the
    single-process render pulls it, so the samples are the same."""
    _, _, fps = output_geometry(tl, opts)
    probes = prepare_media(tl, cache_dir=opts.cache_dir, allow_private_urls=opts.allow_private_urls)
    sound = Soundtrack(tl, probes, opts.audio_rate, frame_time(part.first, fps), frame_time(part.last, fps),
                       opts.loudness)
    write_sound(sound, part, output, opts, fps)


def write_sound(sound: Soundtrack, part: Part, output: Path, opts: RenderOptions, fps: Fraction) -> None:
    tmp = _temp_beside(output)
    try:
        with av.open(str(tmp), "w", format="mp4") as container:
            stream = container.add_stream("aac", rate=opts.audio_rate, layout="stereo")
            stream.codec_context.time_base = Fraction(1, opts.audio_rate)
            stream.bit_rate = opts.encode.audio_bitrate
            written, pending = 0, np.zeros((2, 0), np.float32)
            for i in range(part.first, part.last, AUDIO_EVERY):
                block = np.concatenate([pending, sound.until(frame_time(min(i + AUDIO_EVERY, part.last), fps))], 1)
                whole = block.shape[1] - block.shape[1] % AAC_FRAME
                for s in range(0, whole, AAC_FRAME):
                    written = _encode_sound(container, stream, block[:, s:s + AAC_FRAME], written, opts.audio_rate)
                pending = block[:, whole:]
            if pending.shape[1]:
                _encode_sound(container, stream, pending, written, opts.audio_rate)
            for packet in stream.encode(None):
                container.mux(packet)
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        sound.close()


def join(chunks: list[tuple[Part, Path]], sound: Path | None, output: Path) -> None:
    """The chunks' video one after another and the sound beside it, as one MP4 at `output`;
    packets are copied, never re-encoded."""
    chunks = sorted(chunks, key=lambda c: c[0].first)
    for (a, _), (b, _) in zip(chunks, chunks[1:], strict=False):
        if a.last != b.first:
            raise RenderFailed(f"chunks do not meet: frames {a.first}–{a.last} then {b.first}–{b.last}")
    inputs = [av.open(str(path)) for _, path in chunks]
    sound_in = av.open(str(sound)) if sound is not None else None
    tmp = _temp_beside(output)
    try:
        headers = {bytes(c.streams.video[0].codec_context.extradata or b"") for c in inputs}
        if len(headers) != 1:
            raise RenderFailed("the chunks were encoded with different settings (their SPS/PPS differ)")
        with av.open(str(tmp), "w", format="mp4", container_options={"movflags": "+faststart"}) as out:
            video = out.add_stream_from_template(inputs[0].streams.video[0])
            origin = chunks[0][0].first
            streams = [_shifted(c, part.first - origin, video) for (part, _), c in zip(chunks, inputs, strict=True)]
            timed = [_video_packets(streams)]
            if sound_in is not None:
                audio = out.add_stream_from_template(sound_in.streams.audio[0])
                timed.append(_packets(sound_in, sound_in.streams.audio[0], audio, 0))
            for _, packet in heapq.merge(*timed, key=lambda tp: tp[0]):
                out.mux(packet)
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        for c in inputs + ([sound_in] if sound_in is not None else []):
            c.close()


def render_chunked(tl: Timeline, output: Path, opts: RenderOptions, chunk_seconds: float,
                   run: Callable[[Iterable[tuple[Part, Path]]], Iterable[RenderResult | None]] | None = None
                   ) -> RenderResult:
    """Render in parts and join them. `run` renders (part, path) pairs and yields their results,
    in any order of work: a process pool, or workers on other machines; default: one by one here."""
    started = time.perf_counter()
    parts = plan_parts(tl, opts, chunk_seconds)
    with tempfile.TemporaryDirectory(prefix=".chunks-", dir=Path(output).parent) as folder:
        jobs = [(part, Path(folder) / part.name) for part in parts]
        results = list(run(jobs) if run is not None else (render_part(tl, p, path, opts) for p, path in jobs))
        video = [(p, path) for p, path in jobs if p.kind == "video"]
        sound = next((path for p, path in jobs if p.kind == "sound"), None)
        join(video, sound, Path(output))
    chunk_results = [r for r in results if r is not None]
    first = chunk_results[0]
    fidelity = list({(n.feature, n.reason): n for r in chunk_results for n in r.fidelity}.values())
    frames = sum(r.frames for r in chunk_results)
    timings = {"chunks": sum(r.timings.get("total", 0.0) for r in chunk_results),  # their time, all added
               "total": time.perf_counter() - started}
    return replace(first, output=Path(output), frames=frames, duration=frames / first.fps, fidelity=fidelity,
                   timings=timings, audio=None)


def in_processes(tl: Timeline, opts: RenderOptions, workers: int):
    """A `run` for render_chunked: the parts on `workers` processes of this machine."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    quiet = opts.model_copy(update=dict(progress=None))  # a callback does not cross into another process

    def run(jobs: Iterable[tuple[Part, Path]]) -> list[RenderResult | None]:
        context = multiprocessing.get_context("forkserver" if "forkserver" in multiprocessing.get_all_start_methods()
                                              else "spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = [pool.submit(render_part, tl, part, path, quiet) for part, path in jobs]
            return [f.result() for f in futures]

    return run


def result_from_json(doc: dict) -> RenderResult:
    """A part's RenderResult back from its to_json(), as it comes from another machine."""
    return RenderResult(output=Path(doc["output"]), width=doc["width"], height=doc["height"], fps=doc["fps"],
                        frames=doc["frames"], duration=doc["duration"], encoder=doc["encoder"],
                        fidelity=[FidelityNote(**n) for n in doc["fidelity"]], timings=doc["timings"],
                        audio=doc["audio"])


# ---------------------------------------------------------------- helpers


def _frame_floor(i: int, fps: Fraction) -> int:
    """The µs, rounded down, at which frame i starts: frame_count() of it is i again."""
    return (i * 1_000_000 * fps.denominator) // fps.numerator


def _encode_sound(container, stream, block: np.ndarray, written: int, rate: int) -> int:
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block, dtype=np.float32), format="fltp", layout="stereo")
    frame.sample_rate, frame.pts, frame.time_base = rate, written, Fraction(1, rate)
    for packet in stream.encode(frame):
        container.mux(packet)
    return written + block.shape[1]


def _shifted(container, frames: int, out_stream) -> Iterator[tuple[Fraction, av.Packet]]:
    stream = container.streams.video[0]
    offset = frames / Fraction(stream.average_rate) / stream.time_base
    if offset.denominator != 1:
        raise RenderFailed(f"a chunk starting {frames} frames in does not fall on its time base {stream.time_base}")
    return _packets(container, stream, out_stream, int(offset))


def _packets(container, stream, out_stream, offset: int) -> Iterator[tuple[Fraction, av.Packet]]:
    """(dts in seconds, packet) for the stream, moved by `offset` ticks and bound to `out_stream`."""
    for packet in container.demux(stream):
        if packet.dts is None:  # the demuxer's flush packet
            continue
        packet.pts, packet.dts = packet.pts + offset, packet.dts + offset
        packet.stream = out_stream
        yield packet.dts * stream.time_base, packet


def _video_packets(streams: list[Iterator[tuple[Fraction, av.Packet]]]) -> Iterator[tuple[Fraction, av.Packet]]:
    last = None
    for stream in streams:
        for t, packet in stream:
            if last is not None and t <= last:
                raise RenderFailed("a chunk's first frame would be decoded before the previous chunk's last")
            last = t
            yield t, packet


def _temp_beside(output: Path) -> Path:
    return part_file(output, output.suffix)
