"""The typed, immutable timeline that every stage after the parser reads.

All times are integer microseconds. Colours are RGBA tuples of floats in 0–1. Geometry is in
the draft's own units (transform in half-canvas units, y up; rotation in degrees clockwise):
turning them into pixels belongs to the renderer.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Literal

from .keyframes import Keyframes

RGBA = tuple[float, float, float, float]
TrackType = Literal["video", "audio", "text", "sticker", "effect", "filter", "adjust"]
EffectKind = Literal["transition", "animation", "filter", "video_effect", "mix_mode", "lut", "adjust",
                     "text_shape", "text_effect"]


@dataclass(frozen=True, slots=True)
class TimeRange:
    start: int
    duration: int

    @property
    def end(self) -> int:
        return self.start + self.duration


@dataclass(frozen=True, slots=True)
class Canvas:
    width: int
    height: int
    ratio: str = ""


# ---------------------------------------------------------------- media


@dataclass(frozen=True, slots=True)
class Crop:
    """The kept part of the media, as fractions of its size, origin top-left."""

    left: float = 0.0
    top: float = 0.0
    right: float = 1.0
    bottom: float = 1.0

    @property
    def is_full(self) -> bool:
        return (self.left, self.top, self.right, self.bottom) == (0.0, 0.0, 1.0, 1.0)


@dataclass(frozen=True, slots=True)
class Media:
    """A file the draft points at: a video, photo or audio material.

    `path` is the local file when one was found; `url` when the draft points at the web.
    A medium with neither is missing, and `looked_in` says where it was searched.
    """

    id: str
    kind: Literal["video", "photo", "audio"]
    name: str
    written_path: str
    path: Path | None = None
    url: str | None = None
    width: int = 0
    height: int = 0
    duration: int = 0
    crop: Crop = Crop()
    looked_in: tuple[str, ...] = ()
    # A clip to generate instead of a file: the material's `draftrender_generation` request as
    # JSON text (generate/drafts.py makes it, and sets `path`, before media are fetched).
    generation: str | None = None

    @property
    def missing(self) -> bool:
        return self.path is None and self.url is None and self.generation is None

    @property
    def location(self) -> str:
        return str(self.path) if self.path is not None else (self.url or self.written_path)


@dataclass(frozen=True, slots=True)
class SolidColor:
    """A colour material used as a layer (the editor's 'color' video material)."""

    id: str
    color: RGBA


# ---------------------------------------------------------------- text


@dataclass(frozen=True, slots=True)
class Stroke:
    color: RGBA
    width: float  # in em


@dataclass(frozen=True, slots=True)
class Shadow:
    color: RGBA
    diffuse: float
    distance: float
    angle: float  # degrees, counter-clockwise from the x axis as the editor writes it


@dataclass(frozen=True, slots=True)
class TextStyle:
    """Styling of the characters `start` to `end` (exclusive) of a text."""

    start: int
    end: int
    size: float
    color: RGBA
    bold: bool = False
    italic: bool = False
    underline: bool = False
    strokes: tuple[Stroke, ...] = ()
    shadows: tuple[Shadow, ...] = ()
    font_path: str = ""  # the font file found by the media locator, else only its file name
    font_id: str = ""
    font_name: str = ""


@dataclass(frozen=True, slots=True)
class TextBackground:
    color: RGBA
    style: int = 1
    round_radius: float = 0.0
    width: float = 0.14
    height: float = 0.14
    horizontal_offset: float = 0.0
    vertical_offset: float = 0.0


@dataclass(frozen=True, slots=True)
class Word:
    """Per-word timing for karaoke captions, relative to the segment start."""

    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Text:
    id: str
    text: str
    styles: tuple[TextStyle, ...]
    alignment: int = 1  # 0 left, 1 centre, 2 right
    vertical: bool = False
    letter_spacing: float = 0.0
    line_spacing: float = 0.02
    line_max_width: float = 0.82
    wrap: bool = False
    global_alpha: float = 1.0
    background: TextBackground | None = None
    words: tuple[Word, ...] = ()
    glow: bool = False
    effect_style: str = ""  # 花字: known only by resource id
    bubble: str = ""  # text_shape bubble resource id


# ---------------------------------------------------------------- attached materials


@dataclass(frozen=True, slots=True)
class SpeedCurve:
    """Curve speed: points (x along the segment 0–1, y speed multiplier)."""

    points: tuple[tuple[float, float], ...]
    name: str = ""


@dataclass(frozen=True, slots=True)
class AudioFade:
    fade_in: int = 0
    fade_out: int = 0


@dataclass(frozen=True, slots=True)
class Background:
    """The canvas material behind the bottom video track."""

    kind: Literal["color", "blur", "image"]
    color: RGBA = (0.0, 0.0, 0.0, 1.0)
    blur: float = 0.0  # 0.0625 / 0.375 / 0.75 / 1.0 as the editor writes it
    image: Media | None = None


@dataclass(frozen=True, slots=True)
class Mask:
    shape: str  # line, mirror, circle, rectangle, heart, star, or the written resource_type
    name: str = ""
    center_x: float = 0.0  # half-material units
    center_y: float = 0.0
    width: float = 1.0  # fraction of the material
    height: float = 1.0
    aspect_ratio: float = 1.0
    rotation: float = 0.0
    feather: float = 0.0
    round_corner: float = 0.0
    invert: bool = False


@dataclass(frozen=True, slots=True)
class Chroma:
    color: RGBA
    intensity: float = 0.0
    shadow: float = 0.0
    edge_smooth: float = 0.0
    spill: float = 0.0


@dataclass(frozen=True, slots=True)
class NamedEffect:
    """A transition, animation, filter, mix mode or video effect the editor knows by name.

    `kind` tells which family; `params` holds what the draft gives (intensity, adjust params).
    `name` is the editor's own name, the one the renderer resolves: found by the effect's id
    when the draft wrote the name in another UI language, and then `written_name` keeps that.
    """

    kind: EffectKind
    name: str
    id: str = ""
    resource_id: str = ""
    intensity: float = 1.0
    params: tuple[tuple[str, float], ...] = ()
    path: str = ""  # a LUT's local .cube file, found by the media locator; '' when none
    written_name: str = ""  # the draft's name, when the id gave another (the UI language's)

    @property
    def label(self) -> str:
        """The name as the draft wrote it, and the editor's when the id gave another."""
        if self.written_name and self.written_name != self.name:
            return f"{self.written_name} ({self.name})"
        return self.name or self.resource_id or "?"


@dataclass(frozen=True, slots=True)
class Transition:
    effect: NamedEffect
    duration: int
    is_overlap: bool = True


@dataclass(frozen=True, slots=True)
class Animation:
    effect: NamedEffect
    type: Literal["in", "out", "group", "loop"]
    start: int  # µs from the segment start
    duration: int


@dataclass(frozen=True, slots=True)
class Sticker:
    id: str
    name: str
    resource_id: str
    path: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class Compound:
    """A compound clip (复合片段): a whole nested draft, placed like a video.

    The renderer draws `timeline` on demand into one picture (the nested canvas, at the
    output's scale) and one sound, and places them as the segment's video.
    """

    id: str
    name: str
    timeline: Timeline


# ---------------------------------------------------------------- segments and tracks


@dataclass(frozen=True, slots=True)
class Clip:
    """Static geometry of a visual segment, as the draft writes it."""

    alpha: float = 1.0
    flip_horizontal: bool = False
    flip_vertical: bool = False
    rotation: float = 0.0  # degrees clockwise
    scale_x: float = 1.0
    scale_y: float = 1.0
    x: float = 0.0  # half-canvas units, right positive
    y: float = 0.0  # half-canvas units, up positive
    uniform_scale: bool = True


Material = Media | SolidColor | Text | Sticker | NamedEffect | Compound | None


@dataclass(frozen=True, slots=True)
class Segment:
    id: str
    track_index: int
    index: int  # position within its track
    kind: TrackType
    material: Material
    target: TimeRange
    source: TimeRange | None = None
    speed: float = 1.0
    speed_curve: SpeedCurve | None = None
    reverse: bool = False
    volume: float = 1.0
    tone_modify: bool = False
    visible: bool = True
    render_index: int = 0
    clip: Clip = Clip()
    keyframes: tuple[Keyframes, ...] = ()
    fade: AudioFade | None = None
    background: Background | None = None
    mask: Mask | None = None
    chroma: Chroma | None = None
    mix_mode: NamedEffect | None = None
    transition: Transition | None = None
    animations: tuple[Animation, ...] = ()
    filters: tuple[NamedEffect, ...] = ()
    effects: tuple[NamedEffect, ...] = ()

    def keyframes_for(self, prop: str) -> Keyframes | None:
        for kf in self.keyframes:
            if kf.property == prop:
                return kf
        return None

    def value_at(self, prop: str, offset: int, default: float) -> float:
        """The property's value `offset` µs after the segment start: keyframed or static."""
        kf = self.keyframes_for(prop)
        return default if kf is None else kf.value_at(offset)


@dataclass(frozen=True, slots=True)
class Track:
    index: int
    id: str
    type: TrackType
    name: str
    muted: bool  # attribute bit 1: the track's sound is off (a muted video track still shows)
    segments: tuple[Segment, ...]
    hidden: bool = False  # attribute bit 2: the track's pictures are off (bit 4 only locks it)


@dataclass(frozen=True, slots=True)
class FidelityNote:
    """One draft feature the renderer approximates or ignores, and why."""

    track: int | None
    segment: int | None
    feature: str
    status: Literal["approximated", "ignored"]
    reason: str

    def to_json(self) -> dict:
        return {
            "track": self.track,
            "segment": self.segment,
            "feature": self.feature,
            "status": self.status,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Timeline:
    canvas: Canvas
    fps: Fraction
    duration: int  # end of the last visible or audible segment: the tracks are the truth
    tracks: tuple[Track, ...]
    declared_duration: int = 0
    app_source: str = ""
    name: str = ""
    draft_dir: Path | None = None
    origin: str = ""  # where the draft came from, for messages
    fidelity: tuple[FidelityNote, ...] = field(default=())

    @property
    def segments(self) -> tuple[Segment, ...]:
        return tuple(s for t in self.tracks for s in t.segments)

    def media(self) -> tuple[Media, ...]:
        """Every distinct medium the draft uses, once, in track order; a compound clip's
        nested draft's media where the clip is."""
        seen: dict[str, Media] = {}
        for seg in self.segments:
            inner = seg.material.timeline.media() if isinstance(seg.material, Compound) else ()
            for m in (seg.material, seg.background.image if seg.background else None, *inner):
                if isinstance(m, Media) and m.id not in seen:
                    seen[m.id] = m
        return tuple(seen.values())

    def with_media(self, media: dict[str, Media]) -> Timeline:
        """The timeline with the segments' media of these ids replaced, in compound clips too."""
        def swapped(m: Material) -> Material:
            if isinstance(m, Compound):
                return replace(m, timeline=m.timeline.with_media(media))
            return media.get(m.id, m) if isinstance(m, Media) else m

        return replace(self, tracks=tuple(replace(t, segments=tuple(
            replace(s, material=swapped(s.material)) for s in t.segments)) for t in self.tracks))

    def visual_segments(self) -> tuple[Segment, ...]:
        """Visible segments that draw pixels, bottom first (the compositing order)."""
        layers = [
            s
            for t in self.tracks
            if not t.hidden and t.type in ("video", "text", "sticker", "effect", "filter", "adjust")
            for s in t.segments
            if s.visible
        ]
        return tuple(sorted(layers, key=lambda s: (s.render_index, s.track_index, s.index)))
