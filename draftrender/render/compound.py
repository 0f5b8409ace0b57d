"""Compound clips (复合片段): a nested timeline drawn on demand, placed like a video.

The outer segment places a compound clip like any video (source range, speed, reverse,
geometry, keyframes, masks, animations, transitions, volume, fades). Its picture at a source
time is the nested timeline's frame there, drawn by a frame renderer of its own at the
output's scale; its sound is the nested timeline's mix (audio.py `MixReader`). Nothing is
written to disk and only the frame in use is held, so memory stays flat. Nested compound
clips are drawn the same way, one renderer inside the other; the parser bounds the depth
(timeline/parse.py MAX_NESTING).
"""

from __future__ import annotations

from typing import Protocol

import av
import numpy as np

from ..timeline.model import Compound
from .plan import LayerSchedule, LayerState, frame_count, frame_time, layer_state
from .yuv import Box


class Drawer(Protocol):
    """What draws the nested timeline's frames: render/frames.py's FrameRenderer."""

    width: int
    height: int
    warnings: list[str]

    def render(self, layers: list[LayerState]) -> np.ndarray: ...

    def close(self) -> None: ...


class CompoundSource:
    """A compound clip's picture: the nested timeline's frame at a source time, shown like a
    video's (the frame that starts at or before it, at the nested frame rate; past the end,
    the last one)."""

    yuv_ready = False

    def __init__(self, clip: Compound, drawer: Drawer, warnings: list[str]):
        self.clip, self.drawer, self.warnings = clip, drawer, warnings
        self.native_size = (drawer.width, drawer.height)
        self._schedule = LayerSchedule(clip.timeline.visual_segments())
        self._shown: tuple[int, np.ndarray] | None = None  # (nested time, its frame)

    def frame_at(self, t: int, size: tuple[int, int] | None = None) -> np.ndarray:
        tl = self.clip.timeline
        frame = frame_count(min(max(t, 0), max(tl.duration - 1, 0)) + 1, tl.fps) - 1
        t = frame_time(frame, tl.fps)
        if self._shown is None or self._shown[0] != t:
            picture = self.drawer.render([layer_state(s, t) for s in self._schedule.at(t)])
            picture.flags.writeable = False
            self._shown = (t, picture)
        return self._shown[1]

    def yuv_at(self, t: int, size: tuple[int, int], part: Box | None = None) -> tuple[av.VideoFrame, int, int]:
        raise NotImplementedError("a compound clip is drawn in RGB")

    def close(self) -> None:
        self.drawer.close()
        for warning in self.drawer.warnings:
            note = f"compound clip {self.clip.name}: {warning}"
            if note not in self.warnings:
                self.warnings.append(note)
