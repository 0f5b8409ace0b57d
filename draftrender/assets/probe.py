"""What a media file holds: kind, display size, duration, frame rate, rotation, audio layout.

Images go through Pillow (it reads EXIF orientation and counts GIF/WebP frames); everything
else, and images Pillow cannot read, through PyAV. A file neither can read is
MaterialUnreachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
from PIL import Image, UnidentifiedImageError

from ..errors import MaterialUnreachable

# Formats Pillow is asked to recognise. Restricting it keeps its looser plugins (MPEG, TGA)
# from claiming video files.
IMAGE_FORMATS = ("PNG", "JPEG", "MPO", "GIF", "WEBP", "BMP", "TIFF", "AVIF", "HEIF")

# EXIF orientation -> clockwise rotation for display. The mirrored orientations (2, 4, 5, 7)
# keep only their rotation: Probe has no flip.
EXIF_ROTATION = {1: 0, 2: 0, 3: 180, 4: 180, 5: 270, 6: 90, 7: 90, 8: 270}
EXIF_ORIENTATION_TAG = 0x0112

# Codecs PyAV reports for single pictures (when Pillow could not read them).
STILL_CODECS = frozenset({"png", "mjpeg", "jpegls", "bmp", "tiff", "webp", "gif", "hevc", "av1",
                          "jpeg2000", "targa", "ppm", "pgm", "sgi", "dpx", "exr", "qoi"})

# The largest picture decoded (8192×8192): a few hundred KB of PNG can declare 13000×13000,
# which takes 1.3 GB to decode. Checked on the header, before any pixel is decoded.
MAX_PICTURE_PIXELS = 8192 * 8192
# Demuxers that claim text files (FFmpeg renders .txt as ANSI art): never a medium in a draft.
TEXT_DEMUXERS = frozenset({"tty"})


@dataclass(frozen=True, slots=True)
class Probe:
    path: Path
    kind: Literal["video", "photo", "audio"]
    width: int  # display size, after rotation metadata is applied
    height: int
    duration: int  # µs (0 for still images)
    fps: Fraction | None
    rotation: int  # degrees clockwise to apply for display (0/90/180/270)
    has_video: bool
    has_audio: bool
    audio_channels: int = 0
    sample_rate: int = 0
    frames: int = 1  # for animated GIF/WebP


def probe(path: Path) -> Probe:
    """Probe one media file; MaterialUnreachable names it if it is missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise MaterialUnreachable(f"media file not found: {path}", [str(path)])
    image = _probe_image(path)
    return image if image is not None else _probe_av(path)


def _unreadable(path: Path, why: str) -> MaterialUnreachable:
    return MaterialUnreachable(f"cannot read media {path.name} ({path}): {why}", [str(path)], reason=why)


def _quarter_turn(degrees: float) -> int:
    return int(round(degrees / 90.0)) * 90 % 360


def _display_size(width: int, height: int, rotation: int) -> tuple[int, int]:
    return (height, width) if rotation in (90, 270) else (width, height)


# ---------------------------------------------------------------- images


def _image_formats() -> tuple[str, ...]:
    Image.init()
    return tuple(f for f in IMAGE_FORMATS if f in Image.OPEN)


def _probe_image(path: Path) -> Probe | None:
    try:
        im = Image.open(path, formats=_image_formats())
    except UnidentifiedImageError:
        return None  # not an image Pillow knows: PyAV's turn
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise _unreadable(path, str(exc)) from None
    with im:
        _check_area(path, *im.size)
        try:
            frames = getattr(im, "n_frames", 1)
            rotation = EXIF_ROTATION.get(im.getexif().get(EXIF_ORIENTATION_TAG, 1), 0)
            width, height = im.size
            duration = _animation_duration(im) if frames > 1 else 0
            im.seek(0)
            im.load()  # decodes the first frame: a truncated file fails here, not mid-render
        except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
            raise _unreadable(path, str(exc) or type(exc).__name__) from None
    width, height = _display_size(width, height, rotation)
    return Probe(path=path, kind="photo", width=width, height=height, duration=duration, fps=None,
                 rotation=rotation, has_video=True, has_audio=False, frames=frames)


def _animation_duration(im: Image.Image) -> int:
    """Total duration of an animated GIF/WebP in µs (frame durations are in ms)."""
    total_ms = 0
    for i in range(getattr(im, "n_frames", 1)):
        im.seek(i)
        total_ms += im.info.get("duration") or 100  # browsers' default for a 0 delay
    return int(total_ms) * 1000


def _check_area(path: Path, width: int, height: int) -> None:
    if width * height > MAX_PICTURE_PIXELS:
        raise _unreadable(path, f"its pictures are {width}×{height} ({width * height / 1e6:.0f} megapixels), over "
                                f"the {MAX_PICTURE_PIXELS / 1e6:.0f}-megapixel cap; scale it down")


# ---------------------------------------------------------------- video and audio


def _is_cover_art(stream: av.video.stream.VideoStream) -> bool:
    # An MP3/M4A's embedded cover is a video stream too, but the file is audio.
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def _rotation(stream, frame) -> int:
    """Clockwise display rotation from the display matrix, or the older 'rotate' tag."""
    ccw = getattr(frame, "rotation", 0) or 0  # PyAV reports the matrix counter-clockwise
    if ccw:
        return _quarter_turn(-ccw)
    tag = stream.metadata.get("rotate")
    try:
        return _quarter_turn(float(tag)) if tag else 0
    except ValueError:
        return 0


def _duration_us(container, stream) -> int:
    if container.duration:
        return int(container.duration)  # already in AV_TIME_BASE (µs)
    if stream is not None and stream.duration and stream.time_base:
        return int(stream.duration * stream.time_base * 1_000_000)
    return 0


def _probe_av(path: Path) -> Probe:
    try:
        with av.open(str(path)) as container:
            if container.format.name in TEXT_DEMUXERS:
                raise _unreadable(path, "a text file, not media")
            video = next((s for s in container.streams.video if not _is_cover_art(s)), None)
            audio = container.streams.audio[0] if container.streams.audio else None
            if video is None and audio is None:
                raise _unreadable(path, "no video or audio stream")
            duration = _duration_us(container, video or audio)
            if video is not None:
                _check_area(path, video.codec_context.width, video.codec_context.height)
            # Decoding one frame proves the file is readable and carries the rotation.
            first = next(container.decode(video if video is not None else audio), None)
            if first is None:
                raise _unreadable(path, "no frame could be decoded")
            channels = sample_rate = 0
            if audio is not None:
                channels = audio.codec_context.channels or audio.layout.nb_channels
                sample_rate = audio.codec_context.sample_rate or audio.rate or 0
            if video is None:
                return Probe(path=path, kind="audio", width=0, height=0, duration=duration,
                             fps=None, rotation=0, has_video=False, has_audio=True,
                             audio_channels=channels, sample_rate=sample_rate)
            assert isinstance(first, av.VideoFrame)  # decoded from the video stream
            rotation = _rotation(video, first)
            width, height = _display_size(video.codec_context.width or first.width,
                                          video.codec_context.height or first.height, rotation)
            rate = video.average_rate or video.guessed_rate or video.base_rate
            still = (audio is None and video.codec_context.name in STILL_CODECS
                     and (video.frames or 1) <= 1 and duration <= 0)
            return Probe(path=path, kind="photo" if still else "video", width=width, height=height,
                         duration=0 if still else duration,
                         fps=None if still or not rate else Fraction(rate),
                         rotation=rotation, has_video=True, has_audio=audio is not None,
                         audio_channels=channels, sample_rate=sample_rate)
    except MaterialUnreachable:
        raise
    except (av.FFmpegError, OSError, ValueError, IndexError) as exc:
        raise _unreadable(path, getattr(exc, "strerror", None) or str(exc) or type(exc).__name__) from None
