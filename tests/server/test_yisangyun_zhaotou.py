"""易尚云 and 兆投算力 as their documents' clients call them, with plain HTTP, against the
local provider: request and response fields, status words, downloads, seeds that reach the
provider through either API, and each one's error bodies."""

from __future__ import annotations

import time

import pytest

from draftrender.server.apis import ACCOUNTS

KEY = "sk-your-api-key"


@pytest.fixture
def service(tmp_path, start_service):
    providers = tmp_path / "providers.toml"  # local-title priced, so a key can run short of credits
    providers.write_text('[[price]]\nmodel = "local-*"\ncredits = 10\n', encoding="utf-8")
    return start_service(api_keys=frozenset({KEY}), providers_file=providers)


def call(service, method: str, path: str, body=None, key: str = KEY):
    return service.call(method, path, body, headers={"Authorization": f"Bearer {key}"})


def poll(service, path: str, done, timeout: float = 60) -> dict:
    end = time.monotonic() + timeout
    while True:
        reply = call(service, "GET", path)
        assert reply.status == 200, reply.body
        if done(reply.json):
            return reply.json
        assert time.monotonic() < end, reply.json
        time.sleep(0.1)


def test_yisangyun_submit_poll_and_fields(service):
    submitted = call(service, "POST", "/v1/videos", {"model": "local-title", "prompt": "A cat playing piano",
                                                     "size": "320x180", "seconds": "1"})
    assert submitted.status == 200, submitted.body
    body = submitted.json
    assert body["status"] == "queued" and body["message"] == "视频生成任务已提交,正在处理中"
    task = poll(service, f"/v1/videos/{body['task_id']}", lambda t: t["status"] in ("completed", "failed"))
    assert task["status"] == "completed" and task["progress"] == 100
    assert (task["width"], task["height"], task["seconds"]) == (320, 180, "1")
    assert task["video_url"].endswith(".mp4") and task["thumbnail_url"].endswith(".jpg")
    video = service.download(task["video_url"])
    assert video.status == 200 and len(video.body) == task["file_size"]
    assert service.download(task["thumbnail_url"]).body[:2] == b"\xff\xd8"  # a JPEG
    assert task["completed_at"] >= task["created_at"]


def test_yisangyun_error_bodies(service):
    def error(reply, status: int, kind: str, code: str) -> str:
        assert reply.status == status, reply.body
        assert (reply.json["error"]["type"], reply.json["error"]["code"]) == (kind, code)
        return reply.json["error"]["message"]

    assert error(call(service, "POST", "/v1/videos", {"model": "local-title"}), 400, "invalid_request_error",
                 "missing_parameter") == "prompt field is required"
    assert "Invalid API key" in error(call(service, "GET", "/v1/videos/task_1", key="sk-nope"), 401,
                                      "authentication_error", "invalid_api_key")
    error(call(service, "GET", "/v1/videos/task_123456789"), 404, "not_found_error", "task_not_found")
    poor, _ = service.on_loop(lambda: service.app[ACCOUNTS].create_key(credits=5))
    assert "Required: 10, Available: 5" in error(
        call(service, "POST", "/v1/videos", {"model": "local-title", "prompt": "x", "size": "320x180", "seconds": "1"},
             key=poor), 403, "permission_error", "insufficient_quota")


def test_zhaotou_generations_succeed_with_url_and_content(service):
    created = call(service, "POST", "/v1/video/generations", {
        "model": "local-title", "prompt": "一只橘猫在阳光下打盹", "size": "320x180", "duration": 1,
        "metadata": {"seed": 12345, "negative_prompt": "模糊, 扭曲"}})
    assert created.status == 200, created.body
    task_id = created.json["task_id"]
    result = poll(service, f"/v1/video/generations/{task_id}", lambda t: t["status"] in ("succeeded", "failed"))
    assert result["status"] == "succeeded" and result["url"].startswith(service.url)
    content = call(service, "GET", f"/v1/videos/{task_id}/content")
    assert content.status == 200 and content.headers["Content-Type"] == "video/mp4"
    assert service.download(result["url"]).body == content.body
    # The seed reaches the provider from either API: the same request through OpenAI's route
    # gives the same bytes with the same seed, and other bytes with another.
    def openai_video(seed: int) -> bytes:
        made = call(service, "POST", "/v1/videos", {"model": "local-title", "prompt": "一只橘猫在阳光下打盹",
                                                    "size": "320x180", "seconds": "1", "seed": seed,
                                                    "negative_prompt": "模糊, 扭曲"}).json
        poll(service, f"/v1/videos/{made['id']}", lambda t: t["status"] == "completed")
        return call(service, "GET", f"/v1/videos/{made['id']}/content").body

    assert openai_video(12345) == content.body
    assert openai_video(12346) != content.body
    # A job the provider fails: failed, with error{message}.
    failed = call(service, "POST", "/v1/video/generations", {"model": "local-kenburns", "prompt": "no image"})
    result = poll(service, f"/v1/video/generations/{failed.json['task_id']}", lambda t: t["status"] != "queued")
    assert result["status"] == "failed" and result["url"] is None
    assert "needs at least one image" in result["error"]["message"]
    missing = call(service, "POST", "/v1/video/generations", {"prompt": "x"})
    assert (missing.status, missing.json["error"]["code"]) == (400, "missing_parameter")
    unknown = call(service, "GET", "/v1/video/generations/task_nope")
    assert (unknown.status, unknown.json["error"]["code"]) == (404, "task_not_found")


def test_rate_limit_in_openai_shape_with_headers(start_service):
    service = start_service(api_keys=frozenset({KEY}), rate_per_minute=2)
    assert [call(service, "GET", "/v1/videos").status for _ in range(2)] == [200, 200]
    limited = call(service, "GET", "/v1/videos")
    assert limited.status == 429
    assert (limited.json["error"]["type"], limited.json["error"]["code"]) == ("rate_limit_error", "rate_limit_exceeded")
    assert int(limited.headers["Retry-After"]) >= 1
    assert (limited.headers["X-RateLimit-Limit"], limited.headers["X-RateLimit-Remaining"]) == ("2", "0")
