"""The vibegen adapter against a fake vibegen written from vibegen-generations.md."""

from __future__ import annotations

import pytest
from generation_clips import video_info
from generation_fakes import WALK, FakeVibegen, Script, run, serve, squeeze

from draftrender.generate import GenerationRequest, InvalidGeneration, JobDeadline, JobFailed, ProviderError

REQUEST = GenerationRequest(model="seedance 2.0", prompt="雏菊花田", seconds=5, size="1280x720", audio=True,
                            images=("https://example.com/girl.png",), extra={"callback_url": "https://hook.example/v"})


def generate(tmp_path, video, script, request=REQUEST, **config):
    fake = FakeVibegen(video, script)
    server = serve(fake)
    try:
        return fake, run("vibegen", server.url + "/api/v1", request, tmp_path / "out.mp4", **config)
    finally:
        server.close()


def test_walks_its_statuses_and_downloads_the_clip(tmp_path, result_video):
    fake, outcome = generate(tmp_path, result_video, Script(WALK))
    assert outcome.error is None
    assert squeeze(outcome.words) == ["pending", "processing", "completed"]
    assert squeeze(outcome.states) == ["queued", "in_progress", "completed"]
    assert video_info(tmp_path / "out.mp4")[:3] == (320, 180, pytest.approx(1.0, abs=0.05))
    create = fake.calls[0]
    assert (create.method, create.path, create.auth) == ("POST", "/api/v1/generations", "Bearer sk-test-0123456789")
    assert create.body == {"model": "seedance 2.0", "prompt": "雏菊花田", "generate_audio": True,
                           "image_urls": ["https://example.com/girl.png"], "duration": 5, "aspect_ratio": "16:9",
                           "resolution": "720p", "callback_url": "https://hook.example/v"}
    job_id = outcome.job.id
    assert [c.path for c in fake.calls[1:]] == [f"/api/v1/tasks/{job_id}"] * 4 + [f"/files/{job_id}.mp4"]
    assert fake.calls[-1].auth is None  # the key stays with the API, not the file host
    assert not (tmp_path / "out.job.json").exists()


def test_429_with_retry_after_then_success(tmp_path, result_video):
    fake, outcome = generate(tmp_path, result_video, Script(WALK, throttled_submits=1, retry_after="7"))
    assert outcome.error is None
    assert outcome.waits == [7.0]
    assert [c.path for c in fake.calls[:2]] == ["/api/v1/generations"] * 2
    assert len(fake.jobs) == 1


def test_a_502_while_polling_is_retried(tmp_path, result_video):
    fake, outcome = generate(tmp_path, result_video, Script(WALK, server_errors=1))
    assert outcome.error is None and len(outcome.waits) == 1 and outcome.waits[0] <= 0.05
    assert squeeze(outcome.states) == ["queued", "in_progress", "completed"]


def test_a_failed_job_says_why(tmp_path, result_video):
    fake, outcome = generate(tmp_path, result_video, Script(["pending", "failed"], error="Content policy violation"))
    assert isinstance(outcome.error, JobFailed)
    assert str(outcome.error) == f"vibegen job {next(iter(fake.jobs))} (seedance 2.0) failed: Content policy violation"
    assert outcome.states[-1] == "failed"
    assert not (tmp_path / "out.mp4").exists()


def test_a_job_that_never_finishes_hits_the_deadline(tmp_path, result_video):
    fake, outcome = generate(tmp_path, result_video, Script(["pending", "processing"]), deadline=0.3)
    assert isinstance(outcome.error, JobDeadline)
    assert "did not finish within 0.3 s (last status: processing, 0 %)" in str(outcome.error)
    assert fake.calls[0].path == "/api/v1/generations" and sum(c.method == "POST" for c in fake.calls) == 1


def test_an_expired_result_url_is_fetched_afresh(tmp_path, result_video):
    fake, outcome = generate(tmp_path, result_video, Script(WALK, expired_urls=1))
    assert outcome.error is None
    files = [c for c in fake.calls if c.path.startswith("/files/")]
    assert len(files) == 2 and files[0].query["token"] != files[1].query["token"]
    assert fake.calls[-2].path.startswith("/api/v1/tasks/")  # the poll for a fresh URL came between
    assert video_info(tmp_path / "out.mp4")[0] == 320


def test_its_error_codes_reach_the_user(tmp_path, result_video):
    _, outcome = generate(tmp_path, result_video, Script(WALK),
                          request=REQUEST.model_copy(update={"prompt": ""}))
    assert isinstance(outcome.error, ProviderError) and outcome.error.http_status == 400
    assert str(outcome.error) == ("vibegen: POST /api/v1/generations answered 400 INVALID_PARAMETER: "
                                  "Missing required parameters: model, prompt")


def test_a_file_image_is_refused_before_any_call(tmp_path, result_video):
    fake, outcome = generate(tmp_path, result_video, Script(WALK),
                             request=REQUEST.model_copy(update={"images": (str(result_video),)}))
    assert isinstance(outcome.error, InvalidGeneration) and "vibegen takes image URLs only" in str(outcome.error)
    assert fake.calls == []


def test_a_journaled_job_is_resumed_not_submitted_again(tmp_path, result_video):
    """A process that died after submitting left the job id in the journal: the next run polls it."""
    from draftrender.generate import Job
    from draftrender.generate.runner import write_journal

    fake = FakeVibegen(result_video, Script(WALK))
    earlier = fake.new_job("seedance 2.0", {"prompt": REQUEST.prompt})
    write_journal(tmp_path / "out.job.json", REQUEST, Job(id=earlier.id, provider="vibegen", model="seedance 2.0"))
    server = serve(fake)
    try:
        outcome = run("vibegen", server.url, REQUEST, tmp_path / "out.mp4")
    finally:
        server.close()
    assert outcome.error is None and outcome.job.id == earlier.id
    assert [c.method for c in fake.calls].count("POST") == 0
    assert video_info(tmp_path / "out.mp4")[0] == 320
