"""Real, tiny media for tests: video clips, tones and images written by PyAV and Pillow.

Clips made with `index_pattern` encode each frame's own index in two grey halves (low
nibble on the left, high nibble on the right), so a render test can read back which
source frame landed where with `frame_index`.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
from av.video.reformatter import ColorRange, Colorspace
import numpy as np
from PIL import Image

AUDIO_RATE = 48_000
AAC_FRAME = 1024  # samples per AAC frame
# Grey levels 16 apart survive yuv420p and x264 at any quality we use.
LEVEL_STEP = 16
LEVEL_BASE = 8


def index_levels(i: int) -> tuple[int, int]:
    """The grey levels (left, right) that encode frame index i (0–255)."""
    return LEVEL_BASE + LEVEL_STEP * (i % 16), LEVEL_BASE + LEVEL_STEP * ((i // 16) % 16)


def frame_index(rgb: np.ndarray) -> int:
    """Read back the index of a frame drawn by `make_clip(index_pattern=True)`.

    Samples the middle of each half, so scaling the frame (not cropping it) keeps it readable.
    """
    h, w = rgb.shape[:2]
    ys, xs = slice(h // 4, 3 * h // 4), (slice(w // 8, 3 * w // 8), slice(5 * w // 8, 7 * w // 8))
    lo, hi = (int(round((float(rgb[ys, x, :3].mean()) - LEVEL_BASE) / LEVEL_STEP)) for x in xs)
    return min(max(lo, 0), 15) + 16 * min(max(hi, 0), 15)


def video_rate(fps: float) -> Fraction:
    """fps as an exact rate: 29.97, 23.976 and 59.94 become the NTSC n·1000/1001."""
    ntsc = Fraction(round(fps * 1.001) * 1000, 1001)
    if fps != int(fps) and abs(fps - ntsc) < 0.005:
        return ntsc
    return Fraction(fps).limit_denominator(1001)


def clip_frame(i: int, width: int, height: int, color: tuple[int, int, int] | None,
               index_pattern: bool) -> np.ndarray:
    """Frame i of a test clip as RGB uint8: a solid colour, the index pattern, or mid grey."""
    if color is not None:
        return np.broadcast_to(np.array(color[:3], np.uint8), (height, width, 3)).copy()
    frame = np.full((height, width, 3), 128, np.uint8)
    if index_pattern:
        left, right = index_levels(i)
        frame[:, : width // 2] = left
        frame[:, width // 2:] = right
    return frame


def tone(hz: float, seconds: float, rate: int = AUDIO_RATE, channels: int = 2,
         amplitude: float = 0.5) -> np.ndarray:
    """A sine tone as float32 planar samples, shape (channels, n)."""
    n = int(round(seconds * rate))
    wave = (amplitude * np.sin(2 * np.pi * hz * np.arange(n) / rate)).astype(np.float32)
    return np.repeat(wave[None, :], channels, axis=0)


def make_clip(path, *, width: int = 320, height: int = 180, fps: float = 30, seconds: float = 1.0,
              color: tuple[int, int, int] | None = None, index_pattern: bool = True,
              audio_hz: float | None = None, bt709: bool = False) -> Path:
    """Write an H.264 (yuv420p) MP4; with `audio_hz`, also a stereo AAC tone of the same length.

    `color` fills every frame with that colour (the index pattern is then not drawn).
    `fps` may be an NTSC rate such as 29.97 (written as 30000/1001). `bt709` converts the
    frames with the BT.709 matrix and tags the stream so, as phones do; without it the file
    is untagged, converted by SwScale's default (BT.601).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = video_rate(fps)
    frames = int(round(seconds * rate))
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=rate)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        # Fast and deterministic: tests want files in milliseconds, not quality.
        video.options = {"preset": "ultrafast", "crf": "12", "threads": "1"}
        if bt709:
            ctx = video.codec_context
            ctx.colorspace, ctx.color_primaries, ctx.color_trc, ctx.color_range = 1, 1, 1, 1  # BT.709, limited
        audio = None
        if audio_hz is not None:
            audio = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        for i in range(frames):
            vf = av.VideoFrame.from_ndarray(clip_frame(i, width, height, color, index_pattern), format="rgb24")
            if bt709:
                vf = vf.reformat(format="yuv420p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG)
            vf.pts = i
            vf.time_base = 1 / rate
            out.mux(video.encode(vf))
        out.mux(video.encode())
        if audio is not None:
            samples = tone(audio_hz, float(frames / rate))
            for start in range(0, samples.shape[1], AAC_FRAME):
                chunk = np.ascontiguousarray(samples[:, start:start + AAC_FRAME])
                af = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                af.sample_rate, af.pts, af.time_base = AUDIO_RATE, start, Fraction(1, AUDIO_RATE)
                out.mux(audio.encode(af))
            out.mux(audio.encode())
    return path


def make_tone(path, hz: float = 440, seconds: float = 1.0, rate: int = AUDIO_RATE, channels: int = 2) -> Path:
    """Write a 16-bit PCM WAV sine tone."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    layout = "mono" if channels == 1 else "stereo"
    pcm = (tone(hz, seconds, rate, channels) * 32767).astype(np.int16)
    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=rate, layout=layout)
        # s16 is packed: interleave channels into one row.
        frame = av.AudioFrame.from_ndarray(pcm.T.reshape(1, -1), format="s16", layout=layout)
        frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
        out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def make_image(path, size: tuple[int, int] = (320, 180),
               color: tuple[int, ...] = (200, 60, 40)) -> Path:
    """Write a solid-colour PNG (RGBA when `color` has alpha) or JPEG, by the file suffix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "RGBA" if len(color) == 4 else "RGB"
    img = Image.new(mode, size, tuple(color))
    if path.suffix.lower() in (".jpg", ".jpeg"):
        img.convert("RGB").save(path, quality=95)
    else:
        img.save(path)
    return path
