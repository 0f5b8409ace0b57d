"""Helpers for generation tests: running a provider's job to the end, and reading clips back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
import numpy as np
from PIL import Image

from draftrender.generate import GenerationRequest, Job


def finish(provider, request: GenerationRequest) -> Job:
    """Submit and poll (every 50 ms) until the job is finished."""

    async def go() -> Job:
        job = await provider.submit(request)
        while not job.terminal:
            await asyncio.sleep(0.05)
            job = await provider.poll(job.id)
        return job

    return asyncio.run(go())


def video_info(path: Path) -> tuple[int, int, float, int]:
    """(width, height, duration in seconds, frames) of an MP4."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frames = sum(1 for _ in c.decode(s))
        return s.width, s.height, float(c.duration / 1e6), frames


def frames_at(path: Path, indices: list[int]) -> list[np.ndarray]:
    wanted, out = set(indices), {}
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i in wanted:
                out[i] = frame.to_ndarray(format="rgb24").astype(np.int16)
    return [out[i] for i in indices]


def noise_image(path: Path, size: tuple[int, int], seed: int = 0) -> Path:
    """A photo with detail everywhere and no black: a Ken Burns move shows in every part of it."""
    rng = np.random.default_rng(seed)
    small = rng.integers(60, 255, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    Image.fromarray(small).resize(size, Image.BILINEAR).save(path)
    return path
