"""Fake generation APIs on loopback, each written from its document in ../shared/apis/:
FakeApi's shared walk here, with vibegen's API (FakeVibegen) and OpenAI's /v1/videos
(FakeVideos), which the gateway tests run behind draftrender too; the others beside their
adapter's tests in tests/generate/.

A fake keeps its jobs in memory and walks each one through a scripted list of its own status
words, one per poll. A Script also makes it answer 429 with Retry-After, a 5xx once, fail a
job in the API's own error shape, never finish, or hand out a result URL that has already
expired (a fresh one comes with the next poll). Every request is recorded for the tests.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from service_harness import Loopback

KEY = "sk-test-0123456789"


@dataclass
class Script:
    statuses: list[str]  # the status word each poll answers; the last one repeats
    error: Any = None  # a failed job's error, in the API's shape (a failure status ends the walk)
    throttled_submits: int = 0  # submits answered 429 (Retry-After: retry_after) before one is accepted
    retry_after: str = "1"
    server_errors: int = 0  # polls answered with a 5xx before the walk goes on
    expired_urls: int = 0  # result URLs handed out already expired


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    auth: str | None
    body: Any = None  # JSON, or the multipart form's fields (files as (filename, bytes))


@dataclass
class FakeJob:
    id: str
    model: str
    polls: int = 0
    urls: int = 0  # result URLs handed out so far
    request: Any = None


@dataclass
class FakeApi:
    """What every fake shares: the job walk, the recorded calls, the expiring file URLs."""

    video: Path
    script: Script
    thumbnail: bytes = b"\xff\xd8\xff\xe0fake-jpeg"
    calls: list[Call] = field(default_factory=list)
    jobs: dict[str, FakeJob] = field(default_factory=dict)
    base: str = ""  # the API's URL
    cdn: str = ""  # the URL of the host that serves result files (another port: another host)
    _valid: set[str] = field(default_factory=set)

    # -- what the API documents differently is in the subclasses

    def app(self) -> web.Application:
        raise NotImplementedError

    def error(self, status: int, code: str, message: str) -> web.Response:
        raise NotImplementedError

    # -- shared

    async def record(self, request: web.Request) -> Any:
        body: Any = None
        if request.content_type == "application/json":
            body = await request.json()
        elif request.content_type.startswith("multipart/"):
            body = {}
            async for part in await request.multipart():
                body[part.name] = (part.filename, await part.read()) if part.filename else await part.text()
        self.calls.append(Call(request.method, request.path, dict(request.query),
                               request.headers.get("Authorization"), body))
        return body

    def authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {KEY}"

    def throttled(self) -> web.Response | None:
        if self.script.throttled_submits:
            self.script.throttled_submits -= 1
            response = self.error(429, "rate_limit_exceeded", "Rate limit exceeded")
            response.headers["Retry-After"] = self.script.retry_after
            return response
        return None

    def new_job(self, model: str, request: Any) -> FakeJob:
        job = FakeJob(str(uuid.uuid4()), model, request=request)
        self.jobs[job.id] = job
        return job

    def step(self, job: FakeJob) -> str | None:
        """The job's next status word; None when this poll answers a 5xx instead."""
        if self.script.server_errors:
            self.script.server_errors -= 1
            return None
        word = self.script.statuses[min(job.polls, len(self.script.statuses) - 1)]
        job.polls += 1
        return word

    def result_url(self, job: FakeJob) -> str:
        """A signed URL for the job's file; the first `expired_urls` are dead on arrival."""
        job.urls += 1
        token = uuid.uuid4().hex
        if job.urls > self.script.expired_urls:
            self._valid.add(token)
        return f"{self.cdn}/files/{job.id}.mp4?token={token}"

    async def serve_file(self, request: web.Request) -> web.Response:
        await self.record(request)
        if request.query.get("token") not in self._valid:
            # As a CDN answers an expired signature: 403, not the API's JSON.
            return web.Response(status=403, text="<Error><Code>AccessDenied</Code><Message>Request has expired"
                                                 "</Message></Error>", content_type="application/xml")
        return web.Response(body=self.video.read_bytes(), content_type="video/mp4")

    def states(self) -> list[str]:
        return [c.path for c in self.calls]

    def submits(self) -> list[Any]:
        """The bodies of the jobs submitted (the POSTs to the API)."""
        return [c.body for c in self.calls if c.method == "POST"]

    def polls(self) -> int:
        return sum(job.polls for job in self.jobs.values())

    def release(self) -> None:
        """Jobs held by a walk that ends in a running status complete at their next poll."""
        self.script.statuses = [*self.script.statuses, "completed"]


NOW = "2025-03-10T10:00:00Z"

class FakeVibegen(FakeApi):
    """POST /api/v1/generations (201 {success, data}), GET /api/v1/tasks/{id}; errors {"error": {code, message}}."""

    def error(self, status: int, code: str, message: str) -> web.Response:
        return web.json_response({"error": {"code": code, "message": message}}, status=status)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/v1/generations", self.create)
        app.router.add_get("/api/v1/tasks/{id}", self.task)
        return app

    async def create(self, request: web.Request) -> web.Response:
        body = await self.record(request)
        if not self.authorised(request):
            return self.error(401, "INVALID_API_KEY", "Invalid or missing API key")
        if not body.get("model") or not body.get("prompt"):
            return self.error(400, "INVALID_PARAMETER", "Missing required parameters: model, prompt")
        if (throttled := self.throttled()) is not None:
            return throttled
        job = self.new_job(body["model"], body)
        return web.json_response({"success": True, "data": {
            "id": job.id, "status": "pending", "model": job.model,
            "task_type": "image_to_video" if body.get("image_urls") else "text_to_video", "created_at": NOW}},
            status=201)

    async def task(self, request: web.Request) -> web.Response:
        await self.record(request)
        job = self.jobs.get(request.match_info["id"])
        if job is None:
            return self.error(404, "TASK_NOT_FOUND", "Task not found")
        status = self.step(job)
        if status is None:
            return self.error(502, "PROVIDER_ERROR", "Upstream provider error")
        done = status == "completed"
        return web.json_response({"success": True, "data": {
            "id": job.id, "status": status, "model": job.model, "task_type": "text_to_video",
            "prompt": job.request["prompt"], "video_url": self.result_url(job) if done else None,
            "created_at": NOW, "completed_at": "2025-03-10T10:02:30Z" if done else None,
            "error": self.script.error if status == "failed" else None}})


CREATED = 1_733_000_000


class FakeVideos(FakeApi):
    """OpenAI's /v1/videos as the `openai` package's videos resource calls it (DELETE cancels).
    `dialect`: openai (Video objects, content by variant, openai-poll-after-ms), yisangyun (task_id,
    video_url, thumbnail_url), zhaotou (ids and `succeeded`, content from /v1/videos/{id}/content)."""

    dialect = "openai"
    poll_after_ms = "250"

    def error(self, status: int, code: str, message: str) -> web.Response:
        kind = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
                429: "rate_limit_error"}.get(status, "server_error")
        return web.json_response({"error": {"message": message, "type": kind, "code": code, "param": None}},
                                 status=status)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/videos", self.create)
        app.router.add_get("/v1/videos/{id}", self.retrieve)
        app.router.add_get("/v1/videos/{id}/content", self.content)
        app.router.add_delete("/v1/videos/{id}", self.delete)
        return app

    def video_body(self, job, status: str) -> dict:
        failed, done = status == "failed", status in ("completed", "succeeded")
        if self.dialect == "yisangyun":
            body = {"task_id": job.id, "status": status, "progress": 100 if done else 45,
                    "message": "视频生成中,已完成45%"}
            if done:
                body.update(video_url=self.result_url(job), thumbnail_url=f"{self.cdn}/files/{job.id}.jpg",
                            seconds=1.0, width=320, height=180, created_at="2024-01-15T10:30:00Z",
                            completed_at="2024-01-15T10:35:12Z")
            if failed:
                body["error"] = self.script.error
            return body
        return {"id": job.id, "object": "video", "model": job.model, "status": status,
                "progress": 100 if done else (0 if status == "queued" else 50), "created_at": CREATED,
                "completed_at": CREATED + 60 if done else None, "expires_at": None, "prompt": job.request["prompt"],
                "seconds": str(job.request.get("seconds", "4")), "size": job.request.get("size", "720x1280"),
                "remixed_from_video_id": None, "error": self.script.error if failed else None}

    async def create(self, request: web.Request) -> web.Response:
        body = await self.record(request)
        if not self.authorised(request):
            return self.error(401, "invalid_api_key", "Invalid API key provided")
        if not body or not body.get("prompt"):
            return self.error(400, "missing_parameter", "prompt field is required")
        if (throttled := self.throttled()) is not None:
            return throttled
        job = self.new_job(body.get("model", "sora-2"), body)
        if self.dialect == "yisangyun":
            return web.json_response({"task_id": job.id, "status": "queued",
                                      "message": "视频生成任务已提交,正在处理中"})
        return web.json_response(self.video_body(job, "queued"))

    async def retrieve(self, request: web.Request) -> web.Response:
        await self.record(request)
        job = self.jobs.get(request.match_info["id"])
        if job is None:
            return self.error(404, "task_not_found", "Task not found")
        status = self.step(job)
        if status is None:
            return self.error(500, "internal_error", "Internal server error")
        headers = {"openai-poll-after-ms": self.poll_after_ms} if self.dialect == "openai" else {}
        return web.json_response(self.video_body(job, status), headers=headers)

    async def content(self, request: web.Request) -> web.Response:
        await self.record(request)
        if request.match_info["id"] not in self.jobs:
            return self.error(404, "not_found", "Video not found")
        variant = request.query.get("variant", "video")
        if variant == "video":
            return web.Response(body=self.video.read_bytes(), content_type="video/mp4")
        return web.Response(body=self.thumbnail, content_type="image/jpeg")

    async def delete(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.json_response({"id": request.match_info["id"], "object": "video.deleted", "deleted": True})


WALK = ["pending", "processing", "processing", "completed"]


def provider_toml(kind: str, served: Served, *, key_env: str, models: str = "*") -> str:
    """A providers file's table for a served fake, its key read from the variable `key_env`,
    polled every 50 ms."""
    path = "/api/v1" if kind == "vibegen" else ""
    return "\n".join([
        f"[providers.{kind}]", f'kind = "{kind}"', f'base_url = "{served.url}{path}"', f'key_env = "{key_env}"',
        f'models = ["{models}"]', "poll_interval = 0.05", "max_poll_interval = 0.1", "retries = 0", ""])


class Served:
    """A fake's API and its file host, each on a port of its own."""

    def __init__(self, fake: FakeApi):
        cdn = web.Application()
        cdn.router.add_get("/files/{name}", fake.serve_file)
        self.api, self.files = Loopback(fake.app()), Loopback(cdn)
        self.url = fake.base = self.api.url
        fake.cdn = self.files.url

    def close(self) -> None:
        self.api.close()
        self.files.close()


def serve(fake: FakeApi) -> Served:
    return Served(fake)


# ---------------------------------------------------------------- running a generation against a fake


@dataclass
class Outcome:
    job: Any  # the finished Job, or None when it raised
    error: Exception | None
    words: list[str | None]  # each update's status word, as the provider said it
    states: list[str]  # each update's normalised state
    waits: list[float]  # the waits the retries asked for
    polls: list[float]  # the waits between polls


def run(kind: str, url: str, request, dest: Path, *, deadline: float = 10.0, **config: Any) -> Outcome:
    """Generate `request` through a `kind` provider at `url` into `dest`, with tiny intervals."""
    from draftrender.errors import DraftRenderError
    from draftrender.generate.providers import ProviderConfig, build
    from draftrender.generate.runner import run_job

    key_file = dest.parent / "key.txt"
    key_file.write_text(KEY + "\n")
    settings = dict(name=kind, kind=kind, base_url=url, key_file=str(key_file), models=["*"], backoff=0.01,
                    max_backoff=0.05, retries=3, timeout=5.0, deadline=deadline, poll_interval=0.01,
                    max_poll_interval=0.02)
    provider_config = ProviderConfig(**{**settings, **config})
    provider = build(provider_config)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    provider.client.sleep = sleep
    words: list[str | None] = []
    states: list[str] = []
    polls: list[float] = []

    async def poll_sleep(seconds: float) -> None:
        polls.append(seconds)
        await asyncio.sleep(min(seconds, 0.01))

    def update(job) -> None:
        words.append(job.provider_status)
        states.append(job.status.value)

    try:
        job = asyncio.run(run_job(provider, request, dest, journal=dest.with_suffix(".job.json"),
                                  timing=provider_config.timing(), on_update=update, sleep=poll_sleep))
        return Outcome(job, None, words, states, waits, polls)
    except DraftRenderError as e:  # the tests assert on the error
        return Outcome(None, e, words, states, waits, polls)


def squeeze(items: list) -> list:
    """Consecutive repeats dropped: the walk as a user sees it."""
    return [x for i, x in enumerate(items) if i == 0 or items[i - 1] != x]
