"""Makes the scenarios' media with PyAV, numpy and Pillow: clips with moving content and a
tone, a photo, music, a voice. Deterministic, written under a temporary name, skipped when present."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

from .scenarios import SEC, MediaSpec, speech_spans

RATE = 48_000
FPS = 30


def ensure_media(specs: list[MediaSpec], folder: Path, log=lambda msg: None) -> Path:
    """Make every missing medium in `folder`; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for spec in specs:
        path = folder / spec.name
        if path.exists():
            continue
        log(f"making {spec.name}")
        tmp = path.with_name(f".{path.stem}.part{path.suffix}")
        try:
            MAKERS[spec.kind](spec, tmp)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
    return folder


def texture(width: int, height: int, seed: int) -> np.ndarray:
    """A colourful pattern twice as wide as the frame: sliding a window over it moves the picture
    with detail an encoder must spend bits on, like real footage and unlike a flat colour."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:2 * width].astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, 3)
    period = max(width, height) / 6
    channels = [127 + 100 * np.sin((x * (0.6 + 0.2 * k) + y * (1.0 - 0.3 * k)) / period * 2 * np.pi + phase[k])
                for k in range(3)]
    return np.stack(channels, axis=-1).astype(np.uint8)


def clip_frames(spec: MediaSpec):
    w, h = spec.width, spec.height
    pattern = texture(w, h, seed=int(spec.tone_hz))
    frames = int(round(spec.seconds * FPS))
    bar = max(4, min(w, h) // 10)
    for i in range(frames):
        off = (i * max(2, w // 200)) % w
        frame = np.ascontiguousarray(pattern[:, off:off + w])
        pos = int((i / max(frames - 1, 1)) * (h - bar))
        frame[pos:pos + bar] = (250, 250, 250)  # a bar sweeping down: which instant is on screen
        yield frame


def tone(seconds: float, freqs: tuple[float, ...], amplitude: float) -> np.ndarray:
    """Stereo planar float32 samples of the summed sines."""
    t = np.arange(int(round(seconds * RATE))) / RATE
    mono = (np.sum([np.sin(2 * np.pi * f * t) for f in freqs], axis=0) * (amplitude / len(freqs))).astype(np.float32)
    return np.stack([mono, mono])


def audio_frames(samples: np.ndarray):
    for start in range(0, samples.shape[1], 1024):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + 1024]),
                                           format="fltp", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = RATE, start, Fraction(1, RATE)
        yield frame


def mux_interleaved(out, video, audio, pictures, sound) -> None:
    """Encode the video frames `pictures` and audio frames `sound` into `out`, the sound kept
    level with the picture as cameras write it (a reader then never buffers far ahead)."""
    sent = 0  # audio samples encoded so far
    for i, vf in enumerate(pictures):
        out.mux(video.encode(vf))
        while sent < (i + 1) * RATE // FPS:
            af = next(sound, None)
            if af is None:
                break
            out.mux(audio.encode(af))
            sent += af.samples
    for af in sound:
        out.mux(audio.encode(af))
    out.mux(video.encode())
    out.mux(audio.encode())


def make_clip(spec: MediaSpec, path: Path) -> None:
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = spec.width, spec.height, "yuv420p"
        video.options = {"preset": "veryfast", "crf": "23", "g": "60"}  # a keyframe every 2 s, like a phone
        audio = out.add_stream("aac", rate=RATE, layout="stereo")
        audio.bit_rate = 128_000
        mux_interleaved(out, video, audio, video_frames(clip_frames(spec)),
                        audio_frames(tone(spec.seconds, (spec.tone_hz,), 0.2)))


def video_frames(pictures):
    """RGB arrays as video frames at FPS, numbered from 0."""
    for i, rgb in enumerate(pictures):
        vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        vf.pts, vf.time_base = i, Fraction(1, FPS)
        yield vf


def make_photo(spec: MediaSpec, path: Path) -> None:
    """Sky, sun, hills and a fence: fine detail, so a slow zoom shows."""
    w, h = spec.width, spec.height
    y = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    sky = np.array((90, 150, 230), np.float32) * (1 - y) + np.array((250, 220, 180), np.float32) * y
    img = Image.fromarray(np.ascontiguousarray(np.broadcast_to(sky[:, None, :], (h, w, 3)).astype(np.uint8)))
    d = ImageDraw.Draw(img)
    d.ellipse((w * 0.62, h * 0.12, w * 0.8, h * 0.12 + w * 0.18), fill=(255, 200, 60))
    d.polygon([(0, h), (0, h * 0.7), (w * 0.3, h * 0.5), (w * 0.6, h * 0.75), (w, h * 0.55), (w, h)],
              fill=(60, 120, 70))
    for k in range(24):
        x = w * (0.02 + 0.04 * k)
        d.rectangle((x, h * 0.8, x + w * 0.01, h * 0.95), fill=(110, 80, 50))
    img.save(path, format="JPEG", quality=90)


def make_sticker(spec: MediaSpec, path: Path) -> None:
    """A round badge with a soft shadow on a transparent ground: a sticker as editors ship them."""
    w, h = spec.width, spec.height
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.ellipse((w * 0.08, h * 0.1, w * 0.96, h * 0.98), fill=(0, 0, 0, 90))
    d.ellipse((w * 0.04, h * 0.04, w * 0.92, h * 0.92), fill=(250, 90, 70, 255), outline=(255, 255, 255, 255),
              width=max(2, w // 30))
    d.rectangle((w * 0.3, h * 0.42, w * 0.66, h * 0.54), fill=(255, 255, 255, 255))
    img.save(path, format="PNG")


def make_music(spec: MediaSpec, path: Path) -> None:
    """A C major chord, held."""
    write_sound(path, tone(spec.seconds, (261.63, 329.63, 392.00), 0.25))


def make_voice(spec: MediaSpec, path: Path) -> None:
    """A low voice's harmonics in syllables of a quarter second, when speech_spans() says it
    speaks, and silence in its pauses."""
    samples = tone(spec.seconds, (140.0, 280.0, 420.0, 700.0), 0.5)
    t = np.arange(samples.shape[1]) / RATE
    speaking = np.zeros(t.shape, bool)
    for a, b in speech_spans(spec.seconds):
        speaking |= (t >= a / SEC) & (t < b / SEC)
    syllables = 0.5 - 0.5 * np.cos(2 * np.pi * 4 * t)
    write_sound(path, (samples * (syllables * speaking)).astype(np.float32))


def write_sound(path: Path, samples: np.ndarray) -> None:
    with av.open(str(path), "w", format="ipod") as out:
        audio = out.add_stream("aac", rate=RATE, layout="stereo")
        audio.bit_rate = 128_000
        for af in audio_frames(samples):
            out.mux(audio.encode(af))
        out.mux(audio.encode())


MAKERS = {"clip": make_clip, "photo": make_photo, "sticker": make_sticker, "music": make_music, "voice": make_voice}
