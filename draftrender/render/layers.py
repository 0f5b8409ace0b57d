"""A layer as a list of operations, built once per segment and evaluated per frame.

`operations()` lists what a segment does to its picture, in the order the editor applies
them: crop, text reveal, chroma key, mask, colour adjustment, filters and video effects,
the animations' wipe and blur, placement (scale, rotation, flip, position and the
animations' moves), opacity and blend mode. Only the operations a segment has are in its
list. Each operation draws on the general path, in RGB (`apply`), and says whether the YUV
path draws it too at a given instant (`on_yuv`): a layer is drawn in YUV only when its
source gives YUV and every operation in its list says yes (`on_yuv_path`), so an operation
the YUV path cannot draw never vanishes there. On the YUV path an operation leaves what it
does to the source's picture (`apply_yuv`): an opacity, a coverage (a mask's).

The pixel maths are in effects/; an operation only says when and with what it applies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import av
import numpy as np

from ..effects.animations import STILL, Motion, TextLines, motion, revealed, softened, wiped
from ..effects.chroma import chroma_key
from ..effects.color import adjust
from ..effects.masks import apply_mask
from ..effects.names import resolve
from ..effects.transform import Placement, place
from ..timeline.model import Chroma, Crop, Mask, Media, NamedEffect, Segment, Text
from .plan import LayerState
from .yuv import Box
from .yuv import cropped as yuv_cropped


NOWHERE = Placement(0.0, 0.0, 0.0, 0.0)  # drawn as nothing


@dataclass(slots=True)
class Layer:
    """One layer ready to draw: its picture with its operations applied, where it goes, how
    opaque, and by which blend mode (None for normal)."""

    source: np.ndarray  # the medium's picture, cropped (a blurred background is made of it)
    picture: np.ndarray
    placement: Placement = NOWHERE  # until PlaceOp, the last but one operation of every list, places it
    opacity: float = 1.0
    mode: str | None = None


@dataclass(slots=True)
class YuvLayer:
    """One layer the YUV path draws: the part of its source's yuv420p picture that falls on the
    canvas, where that part's top-left goes, and how it is mixed in (opaque at 1 without a
    coverage: pasted)."""

    picture: av.VideoFrame
    left: int
    top: int
    size: tuple[int, int]  # the whole drawn picture's (width, height)
    offset: tuple[int, int]  # where `picture` starts in the whole drawn picture
    opacity: float = 1.0
    coverage: np.ndarray | None = None  # uint8, the size of `picture`
    rotated: Placement | None = None  # where a rotated picture goes (then `picture` is all of it)

    @property
    def opaque(self) -> bool:
        """Whether the picture replaces what is below it in its box (pasted)."""
        return self.opacity >= 1 and self.coverage is None and self.rotated is None


@dataclass(frozen=True, slots=True)
class Instant:
    """A layer at one instant: its state, its animations' motion, its geometry with that
    motion applied, and where its medium's picture is drawn (None for a text or a colour,
    whose size comes from its picture)."""

    state: LayerState
    move: Motion
    geometry: dict[str, Any]  # place()'s keywords
    drawn: Placement | None
    canvas: tuple[int, int]


class Operation(Protocol):
    def on_yuv(self, now: Instant) -> bool:
        """Whether the YUV path draws this operation at `now`: it has nothing to do there, or
        apply_yuv leaves on the YUV layer what the canvas draws (an opacity, a coverage, a crop,
        a placement)."""
        ...

    def apply(self, layer: Layer, now: Instant) -> None:
        """Apply the operation to the layer, in RGB."""
        ...

    def apply_yuv(self, layer: YuvLayer, now: Instant) -> None:
        """Leave on the YUV path's layer what the operation does (when on_yuv says it draws there)."""
        ...


class RgbOnly:
    """An operation only the general path draws: a layer with it never takes the YUV path."""

    __slots__ = ()

    def on_yuv(self, now: Instant) -> bool:
        return False

    def apply_yuv(self, layer: YuvLayer, now: Instant) -> None:
        pass  # never called: on_yuv says no


class IdleOnYuv:
    """An operation the YUV path draws only at the instants it changes nothing (on_yuv says
    which): it leaves nothing on the YUV path's layer."""

    __slots__ = ()

    def apply_yuv(self, layer: YuvLayer, now: Instant) -> None:
        pass


@dataclass(frozen=True, slots=True)
class CropOp(RgbOnly):
    crop: Crop

    def apply(self, layer: Layer, now: Instant) -> None:
        layer.source = layer.picture = cropped(layer.picture, self.crop)


@dataclass(frozen=True, slots=True)
class RevealOp(IdleOnYuv):
    """A text's characters and lines shown one by one (typewriter and line animations)."""

    text: Text
    lines_of: Callable[[Text, np.ndarray], TextLines]

    def on_yuv(self, now: Instant) -> bool:
        return now.move.chars >= 1 and now.move.lines >= 1

    def apply(self, layer: Layer, now: Instant) -> None:
        if not self.on_yuv(now):
            layer.picture = revealed(layer.picture, self.lines_of(self.text, layer.picture), now.move.chars,
                                     now.move.lines)


@dataclass(frozen=True, slots=True)
class ChromaOp(RgbOnly):
    chroma: Chroma

    def apply(self, layer: Layer, now: Instant) -> None:
        c = self.chroma
        layer.picture = chroma_key(layer.picture, c.color, intensity=c.intensity, shadow=c.shadow,
                                   edge_smooth=c.edge_smooth, spill=c.spill)


@dataclass(frozen=True, slots=True)
class MaskOp:
    mask: Mask
    coverage: Callable[[Mask, int, int], np.ndarray]  # the mask's coverage of a width×height picture
    covered: Callable[[Mask, int, int], Box | None]  # the box of that coverage's non-zero pixels

    def on_yuv(self, now: Instant) -> bool:
        # A source that gives YUV is opaque: the mask is its coverage, made at the drawn size,
        # so only up to the size the general path makes it at (FrameRenderer.decode_size).
        d = now.drawn
        return d is not None and d.width <= 2 * now.canvas[0] and d.height <= 2 * now.canvas[1]

    def apply_yuv(self, layer: YuvLayer, now: Instant) -> None:
        (x, y), h, w = layer.offset, layer.picture.height, layer.picture.width
        # Sources scale to 2 pixels at least: a picture drawn 1 pixel wide is wider than drawn.
        size = max(layer.size[0], x + w), max(layer.size[1], y + h)
        coverage = self.coverage(self.mask, *size)
        box = self.covered(self.mask, *size)
        if box is None:
            layer.opacity = 0.0  # the mask hides it all
            return
        # Only the part the mask shows is mixed in (a circle in a big picture: a fraction), with
        # even edges: a chroma sample's two pixels keep together. A rotated picture is warped whole.
        x0, y0 = max(box[0] - x, 0) & ~1, max(box[1] - y, 0) & ~1
        x1, y1 = min(box[2] - x + 1 & ~1, w), min(box[3] - y + 1 & ~1, h)
        if x1 <= x0 or y1 <= y0:
            layer.opacity = 0.0  # the part on the canvas shows none of it
        elif (x0, y0, x1, y1) != (0, 0, w, h) and now.drawn is not None and now.drawn.axis_aligned:
            layer.picture = yuv_cropped(layer.picture, (x0, y0, x1, y1))
            layer.left, layer.top, layer.offset = layer.left + x0, layer.top + y0, (x + x0, y + y0)
            (x, y), h, w = layer.offset, y1 - y0, x1 - x0
        layer.coverage = coverage[y:y + h, x:x + w]

    def apply(self, layer: Layer, now: Instant) -> None:
        h, w = layer.picture.shape[:2]
        layer.picture = apply_mask(layer.picture, self.coverage(self.mask, w, h))


@dataclass(frozen=True, slots=True)
class AdjustOp(IdleOnYuv):
    """Brightness, contrast and saturation by keyframes."""

    def on_yuv(self, now: Instant) -> bool:
        s = now.state
        return not (s.brightness or s.contrast or s.saturation)

    def apply(self, layer: Layer, now: Instant) -> None:
        if not self.on_yuv(now):
            s, picture = now.state, layer.picture
            rgb = adjust(picture[..., :3], s.brightness, s.contrast, s.saturation)
            layer.picture = rgb if picture.shape[2] == 3 else np.dstack([rgb, picture[..., 3]])


@dataclass(frozen=True, slots=True)
class GradeOp(RgbOnly):
    """A filter, LUT or video effect of the segment's own."""

    effect: NamedEffect
    grade: Callable[[np.ndarray, NamedEffect, int], np.ndarray]

    def apply(self, layer: Layer, now: Instant) -> None:
        layer.picture = self.grade(layer.picture, self.effect, now.state.offset)


@dataclass(frozen=True, slots=True)
class WipeOp(IdleOnYuv):
    """An animation that shows only a band of the picture."""

    def on_yuv(self, now: Instant) -> bool:
        return now.move.wipe is None

    def apply(self, layer: Layer, now: Instant) -> None:
        if now.move.wipe is not None:
            layer.picture = wiped(layer.picture, now.move.wipe)


@dataclass(frozen=True, slots=True)
class BlurOp(IdleOnYuv):
    """An animation that softens the picture."""

    def on_yuv(self, now: Instant) -> bool:
        return now.move.blur <= 0

    def apply(self, layer: Layer, now: Instant) -> None:
        if now.move.blur > 0:
            layer.picture = softened(layer.picture, now.move.blur)


@dataclass(frozen=True, slots=True)
class PlaceOp:
    """Scale, rotation, flip and position (the clip's, its keyframes' and its animations')."""

    fit: bool  # a medium is fitted to the canvas; a text's raster is in canvas pixels already

    def on_yuv(self, now: Instant) -> bool:
        d = now.drawn
        if d is None or d.flip_horizontal or d.flip_vertical:
            return False
        # A rotated picture is warped whole: only while that costs no more than a canvas or so.
        return d.axis_aligned or d.width * d.height <= 2 * now.canvas[0] * now.canvas[1]

    def apply_yuv(self, layer: YuvLayer, now: Instant) -> None:
        if now.drawn is not None and not now.drawn.axis_aligned:
            layer.rotated = now.drawn

    def apply(self, layer: Layer, now: Instant) -> None:
        h, w = layer.picture.shape[:2]
        if now.drawn is None:
            layer.placement = place(w, h, *now.canvas, fit=self.fit, **now.geometry)
        elif (h, w) != layer.source.shape[:2]:
            layer.placement = now.drawn
        else:
            layer.placement = exact_size(now.drawn, layer.picture)


@dataclass(frozen=True, slots=True)
class OpacityOp:
    def on_yuv(self, now: Instant) -> bool:
        return True  # mixing is linear: the same in YUV as in RGB

    def apply(self, layer: Layer, now: Instant) -> None:
        layer.opacity = now.state.alpha * now.move.opacity

    def apply_yuv(self, layer: YuvLayer, now: Instant) -> None:
        layer.opacity = now.state.alpha * now.move.opacity


@dataclass(frozen=True, slots=True)
class BlendOp(RgbOnly):
    mode: str  # a key of effects.blend.BLEND_MODES

    def apply(self, layer: Layer, now: Instant) -> None:
        layer.mode = self.mode


ADJUSTED = ("brightness", "contrast", "saturation")


def operations(seg: Segment, *, lines_of: Callable[[Text, np.ndarray], TextLines],
               coverage: Callable[[Mask, int, int], np.ndarray],
               covered: Callable[[Mask, int, int], Box | None],
               grade: Callable[[np.ndarray, NamedEffect, int], np.ndarray]) -> tuple[Operation, ...]:
    """The segment's operations, in the order they apply; the callables are the frame
    renderer's cached text layout, mask coverage and grading."""
    m = seg.material
    text = isinstance(m, Text)
    ops: list[Operation] = []
    if isinstance(m, Media) and not m.crop.is_full:
        ops.append(CropOp(m.crop))
    if isinstance(m, Text) and seg.animations:
        ops.append(RevealOp(m, lines_of))
    if seg.chroma is not None:
        ops.append(ChromaOp(seg.chroma))
    if seg.mask is not None:
        ops.append(MaskOp(seg.mask, coverage, covered))
    if not text and any(seg.keyframes_for(p) is not None for p in ADJUSTED):
        ops.append(AdjustOp())
    ops += [GradeOp(effect, grade) for effect in seg.filters + seg.effects]
    if seg.animations:
        ops += [WipeOp(), BlurOp()]
    ops += [PlaceOp(fit=not text), OpacityOp()]
    mode = resolve("mix_mode", seg.mix_mode.name).effect if seg.mix_mode is not None else ""
    if mode:
        ops.append(BlendOp(mode))
    return tuple(ops)


def on_yuv_path(ops: tuple[Operation, ...], now: Instant) -> bool:
    """Whether the YUV path draws every operation of the layer at `now`."""
    return all(op.on_yuv(now) for op in ops)


def instant(state: LayerState, native: tuple[float, float] | None, canvas: tuple[int, int]) -> Instant:
    """The layer at this instant: its animations' motion, its geometry with that motion, and
    where its medium's picture (native: its size after the crop) is drawn."""
    seg = state.segment
    move = STILL
    for phase in state.animations:
        effect = resolve("animation", phase.effect.name).effect
        move = move.then(motion(effect, phase.type, phase.progress, text=isinstance(seg.material, Text)))
    c = seg.clip
    g: dict[str, Any] = dict(scale_x=state.scale_x, scale_y=state.scale_y, x=state.x, y=state.y,
                             rotation=state.rotation, flip_horizontal=c.flip_horizontal, flip_vertical=c.flip_vertical)
    if not move.is_still:
        g.update(x=g["x"] + 2 * move.dx, y=g["y"] - 2 * move.dy, scale_x=g["scale_x"] * move.scale_x,
                 scale_y=g["scale_y"] * move.scale_y, rotation=g["rotation"] + move.rotation)
    drawn = place(*native, *canvas, **g) if native is not None else None
    return Instant(state, move, g, drawn, canvas)


def cropped_size(native: tuple[int, int], c: Crop) -> tuple[float, float]:
    """A picture's size after its crop."""
    return native[0] * (c.right - c.left), native[1] * (c.bottom - c.top)


def cropped(picture: np.ndarray, c: Crop) -> np.ndarray:
    if c.is_full:
        return picture
    h, w = picture.shape[:2]
    x0, x1 = round(c.left * w), max(round(c.right * w), round(c.left * w) + 1)
    y0, y1 = round(c.top * h), max(round(c.bottom * h), round(c.top * h) + 1)
    return picture[y0:y1, x0:x1]


def exact_size(p: Placement, picture: np.ndarray) -> Placement:
    """The placement drawn at the picture's own pixel size: a prescaled frame may differ from
    the computed size by a rounding pixel, which must not cost a resample."""
    h, w = picture.shape[:2]
    if abs(w - p.width) <= 1.5 and abs(h - p.height) <= 1.5:
        return replace(p, width=w, height=h)
    return p
