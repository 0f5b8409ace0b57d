"""The local provider's clips as small drafts: a Ken Burns move over photos, a title over a gradient.

Pure functions from a request (and its seed) to draft JSON that draftrender's own engine
renders; nothing here draws pixels except the gradient background image.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

SEC = 1_000_000
FPS = 30
ZOOM = (1.0, 1.25)  # the Ken Burns move zooms between these, over the photo's cover size
PAN = 0.8  # and pans over at most this share of the room the zoom leaves at each end
GRADIENT_OVERSIZE = 1.5  # the title's gradient is this much bigger than the canvas, to move over
TITLE_FADE = 0.6  # seconds the title takes to fade in
TITLE_GROW = (0.9, 1.0)  # the title's scale, from start to end


@dataclass(frozen=True)
class Move:
    """A straight move from one framing to another: uniform scale and centre in half-canvas units."""

    scale: tuple[float, float]
    x: tuple[float, float]
    y: tuple[float, float]


def ken_burns_move(rng: random.Random, picture: tuple[int, int], canvas: tuple[int, int]) -> Move:
    """A seeded zoom (in or out) and pan that keeps the canvas covered the whole time.

    Scale 1 fits the picture inside the canvas (the editor's rule); `cover` fills it. The
    room to pan is linear in the scale, so ends inside it keep every frame between covered.
    """
    (pw, ph), (cw, ch) = picture, canvas
    fit = min(cw / pw, ch / ph)
    cover = max(cw / pw, ch / ph) / fit
    zooms = [cover * z for z in ZOOM]
    if rng.random() < 0.5:
        zooms.reverse()

    def room(scale: float) -> tuple[float, float]:
        return (pw * fit * scale - cw) / cw, (ph * fit * scale - ch) / ch

    ends = [room(s) for s in zooms]
    xs = tuple(rng.uniform(-1, 1) * PAN * r[0] for r in ends)
    ys = tuple(rng.uniform(-1, 1) * PAN * r[1] for r in ends)
    return Move((zooms[0], zooms[1]), (xs[0], xs[1]), (ys[0], ys[1]))


def gradient(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A seeded two-colour diagonal gradient with a soft light spot."""
    w, h = size
    a, b = (np.array([rng.randint(20, 235) for _ in range(3)], np.float32) for _ in range(2))
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u = (xx / w - 0.5) * np.cos(angle) + (yy / h - 0.5) * np.sin(angle) + 0.5
    rgb = a + np.clip(u, 0, 1)[..., None] * (b - a)
    sx, sy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    spot = np.exp(-(((xx - sx) / (0.35 * w)) ** 2 + ((yy - sy) / (0.35 * h)) ** 2))
    rgb += spot[..., None] * 60
    return Image.fromarray(np.clip(rgb + 0.5, 0, 255).astype(np.uint8))


# ---------------------------------------------------------------- draft JSON


def _keyframes(prop: str, values: tuple[float, ...], times: tuple[int, ...]) -> dict:
    return {"property_type": prop, "keyframe_list": [
        {"time_offset": t, "values": [v], "curveType": "Line"} for t, v in zip(times, values, strict=True)]}


def _move_keyframes(move: Move, duration: int) -> list[dict]:
    times = (0, duration)
    return [_keyframes("KFTypeScaleX", move.scale, times), _keyframes("KFTypeScaleY", move.scale, times),
            _keyframes("KFTypePositionX", move.x, times), _keyframes("KFTypePositionY", move.y, times)]


def _segment(sid: str, material: str, start: int, duration: int, keyframes: list[dict]) -> dict:
    return {"id": sid, "material_id": material, "target_timerange": {"start": start, "duration": duration},
            "source_timerange": {"start": 0, "duration": duration}, "common_keyframes": keyframes,
            "uniform_scale": {"on": True}}


def _photo(mid: str, path: Path, size: tuple[int, int], duration: int) -> dict:
    return {"id": mid, "type": "photo", "path": str(path), "width": size[0], "height": size[1],
            "duration": duration, "material_name": path.name}


def _draft(canvas: tuple[int, int], duration: int, videos: list[dict], texts: list[dict],
           tracks: list[dict]) -> dict:
    w, h = canvas
    return {"canvas_config": {"width": w, "height": h, "ratio": "original"}, "fps": FPS, "duration": duration,
            "materials": {"videos": videos, "texts": texts}, "tracks": tracks}


def ken_burns_draft(photos: list[tuple[Path, tuple[int, int]]], canvas: tuple[int, int], seconds: float,
                    seed: int) -> dict:
    """Each photo in turn for an equal share of the clip, each with its own seeded move."""
    rng = random.Random(seed)
    total = round(seconds * SEC)
    bounds = [round(total * i / len(photos)) for i in range(len(photos) + 1)]
    videos, segments = [], []
    for i, (path, size) in enumerate(photos):
        start, duration = bounds[i], bounds[i + 1] - bounds[i]
        videos.append(_photo(f"photo{i}", path, size, duration))
        segments.append(_segment(f"seg{i}", f"photo{i}", start, duration,
                                 _move_keyframes(ken_burns_move(rng, size, canvas), duration)))
    return _draft(canvas, total, videos, [], [{"id": "photos", "type": "video", "segments": segments}])


def title_size(prompt: str) -> float:
    """The editor's font size for the title: big for a few words, smaller as it grows."""
    return max(4.0, min(12.0, 12.0 * (14 / max(len(prompt), 1)) ** 0.5))


def title_draft(prompt: str, background: Path, canvas: tuple[int, int], seconds: float, seed: int) -> dict:
    """The prompt, fading in and growing slowly, over a gradient that drifts (`background`,
    made by `gradient` with the same seed's generator)."""
    rng = random.Random(seed)
    total = round(seconds * SEC)
    bg_size = Image.open(background).size
    move = ken_burns_move(rng, bg_size, canvas)
    style = {"fill": {"content": {"solid": {"color": [1.0, 1.0, 1.0]}}}, "size": title_size(prompt), "bold": True,
             "strokes": [{"content": {"solid": {"color": [0.0, 0.0, 0.0], "alpha": 0.6}}, "width": 0.06}]}
    text = {"id": "title", "type": "text", "content": json.dumps({"text": prompt, "styles": [style]}),
            "alignment": 1, "force_apply_line_max_width": True, "line_max_width": 0.82}
    fade = min(round(TITLE_FADE * SEC), total)
    title_keyframes = [_keyframes("KFTypeAlpha", (0.0, 1.0), (0, fade)),
                       _keyframes("KFTypeScaleX", TITLE_GROW, (0, total)),
                       _keyframes("KFTypeScaleY", TITLE_GROW, (0, total))]
    tracks = [
        {"id": "background", "type": "video", "segments": [
            _segment("bg", "gradient", 0, total, _move_keyframes(move, total))]},
        {"id": "title", "type": "text", "segments": [_segment("title", "title", 0, total, title_keyframes)]},
    ]
    return _draft(canvas, total, [_photo("gradient", background, bg_size, total)], [text], tracks)


def background_size(canvas: tuple[int, int]) -> tuple[int, int]:
    return round(canvas[0] * GRADIENT_OVERSIZE), round(canvas[1] * GRADIENT_OVERSIZE)
