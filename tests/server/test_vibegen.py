"""vibegen's API served by draftrender, driven by a client written from its document with
plain HTTP; behind the gateway, a fake vibegen on loopback (generation_fakes.py), so forwarding,
status mapping, downloads and key handling are real. Credits, callbacks signed with
Standard Webhooks, the 10-minute timeout (shortened), retention, limits and error codes."""

from __future__ import annotations

import json
import threading
import time

import pytest
from aiohttp import web
from generation_fakes import KEY as SERVER_KEY
from generation_fakes import WALK, FakeVibegen, Script, provider_toml, serve
from media_factory import make_clip
from standardwebhooks.webhooks import Webhook

from draftrender.server.apis import ACCOUNTS, GENERATIONS

ADMIN = "sk-admin"
BODY = {"model": "seedance 2.0", "prompt": "一座未来城市,飞行汽车在日落时分穿梭", "duration": 5,
        "aspect_ratio": "16:9", "resolution": "480p"}  # 15 credits without sound


@pytest.fixture
def gateway(tmp_path, start_service, monkeypatch):
    fake = FakeVibegen(make_clip(tmp_path / "remote.mp4", seconds=1.0), Script(WALK))
    served = serve(fake)
    providers = tmp_path / "providers.toml"
    providers.write_text(provider_toml("vibegen", served, key_env="FAKE_VIBEGEN_KEY", models="seedance*"),
                         encoding="utf-8")
    monkeypatch.setenv("FAKE_VIBEGEN_KEY", SERVER_KEY)

    def start(**config):
        config = {"providers_file": providers, "api_keys": frozenset({ADMIN}), "webhook_retry_base": 0.05,
                  "webhook_retry_max": 0.1, **config}
        return start_service(**config)

    yield fake, start
    served.close()


def new_key(service, credits: int | None = 20) -> tuple[str, str]:
    return service.on_loop(lambda: service.app[ACCOUNTS].create_key(credits=credits))


def call(service, method: str, path: str, key: str, body=None):
    return service.call(method, path, body, headers={"Authorization": f"Bearer {key}"})


def wait_task(service, key: str, task_id: str, status: str, timeout: float = 30) -> dict:
    end = time.monotonic() + timeout
    while True:
        reply = call(service, "GET", f"/api/v1/tasks/{task_id}", key)
        assert reply.status == 200 and reply.json["success"] is True, reply.body
        if reply.json["data"]["status"] == status:
            return reply.json["data"]
        assert time.monotonic() < end, reply.json
        time.sleep(0.05)


def receiver(http_server, secret_of, fail_first: int = 2):
    """A callback receiver that verifies Standard Webhooks signatures, fails `fail_first` times, then accepts."""
    seen: list[tuple[int, dict]] = []
    accepted = threading.Event()

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        payload = Webhook(secret_of()).verify(body, dict(request.headers))
        status = 503 if len(seen) < fail_first else 200
        seen.append((status, payload))
        if status == 200:
            accepted.set()
        return web.Response(status=status)

    return http_server.route("/hook", hook), seen, accepted


def test_generation_forwarded_with_the_servers_key_charged_and_called_back(gateway, http_server):
    fake, start = gateway
    service = start()
    key, key_id = new_key(service)
    secret = service.on_loop(lambda: service.app[ACCOUNTS].key_info(key_id)["webhook_secret"])
    url, seen, accepted = receiver(http_server, lambda: secret)
    created = call(service, "POST", "/api/v1/generations", key, {**BODY, "callback_url": url})
    assert created.status == 201, created.body
    data = created.json["data"]
    assert created.json["success"] is True
    assert (data["status"], data["model"], data["task_type"]) == ("pending", "seedance 2.0", "text_to_video")
    assert data["created_at"].endswith("Z")
    done = wait_task(service, key, data["id"], "completed")
    assert done["video_url"].startswith(service.url) and done["error"] is None and done["completed_at"]
    assert service.download(done["video_url"]).body == fake.video.read_bytes()  # stored here at completion
    # The caller's key never reaches the provider; the server's own does (and the file host gets none).
    assert {c.auth for c in fake.calls if not c.path.startswith("/files/")} == {f"Bearer {SERVER_KEY}"}
    assert [(k, fake.submits()[0][k]) for k in ("model", "duration", "aspect_ratio", "resolution")] == [
        ("model", "seedance 2.0"), ("duration", 5), ("aspect_ratio", "16:9"), ("resolution", "480p")]
    # 15 credits charged once; the next request finds 5 left.
    assert service.on_loop(lambda: service.app[ACCOUNTS].credits(key_id)) == 5
    short = call(service, "POST", "/api/v1/generations", key, BODY)
    assert (short.status, short.json) == (402, {"error": {
        "code": "INSUFFICIENT_CREDITS", "message": "Insufficient credits. Required: 15, Available: 5"}})
    # The callback: failed twice, accepted on the third try, with vibegen's body.
    assert accepted.wait(20)
    end = time.monotonic() + 20  # the sender records the answer just after the receiver sends it
    deliveries = f"/v1/deliveries/{data['id']}"
    while (log := call(service, "GET", deliveries, key).json["deliveries"])[0]["status"] != "delivered":
        assert time.monotonic() < end, log
        time.sleep(0.05)
    assert [s for s, _ in seen] == [503, 503, 200]
    assert seen[-1][1] == {"event": "task.completed", "task_id": data["id"], "status": "completed",
                           "video_url": done["video_url"], "created_at": done["created_at"],
                           "completed_at": done["completed_at"]}
    assert [a["status"] for a in log[0]["log"]] == [503, 503, 200] and log[0]["event"] == "task.completed"
    listed = call(service, "GET", "/api/v1/tasks?status=completed&limit=10", key).json["data"]
    assert [t["id"] for t in listed["tasks"]] == [data["id"]]
    assert listed["pagination"] == {"page": 1, "pageSize": 10, "total": 1, "total_pages": 1}
    assert call(service, "GET", "/api/v1/tasks?status=failed", key).json["data"]["tasks"] == []


def test_a_failed_job_refunds_once_and_calls_back_task_failed(gateway, http_server):
    fake, start = gateway
    fake.script = Script(["pending", "failed"], error="Content policy violation")
    service = start()
    key, key_id = new_key(service)
    secret = service.on_loop(lambda: service.app[ACCOUNTS].key_info(key_id)["webhook_secret"])
    url, seen, accepted = receiver(http_server, lambda: secret, fail_first=0)
    task_id = call(service, "POST", "/api/v1/generations", key, {**BODY, "callback_url": url}).json["data"]["id"]
    failed = wait_task(service, key, task_id, "failed")
    assert "Content policy violation" in failed["error"] and failed["video_url"] is None
    assert service.on_loop(lambda: service.app[ACCOUNTS].credits(key_id)) == 20
    assert accepted.wait(20)
    event = seen[0][1]
    assert (event["event"], event["task_id"], event["status"]) == ("task.failed", task_id, "failed")
    assert "Content policy violation" in event["error_message"] and event["failed_at"]


def test_two_racing_completions_settle_the_credits_once(gateway):
    fake, start = gateway
    fake.script = Script(["pending", "processing"])  # the job stays processing: the two completions race alone
    service = start()
    key, key_id = new_key(service)
    gens = service.app[GENERATIONS]
    for _ in range(5):
        task_id = call(service, "POST", "/api/v1/generations", key, BODY).json["data"]["id"]
        assert service.on_loop(lambda: service.app[ACCOUNTS].credits(key_id)) == 5
        barrier = threading.Barrier(2)
        won = []

        def finish(status: str, task_id=task_id, barrier=barrier, won=won) -> None:
            barrier.wait()
            won.append(gens.finish(task_id, status, error_code="test", error_message="raced"))

        racers = [threading.Thread(target=finish, args=(s,)) for s in ("failed", "failed")]
        [t.start() for t in racers]
        [t.join() for t in racers]
        assert sorted(won) == [False, True]
        assert service.on_loop(lambda: service.app[ACCOUNTS].credits(key_id)) == 20  # refunded once
        assert wait_task(service, key, task_id, "failed")["error"] == "raced"


def test_the_timeout_fails_the_task_and_retention_deletes_the_video(gateway):
    fake, start = gateway
    fake.script = Script(["pending", "processing"])
    service = start(generation_timeout=0.5, generation_retention_hours=1 / 3600)
    key, key_id = new_key(service)
    stuck = call(service, "POST", "/api/v1/generations", key, BODY).json["data"]["id"]
    assert "did not finish" in wait_task(service, key, stuck, "failed")["error"]
    assert service.on_loop(lambda: service.app[ACCOUNTS].credits(key_id)) == 20
    fake.release()
    done = wait_task(service, key, call(service, "POST", "/api/v1/generations", key, BODY).json["data"]["id"],
                     "completed")
    end = time.monotonic() + 20
    while service.download(done["video_url"]).status != 404:
        assert time.monotonic() < end, "the video outlived its retention"
        time.sleep(0.1)
    assert wait_task(service, key, done["id"], "completed")["id"] == done["id"]  # the record stays


def test_limits_and_error_codes_in_vibegens_shape(gateway):
    fake, start = gateway
    service = start(rate_per_minute=20)  # creates, refused ones too, and queries count apart
    key, _ = new_key(service, credits=None)

    def error(reply, status: int, code: str) -> str:
        assert reply.status == status, reply.body
        assert set(reply.json) == {"error"} and reply.json["error"]["code"] == code
        return reply.json["error"]["message"]

    post = lambda body: call(service, "POST", "/api/v1/generations", key, body)  # noqa: E731
    assert error(post({"duration": 5}), 400, "INVALID_PARAMETER") == "Missing required parameters: model, prompt"
    assert "2000" in error(post({**BODY, "prompt": "x" * 2001}), 400, "INVALID_PARAMETER")
    assert "5 or 10" in error(post({**BODY, "duration": 7}), 400, "INVALID_PARAMETER")
    assert "aspect_ratio" in error(post({**BODY, "aspect_ratio": "2:1"}), 400, "INVALID_PARAMETER")
    assert "resolution" in error(post({**BODY, "resolution": "4k"}), 400, "INVALID_PARAMETER")
    assert "callback_url" in error(post({**BODY, "callback_url": "ftp://x"}), 400, "INVALID_PARAMETER")
    error(call(service, "GET", "/api/v1/tasks/nope", key), 404, "TASK_NOT_FOUND")
    error(call(service, "GET", "/api/v1/tasks/nope", "sk-wrong"), 401, "INVALID_API_KEY")
    error(service.call("GET", "/api/v1/tasks"), 401, "INVALID_API_KEY")
    replies = [post({**BODY, "duration": 10, "resolution": "1080p"}) for _ in range(8)]
    assert {r.status for r in replies} == {201}
    assert replies[-1].headers["X-RateLimit-Limit"] == "20" and replies[-1].headers["X-RateLimit-Remaining"] == "6"
    assert [post(BODY).status for _ in range(7)] == [201] * 6 + [429]
    limited = post(BODY)
    error(limited, 429, "RATE_LIMIT_EXCEEDED")
    assert int(limited.headers["Retry-After"]) >= 1 and limited.headers["X-RateLimit-Remaining"] == "0"
    # Another key has its own window.
    other, _ = new_key(service, credits=None)
    assert call(service, "POST", "/api/v1/generations", other, BODY).status == 201
    assert json.loads(call(service, "GET", "/api/v1/tasks?limit=2", key).body)["data"]["pagination"]["total"] == 14
