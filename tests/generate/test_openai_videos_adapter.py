"""The OpenAI /v1/videos adapter against a fake written from the `openai` package's videos resource,
and the same fake speaking the two gateways that copy it (易尚云, 兆投算力's /v1/videos)."""

from __future__ import annotations

import asyncio

import openai
import pytest
from generation_clips import video_info
from generation_fakes import KEY, FakeVideos, Script, run, serve, squeeze

from draftrender.generate import GenerationRequest, JobDeadline, JobFailed, ProviderError
from draftrender.generate.providers import ProviderConfig, build
from draftrender.generate.runner import run_job


class FakeYisangyun(FakeVideos):
    dialect = "yisangyun"


class FakeZhaotouVideos(FakeVideos):
    dialect = "zhaotou"


WALK = ["queued", "in_progress", "in_progress", "completed"]
REQUEST = GenerationRequest(model="sora-2", prompt="A cat playing piano", seconds=4, size="1280x720",
                            images=("https://example.com/cat.jpg",))


def generate(tmp_path, fake, kind="openai", request=REQUEST, **config):
    server = serve(fake)
    try:
        return run(kind, server.url, request, tmp_path / "out.mp4", **config)
    finally:
        server.close()


@pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")
def test_the_fake_speaks_openai_to_the_official_client(tmp_path, result_video):
    """The fake is what the `openai` package expects, so the adapter is tested against the real shapes."""
    fake = FakeVideos(result_video, Script(WALK))
    fake.poll_after_ms = "1"
    server = serve(fake)
    try:
        client = openai.OpenAI(api_key=KEY, base_url=server.url + "/v1", max_retries=0)
        video = client.videos.create_and_poll(model="sora-2", prompt="A cat", seconds="4", size="1280x720")
        assert (video.status, video.progress) == ("completed", 100)
        client.videos.download_content(video.id, variant="video").write_to_file(tmp_path / "official.mp4")
    finally:
        server.close()
    assert fake.calls[0].body == {"prompt": "A cat", "model": "sora-2", "seconds": "4", "size": "1280x720"}
    assert video_info(tmp_path / "official.mp4")[:2] == (320, 180)


def test_walks_its_statuses_honours_poll_after_and_downloads_by_variant(tmp_path, result_video):
    fake = FakeVideos(result_video, Script(WALK))
    outcome = generate(tmp_path, fake)
    assert outcome.error is None
    assert squeeze(outcome.words) == ["queued", "in_progress", "completed"]
    assert squeeze(outcome.states) == ["queued", "in_progress", "completed"]
    assert outcome.polls[1:] == [0.25] * 3  # openai-poll-after-ms: 250, not the configured 0.01 s
    assert fake.calls[0].body == {"model": "sora-2", "prompt": "A cat playing piano", "seconds": "4",
                                  "size": "1280x720", "input_reference": {"image_url": "https://example.com/cat.jpg"}}
    last = fake.calls[-1]
    assert (last.path, last.query, last.auth) == (f"/v1/videos/{outcome.job.id}/content", {"variant": "video"},
                                                  f"Bearer {KEY}")
    assert video_info(tmp_path / "out.mp4")[:3] == (320, 180, pytest.approx(1.0, abs=0.05))


def test_a_file_reference_goes_as_multipart(tmp_path, result_video):
    image = tmp_path / "cat.png"
    image.write_bytes(b"\x89PNG fake image bytes")
    fake = FakeVideos(result_video, Script(WALK))
    outcome = generate(tmp_path, fake, request=REQUEST.model_copy(update={"images": (str(image),)}))
    assert outcome.error is None
    assert fake.calls[0].body == {"model": "sora-2", "prompt": "A cat playing piano", "seconds": "4",
                                  "size": "1280x720", "input_reference": ("cat.png", b"\x89PNG fake image bytes")}


def test_yisangyun_answers_task_id_processing_and_urls(tmp_path, result_video):
    fake = FakeYisangyun(result_video, Script(["queued", "processing", "completed"], expired_urls=1))
    outcome = generate(tmp_path, fake, kind="yisangyun")
    assert outcome.error is None
    assert squeeze(outcome.words) == ["queued", "processing", "completed"]
    assert squeeze(outcome.states) == ["queued", "in_progress", "completed"]
    assert fake.calls[0].body["input_reference"] == ["https://example.com/cat.jpg"]
    # The first result URL had expired: one more poll gave a fresh one.
    files = [c for c in fake.calls if c.path.startswith("/files/")]
    assert len(files) == 2 and all(c.auth is None for c in files)
    assert outcome.job.thumbnail_url.endswith(".jpg")
    assert video_info(tmp_path / "out.mp4")[0] == 320


def test_zhaotou_videos_answers_succeeded_and_serves_content(tmp_path, result_video):
    fake = FakeZhaotouVideos(result_video, Script(["queued", "in_progress", "succeeded"]))
    outcome = generate(tmp_path, fake)
    assert outcome.error is None
    assert squeeze(outcome.words) == ["queued", "in_progress", "succeeded"]
    assert squeeze(outcome.states) == ["queued", "in_progress", "completed"]
    assert fake.calls[-1].path == f"/v1/videos/{outcome.job.id}/content"


def test_429_with_retry_after_then_success(tmp_path, result_video):
    fake = FakeVideos(result_video, Script(WALK, throttled_submits=2, retry_after="3"))
    outcome = generate(tmp_path, fake)
    assert outcome.error is None and outcome.waits == [3.0, 3.0]
    assert len(fake.jobs) == 1


def test_a_500_while_polling_is_retried(tmp_path, result_video):
    fake = FakeVideos(result_video, Script(WALK, server_errors=1))
    outcome = generate(tmp_path, fake)
    assert outcome.error is None and len(outcome.waits) == 1
    assert sum(c.method == "POST" for c in fake.calls) == 1


def test_a_failed_job_carries_its_code_and_message(tmp_path, result_video):
    error = {"code": "moderation_blocked", "message": "Your request was blocked by our moderation system."}
    fake = FakeVideos(result_video, Script(["queued", "failed"], error=error))
    outcome = generate(tmp_path, fake)
    assert isinstance(outcome.error, JobFailed) and outcome.error.code == "moderation_blocked"
    assert str(outcome.error) == (f"openai job {next(iter(fake.jobs))} (sora-2) failed: Your request was blocked "
                                  f"by our moderation system. (moderation_blocked)")


def test_the_deadline_cancels_the_job(tmp_path, result_video):
    fake = FakeVideos(result_video, Script(["queued", "in_progress"]))
    fake.poll_after_ms = "20"
    outcome = generate(tmp_path, fake, deadline=0.3)
    assert isinstance(outcome.error, JobDeadline)
    assert "did not finish within 0.3 s (last status: in_progress, 50 %)" in str(outcome.error)
    assert fake.calls[-1].method == "DELETE"


def test_a_bad_key_is_refused_and_never_shown(tmp_path, result_video):
    fake = FakeVideos(result_video, Script(WALK))
    server = serve(fake)
    (tmp_path / "key.txt").write_text("sk-wrong-key\n")
    try:
        config = ProviderConfig(name="oa", kind="openai", base_url=server.url, key_file=str(tmp_path / "key.txt"))
        with pytest.raises(ProviderError) as caught:
            asyncio.run(run_job(build(config), REQUEST, tmp_path / "x.mp4", journal=tmp_path / "j.json"))
    finally:
        server.close()
    assert str(caught.value) == "oa: POST /v1/videos answered 401 invalid_api_key: Invalid API key provided"
    assert "sk-wrong-key" not in str(caught.value)
