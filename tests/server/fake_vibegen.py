"""A fake vibegen on loopback, written from its document (shared/apis/vibegen-generations.md):
POST /api/v1/generations → 201 {success, data{id, status: pending}}, GET /api/v1/tasks/{id}
walking pending → processing → completed with a video_url on its own CDN path, or failed
with `error`. It records every call and the Authorization it was sent; `hold` keeps jobs
processing until released, `fail` fails them."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

from aiohttp import web

KEY = "sk-video-server-side"


class FakeVibegen:
    def __init__(self, server, clip: Path):
        self.server = server
        self.clip = clip.read_bytes()
        self.jobs: dict[str, dict] = {}
        self.calls: list[tuple[str, str, str]] = []  # (method, path, Authorization)
        self.submitted: list[dict] = []
        self.release = threading.Event()
        self.hold = False
        self.fail: str | None = None
        server.route("/api/v1/generations", self.create)
        server.route("/cdn/video.mp4", self.video)
        self.base_url = server.url("/api/v1")

    def provider_toml(self, models: str = "seedance*", **extra) -> str:
        lines = [f'{k} = {v}' for k, v in extra.items()]
        return "\n".join([
            "[providers.vibegen]", 'kind = "vibegen"', f'base_url = "{self.base_url}"', 'key_env = "FAKE_VIBEGEN_KEY"',
            f'models = ["{models}"]', "poll_interval = 0.05", "max_poll_interval = 0.1", "retries = 0", *lines, ""])

    def _auth(self, request: web.Request) -> web.Response | None:
        self.calls.append((request.method, request.path, request.headers.get("Authorization", "")))
        if request.headers.get("Authorization") != f"Bearer {KEY}":
            return web.json_response({"error": {"code": "INVALID_API_KEY", "message": "Invalid or missing API key"}},
                                     status=401)
        return None

    async def create(self, request: web.Request) -> web.Response:
        if (refused := self._auth(request)) is not None:
            return refused
        body = await request.json()
        self.submitted.append(body)
        job_id = str(uuid.uuid4())
        self.jobs[job_id] = {"id": job_id, "polls": 0, "model": body["model"], "prompt": body["prompt"]}
        self.server.route(f"/api/v1/tasks/{job_id}", self.task)
        return web.json_response({"success": True, "data": {"id": job_id, "status": "pending", "model": body["model"],
                                                            "task_type": "text_to_video",
                                                            "created_at": "2025-03-10T10:00:00Z"}}, status=201)

    async def task(self, request: web.Request) -> web.Response:
        if (refused := self._auth(request)) is not None:
            return refused
        job = self.jobs[request.path.rsplit("/", 1)[1]]
        job["polls"] += 1
        status, video_url, error = "processing", None, None
        if job["polls"] == 1:
            status = "pending"
        elif self.fail:
            status, error = "failed", self.fail
        elif not self.hold or self.release.is_set():
            status, video_url = "completed", self.server.url("/cdn/video.mp4")
        return web.json_response({"success": True, "data": {
            "id": job["id"], "status": status, "model": job["model"], "task_type": "text_to_video",
            "prompt": job["prompt"], "video_url": video_url, "created_at": "2025-03-10T10:00:00Z",
            "completed_at": None, "error": error}})

    async def video(self, request: web.Request) -> web.Response:
        return web.Response(body=self.clip, content_type="video/mp4")
