"""The encoder floor: what libx264 alone costs for a rendered video, with the bench's settings.

Any renderer that writes this video with these settings pays at least this much, however
cheap its compositing: it bounds the ratios a scenario can reach. The video is decoded twice,
once alone and once feeding the encoder, so the encoder's own CPU time is the difference.

    python -m draftrender.bench.floor OUTPUT.mp4
"""

from __future__ import annotations

import argparse
import sys
import time
from fractions import Fraction
from typing import cast

import av

from .scenarios import ENCODING, PRESETS


def decode(path: str, encode: bool, preset: str = ENCODING.preset) -> tuple[float, float, int]:
    """(wall s, CPU s, frames) of decoding `path`, and of encoding it again when asked (the
    packets are dropped: muxing is not the encoder's cost)."""
    wall, cpu = time.perf_counter(), time.process_time()
    frames = 0
    with av.open(path) as src:
        stream = src.streams.video[0]
        encoder = None
        if encode:
            encoder = cast(av.VideoCodecContext, av.CodecContext.create(ENCODING.video_codec, "w"))
            encoder.width, encoder.height, encoder.pix_fmt = stream.width, stream.height, "yuv420p"
            encoder.time_base = Fraction(1) / (stream.average_rate or 25)
            encoder.options = {"preset": preset, "crf": str(ENCODING.crf)}
            encoder.thread_count, encoder.thread_type = 0, "SLICE"  # as draftrender encodes
            encoder.open()
        for frame in src.decode(stream):
            if encoder is not None:
                frame = frame.reformat(format="yuv420p")
                frame.pts, frame.time_base = frames, encoder.time_base
                encoder.encode(frame)
            frames += 1
        if encoder is not None:
            encoder.encode(None)
    return time.perf_counter() - wall, time.process_time() - cpu, frames


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m draftrender.bench.floor", description=__doc__.splitlines()[0])
    p.add_argument("video", help="a rendered MP4, e.g. <work>/showcase/draftrender.mp4")
    p.add_argument("--preset", choices=PRESETS, default=ENCODING.preset)
    args = p.parse_args(argv)
    try:
        _, decode_cpu, frames = decode(args.video, encode=False)
        wall, cpu, _ = decode(args.video, encode=True, preset=args.preset)
    except (av.FFmpegError, OSError) as e:
        print(f"error: cannot read {args.video}: {e}", file=sys.stderr)
        return 1
    print(f"{frames} frames, {ENCODING.video_codec} {args.preset} crf {ENCODING.crf}: "
          f"decode + encode {wall:.1f} s wall, {cpu:.1f} CPU s; the encoder alone {cpu - decode_cpu:.1f} CPU s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
