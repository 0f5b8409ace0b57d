"""Compound clips (复合片段): each nested timeline rendered by this same engine, then used as a video.

A compound clip's nested draft is drawn into one picture and one sound: rendered to a
near-lossless MP4 in a temporary folder, it becomes the segment's medium, so the outer segment
places it like any video (source range, speed, reverse, geometry, keyframes, masks,
animations, transitions, volume, fades). Only the nested time the segments use is rendered.
Nested compound clips render first, inside their own render (the parser bounds the depth).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from ..options import EncodeSettings, RenderOptions
from ..timeline.model import Compound, FidelityNote, Media, Timeline

# Near-lossless and fast: the picture is encoded once more by the outer render.
INTERMEDIATE = EncodeSettings(crf=4, preset="ultrafast")
TAIL = 1_000_000  # µs of nested time rendered past the last one a segment reads


@contextmanager
def compounds_rendered(tl: Timeline, opts: RenderOptions) -> Iterator[tuple[Timeline, list[FidelityNote]]]:
    """The timeline with each compound clip replaced by a video of its nested timeline, and the
    notes those renders added; the videos are removed on exit."""
    used = compound_ends(tl, None if opts.end is None else round(opts.end * 1e6))
    if not used:
        yield tl, []
        return
    from .pipeline import render_timeline  # the pipeline imports this module

    notes: list[FidelityNote] = []
    with tempfile.TemporaryDirectory(prefix="draftrender-compound-") as folder:
        videos: dict[str, Media] = {}
        for n, (clip, end) in enumerate(used.values()):
            inner = replace(clip.timeline, duration=min(end, clip.timeline.duration))
            out = Path(folder) / f"compound-{n}.mp4"
            result = render_timeline(inner, out, opts.model_copy(update=dict(
                start=None, end=None, fps=None, progress=None, loudness=None, encode=INTERMEDIATE)))
            notes += [replace(note, feature=f"compound clip {clip.name}: {note.feature}")
                      for note in result.fidelity[len(inner.fidelity):]]
            videos[clip.id] = Media(clip.id, "video", clip.name, "", path=out, width=result.width,
                                    height=result.height, duration=round(result.duration * 1e6))
        yield with_media(tl, videos), notes


def compound_ends(tl: Timeline, until: int | None = None) -> dict[str, tuple[Compound, int]]:
    """Each compound clip, and how far into its nested timeline the segments read (µs) up to
    the output time `until`."""
    ends: dict[str, tuple[Compound, int]] = {}
    for seg in tl.segments:
        if isinstance(seg.material, Compound):
            start = seg.source.start if seg.source is not None else 0
            source = start + round(seg.target.duration * seg.speed)
            if until is not None and not seg.reverse and seg.speed_curve is None:
                source = min(source, start + max(1, round((until - seg.target.start) * seg.speed)))
            _, end = ends.get(seg.material.id, (seg.material, 0))
            ends[seg.material.id] = (seg.material, max(end, source))
    # A transition shows the outgoing clip past its end: keep a little more nested time.
    return {k: (c, max(1, min(end + TAIL, c.timeline.duration))) for k, (c, end) in ends.items()}


def with_media(tl: Timeline, videos: dict[str, Media]) -> Timeline:
    tracks = tuple(replace(t, segments=tuple(
        replace(s, material=videos[s.material.id]) if isinstance(s.material, Compound) else s
        for s in t.segments)) for t in tl.tracks)
    return replace(tl, tracks=tracks)
