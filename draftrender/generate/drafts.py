"""Drafts that generate their own clips: materials carrying a generation request.

Owns: turning each such material into a file before the render fetches media (the clip, from
the cache or its provider; for a photo material, the clip's middle frame), and what a failed
generation becomes (an error naming the material, or a placeholder the fidelity report names).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import av
from PIL import Image
from pydantic import ValidationError

from ..assets.fetch import default_cache_dir
from ..errors import MalformedDraft
from ..timeline.model import FidelityNote, Media, Timeline
from ..timeline.parse import GENERATION_FIELD
from .base import GenerationError, GenerationRequest
from .clips import generate_clip
from .providers import load_configs

PLACEHOLDER_GREY = (96, 96, 96)


def request_of(media: Media, origin: str) -> GenerationRequest:
    try:
        return GenerationRequest.model_validate(json.loads(media.generation or "{}"))
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "request"
        raise MalformedDraft(f"{origin}: material {media.name or media.id} {GENERATION_FIELD}.{field}: "
                             f"{first['msg']}") from None


def with_generated_clips(tl: Timeline, *, cache_dir: Path | None, providers: Path | None, placeholders: bool,
                         progress: Callable[[int, int], None] = lambda done, total: None) -> Timeline:
    """The timeline with every generating material pointing at its generated file."""
    generating = {m.id: m for m in tl.media() if m.generation is not None}
    if not generating:
        return tl
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    requests = {mid: request_of(m, tl.origin) for mid, m in generating.items()}  # every bad request first
    configs = load_configs(providers)
    done: dict[str, Media] = {}
    notes: list[FidelityNote] = []
    for n, (mid, m) in enumerate(generating.items()):
        progress(n, len(generating))
        try:
            clip = generate_clip(requests[mid], configs=configs, cache_dir=cache).path
            done[mid] = replace(m, path=clip if m.kind == "video" else middle_frame(clip), generation=None)
        except GenerationError as e:
            what = f"material {m.name or m.id} ({requests[mid].model})"
            if not placeholders:
                raise type(e)(f"{tl.origin}: {what}: its clip could not be generated: {e}", code=e.code,
                              http_status=e.http_status) from None
            done[mid] = replace(m, kind="photo", path=placeholder(cache, tl.canvas.width, tl.canvas.height),
                                generation=None)
            notes.append(FidelityNote(None, None, f"generated {what}", "approximated",
                                      f"generation failed, a grey placeholder is shown: {e}"))
    progress(len(generating), len(generating))
    return replace(tl.with_media(done), fidelity=tl.fidelity + tuple(notes))


def middle_frame(clip: Path) -> Path:
    """A photo material's picture: the generated clip's middle frame, as PNG beside the clip."""
    still = clip.with_name(f"{clip.stem}.still.png")
    if still.exists():
        return still
    with av.open(str(clip)) as container:
        middle = (container.duration or 0) / 2 / av.time_base  # seconds
        frame = None
        for frame in container.decode(video=0):  # one frame held at a time, whatever the length
            if frame.time is not None and frame.time >= middle:
                break
    if frame is None:
        raise GenerationError(f"the generated clip {clip.name} has no picture", code="empty_clip")
    part = still.with_name(f".{still.name}.part")
    frame.to_image().save(part, format="PNG")
    part.replace(still)
    return still


def placeholder(cache: Path, width: int, height: int) -> Path:
    path = cache / "generated" / f"placeholder-{width}x{height}.png"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f".{path.name}.part")
        Image.new("RGB", (width, height), PLACEHOLDER_GREY).save(part, format="PNG")
        part.replace(path)
    return path
