"""Compound clips (复合片段): a nested timeline drawn on demand, placed like a video.

The outer segment places a compound clip like any video (source range, speed, reverse,
geometry, keyframes, masks, animations, transitions, volume, fades). Its picture at a source
time is the nested timeline's frame there, composed by a frame renderer of its own at the
output's scale (in YUV when it can be, so the outer frame may stay on its YUV path); its
sound is the nested timeline's mix (audio.py `MixReader`). Nothing is written to disk and
only the frame in use is held, so memory stays flat. Nested compound clips are drawn the
same way, one renderer inside the other; the parser bounds the depth (timeline/parse.py
MAX_NESTING).
"""

from __future__ import annotations

from typing import Protocol

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace, VideoReformatter

from ..timeline.model import Compound
from .plan import LayerSchedule, LayerState, frame_count, frame_time, layer_state
from .video import frozen
from .yuv import Box, cropped, rgb_view, source_box


class Drawer(Protocol):
    """What draws the nested timeline's frames: render/frames.py's FrameRenderer."""

    width: int
    height: int
    warnings: list[str]

    def compose(self, layers: list[LayerState]) -> np.ndarray | av.VideoFrame: ...

    def close(self) -> None: ...


class CompoundSource:
    """A compound clip's picture: the nested timeline's frame at a source time, shown like a
    video's (the frame that starts at or before it, at the nested frame rate; past the end,
    the last one). The nested renderer composes it in YUV when it can, in the output's
    colours, so the outer frame can take it on its own YUV path."""

    yuv_ready = True

    def __init__(self, clip: Compound, drawer: Drawer, warnings: list[str]):
        self.clip, self.drawer, self.warnings = clip, drawer, warnings
        self.native_size = (drawer.width, drawer.height)
        self._schedule = LayerSchedule(clip.timeline.visual_segments())
        self._to_rgb, self._to_yuv = VideoReformatter(), VideoReformatter()
        self._shown: tuple[int, np.ndarray | av.VideoFrame] | None = None  # (nested time, its frame)
        self._rgb: np.ndarray | None = None  # that frame in RGB, once asked for

    def composed(self, t: int) -> np.ndarray | av.VideoFrame:
        """The nested frame showing at source time t: yuv420p, or RGB where the nested
        renderer had to draw it so."""
        tl = self.clip.timeline
        t = frame_time(frame_count(min(max(t, 0), max(tl.duration - 1, 0)) + 1, tl.fps) - 1, tl.fps)
        if self._shown is None or self._shown[0] != t:
            self._shown = (t, self.drawer.compose([layer_state(s, t) for s in self._schedule.at(t)]))
            self._rgb = None
        return self._shown[1]

    def frame_at(self, t: int, size: tuple[int, int] | None = None) -> np.ndarray:
        frame = self.composed(t)
        if self._rgb is None:
            self._rgb = frozen(frame if isinstance(frame, np.ndarray) else rgb_view(self._to_rgb.reformat(
                frame, format="rgb24", src_colorspace=Colorspace.ITU709, src_color_range=ColorRange.MPEG)))
        return self._rgb

    def yuv_at(self, t: int, size: tuple[int, int], part: Box | None = None) -> tuple[av.VideoFrame, int, int]:
        """Only `part` of the frame scaled to `size`, from the pixels that cover it, as
        VideoReader.yuv_at gives it."""
        frame = self.composed(t)
        whole = (frame.shape[1], frame.shape[0]) if isinstance(frame, np.ndarray) else (frame.width, frame.height)
        box, drawn = source_box(whole, (int(size[0]), int(size[1])), part or (0, 0, *size), step=2)
        x0, y0, x1, y1 = box
        colours = {}  # a composed frame is in the output's colours already
        if isinstance(frame, np.ndarray):  # copied into a frame of FFmpeg's own, as ImageSource.yuv_at does
            src = av.VideoFrame(x1 - x0, y1 - y0, "rgb24")
            rgb_view(src)[:] = frame[y0:y1, x0:x1]
            colours = dict(dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG)
        else:
            src = frame if box == (0, 0, *whole) else cropped(frame, box)
        picture = self._to_yuv.reformat(src, width=max(2, drawn[2] - drawn[0]), height=max(2, drawn[3] - drawn[1]),
                                        format="yuv420p", interpolation="BILINEAR", **colours)
        return picture, drawn[0], drawn[1]

    def close(self) -> None:
        self.drawer.close()
        for warning in self.drawer.warnings:
            note = f"compound clip {self.clip.name}: {warning}"
            if note not in self.warnings:
                self.warnings.append(note)
