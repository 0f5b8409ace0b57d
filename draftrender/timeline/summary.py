"""A plain-data description of a timeline, for `inspect --json` and the service."""

from __future__ import annotations

from fractions import Fraction

from .model import Media, NamedEffect, SolidColor, Sticker, Text, Timeline


def fps_value(fps: Fraction) -> int | float:
    return int(fps) if fps.denominator == 1 else round(float(fps), 3)


def describe(tl: Timeline) -> dict:
    return {
        "name": tl.name,
        "origin": tl.origin,
        "canvas": {"width": tl.canvas.width, "height": tl.canvas.height},
        "fps": fps_value(tl.fps),
        "duration_us": tl.duration,
        "tracks": [
            {
                "index": t.index,
                "type": t.type,
                "name": t.name,
                "muted": t.muted,
                "hidden": t.hidden,
                "segments": [describe_segment(s) for s in t.segments],
            }
            for t in tl.tracks
        ],
        "materials": [
            {"id": m.id, "kind": m.kind, "name": m.name, "location": m.location, "missing": m.missing,
             "looked_in": list(m.looked_in)}
            for m in tl.media()
        ],
        "fidelity": [n.to_json() for n in tl.fidelity],
    }


def describe_segment(s) -> dict:
    out: dict = {"index": s.index, "start_us": s.target.start, "duration_us": s.target.duration}
    m = s.material
    if isinstance(m, Media):
        out["material_kind"] = m.kind
        out["material_path"] = m.location
        if s.source is not None:
            out["source_start_us"] = s.source.start
            out["source_duration_us"] = s.source.duration
    elif isinstance(m, Text):
        out["material_kind"] = "text"
        out["text"] = m.text
    elif isinstance(m, NamedEffect):
        out["material_kind"] = m.kind
        out["effect"] = m.name
    elif isinstance(m, SolidColor):
        out["material_kind"] = "color"
    elif isinstance(m, Sticker):
        out["material_kind"] = "sticker"
    if s.speed != 1.0 or s.speed_curve:
        out["speed"] = s.speed
    if s.reverse:
        out["reverse"] = True
    if s.volume != 1.0:
        out["volume"] = s.volume
    if s.keyframes:
        out["keyframes"] = [k.property for k in s.keyframes]
    if s.transition:
        out["transition"] = {"name": s.transition.effect.name, "duration_us": s.transition.duration}
    if s.animations:
        out["animations"] = [{"name": a.effect.name, "type": a.type, "duration_us": a.duration} for a in s.animations]
    return out
