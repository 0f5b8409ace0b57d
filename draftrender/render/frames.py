"""Drawing one output frame: the background, then each active layer in draw order.

Per layer: its picture from its Source → its operations (layers.py: crop, reveal, chroma
key, mask, colour, filters, animations, placement, opacity, blend mode) → drawn onto the
canvas.
The two layers of a transition are drawn each on a transparent stage and mixed by the
transition before going onto the canvas. Effect-track and filter-track segments grade
everything drawn below them.

compose() gives the encoder its frame: built in YUV (yuv.py) when the bottom layer's
operations are all ones the YUV path draws and no effect track or transition other than a
dissolve shows, else render()'s RGB. Above the bottom, each layer is drawn in YUV from its
source's picture when its operations allow it (pasted, or mixed by its opacity, mask or
rotation: draw_yuv); else its operations apply in RGB, and the picture they give is mixed
into the YUV frame with its coverage when it is upright and in normal blend mode, or drawn
in RGB inside its own box (an island), with the layers after it until the next paste.

Each layer's pixels come from its Source (sources.py), one per material kind (a compound
clip's is another FrameRenderer over its nested timeline, made by nested()), opened when
the layer first shows and closed when it no longer does, so only the readers in use hold
memory. Keeps the per-segment caches (mask coverage, text line positions) that spare
per-frame work.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import av
import numpy as np

from ..assets import Probe
from ..effects.animations import TextLines
from ..effects.background import blurred_cover, cover_size, opaque_rgb, solid
from ..effects.filters import PRESETS, apply_lut, grade_picture, load_cube
from ..effects.masks import mask_alpha, mask_uint8, nonzero_box
from ..effects.names import resolve
from ..effects.transform import Placement
from ..effects.transitions import Stage, transition_frame
from ..timeline.model import Background, Crop, Mask, Media, NamedEffect, Segment, Text, Timeline
from .cache import BoundedCache
from .compositor import blend_premultiplied, draw, footprint, visible
from .encode import even_size
from .fonts import FontBook
from .layers import Instant, Layer, Operation, YuvLayer, cropped, cropped_size, instant, on_yuv_path, operations
from .plan import LayerState, TransitionPhase
from .sources import Context, Sources
from .text_layout import EM_BOX_ASCENT
from .text_raster import TextRenderer
from .yuv import Box, Overlay, YuvCanvas, overlay, visible_part

CACHE_SIZE = 16  # mask coverages, text line positions and operation lists kept (a few per layer on screen)
OVERLAYS_KEPT = 1  # overlays ready to mix into YUV frames: the latest always, older ones within OVERLAYS_BYTES
OVERLAYS_BYTES = 4 * 1024 * 1024  # the captions and stickers on screen, not a moving picture's overlays


@dataclass(frozen=True, slots=True)
class Mixed:
    """An overlay and the picture it was made from, held so that no other array takes the
    picture's id while the entry lives."""

    picture: np.ndarray
    overlay: Overlay | None

    @property
    def nbytes(self) -> int:
        """What the entry holds, so that the cache bounds it (an entry without bytes is never dropped)."""
        return self.picture.nbytes + (self.overlay.nbytes if self.overlay is not None else 0) or 1


class FrameRenderer:
    def __init__(self, tl: Timeline, probes: dict[str, Probe], width: int, height: int,
                 font_dirs: tuple[Path, ...] = (), fonts: FontBook | None = None):
        self.tl, self.probes = tl, probes
        self.width, self.height = width, height
        self.text = TextRenderer(width, height, font_dirs=font_dirs, fonts=fonts)
        self.warnings: list[str] = []  # e.g. a LUT file that cannot be read
        self.sources = Sources(Context(probes, self.text, self.nested, self.warnings, width * height), tl.segments)
        videos = [t.index for t in tl.tracks if t.type == "video" and not t.hidden and t.segments]
        self.bottom_track = min(videos, default=-1)
        self.yuv = YuvCanvas(width, height)
        self._masks: BoundedCache[np.ndarray] = BoundedCache(kept=CACHE_SIZE)
        self._mask_boxes: BoundedCache[tuple[Box | None]] = BoundedCache(kept=CACHE_SIZE)
        self._text_lines: BoundedCache[TextLines] = BoundedCache(kept=CACHE_SIZE)
        self._operations: BoundedCache[tuple[Operation, ...]] = BoundedCache(kept=CACHE_SIZE)
        self._overlays: BoundedCache[Mixed] = BoundedCache(kept=OVERLAYS_KEPT, max_bytes=OVERLAYS_BYTES)
        self._pictures: BoundedCache[np.ndarray] = BoundedCache(kept=1, max_bytes=OVERLAYS_BYTES)  # see mixable()

    @cached_property
    def black(self) -> np.ndarray:
        """The RGB path's empty canvas (made on first use: YUV frames never need it)."""
        return solid(self.width, self.height, (0.0, 0.0, 0.0, 1.0))

    def render(self, layers: list[LayerState]) -> np.ndarray:
        canvas = None
        paired: set[int] = set()
        for i, state in enumerate(layers):
            if i in paired:
                continue
            if isinstance(state.segment.material, NamedEffect):
                # An effect or filter track: it grades everything drawn so far.
                if canvas is None:
                    canvas = self.black.copy()
                canvas[:] = self.graded(canvas, state.segment.material, state.offset)
                continue
            if state.transition is not None:
                j = partner(layers, i)
                if j is not None:
                    paired.add(j)
                pair = (state, layers[j] if j is not None else None)
                outgoing, incoming = pair if state.transition.role == "out" else pair[::-1]
                drawn = [(s, self.layer(self.instant(s)) if s is not None else None) for s in (outgoing, incoming)]
                if all(lay is None for _, lay in drawn):
                    continue
                if canvas is None:
                    # The bottom layers: each brings its own background into the transition.
                    canvas = self.black.copy()
                    stages = [self.background(s, lay.source) if s is not None and lay is not None else None
                              for s, lay in drawn]
                else:
                    stages = [None, None]
                self.draw_transition(canvas, [lay for _, lay in drawn], stages, state.transition)
                continue
            layer = self.layer(self.instant(state))
            if layer is None:
                continue
            if canvas is None:
                canvas = self.background(state, layer.source)
            draw(canvas, layer.picture, layer.placement, layer.opacity, layer.mode)
        self.sources.close_unused()
        return canvas if canvas is not None else self.black.copy()

    def compose(self, layers: list[LayerState]) -> np.ndarray | av.VideoFrame:
        """The frame for the encoder: composed in YUV where the layers allow it (yuv.py), else
        render()'s RGB."""
        frame = self.compose_yuv(layers)
        return frame if frame is not None else self.render(layers)

    def compose_yuv(self, layers: list[LayerState]) -> av.VideoFrame | None:
        """The frame composed in yuv420p, or None when it cannot be: when the YUV path cannot
        draw its bottom layer (see yuv_layer), or an effect track or a transition other than a
        dissolve of two such bottom layers shows."""
        if not layers or any(isinstance(s.segment.material, NamedEffect) for s in layers):
            return None
        bottom, above = [layers[0]], layers[1:]
        phase = layers[0].transition
        if phase is not None:
            j = partner(layers, 0)
            if j is None or resolve("transition", phase.effect.name).effect != "dissolve":
                return None
            bottom.append(layers[j])
            above = [s for k, s in enumerate(layers) if k not in (0, j)]
        if any(s.transition is not None for s in above):
            return None
        canvas = self.yuv
        if len(bottom) == 1:
            if not self.start_yuv(canvas, bottom[0]):
                return None
        else:
            assert phase is not None  # two bottom layers only in a transition
            outgoing, incoming = bottom if phase.role == "out" else bottom[::-1]
            if not self.start_yuv(canvas, outgoing):
                return None
            first = canvas.frame
            if not self.start_yuv(canvas, incoming):
                return None
            canvas.mix_from(first, 1 - phase.progress)
        island: list[Layer] = []  # consecutive layers drawn in RGB share one conversion
        for state in above:
            now = self.instant(state)
            drawn = self.yuv_layer(now)
            if drawn is not None:
                self.draw_island(canvas, island)
                island = []
                draw_yuv(canvas, drawn)
                continue
            layer = self.layer(now)
            if layer is None:
                continue
            if island or not self.mixable(state, layer):
                island.append(layer)  # after another in the same island: one conversion for both
            else:
                self.mix(canvas, layer)
        self.draw_island(canvas, island)
        self.sources.close_unused()
        return canvas.frame

    def mixable(self, state: LayerState, layer: Layer) -> bool:
        """Whether the layer is mixed into the YUV frame from an overlay: an upright picture
        with transparency in normal blend mode (a caption, a sticker), shown again at the same
        place (fading or not), so that its overlay, made once, pays for itself. A picture made
        anew each frame (a video's) or opaque (no coverage to keep) costs less in an island."""
        if layer.mode is not None or not layer.placement.axis_aligned or layer.picture.shape[2] != 4:
            return False
        key = (state.segment.id, id(layer.picture), layer.placement)
        seen = key in self._pictures
        self._pictures.get(key, lambda: layer.picture)  # held: no other array takes its id meanwhile
        return seen

    def mix(self, canvas: YuvCanvas, layer: Layer) -> None:
        """Mix an upright layer in normal blend mode into the YUV frame with its coverage. Its
        overlay is made once while its picture and placement stay the same (a caption's or a
        sticker's picture is the same array on every frame, fading or not)."""
        p, picture = layer.placement, layer.picture
        if layer.opacity <= 0 or p.width < 0.5 or p.height < 0.5:
            return

        def made() -> Mixed:
            part = visible(picture, p, self.width, self.height)
            return Mixed(picture, None if part is None else overlay(*part, self.width, self.height, canvas.to_yuv444))

        ready = self._overlays.get((id(picture), p), made).overlay
        if ready is not None:
            canvas.mix(ready, layer.opacity)

    def draw_island(self, canvas: YuvCanvas, layers: list[Layer]) -> None:
        """Draw the layers in RGB inside the box that holds them all, and back into `canvas`."""
        placed = [(lay, footprint(lay.placement, self.width, self.height)) for lay in layers]
        boxes = [b for _, b in placed if b is not None]
        if not boxes:
            return
        union = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
        # A full-frame overlay (a light leak in screen mode, a clip at half opacity) changes
        # every pixel of its box: the island need not look for what changed.
        filled = max((b for lay, b in placed if b is not None and lay.picture.shape[2] == 3
                      and lay.placement.axis_aligned and lay.opacity > 0),
                     key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), default=None)

        def draw_all(rgb: np.ndarray, x0: int, y0: int) -> None:
            for lay in layers:
                p = replace(lay.placement, cx=lay.placement.cx - x0, cy=lay.placement.cy - y0)
                draw(rgb, lay.picture, p, lay.opacity, lay.mode)

        canvas.draw_rgb(union, draw_all, filled)

    def start_yuv(self, canvas: YuvCanvas, state: LayerState) -> bool:
        """Start a YUV frame with a bottom layer over its background; False when the YUV path
        cannot draw the layer, or its background is blurred or an image (those are drawn in RGB)."""
        bottom = self.yuv_layer(self.instant(state))
        if bottom is None:
            return False
        picture, left, top = bottom.picture, bottom.left, bottom.top
        fill = None
        if (not bottom.opaque or left > 0 or top > 0 or left + picture.width < self.width
                or top + picture.height < self.height):
            bg = self.canvas_material(state.segment)
            if bg is not None and bg.kind != "color":
                return False
            fill = opaque_rgb(bg.color) if bg is not None else (0, 0, 0)
        canvas.start(fill)
        draw_yuv(canvas, bottom)
        return True

    def yuv_layer(self, now: Instant) -> YuvLayer | None:
        """The layer as the YUV path draws it: its source's YUV picture, scaled and placed,
        with what its operations leave (an opacity, a coverage); None when its source gives
        no YUV or an operation in its list is not one the YUV path draws at this instant
        (layers.py)."""
        seg = now.state.segment
        source = self.sources.of(seg)
        if source is None or not source.yuv_ready or not on_yuv_path(self.operations(seg), now):
            return None
        drawn = now.drawn
        assert drawn is not None  # PlaceOp draws on the YUV path only a medium's picture
        size = max(1, round(drawn.width)), max(1, round(drawn.height))
        left, top = round(drawn.cx - size[0] / 2), round(drawn.cy - size[1] / 2)
        # Only the part on the canvas is scaled: a picture zoomed past the canvas costs no more.
        # A rotated one is warped whole.
        part = None if not drawn.axis_aligned else (
            visible_part(size, left, top, self.width, self.height) or (0, 0, 1, 1))  # off the canvas: a pixel
        picture, dx, dy = source.yuv_at(now.state.source_time, size, part)
        drawn_yuv = YuvLayer(picture, left + dx, top + dy, size, (dx, dy))
        for op in self.operations(seg):
            op.apply_yuv(drawn_yuv, now)
        return drawn_yuv

    def instant(self, state: LayerState) -> Instant:
        """The layer at this instant: its motion, geometry and where its medium's picture goes."""
        return instant(state, self.native_size(state.segment), (self.width, self.height))

    def operations(self, seg: Segment) -> tuple[Operation, ...]:
        """The segment's operations, built once per segment (layers.py)."""
        return self._operations.get(seg.id, lambda: operations(seg, lines_of=self.text_lines, coverage=self.mask,
                                                                   covered=self.mask_box,
                                                                   grade=self.graded))

    def layer(self, now: Instant) -> Layer | None:
        """The layer with its operations applied, placed; None when it draws nothing."""
        seg = now.state.segment
        source = self.sources.of(seg)
        if source is None:
            return None  # stickers, effects and filters: reported in the fidelity report
        picture = source.frame_at(now.state.source_time, self.decode_size(seg, now.drawn))
        layer = Layer(picture, picture)
        for op in self.operations(seg):
            op.apply(layer, now)
        return layer

    def nested(self, tl: Timeline) -> FrameRenderer:
        """A renderer for a compound clip's nested timeline, at this render's scale, sharing
        its fonts (and what they report)."""
        scale = self.width / self.tl.canvas.width
        width, height = even_size(round(tl.canvas.width * scale), round(tl.canvas.height * scale))  # for yuv420p
        return FrameRenderer(tl, self.probes, width, height, fonts=self.text.fonts)

    def native_size(self, seg) -> tuple[float, float] | None:
        """A video or photo layer's picture size at the medium's own resolution, after its crop."""
        source = self.sources.of(seg)
        native = source.native_size if source is not None else None
        if native is None:
            return None
        return cropped_size(native, seg.material.crop) if isinstance(seg.material, Media) else native

    def decode_size(self, seg, drawn: Placement | None) -> tuple[int, int] | None:
        """The whole frame's size that makes the cropped picture come out at its drawn size, so
        the decoder scales once and the compositor does not (a photo comes reduced to near
        it). None for the full size: when the layer is drawn far larger than the canvas,
        the compositor resamples only its visible part."""
        if drawn is None or drawn.width > 2 * self.width or drawn.height > 2 * self.height:
            return None
        c = seg.material.crop if isinstance(seg.material, Media) else Crop()
        return (max(1, round(drawn.width / (c.right - c.left))), max(1, round(drawn.height / (c.bottom - c.top))))

    def draw_transition(self, canvas: np.ndarray, layers: list[Layer | None], backgrounds: list[np.ndarray | None],
                        phase: TransitionPhase) -> None:
        """The outgoing and incoming layers, each on its own stage (over its own background,
        when it has one), mixed by the transition and drawn over the canvas."""
        stages = []
        for layer, background in zip(layers, backgrounds, strict=True):
            stage = Stage.opaque(background) if background is not None else Stage.empty(self.height, self.width)
            if layer is not None:  # an opaque stage stays opaque: only an empty one tracks coverage
                draw(stage.rgb, layer.picture, layer.placement, layer.opacity,
                     coverage=None if background is not None else stage.alpha)
            stages.append(stage)
        effect = resolve("transition", phase.effect.name).effect
        mixed = transition_frame(effect, stages[0], stages[1], phase.progress)
        if mixed.alpha.min() == 255:
            canvas[:] = mixed.rgb  # opaque all over (full-frame layers, or their backgrounds): it replaces
        else:
            blend_premultiplied(canvas, mixed.rgb, mixed.alpha)

    def graded(self, picture: np.ndarray, effect: NamedEffect, offset: int) -> np.ndarray:
        """The picture with a filter, LUT or video effect applied (alpha kept); unchanged when
        the name maps to nothing (the fidelity report says so)."""
        rgb = picture[..., :3]
        if effect.kind not in ("filter", "video_effect", "lut"):
            return picture  # adjustment layers: reported as not rendered
        if effect.kind == "lut":
            table = load_cube(self.lut_path(effect.path))
            if table is None:
                warning = f"LUT {effect.name or effect.path}: {effect.path} cannot be read; it is left out"
                if warning not in self.warnings:
                    self.warnings.append(warning)
                return picture
            out = apply_lut(rgb, table, min(max(effect.intensity, 0.0), 1.0))
        else:
            key = resolve("video_effect" if effect.kind == "video_effect" else "filter", effect.name).effect
            if not key:
                return picture
            out = grade_picture(rgb, PRESETS[key].scaled(min(max(effect.intensity, 0.0), 1.0)), offset / 1e6)
        return out if picture.shape[2] == 3 else np.dstack([out, picture[..., 3]])

    def lut_path(self, written: str) -> str:
        path = Path(written)
        if not path.is_absolute() and self.tl.draft_dir is not None:
            path = self.tl.draft_dir / path
        return str(path)

    def mask(self, mask: Mask, width: int, height: int) -> np.ndarray:
        """The mask's coverage of a width×height picture, uint8; computed once per mask and size."""
        def coverage() -> np.ndarray:
            alpha = mask_uint8(mask_alpha(width, height, mask.shape, center_x=mask.center_x, center_y=mask.center_y,
                                          mask_width=mask.width, mask_height=mask.height, rotation=mask.rotation,
                                          feather=mask.feather, round_corner=mask.round_corner, invert=mask.invert))
            alpha.flags.writeable = False
            return alpha

        return self._masks.get((mask, width, height), coverage)

    def mask_box(self, mask: Mask, width: int, height: int) -> Box | None:
        """The box (x0, y0, x1, y1) of the non-zero pixels of the mask's coverage of a
        width×height picture; None when it has none. Found once per mask and size."""
        # In a tuple: the cache holds no None.
        return self._mask_boxes.get((mask, width, height), lambda: (nonzero_box(self.mask(mask, width, height)),))[0]

    def text_lines(self, text: Text, picture: np.ndarray) -> TextLines:
        """Where the text's lines and characters fall in its picture, laid out once per text."""
        return self._text_lines.get((text, picture.shape), lambda: text_lines(
            self.text.layout(text), picture.shape[1], picture.shape[0], text.vertical))

    def canvas_material(self, seg) -> Background | None:
        """What fills the canvas behind a segment: its canvas material on the bottom video
        track, None (black) elsewhere or when the material has nothing to show."""
        bg = seg.background if seg.track_index == self.bottom_track else None
        return None if bg is None or bg.kind == "image" and bg.image is None else bg

    def background(self, state: LayerState, picture: np.ndarray) -> np.ndarray:
        """The canvas fill behind the bottom video track: its segment's canvas material, else black."""
        seg = state.segment
        bg = self.canvas_material(seg)
        if bg is None:
            return self.black.copy()
        if bg.kind == "blur":
            native = self.native_size(seg)
            if native is not None:  # ask the decoder for a picture just big enough to blur
                small = cover_size(*native, self.width, self.height)
                smaller = self.picture(state, self.decode_size(seg, Placement(*small, 0, 0)))
                picture = picture if smaller is None else smaller
            return blurred_cover(picture, self.width, self.height, bg.blur)
        if bg.kind == "image" and bg.image is not None:
            source = self.sources.still(bg.image)
            if source is None:
                return self.black.copy()
            return blurred_cover(source.frame_at(0), self.width, self.height, 0.0)
        return solid(self.width, self.height, bg.color)

    def picture(self, state: LayerState, size: tuple[int, int] | None = None) -> np.ndarray | None:
        """The layer's own pixels at this instant (RGB or RGBA), cropped, before placement;
        a video frame scaled to `size` first when one is given."""
        seg = state.segment
        source = self.sources.of(seg)
        if source is None:
            return None  # stickers, effects and filters: reported in the fidelity report
        picture = source.frame_at(state.source_time, size)
        return cropped(picture, seg.material.crop) if isinstance(seg.material, Media) else picture

    def close(self) -> None:
        self.sources.close()


def draw_yuv(canvas: YuvCanvas, layer: YuvLayer) -> None:
    """Draw a layer the YUV path takes: pasted, mixed by its opacity and coverage, or rotated."""
    if layer.rotated is not None:
        canvas.draw_rotated(layer.picture, layer.rotated, layer.opacity, layer.coverage)
    elif layer.opaque:  # pasted by its own call, so the frame profile counts pastes apart from mixes
        canvas.paste(layer.picture, layer.left, layer.top)
    else:
        canvas.draw(layer.picture, layer.left, layer.top, layer.opacity, layer.coverage)


def partner(layers: list[LayerState], i: int) -> int | None:
    """The index of the other layer in layer i's transition, if it is showing."""
    mine = layers[i].transition
    if mine is None:
        return None
    for j in range(i + 1, len(layers)):
        other = layers[j].transition
        if other is not None and (other.cut, other.track) == (mine.cut, mine.track) and other.role != mine.role:
            return j
    return None


def text_lines(layout, width: int, height: int, vertical: bool) -> TextLines:
    """TextLines from a text layout (frame pixels), for a picture of width×height whose centre
    is the text frame's centre."""
    ox, oy = width / 2 - layout.width / 2, height / 2 - layout.height / 2
    by_line: dict[int, list] = {}
    for g in layout.glyphs:
        by_line.setdefault(g.line, []).append(g)
    lines = []
    for n in sorted(by_line):
        glyphs = sorted(by_line[n], key=lambda g: g.order)
        if vertical:
            # Columns read from the right: across is measured from the picture's right edge.
            start = min(width - (ox + g.x + g.advance) for g in glyphs)
            end = max(width - (ox + g.x) for g in glyphs)
            edges = tuple(oy + g.baseline + (1 - EM_BOX_ASCENT) * g.em for g in glyphs)
        else:
            start = min(oy + g.baseline - EM_BOX_ASCENT * g.em for g in glyphs)
            end = max(oy + g.baseline + (1 - EM_BOX_ASCENT) * g.em for g in glyphs)
            edges = tuple(ox + g.x + g.advance for g in glyphs)
        lines.append((start, end, edges))
    return TextLines(tuple(lines), vertical)

