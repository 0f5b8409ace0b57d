"""Drawing one output frame: the background, then each active layer in draw order.

Owns the frame sources (decoders, images, text rasters) for the layers, opened when a layer
first shows and closed when it no longer does, so only the readers in use hold memory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..assets import Probe
from ..effects.background import blurred_cover, solid
from ..effects.color import adjust
from ..effects.transform import place
from ..timeline.model import Crop, Media, SolidColor, Text, Timeline
from .compositor import draw
from .plan import LayerState
from .sources import ImageSource, VideoReader
from .text import TextRenderer


class FrameRenderer:
    def __init__(self, tl: Timeline, probes: dict[str, Probe], width: int, height: int,
                 font_dirs: tuple[Path, ...] = ()):
        self.tl = tl
        self.probes = probes
        self.width, self.height = width, height
        self.text = TextRenderer(width, height, font_dirs=font_dirs)
        self._sources: dict[tuple[str, int], VideoReader | ImageSource] = {}
        videos = [t.index for t in tl.tracks if t.type == "video" and not t.muted and t.segments]
        self.bottom_track = min(videos, default=-1)
        self.black = solid(width, height, (0.0, 0.0, 0.0, 1.0))

    def render(self, layers: list[LayerState]) -> np.ndarray:
        canvas = None
        used = set()
        for state in layers:
            picture = self.picture(state, used)
            if picture is None:
                continue
            seg = state.segment
            if canvas is None:
                canvas = self.background(state, picture)
            if seg.kind == "text":
                p = place(picture.shape[1], picture.shape[0], self.width, self.height, fit=False,
                          **geometry(state))
            else:
                p = place(picture.shape[1], picture.shape[0], self.width, self.height, **geometry(state))
                if state.brightness or state.contrast or state.saturation:
                    picture = adjust_picture(picture, state)
            draw(canvas, picture, p, state.alpha)
        self.close_unused(used)
        return canvas if canvas is not None else self.black.copy()

    def background(self, state: LayerState, picture: np.ndarray) -> np.ndarray:
        """The canvas fill behind the bottom video track: its segment's canvas material, else black."""
        seg = state.segment
        bg = seg.background if seg.track_index == self.bottom_track else None
        if bg is None or bg.kind == "image" and bg.image is None:
            return self.black.copy()
        if bg.kind == "blur":
            return blurred_cover(picture, self.width, self.height, bg.blur)
        if bg.kind == "image":
            probe = self.probes.get(bg.image.id)
            if probe is None:
                return self.black.copy()
            source = self.source((bg.image.id, -1), probe, set())
            return blurred_cover(source.frame_at(0), self.width, self.height, 0.0)
        return solid(self.width, self.height, bg.color)

    def picture(self, state: LayerState, used: set) -> np.ndarray | None:
        """The layer's own pixels at this instant (RGB or RGBA), cropped, before placement."""
        seg = state.segment
        m = seg.material
        if isinstance(m, Text):
            return self.text.picture(m)
        if isinstance(m, SolidColor):
            return solid(16, 16, m.color)
        if not isinstance(m, Media) or m.kind == "audio":
            return None  # stickers, effects and filters: reported in the fidelity report
        probe = self.probes.get(m.id)
        if probe is None:
            return None
        source = self.source((m.id, seg.track_index), probe, used)
        t = state.source_time if probe.kind == "video" else state.offset
        return crop(source.frame_at(t), m.crop)

    def source(self, key: tuple[str, int], probe: Probe, used: set) -> VideoReader | ImageSource:
        used.add(key)
        src = self._sources.get(key)
        if src is None:
            src = VideoReader(probe.path) if probe.kind == "video" else ImageSource(probe.path)
            self._sources[key] = src
        return src

    def close_unused(self, used: set) -> None:
        for key in [k for k in self._sources if k not in used and k[1] != -1]:
            self._sources.pop(key).close()

    def close(self) -> None:
        for src in self._sources.values():
            src.close()
        self._sources.clear()


def geometry(state: LayerState) -> dict:
    c = state.segment.clip
    return dict(scale_x=state.scale_x, scale_y=state.scale_y, x=state.x, y=state.y, rotation=state.rotation,
                flip_horizontal=c.flip_horizontal, flip_vertical=c.flip_vertical)


def crop(picture: np.ndarray, c: Crop) -> np.ndarray:
    if c.is_full:
        return picture
    h, w = picture.shape[:2]
    x0, x1 = round(c.left * w), max(round(c.right * w), round(c.left * w) + 1)
    y0, y1 = round(c.top * h), max(round(c.bottom * h), round(c.top * h) + 1)
    return picture[y0:y1, x0:x1]


def adjust_picture(picture: np.ndarray, state: LayerState) -> np.ndarray:
    rgb = adjust(picture[..., :3], state.brightness, state.contrast, state.saturation)
    if picture.shape[2] == 4:
        return np.dstack([rgb, picture[..., 3]])
    return rgb
