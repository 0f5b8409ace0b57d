"""The 兆投算力 adapter against a fake gateway written from zhaotou-gateway.md."""

from __future__ import annotations

import pytest
from aiohttp import web
from generation_clips import video_info
from generation_fakes import FakeApi, Script, run, serve, squeeze

from draftrender.generate import GenerationRequest, JobDeadline, JobFailed, ProviderError
from draftrender.generate.zhaotou import metadata


class FakeZhaotou(FakeApi):
    """POST /v1/video/generations → {task_id}; GET /v1/video/generations/{task_id} → {status, url, error};
    GET /v1/videos/{id}/content. Errors as the gateway's OpenAI-style {"error": {message, type, code}}."""

    with_url = True  # False: a finished task has no url, the file comes from /v1/videos/{id}/content

    def error(self, status: int, code: str, message: str) -> web.Response:
        return web.json_response({"error": {"message": message, "type": "new_api_error", "code": code}}, status=status)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/video/generations", self.create)
        app.router.add_get("/v1/video/generations/{id}", self.task)
        app.router.add_get("/v1/videos/{id}/content", self.content)
        return app

    async def create(self, request: web.Request) -> web.Response:
        body = await self.record(request)
        if not self.authorised(request):
            return self.error(401, "invalid_api_key", "无效的令牌")
        if (throttled := self.throttled()) is not None:
            return throttled
        job = self.new_job(body["model"], body)
        return web.json_response({"task_id": job.id, "status": "submitted"})

    async def task(self, request: web.Request) -> web.Response:
        await self.record(request)
        job = self.jobs.get(request.match_info["id"])
        if job is None:
            return self.error(404, "task_not_found", "task_not_exist")
        status = self.step(job)
        if status is None:
            return self.error(503, "upstream_error", "上游负载已饱和,请稍后再试")
        body = {"task_id": job.id, "status": status, "model": job.model}
        if status == "succeeded" and self.with_url:
            body["url"] = self.result_url(job)
        if status == "failed":
            body["error"] = self.script.error
        return web.json_response(body)

    async def content(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.Response(body=self.video.read_bytes(), content_type="video/mp4")


# "rendering" is no word of the table: it stays non-terminal (the last known state) and is logged once.
WALK = ["submitted", "in_queue", "rendering", "running", "succeeded"]
KLING = GenerationRequest(model="kling-v2-master", prompt="猫咪慢慢睁开眼睛", seconds=5, size="1920x1080", seed=54321,
                          negative_prompt="快速动作", images=("https://example.com/cat.jpg",),
                          extra={"cfg_scale": 0.8, "camera_control": {"type": "simple", "config": {"zoom": 0.5}}})


def generate(tmp_path, fake, request=KLING, **config):
    server = serve(fake)
    try:
        return run("zhaotou", server.url, request, tmp_path / "out.mp4", **config)
    finally:
        server.close()


def test_walks_its_statuses_and_downloads_the_url(tmp_path, result_video, caplog):
    fake = FakeZhaotou(result_video, Script(WALK))
    outcome = generate(tmp_path, fake)
    assert outcome.error is None
    assert squeeze(list(zip(outcome.words, outcome.states, strict=True))) == [
        ("submitted", "queued"), ("in_queue", "queued"), ("rendering", "queued"), ("running", "in_progress"),
        ("succeeded", "completed")]
    assert "unknown generation status 'rendering': treated as not finished" in caplog.text
    assert fake.calls[0].body == {
        "model": "kling-v2-master", "prompt": "猫咪慢慢睁开眼睛", "image": "https://example.com/cat.jpg",
        "duration": 5, "size": "1920x1080",
        "metadata": {"seed": 54321, "negative_prompt": "快速动作", "cfg_scale": 0.8,
                     "camera_control": {"type": "simple", "config": {"zoom": 0.5}}}}
    assert fake.calls[-1].path == f"/files/{outcome.job.id}.mp4" and fake.calls[-1].auth is None
    assert video_info(tmp_path / "out.mp4")[:3] == (320, 180, pytest.approx(1.0, abs=0.05))


def test_without_a_url_the_file_comes_from_content(tmp_path, result_video):
    fake = FakeZhaotou(result_video, Script(["submitted", "succeed"]))
    fake.with_url = False
    outcome = generate(tmp_path, fake)
    assert outcome.error is None and outcome.states[-1] == "completed"
    assert fake.calls[-1].path == f"/v1/videos/{outcome.job.id}/content" and fake.calls[-1].auth is not None


def test_metadata_per_family():
    jimeng = GenerationRequest(model="jimeng_vgfm_i2v_l20", prompt="云朵", size="1280x720",
                               images=("https://example.com/l.jpg",))
    assert metadata(jimeng) == {"req_key": "jimeng_vgfm_i2v_l20", "aspect_ratio": "16:9",
                                "image_urls": ["https://example.com/l.jpg"]}
    vidu = GenerationRequest(model="viduq1", prompt="夜景", size="1920x1080", audio=True, seed=0,
                             extra={"movement_amplitude": "medium", "callback_url": "https://cb.example/h"})
    assert metadata(vidu) == {"resolution": "1080p", "bgm": True, "seed": 0, "movement_amplitude": "medium",
                              "callback_url": "https://cb.example/h"}


def test_429_with_retry_after_then_success(tmp_path, result_video):
    fake = FakeZhaotou(result_video, Script(WALK, throttled_submits=1, retry_after="2"))
    outcome = generate(tmp_path, fake)
    assert outcome.error is None and outcome.waits == [2.0] and len(fake.jobs) == 1


def test_a_503_while_polling_is_retried(tmp_path, result_video):
    fake = FakeZhaotou(result_video, Script(WALK, server_errors=1))
    outcome = generate(tmp_path, fake)
    assert outcome.error is None and len(outcome.waits) == 1


def test_a_failed_task_says_why(tmp_path, result_video):
    fake = FakeZhaotou(result_video, Script(["submitted", "failed"], error={"message": "图片内容违规", "code": "risk"}))
    outcome = generate(tmp_path, fake)
    assert isinstance(outcome.error, JobFailed)
    assert str(outcome.error) == f"zhaotou job {next(iter(fake.jobs))} (kling-v2-master) failed: 图片内容违规 (risk)"


def test_a_task_that_never_finishes_hits_the_deadline(tmp_path, result_video):
    fake = FakeZhaotou(result_video, Script(["submitted", "running"]))
    outcome = generate(tmp_path, fake, deadline=0.3)
    assert isinstance(outcome.error, JobDeadline)
    assert "did not finish within 0.3 s (last status: running, 0 %)" in str(outcome.error)


def test_a_url_that_stays_expired_is_an_error_that_says_so(tmp_path, result_video):
    fake = FakeZhaotou(result_video, Script(WALK, expired_urls=5))
    outcome = generate(tmp_path, fake)
    assert isinstance(outcome.error, ProviderError) and outcome.error.code == "result_expired"
    assert "the result could not be downloaded, its URL has expired" in str(outcome.error)
    assert "token=" not in str(outcome.error)  # signed URLs' secrets stay out of messages
    assert not (tmp_path / "out.mp4").exists()
