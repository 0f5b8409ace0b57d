"""Fake generation APIs on loopback, each written from its document in ../shared/apis/.

A fake keeps its jobs in memory and walks each one through a scripted list of its own status
words, one per poll. A Script also makes it answer 429 with Retry-After, a 5xx once, fail a
job in the API's own error shape, never finish, or hand out a result URL that has already
expired (a fresh one comes with the next poll). Every request is recorded for the tests.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

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


class Loopback:
    """Runs an aiohttp app on 127.0.0.1 in a thread of its own."""

    def __init__(self, app: web.Application):
        self.runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.1, access_log=None)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def start() -> int:
            await self.runner.setup()
            await web.TCPSite(self.runner, "127.0.0.1", 0).start()
            return self.runner.addresses[0][1]

        self.url = f"http://127.0.0.1:{asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)}"

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


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
