"""Where a layer's pixels come from: one Source per material kind, chosen once per segment.

A Source gives a material's picture for a time in µs of source time: `frame_at` as an RGB or
RGBA array, `yuv_at` as yuv420p planes in the output's colours (only when `yuv_ready`),
`native_size` for what the editor fits to the canvas (None when the picture is already in
canvas pixels, as a text's is), and `close` for what it holds. The kinds:

- video: `VideoReader` (video.py);
- photo or GIF: `ImageSource` (images.py);
- text: `TextSource`, the text rasterised once (text_raster.py);
- solid colour: `SolidSource`;
- compound clip: `CompoundSource`, the nested timeline drawn by a renderer of its own (compound.py).

A generated clip needs no kind of its own: the generate stage (pipeline.generated) makes its
file before the media are fetched, and the material is then a video or photo like any other.
A new kind is one class that satisfies `Source`, and one entry in `KINDS`. `Sources` opens a
segment's source when the segment first shows and closes it when no segment uses it any
more; consecutive segments of one medium on one track share a source, so a clip cut in two
keeps its decoder, and a video duplicated onto another track reads through the original's
(`duplicates`), so each of its frames is decoded once.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import av
import numpy as np

from ..assets import Probe
from ..effects.background import solid
from ..timeline.model import Compound, Media, Segment, SolidColor, Text, Timeline
from .compound import CompoundSource, Drawer
from .images import ImageSource
from .text_raster import TextRenderer
from .video import VideoReader
from .yuv import Box


class Source(Protocol):
    @property
    def yuv_ready(self) -> bool:
        """Whether yuv_at gives pictures the output takes as they are."""
        ...

    @property
    def native_size(self) -> tuple[int, int] | None: ...

    def frame_at(self, t: int, size: tuple[int, int] | None = None) -> np.ndarray:
        """The picture at source time t (µs), HxWx3 RGB or HxWx4 straight-alpha RGBA,
        read-only; `size` (width, height) is a hint: the source may come close to it more
        cheaply than the compositor could resize it."""
        ...

    def yuv_at(self, t: int, size: tuple[int, int], part: Box | None = None) -> tuple[av.VideoFrame, int, int]:
        """The picture at t as yuv420p scaled to `size`, only its `part` (a box of the scaled
        picture), and where that part's top-left falls in it. Only when yuv_ready."""
        ...

    def close(self) -> None: ...


class TextSource:
    """A text material: rasterised once by the renderer (which caches it), the same at any time."""

    yuv_ready = False
    native_size = None  # rasterised in canvas pixels: not fitted to the canvas

    def __init__(self, text: Text, renderer: TextRenderer):
        self.text, self.renderer = text, renderer

    def frame_at(self, t: int, size: tuple[int, int] | None = None) -> np.ndarray:
        return self.renderer.picture(self.text)

    def yuv_at(self, t: int, size: tuple[int, int], part: Box | None = None) -> tuple[av.VideoFrame, int, int]:
        raise NotImplementedError("a text is drawn in RGB")

    def close(self) -> None:
        pass


class SolidSource:
    """A colour material: a small opaque plate (its alpha over black), scaled by the placement."""

    yuv_ready = False
    native_size = None

    def __init__(self, color: SolidColor):
        self.plate = solid(16, 16, color.color)
        self.plate.flags.writeable = False

    def frame_at(self, t: int, size: tuple[int, int] | None = None) -> np.ndarray:
        return self.plate

    def yuv_at(self, t: int, size: tuple[int, int], part: Box | None = None) -> tuple[av.VideoFrame, int, int]:
        raise NotImplementedError("a colour plate is drawn in RGB")

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class Context:
    """What opening a source may need besides its material."""

    probes: dict[str, Probe]  # by material id
    text: TextRenderer
    nested: Callable[[Timeline], Drawer]  # a renderer for a compound clip's nested timeline
    warnings: list[str]  # where a compound clip's renderer leaves what it could not draw
    output_pixels: int = 0  # the frame's: a video much bigger decodes on threads (video.py)


# Opens a material's source, or gives None when the material draws nothing (an audio file,
# a medium that could not be probed). Keyed by material type; the key says which segments
# share a source.
Opener = Callable[[Any, Context], Source | None]
Key = tuple[Hashable, int]


def open_media(m: Media, ctx: Context) -> Source | None:
    probe = ctx.probes.get(m.id)
    if probe is None or probe.kind == "audio" or m.kind == "audio":
        return None
    if probe.kind == "video":
        return VideoReader(probe.path, output_pixels=ctx.output_pixels)
    return ImageSource(probe.path)


KINDS: dict[type, Opener] = {
    Media: open_media,
    Text: lambda m, ctx: TextSource(m, ctx.text),
    SolidColor: lambda m, ctx: SolidSource(m),
    Compound: lambda m, ctx: CompoundSource(m, ctx.nested(m.timeline), ctx.warnings),
}


def duplicates(segments: Iterable[Segment], probes: dict[str, Probe]) -> dict[str, Segment]:
    """The segments that show frames another segment on another track decodes anyway, by
    segment id, each with that other one: a video shown within the other's time, from the
    same file at the same speed and from the same point of it (a clip duplicated onto a
    second track, as editors do for a glow or a blend), so that at every instant both read
    the same source time."""
    alike: dict[tuple, list[Segment]] = {}
    for seg in segments:
        probe = probes.get(seg.material.id) if isinstance(seg.material, Media) else None
        if probe is None or probe.kind != "video" or seg.speed_curve is not None or seg.reverse:
            continue
        start = seg.source.start if seg.source is not None else 0
        alike.setdefault((probe.path, seg.speed, start - seg.target.start * seg.speed), []).append(seg)
    followers: dict[str, Segment] = {}
    for group in alike.values():
        leaders: list[Segment] = []
        for seg in sorted(group, key=lambda s: -s.target.duration):
            within = next((other for other in leaders if other.track_index != seg.track_index
                           and other.target.start <= seg.target.start and seg.target.end <= other.target.end), None)
            if within is None:
                leaders.append(seg)
            else:
                followers[seg.id] = within
    return followers


class Sources:
    """The sources of the segments showing, opened on first use and closed when unused."""

    def __init__(self, ctx: Context, segments: Iterable[Segment] = ()):
        self.ctx = ctx
        self._open: dict[Key, Source | None] = {}
        self._used: set[Key] = set()
        self._duplicates = duplicates(segments, ctx.probes)

    def key(self, seg: Segment) -> Key:
        # A medium's decoder is shared along its track (a clip cut in two reads on), and kept
        # apart between tracks (two layers of one clip read at different times), except for
        # a duplicate, which reads at the same times as its original.
        seg = self._duplicates.get(seg.id, seg)
        return (seg.material.id if seg.material is not None else None, seg.track_index)

    def of(self, seg: Segment) -> Source | None:
        """The segment's source (None when its material draws nothing), marked in use."""
        key = self.key(seg)
        self._used.add(key)
        if key not in self._open:
            opener = KINDS.get(type(seg.material))
            self._open[key] = opener(seg.material, self.ctx) if opener is not None else None
        return self._open[key]

    def still(self, m: Media) -> Source | None:
        """A medium's source for a picture kept for the whole render (a canvas image)."""
        key = (m.id, -1)
        if key not in self._open:
            self._open[key] = open_media(m, self.ctx)
        return self._open[key]

    def close_unused(self) -> None:
        """Close the sources no segment asked for since the last call."""
        for key in [k for k in self._open if k not in self._used and k[1] != -1]:
            source = self._open.pop(key)
            if source is not None:
                source.close()
        self._used.clear()

    def close(self) -> None:
        for source in self._open.values():
            if source is not None:
                source.close()
        self._open.clear()
        self._used.clear()
