"""Generating a clip from synchronous code, cached by the request: what the CLI and drafts call.

Owns: the clip cache (<cache dir>/generated/clips/<provider>-<request hash>.mp4, with the
job's journal beside it while it runs), and choosing the provider for a model.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..assets.fetch import default_cache_dir
from ..http import run_sync
from .base import GenerationRequest, Job
from .providers import ProviderConfig, build, config_for, load_configs
from .runner import run_job


@dataclass(frozen=True)
class Clip:
    path: Path  # the video in the cache
    thumbnail: Path | None
    request: GenerationRequest  # with the provider's defaults applied
    provider: str
    cached: bool  # True: no provider was called


def clip_path(cache_dir: Path, provider: str, request: GenerationRequest) -> Path:
    return Path(cache_dir) / "generated" / "clips" / f"{provider}-{request.digest()[:32]}.mp4"


def generate_clip(request: GenerationRequest, *, configs: list[ProviderConfig] | None = None,
                  cache_dir: Path | None = None, on_update: Callable[[Job], None] = lambda job: None) -> Clip:
    """The clip for `request`: from the cache, else from its model's provider (then cached)."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    config = config_for(request.model, configs if configs is not None else load_configs())
    request = config.with_defaults(request)
    path = clip_path(cache, config.name, request)
    thumbnail = path.with_name(f"{path.stem}.thumbnail.jpg")
    if path.exists():
        return Clip(path, thumbnail if thumbnail.exists() else None, request, config.name, cached=True)
    provider = build(config, cache)
    run_sync(lambda: run_job(provider, request, path, journal=path.with_suffix(".job.json"),
                             timing=config.timing(), on_update=on_update, extras=("thumbnail",)))
    return Clip(path, thumbnail if thumbnail.exists() else None, request, config.name, cached=False)


def save_clip(clip: Clip, output: Path) -> Path:
    """Copy a cached clip to `output` (which appears only when complete)."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    part = output.with_name(f".{output.name}.part")
    shutil.copyfile(clip.path, part)
    part.replace(output)
    return output
