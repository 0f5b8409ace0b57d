"""Pictures from image files: stills (PNG, JPEG, WebP) and animations (GIF, WebP, APNG).
The photo-or-GIF kind of Source (sources.py).
"""

from __future__ import annotations

import bisect
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from draftrender.errors import MaterialUnreachable, RenderFailed

from .cache import BoundedCache
from .video import frozen, reason
from .yuv import Box, cropped, source_box, yuv420

# Animated images are decoded once and kept when all their frames fit in this.
IMAGE_CACHE_BYTES = 200 * 1024 * 1024
# Decoded images are copied out of Pillow in bands of about this size (see pixels).
PIXELS_BAND_BYTES = 1024 * 1024

_EXIF_ORIENTATION = 0x0112
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Browsers play GIF delays of 0–10 ms as 100 ms (old encoders wrote 0 meaning "default").
FASTEST_DELAY_MS = 10
DEFAULT_DELAY_MS = 100


def pixels(image: Image.Image) -> np.ndarray:
    """The image's pixels as a new HxWxC uint8 array, copied out of Pillow a band of rows at
    a time. np.asarray(image) goes through tobytes(), which holds the picture twice while it
    joins its chunks: 36 MB more at the peak for a 12-megapixel photo."""
    w, h = image.size
    channels = len(image.getbands())
    out = np.empty((h, w, channels), np.uint8)
    rows = max(1, PIXELS_BAND_BYTES // (w * channels))
    for top in range(0, h, rows):
        band = out[top:top + rows]
        band[:] = np.asarray(image.crop((0, top, w, top + band.shape[0]))).reshape(band.shape)
    return out


def _rgba(image: Image.Image, transpose) -> np.ndarray:
    frame = image.convert("RGBA")
    if transpose is not None:
        frame = frame.transpose(transpose)
    return frozen(pixels(frame))


def has_alpha(image: Image.Image) -> bool:
    """Whether any pixel of the image is not fully opaque. An alpha channel that is opaque
    all over (editors and converters often write one) counts as none: the picture then
    draws like any opaque photo, at the same cost."""
    if image.mode in ("RGBA", "LA"):
        return image.getchannel("A").getextrema() != (255, 255)
    return image.mode in ("PA", "RGBa", "La") or "transparency" in image.info


def _delay_us(image: Image.Image) -> int:
    ms = image.info.get("duration") or 0
    return int((ms if ms > FASTEST_DELAY_MS else DEFAULT_DELAY_MS) * 1000)


class ImageSource:
    """Still or animated image (PNG, JPEG, WebP, animated GIF/WebP/APNG) as RGBA frames
    (RGB for stills without transparency).

    EXIF orientation is applied. Animated images loop; their frames are decoded once and
    kept when they fit in IMAGE_CACHE_BYTES, else decoded on demand (one frame kept).
    Stills return the same read-only array each time.
    """

    def __init__(self, path):
        self.path = Path(path)
        try:
            image = Image.open(self.path)
            if not getattr(image, "is_animated", False) and image.format != "JPEG":
                image.load()  # a JPEG still is checked in _open_still, at a fraction of its size
        except FileNotFoundError:
            raise MaterialUnreachable(f"image {self.path} does not exist", [str(self.path)]) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
            raise MaterialUnreachable(f"image {self.path} cannot be read: {reason(e)}", [str(self.path)]) from None
        self._image = image
        n = getattr(image, "n_frames", 1)
        self.animated = bool(getattr(image, "is_animated", False)) and n > 1
        try:
            if not self.animated:
                self._open_still(image)
            else:
                self._open_animation(n)
                self.height, self.width = self._frames[0].shape[:2]
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            image.close()
            raise MaterialUnreachable(f"image {self.path} cannot be decoded: {reason(e)}", [str(self.path)]) from None
        self._yuv: tuple[tuple, tuple[av.VideoFrame, int, int]] | None = None
        self._to_yuv = VideoReformatter()
        self._scale = VideoReformatter()

    def _open_still(self, image: Image.Image) -> None:
        # Opaque stills stay RGB: they draw by copying, and resample without premultiplying.
        self._mode = "RGBA" if image.format != "JPEG" and has_alpha(image) else "RGB"
        turned = image.getexif().get(_EXIF_ORIENTATION, 1) in (5, 6, 7, 8)  # a quarter turn: sides swap
        self.width, self.height = image.size[::-1] if turned else image.size
        # By power-of-two reduction: a photo zooming across a power of two, or shown twice at
        # different sizes (a blurred background), needs two.
        self._stills: BoundedCache[np.ndarray] = BoundedCache(kept=2)
        self._yuv_stills: BoundedCache[av.VideoFrame] = BoundedCache(kept=2)  # the same, converted for yuv_at
        self._starts: list[int] = [0]
        self.duration = 0
        if image.format == "JPEG":
            # A JPEG decodes at 1/2, 1/4 or 1/8 of its size for about that share of the work:
            # nothing is decoded in full until a full-size picture is asked for. This smallest
            # decode checks the data now.
            image.draft(self._mode, (1, 1))
            image.load()
        else:
            self._stills.get(1, lambda: self._decoded(image))
        image.close()
        self._image = None

    def _decoded(self, image: Image.Image) -> np.ndarray:
        # In place, and converted only when needed: a 12-megapixel photo is 48 MB in Pillow,
        # and each copy would add that much to the peak.
        ImageOps.exif_transpose(image, in_place=True)
        if image.mode != self._mode:
            image = image.convert(self._mode)
        return frozen(pixels(image))

    def _factor(self, size: tuple[int, int] | None) -> int:
        """The largest power-of-two reduction (at most 16) still at least `size`."""
        factor = 1
        while (size is not None and self.width // (factor * 2) >= size[0]
               and self.height // (factor * 2) >= size[1] and factor < 16):
            factor *= 2
        return factor

    def _still(self, factor: int) -> np.ndarray:
        """The still reduced by `factor` (a power of two), made once."""
        return self._stills.get(factor, lambda: self._reduced(factor))

    def _reduced(self, factor: int) -> np.ndarray:
        try:
            full = self._stills.peek(1)
            if full is not None:
                still = np.asarray(Image.fromarray(full).reduce(factor))
            else:
                with Image.open(self.path) as image:
                    if factor > 1:
                        image.draft(self._mode, (-(-image.width // factor), -(-image.height // factor)))
                    still = self._decoded(image)
                # What the decoder's scales (none for PNG; down to 1/8 for JPEG) left to reduce:
                # by the same factor as from the full picture, whatever the sides' remainders.
                rest = factor * still.shape[1] // self.width  # both upright
                if rest > 1:
                    still = np.asarray(Image.fromarray(still).reduce(rest))
        except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as e:
            raise RenderFailed(f"decoding {self.path} failed: {reason(e)}") from None
        return frozen(still)

    @property
    def native_size(self) -> tuple[int, int]:
        """(width, height) of the upright picture at the medium's own resolution."""
        return self.width, self.height

    @property
    def yuv_ready(self) -> bool:
        """Whether yuv_at can give this image: an opaque still."""
        return not self.animated and self._mode == "RGB"

    def yuv_at(self, t: int, size: tuple[int, int], part: Box | None = None) -> tuple[av.VideoFrame, int, int]:
        """The still (the same at any time t) as yuv420p at `size` (width, height) in the
        output's colours (BT.709, limited range), as VideoReader.yuv_at gives a frame: only
        `part` of it, scaled by SwScale from the pixels that cover it of the reduction
        frame_at keeps, converted to yuv420p once. A photo zooming or panning by keyframes
        costs one resampling of its visible part a frame, YUV to YUV: a quarter of the work of
        converting its RGB pixels on every frame. Only when yuv_ready; the last picture made
        is kept (a still photo is asked the same on every frame)."""
        size = (int(size[0]), int(size[1]))
        key = (size, part)
        if self._yuv is None or self._yuv[0] != key:
            factor = self._factor(size)
            still = self._yuv_stills.get(factor, lambda: self._yuv_still(factor))
            box, drawn = source_box((still.width, still.height), size, part or (0, 0, *size), step=2)
            # Edges on even pixels (whole chroma samples), copied into a frame of FFmpeg's own:
            # from a view with an odd edge SwScale read past it, and the same render came out
            # different from run to run.
            picture = self._scale.reformat(cropped(still, box), width=max(2, drawn[2] - drawn[0]),
                                           height=max(2, drawn[3] - drawn[1]), interpolation="BILINEAR")
            self._yuv = (key, (picture, drawn[0], drawn[1]))
        return self._yuv[1]

    def _yuv_still(self, factor: int) -> av.VideoFrame:
        """The reduction by `factor` converted to yuv420p, once. The RGB pixels it was made from
        are then dropped, every reduction's (a full-size PNG kept to reduce from too): a photo on
        the YUV path is drawn from these alone, and its RGB ones (twice the bytes: 18 MB beside
        9 for a 3000×2000 photo) are made again from the file if frame_at asks for them."""
        rgb = self._still(factor)
        # The array itself is read, not a copy of it in a frame of FFmpeg's own (another
        # frame of RGB at the peak); SwScale converts it the same.
        picture = yuv420(rgb, self._to_yuv)
        self._stills.clear()
        return picture

    def _open_animation(self, n: int) -> None:
        image = self._image
        self._transpose = _TRANSPOSE.get(image.getexif().get(_EXIF_ORIENTATION, 1))
        keep_all = n * image.width * image.height * 4 <= IMAGE_CACHE_BYTES
        self._frames: list[np.ndarray | None] = []
        self._starts = []
        t = 0
        for i, frame in enumerate(ImageSequence.Iterator(image)):
            frame.load()  # WebP sets a frame's duration when it loads, GIF when it seeks
            self._starts.append(t)
            t += _delay_us(frame)
            self._frames.append(_rgba(frame, self._transpose) if keep_all or i == 0 else None)
        self.duration = t
        if keep_all:
            image.close()
            self._image = None
        self._memo: tuple[int, np.ndarray] | None = None

    def frame_at(self, t: int, size: tuple[int, int] | None = None) -> np.ndarray:
        """HxWx4 uint8 RGBA at t µs (animations loop; opaque stills are HxWx3 RGB), read-only.

        With `size` (width, height), a still much larger than that comes back reduced by a
        power of two, still at least `size`: a 3000-pixel photo drawn at 1080 is then
        resampled from a third of its pixels on every frame, and each reduction is made once.
        """
        if not self.animated:
            return self._still(self._factor(size))
        i = bisect.bisect_right(self._starts, int(t) % self.duration) - 1
        frame = self._frames[i]
        if frame is not None:
            return frame
        if self._memo is not None and self._memo[0] == i:
            return self._memo[1]
        try:
            self._image.seek(i)
            frame = _rgba(self._image, self._transpose)
        except (OSError, EOFError, ValueError) as e:
            raise RenderFailed(f"decoding frame {i} of {self.path} failed: {reason(e)}") from None
        self._memo = (i, frame)
        return frame

    def close(self) -> None:
        if self._image is not None:
            self._image.close()
            self._image = None

    def __enter__(self) -> ImageSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
