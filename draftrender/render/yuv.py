"""Composing a frame in the encoder's own format, YUV 4:2:0 (BT.709, limited range).

Most frames of real drafts are a video, opaque and upright, with captions or stickers over
part of it. Such a frame never needs to be RGB as a whole: the decoder's planes, scaled to
the drawn size, are pasted where the layer goes; faded or masked, they are mixed in by their
opacity and coverage (`draw`), and rotated, warped with their coverage (`draw_rotated`). An
upright overlay in normal blend mode (a caption, a sticker with transparency) is converted to
YUV with its coverage once (an `Overlay`) and mixed into the planes, which is what mixing in
RGB and converting gives, since the conversion is linear. Other overlays (in a blend mode,
or made in RGB and rotated) are drawn in RGB inside their own box only, converted there and
back (an island).
Converting whole frames YUV → RGB after decoding and RGB → YUV before encoding costs more
CPU than the rest of compositing (about 7 ms for a 1080×1920 frame, on a core the encoder
needs). Pixels an overlay leaves unchanged keep their YUV values exactly, so neither leaves
a trace around what it draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace, VideoReformatter
from PIL import Image

from ..effects.blend import div255
from ..effects.masks import nonzero_box
from ..effects.transform import Placement
from ..effects.transitions import lerp
from ..effects.warp import MARGIN, WarpTable, padded, padded_inverse, warp_padded, warp_table
from .compositor import footprint, warp

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in canvas pixels
TABLE_PIXELS = 1 << 20  # the biggest box a rotated picture is warped over by a table (16 MB at most)
TABLE_BYTES = 16 * 1024 * 1024  # all warp tables held together, one alone excepted


def planes(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Writable numpy views of a yuv420p frame's Y, U and V planes (line padding cut off)."""
    views = []
    for plane in frame.planes:
        rows = np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)
        views.append(rows[:plane.height, :plane.width])
    return views[0], views[1], views[2]


def rgb_view(frame: av.VideoFrame) -> np.ndarray:
    """A writable HxWx3 numpy view of an rgb24 frame's pixels (no copy: drawn on in place)."""
    plane = frame.planes[0]
    rows = np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)
    return rows[:plane.height, :plane.width * 3].reshape(plane.height, plane.width, 3)


def yuv420(rgb: np.ndarray, to_yuv: VideoReformatter) -> av.VideoFrame:
    """An HxWx3 RGB array converted to yuv420p as the encoder converts RGB frames, read from
    the array itself: no copy of it in a frame of FFmpeg's own (SwScale reads no byte past
    its last pixel that changes what it makes, odd widths too: tests/render/test_images.py)."""
    return to_yuv.reformat(av.VideoFrame.from_numpy_buffer(rgb, format="rgb24"), format="yuv420p",
                           dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG)


@cache
def yuv_colour(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """Y, U, V of an 8-bit RGB colour, converted as the encoder converts RGB frames."""
    flat = av.VideoFrame.from_ndarray(np.full((2, 2, 3), rgb, np.uint8), format="rgb24")
    yuv = flat.reformat(format="yuv420p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG)
    y, u, v = (int(p[0, 0]) for p in planes(yuv))
    return y, u, v


def visible_part(size: tuple[int, int], left: int, top: int, width: int, height: int) -> Box | None:
    """The part of a picture of `size` with its top-left at (left, top) that falls inside a
    width×height canvas, in the picture's pixels; None when none does."""
    x0, y0 = max(0, -left), max(0, -top)
    x1, y1 = min(size[0], width - left), min(size[1], height - top)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def source_box(source: tuple[int, int], size: tuple[int, int], part: Box, step: int = 1) -> tuple[Box, Box]:
    """For a `source`-sized picture drawn at `size`: the source pixels that cover `part` of the
    drawn picture (edges on multiples of `step`: 2 keeps a yuv420p crop on whole chroma
    samples), and the part of the drawn picture those pixels make."""
    kx, ky = source[0] / size[0], source[1] / size[1]
    sx0, sy0 = math.floor(part[0] * kx / step) * step, math.floor(part[1] * ky / step) * step
    sx1 = min(source[0], math.ceil(part[2] * kx / step - 1e-9) * step)
    sy1 = min(source[1], math.ceil(part[3] * ky / step - 1e-9) * step)
    sx1, sy1 = max(sx1, sx0 + 1), max(sy1, sy0 + 1)
    dx0, dy0 = round(sx0 / kx), round(sy0 / ky)
    dx1, dy1 = max(round(sx1 / kx), dx0 + 1), max(round(sy1 / ky), dy0 + 1)
    return (sx0, sy0, sx1, sy1), (dx0, dy0, dx1, dy1)


def cropped(frame: av.VideoFrame, box: Box) -> av.VideoFrame:
    """A copy of the part `box` (even edges) of a yuv420p frame."""
    x0, y0, x1, y1 = box
    part = av.VideoFrame(x1 - x0, y1 - y0, "yuv420p")
    (sy, su, sv), (dy, du, dv) = planes(frame), planes(part)
    dy[:] = sy[y0:y1, x0:x1]
    du[:] = su[y0 // 2:y0 // 2 + du.shape[0], x0 // 2:x0 // 2 + du.shape[1]]
    dv[:] = sv[y0 // 2:y0 // 2 + dv.shape[0], x0 // 2:x0 // 2 + dv.shape[1]]
    return part


def even_box(box: Box, width: int, height: int) -> Box:
    """The box grown to even edges (whole chroma samples), within an even-sized canvas."""
    x0, y0, x1, y1 = box
    return x0 - x0 % 2, y0 - y0 % 2, min(x1 + x1 % 2, width), min(y1 + y1 % 2, height)


@dataclass(frozen=True, slots=True)
class Overlay:
    """A straight-alpha picture ready to mix into yuv420p frames, its top-left at an even
    (left, top) of the canvas: its planes premultiplied by its coverage a (0–255), and the
    weights of the planes below. Chroma sums each 2×2 block: the sample below keeps
    1020 − Σa of 1020, as mixing the four pixels in RGB and averaging them would."""

    left: int
    top: int
    y: np.ndarray  # uint16: Y·a
    keep: np.ndarray  # uint16: 255 − a
    u: np.ndarray  # uint32: Σ U·a over each 2×2 block
    v: np.ndarray
    keep_chroma: np.ndarray  # uint32: 1020 − Σa

    @property
    def nbytes(self) -> int:
        return self.y.nbytes + self.keep.nbytes + self.u.nbytes + self.v.nbytes + self.keep_chroma.nbytes


def overlay(picture: np.ndarray, left: int, top: int, width: int, height: int,
            to_yuv: VideoReformatter) -> Overlay | None:
    """The RGB or straight-alpha RGBA `picture`, its top-left at (left, top) inside a
    width×height canvas (even sides), made ready to mix; None when it covers nothing. Only
    the even box of the pixels it covers is kept (a caption's raster is mostly transparent)."""
    alpha = picture[..., 3] if picture.shape[2] == 4 else None
    if alpha is not None:
        box = nonzero_box(alpha)
        if box is None:
            return None
        picture = picture[box[1]:box[3], box[0]:box[2]]
        left, top = left + box[0], top + box[1]
    h, w = picture.shape[:2]
    x0, y0 = left - left % 2, top - top % 2
    x1, y1 = min(left + w + (left + w) % 2, width), min(top + h + (top + h) % 2, height)
    a = np.zeros((y1 - y0, x1 - x0), np.uint16)
    rgb = np.zeros((y1 - y0, x1 - x0, 3), np.uint8)
    inside = slice(top - y0, top - y0 + h), slice(left - x0, left - x0 + w)
    a[inside] = picture[..., 3] if alpha is not None else 255
    rgb[inside] = picture[..., :3]
    full = to_yuv.reformat(av.VideoFrame.from_ndarray(rgb, format="rgb24"), format="yuv444p",
                           dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG)
    y, u, v = planes(full)
    return Overlay(x0, y0, y * a, 255 - a, blocks(u * a), blocks(v * a), 1020 - blocks(a))


def blocks(plane: np.ndarray) -> np.ndarray:
    """The sums of each 2×2 block of an even-sized plane, as uint32."""
    return plane[0::2, 0::2].astype(np.uint32) + plane[0::2, 1::2] + plane[1::2, 0::2] + plane[1::2, 1::2]


def four_channels(picture: av.VideoFrame, coverage: np.ndarray | None, out: np.ndarray) -> np.ndarray:
    """`out` (HxWx4 uint8, the picture's size) filled with the yuv420p picture's Y, U and V,
    chroma repeated to every pixel (as the RGB conversion does), and its coverage (255
    without one)."""
    sy, su, sv = planes(picture)
    h, w = sy.shape
    out[..., 0] = sy
    out[..., 1] = np.repeat(np.repeat(su, 2, axis=0), 2, axis=1)[:h, :w]
    out[..., 2] = np.repeat(np.repeat(sv, 2, axis=0), 2, axis=1)[:h, :w]
    out[..., 3] = 255 if coverage is None else coverage
    return out


class YuvCanvas:
    """Output frames composed in yuv420p: start() begins a new `frame`, which is handed to the
    encoder when done (the canvas keeps its converters: they cache their SwScale contexts)."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self._to_rgb = VideoReformatter()
        self._to_yuv = VideoReformatter()
        self.to_yuv444 = VideoReformatter()  # for overlays
        # Warp tables by (size, placement, box), held while drawn frame after frame; the warps
        # drawn in the frame before and in this one.
        self._warps: dict[tuple, WarpTable] = {}
        self._warped_before: set[tuple] = set()
        self._warped: set[tuple] = set()
        self.warp_tables_made = 0

    def start(self, fill: tuple[int, int, int] | None = None) -> None:
        """A new frame, filled with the RGB colour `fill` (left as it comes without one)."""
        self.frame = av.VideoFrame(self.width, self.height, "yuv420p")
        self.y, self.u, self.v = planes(self.frame)
        self._warps = {key: table for key, table in self._warps.items() if key in self._warped}
        self._warped_before, self._warped = self._warped, set()
        if fill is not None:
            for plane, value in zip((self.y, self.u, self.v), yuv_colour(fill), strict=True):
                plane.fill(value)

    def paste(self, picture: av.VideoFrame, left: int, top: int) -> None:
        """An opaque yuv420p picture with its top-left corner at (left, top), clipped. Luma
        lands exactly; at an odd left or top, chroma lands half a pixel off (a chroma sample
        spans two pixels), which shows at most as a one-pixel colour fringe at the edges."""
        x0, y0 = max(left, 0), max(top, 0)
        x1, y1 = min(left + picture.width, self.width), min(top + picture.height, self.height)
        if x1 <= x0 or y1 <= y0:
            return
        sy, su, sv = planes(picture)
        self.y[y0:y1, x0:x1] = sy[y0 - top:y1 - top, x0 - left:x1 - left]
        ox, oy = left // 2, top // 2  # where the picture's first chroma sample lands
        cx0, cy0 = max(ox, 0), max(oy, 0)
        cx1, cy1 = min(ox + su.shape[1], self.u.shape[1]), min(oy + su.shape[0], self.u.shape[0])
        self.u[cy0:cy1, cx0:cx1] = su[cy0 - oy:cy1 - oy, cx0 - ox:cx1 - ox]
        self.v[cy0:cy1, cx0:cx1] = sv[cy0 - oy:cy1 - oy, cx0 - ox:cx1 - ox]

    def draw(self, picture: av.VideoFrame, left: int, top: int, opacity: float = 1.0,
             coverage: np.ndarray | None = None) -> None:
        """An opaque yuv420p picture placed as paste() places it, mixed in at `opacity` and by
        its `coverage` (uint8, the picture's size; None: all of it): linear mixing, the same in
        YUV as in RGB. Chroma is mixed by the coverage summed over each 2×2 block."""
        if opacity >= 1 and coverage is None:
            self.paste(picture, left, top)
            return
        x0, y0 = max(left, 0), max(top, 0)
        x1, y1 = min(left + picture.width, self.width), min(top + picture.height, self.height)
        if x1 <= x0 or y1 <= y0 or opacity <= 0:
            return
        sy, su, sv = planes(picture)
        ox, oy = left // 2, top // 2  # where the picture's first chroma sample lands
        cx0, cy0 = max(ox, 0), max(oy, 0)
        cx1, cy1 = min(ox + su.shape[1], self.u.shape[1]), min(oy + su.shape[0], self.u.shape[0])
        luma, shown = (slice(y0, y1), slice(x0, x1)), (slice(y0 - top, y1 - top), slice(x0 - left, x1 - left))
        chroma = slice(cy0, cy1), slice(cx0, cx1)
        shown_chroma = slice(cy0 - oy, cy1 - oy), slice(cx0 - ox, cx1 - ox)
        if coverage is None:
            self.y[luma] = lerp(self.y[luma], sy[shown], opacity)
            for mine, theirs in ((self.u, su), (self.v, sv)):
                mine[chroma] = lerp(mine[chroma], theirs[shown_chroma], opacity)
            return
        a = coverage.astype(np.uint16)
        if opacity < 1:  # in the coverage: the planes are then mixed in integers
            a = div255(a * round(opacity * 255))
        covered = a[shown]
        if a.shape[0] % 2 or a.shape[1] % 2:  # a chroma sample covers the last odd row or column alone
            a = np.pad(a, ((0, a.shape[0] % 2), (0, a.shape[1] % 2)), mode="edge")
        ca = blocks(a)[shown_chroma]
        self.mix_planes(luma, chroma, sy[shown] * covered, 255 - covered, su[shown_chroma] * ca,
                        sv[shown_chroma] * ca, 1020 - ca)

    def draw_rotated(self, picture: av.VideoFrame, p: Placement, opacity: float = 1.0,
                     coverage: np.ndarray | None = None) -> None:
        """An opaque yuv420p picture at its drawn size, rotated as `p` places it (as the RGB
        compositor rotates: Pillow's bilinear affine warp in premultiplied alpha, with a
        transparent margin), mixed in at `opacity` by its warped coverage. Y, U, V and the
        coverage are warped together as the four channels of one picture, chroma repeated
        to every pixel (as the RGB conversion does)."""
        box = footprint(p, self.width, self.height)
        if box is None or opacity <= 0:
            return
        box = even_box(box, self.width, self.height)
        w, h = picture.width, picture.height
        table = self.warp_table((w, h), p, box)
        if table is None:
            yuva = four_channels(picture, coverage, np.empty((h, w, 4), np.uint8))
            warped = np.asarray(warp(Image.fromarray(yuva).convert("RGBa"), p, box))
        else:
            framed = padded(h, w)
            yuva = four_channels(picture, coverage, framed[MARGIN:MARGIN + h, MARGIN:MARGIN + w])  # no copy
            if coverage is not None:  # premultiplied, as Pillow's RGBa is (the same rounding)
                yuva[..., :3] = div255(yuva[..., :3] * coverage[..., None].astype(np.uint16))
            warped = warp_padded(framed, table)
        self.mix_premultiplied(box[0], box[1], warped, opacity)

    def warp_table(self, size: tuple[int, int], p: Placement, box: Box) -> WarpTable | None:
        """The table that warps a picture of `size` placed by `p` over `box` (effects/warp.py:
        half of Pillow's cost a frame), made when the same warp comes in two frames in a row (a
        tilted layer that stays put; making one costs a few of Pillow's warps) and kept while it
        does; None for Pillow's warp: a warp that moves, or one that does not fit beside the
        tables held (so that tables never evict each other frame after frame)."""
        key = (size, p, box)
        self._warped.add(key)
        table = self._warps.get(key)
        out = box[2] - box[0], box[3] - box[1]
        if table is not None or key not in self._warped_before or out[0] * out[1] > TABLE_PIXELS:
            return table
        held = sum(t.nbytes for t in self._warps.values())
        if held and held + WarpTable.BYTES_PER_PIXEL * out[0] * out[1] > TABLE_BYTES:
            return None
        table = self._warps[key] = warp_table(size, out, padded_inverse(size, p, box[0], box[1]))
        self.warp_tables_made += 1
        return table

    def mix_premultiplied(self, left: int, top: int, yuva: np.ndarray, opacity: float = 1.0) -> None:
        """Mix a premultiplied 4:4:4 picture (HxWx4 uint8: Y·a, U·a, V·a, a; even sides, its
        top-left at an even left, top) into the frame, at `opacity`."""
        h, w = yuva.shape[:2]
        a = yuva[..., 3].astype(np.uint16)
        luma = slice(top, top + h), slice(left, left + w)
        chroma = slice(top // 2, (top + h) // 2), slice(left // 2, (left + w) // 2)
        # Its channels are over 255 (Y·a/255, as Pillow's RGBa): times 255, an Overlay's weights.
        self.mix_planes(luma, chroma, yuva[..., 0] * np.uint16(255), 255 - a, blocks(yuva[..., 1]) * 255,
                        blocks(yuva[..., 2]) * 255, 1020 - blocks(a), opacity)

    def mix(self, o: Overlay, opacity: float = 1.0) -> None:
        """Mix an overlay into the frame, at `opacity`."""
        h, w = o.keep.shape
        luma = slice(o.top, o.top + h), slice(o.left, o.left + w)
        chroma = slice(o.top // 2, (o.top + h) // 2), slice(o.left // 2, (o.left + w) // 2)
        self.mix_planes(luma, chroma, o.y, o.keep, o.u, o.v, o.keep_chroma, opacity)

    def mix_planes(self, luma: tuple[slice, slice], chroma: tuple[slice, slice], y: np.ndarray, keep: np.ndarray,
                   u: np.ndarray, v: np.ndarray, keep_chroma: np.ndarray, opacity: float = 1.0) -> None:
        """The one mixing of a picture by its coverage into the planes' `luma` and `chroma`
        regions, weighted as an Overlay's fields are (premultiplied Y·a and the 255 − a kept
        below; chroma summed over each 2×2 block, of 1020), at `opacity` (a fade: in floats,
        one rounding, the picture's weights kept as made)."""
        below = self.y[luma]
        # Premultiplied: y ≤ 255·(255 − keep) and u, v ≤ 255·(1020 − keep_chroma), so no sum
        # passes 255 (uint8 would wrap it) and none needs clamping.
        if opacity >= 1:
            below[:] = div255(below * keep + y)
            for plane, premultiplied in ((self.u, u), (self.v, v)):
                plane[chroma] = (plane[chroma] * keep_chroma + premultiplied + 510) // 1020
            return
        k = np.float32(opacity)
        below[:] = below * (1 - (255 - keep) * (k / 255)) + y * (k / 255) + 0.5
        for plane, premultiplied in ((self.u, u), (self.v, v)):
            plane[chroma] = plane[chroma] * (1 - (1020 - keep_chroma) * (k / 1020)) + premultiplied * (k / 1020) + 0.5

    def mix_from(self, other: av.VideoFrame, share: float) -> None:
        """Cross-fade: `share` (0–1) of each sample comes from `other`, a frame of this size."""
        for mine, theirs in zip((self.y, self.u, self.v), planes(other), strict=True):
            mine[:] = lerp(mine, theirs, share)

    def draw_rgb(self, box: Box, draw: Callable[[np.ndarray, int, int], None], filled: Box | None = None) -> None:
        """Let `draw(rgb, x0, y0)` change the RGB pixels of `box` (its top-left at x0, y0), then
        bring back into the planes the pixels and chroma samples it changed. `filled`: a box
        the drawing is known to cover whole (an opaque picture); when it spans the region,
        every pixel goes back and none is compared."""
        x0, y0, x1, y1 = even_box(box, self.width, self.height)
        luma, chroma = (slice(y0, y1), slice(x0, x1)), (slice(y0 // 2, y1 // 2), slice(x0 // 2, x1 // 2))
        everywhere = (x0, y0, x1, y1) == (0, 0, self.width, self.height)
        region = self.frame if everywhere else av.VideoFrame(x1 - x0, y1 - y0, "yuv420p")
        if not everywhere:
            ry, ru, rv = planes(region)
            ry[:], ru[:], rv[:] = self.y[luma], self.u[chroma], self.v[chroma]
        converted = self._to_rgb.reformat(region, format="rgb24", src_colorspace=Colorspace.ITU709,
                                          src_color_range=ColorRange.MPEG)
        rgb = rgb_view(converted)
        whole = filled is not None and filled[0] <= x0 and filled[1] <= y0 and filled[2] >= x1 and filled[3] >= y1
        before = None if whole else rgb.copy()
        draw(rgb, x0, y0)
        changed = None
        if before is not None:
            differs = rgb != before
            changed = differs[..., 0] | differs[..., 1] | differs[..., 2]  # 10x faster than any(axis=2)
            if not changed.any():
                return
        back = yuv420(rgb, self._to_yuv)
        by, bu, bv = planes(back)
        if changed is None:
            if everywhere:  # the converted frame becomes the frame: no copy back
                self.frame, self.y, self.u, self.v = back, by, bu, bv
            else:
                self.y[luma], self.u[chroma], self.v[chroma] = by, bu, bv
            return
        np.copyto(self.y[luma], by, where=changed)
        changed_2x2 = changed[0::2, 0::2] | changed[0::2, 1::2] | changed[1::2, 0::2] | changed[1::2, 1::2]
        np.copyto(self.u[chroma], bu, where=changed_2x2)
        np.copyto(self.v[chroma], bv, where=changed_2x2)
