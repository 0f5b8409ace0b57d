"""draftrender.assets.probe on real files written by PyAV and Pillow."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

from draftrender.assets import Probe, probe
from draftrender.errors import MaterialUnreachable
from media_factory import make_clip, make_image, make_tone


def make_phone_clip(path, display_rotation: int):
    """A 320×180 clip carrying a display matrix, as phones write portrait video.

    `display_rotation` is counter-clockwise, as PyAV and ffprobe report it: a phone held
    upright writes -90.
    """
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        stream.set_display_rotation(display_rotation)
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((180, 320, 3), 20 * i, np.uint8), format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def test_clip_with_audio(tmp_path):
    p = probe(make_clip(tmp_path / "clip.mp4", audio_hz=440))
    assert isinstance(p, Probe)
    assert (p.kind, p.width, p.height, p.rotation) == ("video", 320, 180, 0)
    assert p.fps == Fraction(30)
    assert abs(p.duration - 1_000_000) < 50_000
    assert p.has_video and p.has_audio
    assert (p.audio_channels, p.sample_rate) == (2, 48_000)
    assert p.path == tmp_path / "clip.mp4"


def test_clip_without_audio(tmp_path):
    p = probe(make_clip(tmp_path / "silent.mp4", seconds=0.5))
    assert p.kind == "video" and not p.has_audio and p.audio_channels == 0
    assert abs(p.duration - 500_000) < 50_000


@pytest.mark.parametrize("matrix, clockwise", [(-90, 90), (90, 270), (180, 180)])
def test_phone_rotation(tmp_path, matrix, clockwise):
    p = probe(make_phone_clip(tmp_path / "phone.mp4", matrix))
    assert p.rotation == clockwise
    assert (p.width, p.height) == ((320, 180) if clockwise == 180 else (180, 320))


def test_wav_tone(tmp_path):
    p = probe(make_tone(tmp_path / "tone.wav", seconds=1.0, channels=1))
    assert (p.kind, p.has_video, p.has_audio) == ("audio", False, True)
    assert (p.audio_channels, p.sample_rate) == (1, 48_000)
    assert abs(p.duration - 1_000_000) < 5_000
    assert p.fps is None and (p.width, p.height) == (0, 0)


@pytest.mark.parametrize("name", ["still.png", "still.jpg"])
def test_still_images(tmp_path, name):
    p = probe(make_image(tmp_path / name, size=(320, 180)))
    assert (p.kind, p.width, p.height, p.duration, p.frames) == ("photo", 320, 180, 0, 1)
    assert p.fps is None and p.rotation == 0 and not p.has_audio


def test_jpeg_exif_orientation(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: rotate 90° clockwise to display
    Image.new("RGB", (320, 180), (10, 200, 10)).save(tmp_path / "phone.jpg", exif=exif)
    p = probe(tmp_path / "phone.jpg")
    assert (p.rotation, p.width, p.height) == (90, 180, 320)


@pytest.mark.parametrize("name", ["anim.gif", "anim.webp"])
def test_animated_image(tmp_path, name):
    frames = [Image.new("RGB", (64, 48), (80 * i, 0, 0)) for i in range(3)]
    frames[0].save(tmp_path / name, save_all=True, append_images=frames[1:], duration=100, loop=0)
    p = probe(tmp_path / name)
    assert (p.kind, p.width, p.height, p.frames) == ("photo", 64, 48, 3)
    assert p.duration == 300_000


def test_missing_file(tmp_path):
    with pytest.raises(MaterialUnreachable, match="not found") as exc:
        probe(tmp_path / "nowhere.mp4")
    assert exc.value.materials == [str(tmp_path / "nowhere.mp4")]


@pytest.mark.parametrize("name, body", [
    ("garbage.mp4", b"\x00\x01 definitely not a video " * 50),
    ("notes.txt", b"just some text, not media\n" * 20),
])
def test_unreadable_file(tmp_path, name, body):
    (tmp_path / name).write_bytes(body)
    with pytest.raises(MaterialUnreachable) as exc:
        probe(tmp_path / name)
    message = str(exc.value)
    assert name in message and "\n" not in message


def test_truncated_clip(tmp_path):
    data = make_clip(tmp_path / "full.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 3])
    with pytest.raises(MaterialUnreachable, match="cut.mp4"):
        probe(tmp_path / "cut.mp4")


def test_truncated_image(tmp_path):
    noise = np.random.default_rng(1).integers(0, 255, (180, 320, 3), np.uint8)
    Image.fromarray(noise).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(MaterialUnreachable, match="cut.png"):
        probe(tmp_path / "cut.png")
