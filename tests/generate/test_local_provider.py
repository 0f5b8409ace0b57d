"""The local provider: real clips from draftrender's own engine, byte-identical for the same request."""

from __future__ import annotations

import asyncio
import hashlib

import numpy as np
import pytest
from generation_clips import finish, frames_at, noise_image, video_info
from PIL import Image

from draftrender.generate import GenerationRequest, InvalidGeneration, JobStatus, UnknownModel
from draftrender.generate.local import FILES, LocalProvider, canvas_for


def digests(folder) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in FILES.values()}


@pytest.fixture(scope="module")
def title(tmp_path_factory):
    """The same title request made by two providers in two folders, and one with another prompt."""
    root = tmp_path_factory.mktemp("title")
    request = GenerationRequest(model="local-title", prompt="你好 🎬 Hi", seconds=1.0, size="320x180", seed=5)
    a, b = LocalProvider(root / "a"), LocalProvider(root / "b")
    job_a, job_b = finish(a, request), finish(b, request)
    other = finish(a, request.model_copy(update={"prompt": "."}))
    return a, b, job_a, job_b, other


def test_title_clip_has_the_asked_size_length_and_previews(title):
    a, _, job, _, _ = title
    assert job.status is JobStatus.COMPLETED and job.progress == 100
    folder = a.workdir / job.id
    width, height, duration, frames = video_info(folder / "video.mp4")
    assert (width, height, frames) == (320, 180, 30)
    assert duration == pytest.approx(1.0, abs=0.05)
    assert Image.open(folder / "thumbnail.jpg").size == (320, 180)
    assert Image.open(folder / "spritesheet.jpg").size == (5 * 160, 2 * 90)


def test_same_request_and_seed_give_identical_files(title):
    a, b, job_a, job_b, _ = title
    assert job_a.id == job_b.id
    assert digests(a.workdir / job_a.id) == digests(b.workdir / job_b.id)


def test_title_ink_is_in_the_middle_only(title):
    """Two prompts over the same seeded gradient: they differ where the title is, not at the edges."""
    a, _, job, _, other = title
    last = [frames_at(a.workdir / j.id / "video.mp4", [29])[0] for j in (job, other)]
    diff = np.abs(last[0] - last[1]).max(axis=2)
    assert diff[70:110, 100:220].max() > 120  # white glyphs over a mid-tone gradient
    assert (diff[70:110, 100:220] > 60).sum() > 300
    assert diff[:30].max() < 16 and diff[-30:].max() < 16


def test_ken_burns_moves_and_keeps_the_frame_covered(tmp_path):
    photo = noise_image(tmp_path / "photo.png", (400, 300))
    provider = LocalProvider(tmp_path / "work")
    job = finish(provider, GenerationRequest(model="local-kenburns", images=(str(photo),), seconds=1.0,
                                             size="320x180", seed=3))
    assert job.status is JobStatus.COMPLETED, job.error_message
    first, middle, last = frames_at(provider.workdir / job.id / "video.mp4", [0, 15, 29])
    assert np.abs(first - last).mean() > 20  # the picture moved
    assert np.abs(first - middle).mean() > 10
    for frame in (first, middle, last):  # no bars: the photo covers every edge
        assert frame[:2].mean() > 50 and frame[-2:].mean() > 50
        assert frame[:, :2].mean() > 50 and frame[:, -2:].mean() > 50


def test_a_new_seed_is_a_new_move(tmp_path):
    photo = noise_image(tmp_path / "photo.png", (400, 300))
    provider = LocalProvider(tmp_path / "work")
    jobs = [finish(provider, GenerationRequest(model="local-kenburns", images=(str(photo),), seconds=0.5,
                                               size="160x90", seed=s)) for s in (1, 2)]
    assert jobs[0].id != jobs[1].id
    ends = [frames_at(provider.workdir / j.id / "video.mp4", [14])[0] for j in jobs]
    assert np.abs(ends[0] - ends[1]).mean() > 10


def test_size_from_resolution_and_aspect_ratio():
    assert canvas_for(GenerationRequest(model="local-title", resolution="480p", aspect_ratio="9:16")) == (480, 852)
    assert canvas_for(GenerationRequest(model="local-title")) == (1280, 720)
    with pytest.raises(InvalidGeneration, match="resolution '4k' is not one of"):
        canvas_for(GenerationRequest(model="local-title", resolution="4k"))


@pytest.mark.parametrize("request_, error, message", [
    (GenerationRequest(model="local-kenburns"), InvalidGeneration, "local-kenburns needs at least one image"),
    (GenerationRequest(model="local-title", prompt=" "), InvalidGeneration, "local-title needs a prompt"),
    (GenerationRequest(model="local-kenburns", images=("nope.png",)), InvalidGeneration,
     "image nope.png does not exist"),
    (GenerationRequest(model="local-foo"), UnknownModel, "the local provider has no model 'local-foo'"),
])
def test_bad_requests_are_refused_at_submit(tmp_path, request_, error, message):
    with pytest.raises(error, match=message):
        asyncio.run(LocalProvider(tmp_path).submit(request_))
    assert not list(tmp_path.iterdir())


def test_a_job_left_by_a_dead_process_is_finished_by_the_next(tmp_path):
    request = GenerationRequest(model="local-title", prompt="again", seconds=0.5, size="160x90")
    folder = tmp_path / ("local-" + request.digest()[:32])
    folder.mkdir()
    (folder / "request.json").write_text(request.model_dump_json())  # what submit wrote before the crash
    provider = LocalProvider(tmp_path)

    async def poll_to_end():
        job = await provider.poll(folder.name)
        while not job.terminal:
            await asyncio.sleep(0.05)
            job = await provider.poll(folder.name)
        return job

    assert asyncio.run(poll_to_end()).status is JobStatus.COMPLETED
    assert video_info(folder / "video.mp4")[:2] == (160, 90)


def test_cancel_fails_the_job(tmp_path):
    provider = LocalProvider(tmp_path)

    async def go():
        job = await provider.submit(GenerationRequest(model="local-title", prompt="long", seconds=60, size="64x36"))
        await provider.cancel(job.id)
        while not job.terminal:
            await asyncio.sleep(0.05)
            job = await provider.poll(job.id)
        return job

    job = asyncio.run(go())
    assert (job.status, job.error_code) == (JobStatus.FAILED, "cancelled")
    assert not (tmp_path / job.id / "video.mp4").exists()
