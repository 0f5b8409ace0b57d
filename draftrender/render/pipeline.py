"""The render orchestrator: timeline + media → frames and sound → encoder, with progress and timings.

It only wires the stages together: the plan says what shows when, FrameRenderer draws a
frame, Soundtrack mixes the sound up to each frame's end, VideoEncoder writes the file.
Nothing here touches draft JSON, pixels or samples directly.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from ..assets import prepare_media
from ..errors import DraftRenderError, InvalidOption, RenderFailed
from ..options import PROGRAM_ONLY, Progress, RenderOptions, render_options
from ..timeline.model import FidelityNote, Timeline
from ..timeline.summary import fps_value
from .allocator import fix_mmap_threshold, release_free_memory
from .audio import Soundtrack
from .encode import VideoEncoder, even_size
from .encode_thread import EncodeThread
from .frames import FrameRenderer
from .plan import LayerSchedule, frame_count, frame_plan, frame_time, layer_state


@dataclass
class RenderResult:
    output: Path
    width: int
    height: int
    fps: float
    frames: int
    duration: float  # seconds
    encoder: str = ""
    fidelity: list[FidelityNote] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # wall seconds per stage; encode_audio CPU seconds
    audio: dict | None = None  # rate, measured loudness, gain and limiting; None without an audio stream

    @property
    def size_bytes(self) -> int:
        return self.output.stat().st_size if self.output.exists() else 0

    def to_json(self) -> dict:
        return {
            "output": str(self.output), "width": self.width, "height": self.height, "fps": self.fps,
            "frames": self.frames, "duration": self.duration, "size_bytes": self.size_bytes,
            "encoder": self.encoder, "audio": self.audio, "fidelity": [n.to_json() for n in self.fidelity],
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


class Stopwatch:
    """Wall seconds spent per stage, for the result's timings and the benchmark's profile (but
    encode_audio, which render_timeline sets in CPU seconds: EncodeThread.audio_busy)."""

    def __init__(self):
        self.totals: dict[str, float] = defaultdict(float)

    @contextmanager
    def stage(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.totals[name] += time.perf_counter() - t0


def output_geometry(tl: Timeline, opts: RenderOptions) -> tuple[int, int, Fraction]:
    w, h = even_size(round(tl.canvas.width * opts.scale), round(tl.canvas.height * opts.scale))
    fps = Fraction(opts.fps).limit_denominator(1001) if opts.fps else tl.fps
    return w, h, fps


def time_range(tl: Timeline, opts: RenderOptions) -> tuple[int, int]:
    start = round((opts.start or 0) * 1e6)
    end = tl.duration if opts.end is None else min(round(opts.end * 1e6), tl.duration)
    if start < 0 or end <= start:
        raise RenderFailed(f"time range {opts.start}–{opts.end} s is empty for a {tl.duration / 1e6:.3f} s timeline")
    return start, end


VIDEO_SUFFIXES = (".mp4", ".m4v")  # names for what VideoEncoder writes
AUDIO_EVERY = 10  # frames
TRIM_EVERY = 30  # frames between giving the heaps' free pages back (allocator.py)


def render_timeline(tl: Timeline, output: Path, opts: RenderOptions = RenderOptions()) -> RenderResult:
    """Render the timeline to an MP4 at `output`; the file appears only when complete."""
    if Path(output).suffix.lower() not in VIDEO_SUFFIXES:
        raise InvalidOption(f"output {Path(output).name}: draftrender writes MP4 video; "
                            f"name it {Path(output).with_suffix('.mp4').name}")
    started = time.perf_counter()
    fix_mmap_threshold()  # else the C heap grows with the video's length
    watch = Stopwatch()  # stages overlap (encoding runs on its own thread); "total" is the wall time
    report = report_progress(opts.progress)
    with watch.stage("generate"):
        tl = generated(tl, opts, lambda done, total: report("generate", done, total))
    report("download", 0, 1)
    with watch.stage("download"):
        probes = prepare_media(tl, cache_dir=opts.cache_dir, allow_private_urls=opts.allow_private_urls,
                               progress=lambda done, total: report("download", done, total))
    width, height, fps = output_geometry(tl, opts)
    start, end = time_range(tl, opts)
    first, last = frame_count(start, fps), frame_count(end, fps)
    total = last - first
    frames = FrameRenderer(tl, probes, width, height, opts.font_dirs)
    encoder = sound = None
    try:
        if opts.audio:
            with watch.stage("audio"):  # with a loudness target, this measures the whole mix first
                sound = Soundtrack(tl, probes, opts.audio_rate, frame_time(first, fps), frame_time(last, fps),
                                   opts.loudness)
        encoder = EncodeThread(VideoEncoder(output, width, height, fps, opts.encode,
                                            audio_rate=sound.rate if sound else None))
        plan = frame_plan(tl, fps, start, end)
        for n, (i, _, layers) in enumerate(plan):
            with watch.stage("composite"):
                canvas = frames.compose(layers)
            with watch.stage("encode_wait"):
                encoder.write_frame(canvas)
            # Sound goes in every AUDIO_EVERY frames, up to the end of this one: interleaved
            # closely enough for players, in blocks big enough to keep the mix's overhead low.
            if sound is not None and (n % AUDIO_EVERY == AUDIO_EVERY - 1 or n == total - 1):
                with watch.stage("audio"):
                    samples = sound.until(frame_time(i + 1, fps))
                with watch.stage("encode_wait"):
                    encoder.write_audio(samples)
            if n % 10 == 0 or n == total - 1:
                report("render", n + 1, total)
            if n % TRIM_EVERY == TRIM_EVERY - 1:
                release_free_memory()  # else freed pages stay resident in the heaps' holes
        report("encode", total, total)
        with watch.stage("encode_wait"):
            encoder.close()
        watch.totals["encode"] = encoder.busy
        if sound is not None:
            watch.totals["encode_audio"] = encoder.audio_busy
    except BaseException as e:
        if encoder is not None:
            encoder.abort()
        if isinstance(e, (DraftRenderError, KeyboardInterrupt)):
            raise
        # A bug must not leave the user a traceback or a half-written file.
        raise RenderFailed(f"rendering {tl.origin} failed: {type(e).__name__}: {e}") from e
    finally:
        frames.close()
        if sound is not None:
            sound.close()
    notes = list(tl.fidelity) + [FidelityNote(None, None, "render", "approximated", w)
                                 for w in encoder.encoder.warnings + frames.warnings + frames.text.warnings]
    notes += [FidelityNote(None, None, f"font {name}", "approximated", f"not installed here: drawn with {family}")
              for name, family in frames.text.fonts.replaced.items()]
    notes += sound.notes if sound else []
    watch.totals["total"] = time.perf_counter() - started
    return RenderResult(
        output=Path(output), width=width, height=height, fps=fps_value(fps), frames=total,
        duration=total / float(fps), encoder=encoder.encoder.encoder_name, fidelity=notes, timings=dict(watch.totals),
        audio=sound_report(sound) if sound else None,
    )


def generated(tl: Timeline, opts: RenderOptions, progress: Callable[[int, int], None] = lambda d, t: None) -> Timeline:
    """The timeline with its generating materials' clips made (or taken from the cache)."""
    if not any(m.generation is not None for m in tl.media()):
        return tl
    from ..generate.drafts import with_generated_clips  # providers load only for drafts that need them

    return with_generated_clips(tl, cache_dir=opts.cache_dir, providers=opts.providers,
                                placeholders=opts.placeholders, progress=progress)


def sound_report(sound: Soundtrack) -> dict:
    return {"rate": sound.rate, "sounds": len(sound.sounds), "measured_lufs": sound.measured,
            "gain_db": round(sound.gain_db, 2), "peak_reduction_db": round(sound.peak_reduction_db, 2)}


def render_still(tl: Timeline, t: float, output: Path | None = None,
                 opts: RenderOptions = RenderOptions()) -> np.ndarray:
    """One frame at `t` seconds, as HxWx3 RGB; written as an image when `output` is given."""
    tl = generated(tl, opts)
    t_us = round(t * 1e6)
    if not 0 <= t_us < max(tl.duration, 1):
        raise RenderFailed(f"time {t} s is outside the timeline (0 to {tl.duration / 1e6:.3f} s)")
    probes = prepare_media(tl, cache_dir=opts.cache_dir, allow_private_urls=opts.allow_private_urls)
    width, height, _ = output_geometry(tl, opts)
    frames = FrameRenderer(tl, probes, width, height, opts.font_dirs)
    try:
        layers = [layer_state(s, t_us) for s in LayerSchedule(tl.visual_segments()).at(t_us)]
        canvas = frames.render(layers)
    finally:
        frames.close()
    if output is not None:
        write_image(canvas, Path(output))
    return canvas


def write_image(canvas: np.ndarray, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.part")
    try:
        Image.fromarray(canvas).save(tmp, format=Image.registered_extensions().get(output.suffix.lower(), "PNG"))
        tmp.replace(output)
    except (OSError, ValueError) as e:
        tmp.unlink(missing_ok=True)
        raise RenderFailed(f"cannot write image {output}: {e}") from None


def report_progress(callback: Progress | None) -> Callable[[str, int, int], None]:
    def report(stage: str, done: int, total: int) -> None:
        if callback is not None:
            callback({"stage": stage, "done": done, "total": total})

    return report


def with_options(**kwargs) -> RenderOptions:
    """RenderOptions from keyword arguments: the user's options given flat (crf=, scale=, ...;
    see draftrender/options.py) beside the program's own (cache_dir=, progress=, encode=, ...)."""
    program = {k: kwargs.pop(k) for k in list(kwargs) if k in PROGRAM_ONLY and k in RenderOptions.model_fields}
    return render_options(kwargs, **program)
