"""The encoder floor: what the video encoder alone costs for a rendered video, with the bench's settings.

Any renderer that writes this video with these settings pays at least this much, however
cheap its compositing: it bounds the ratios a scenario can reach. The video is decoded into
memory first (yuv420p, 3.1 MB a 1080x1920 frame: 2.8 GB for 30 s), then encoded by the
renderer's own VideoEncoder (the same codec, options and threads as `draftrender render
--crf --preset`), and only that encode, muxing included, is timed.

    python -m draftrender.bench.floor OUTPUT.mp4
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from draftrender.errors import EncodeFailed
from draftrender.options import EncodeSettings
from draftrender.render.encode import VideoEncoder, video_threads

from .scenarios import ENCODING, PRESETS


def decoded(path: str) -> tuple[list[np.ndarray], int, int, Fraction]:
    """(yuv420p frames as (h * 3/2, w) arrays, width, height, frame rate) of `path`'s video."""
    frames = []
    with av.open(path) as src:
        stream = src.streams.video[0]
        rate = Fraction(stream.average_rate or 25)
        for frame in src.decode(stream):
            frames.append(frame.reformat(format="yuv420p").to_ndarray())
        return frames, stream.width, stream.height, rate


def encode(frames: list[np.ndarray], width: int, height: int, fps: Fraction, settings: EncodeSettings,
           output: Path) -> tuple[float, float]:
    """(wall s, CPU s) of encoding `frames` into `output` as a render with `settings` does."""
    wall, cpu = time.perf_counter(), time.process_time()
    with VideoEncoder(output, width, height, fps, settings) as encoder:
        for pixels in frames:
            encoder.write_frame(av.VideoFrame.from_numpy_buffer(pixels, format="yuv420p"))
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m draftrender.bench.floor", description=__doc__.splitlines()[0])
    p.add_argument("video", help="a rendered MP4, e.g. <work>/showcase/draftrender.mp4")
    p.add_argument("--preset", choices=PRESETS, default=ENCODING.preset)
    args = p.parse_args(argv)
    settings = EncodeSettings(preset=args.preset, crf=ENCODING.crf)
    try:
        frames, width, height, fps = decoded(args.video)
    except (av.FFmpegError, OSError) as e:
        print(f"error: cannot read {args.video}: {e}", file=sys.stderr)
        return 1
    try:
        with tempfile.TemporaryDirectory(prefix="draftrender-floor-") as folder:  # the file is thrown away
            wall, cpu = encode(frames, width, height, fps, settings, Path(folder) / "floor.mp4")
    except EncodeFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    threads, kind = video_threads(ENCODING.video_codec, settings)
    print(f"{len(frames)} frames {width}x{height}, {ENCODING.video_codec} {args.preset} crf {ENCODING.crf}, "
          f"{threads} {kind.lower()} threads: encoded from memory in {wall:.1f} s wall, {cpu:.1f} CPU s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
