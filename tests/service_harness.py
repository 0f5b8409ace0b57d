"""The gen_video service under test: started for real on a loopback port, with tiny drafts
published from the `http_server` fixture.

- `tiny_draft` writes a 320×180 pyJianYingDraft draft whose medium is `media/clip.mp4`
  beside the JSON, so the URL-served draft finds it next to its own URL.
- `publish` serves a draft and its medium; a `Gate` holds the medium's download until the
  test opens it, which makes a render slow on cue without sleeping in the renderer.
- `start_service` starts `create_app(config)` in a background thread; `ServeProcess` runs
  `draftrender serve` as a subprocess, for the restart test.
- `Loopback` runs any aiohttp app (the `http_server` fixture's, a fake provider's) on loopback.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import av
import pyJianYingDraft as jy
import pytest
from aiohttp import web
from drafts import draft_file, edit_json
from media_factory import make_clip

from draftrender.server import ServerConfig, create_app
from draftrender.server.listen import LimitedSite, service_runner

SEC = 1_000_000
HOLD_LIMIT = 60  # seconds a gate holds a request at most, so a forgotten gate cannot hang a run


class Loopback:
    """Runs an aiohttp app on 127.0.0.1, on a free port, in a thread of its own."""

    def __init__(self, app: web.Application):
        # Handlers whose client went away (a test's deliberately slow one) are cancelled, and
        # not waited for at shutdown.
        self.runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.1, access_log=None)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def start() -> int:
            await self.runner.setup()
            await web.TCPSite(self.runner, "127.0.0.1", 0).start()
            return self.runner.addresses[0][1]

        self.port = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


# ---------------------------------------------------------------- drafts and media


def tiny_draft(root: Path, name: str = "tiny", *, seconds: float = 1.0,
               color: tuple[int, int, int] = (40, 90, 200)) -> Path:
    """A 320×180, 30 fps draft with one clip of `seconds`, in the colour given."""
    root.mkdir(parents=True, exist_ok=True)
    script = jy.DraftFolder(str(root)).create_draft(name, 320, 180, 30, allow_replace=True)
    folder = root / name
    clip = make_clip(folder / "media" / "clip.mp4", seconds=seconds, color=color)
    script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main")])
    script.add_segment(jy.VideoSegment(jy.VideoMaterial(str(clip)), jy.trange(0, round(seconds * SEC))), "main")
    script.save()
    # The writer records the absolute tmp path; a published draft names its medium relatively.
    edit_json(folder, lambda d: d["materials"]["videos"][0].update(path="media/clip.mp4"))
    return folder


class Gate:
    """Holds every request for a medium until the test opens it."""

    def __init__(self) -> None:
        self.reached = threading.Event()  # a request is being held (a worker is downloading)
        self._open = threading.Event()

    async def hold(self) -> None:
        self.reached.set()
        await asyncio.to_thread(self._open.wait, HOLD_LIMIT)

    def open(self) -> None:
        self._open.set()

    def wait_reached(self, timeout: float = 30) -> None:
        assert self.reached.wait(timeout), "no worker came to download the held medium"


@pytest.fixture
def gates(http_server):
    """Make Gates; all are opened at the end, before the loopback server stops."""
    made: list[Gate] = []

    def make() -> Gate:
        made.append(Gate())
        return made[-1]

    yield make
    for gate in made:
        gate.open()


def publish(server, folder: Path, prefix: str, *, gate: Gate | None = None) -> str:
    """Serve `folder`'s draft at <prefix>/draft_content.json and its medium beside it; the URL."""
    url = server.serve(f"{prefix}/draft_content.json", draft_file(folder).read_bytes(),
                       content_type="application/json")
    media = (folder / "media" / "clip.mp4").read_bytes()

    async def medium(request: web.Request) -> web.Response:
        if gate is not None:
            await gate.hold()
        return web.Response(body=media, content_type="video/mp4")

    server.route(f"{prefix}/media/clip.mp4", medium)
    return url


def probe_mp4(data: bytes, tmp: Path) -> tuple[int, int, float]:
    """(width, height, seconds) of an MP4, read with PyAV."""
    tmp.write_bytes(data)
    with av.open(str(tmp)) as c:
        stream = c.streams.video[0]
        frames = sum(1 for _ in c.decode(video=0))
        return stream.codec_context.width, stream.codec_context.height, frames / float(stream.average_rate)


# ---------------------------------------------------------------- talking to the service


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


class Endpoint:
    url: str

    def call(self, method: str, path: str, body=None, *, headers: dict | None = None, raw: bytes | None = None,
             timeout: float = 60) -> Reply:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        if data is not None and "Content-Type" not in req.headers:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return Reply(resp.status, dict(resp.headers), resp.read())
        except urllib.error.HTTPError as e:
            with e:
                return Reply(e.code, dict(e.headers), e.read())

    def gen_video(self, draft_url: str, wait: float = 30, **body) -> Reply:
        return self.call("POST", "/v1/gen_video", {"draft_url": draft_url, "wait": wait, **body})

    def task(self, task_id: str) -> dict:
        reply = self.call("GET", f"/v1/gen_video/{task_id}")
        assert reply.status == 200, reply.body
        return reply.json

    def wait_for(self, task_id: str, done, timeout: float = 30) -> dict:
        """Poll the task until done(task) holds."""
        end = time.monotonic() + timeout
        while True:
            task = self.task(task_id)
            if done(task):
                return task
            assert time.monotonic() < end, f"task never got there: {task}"
            time.sleep(0.05)

    def download(self, video_url: str, headers: dict | None = None) -> Reply:
        assert video_url.startswith(self.url)
        return self.call("GET", video_url[len(self.url):], headers=headers)


class Service(Endpoint):
    """create_app(config) on a free loopback port, served from a background thread."""

    def __init__(self, config: ServerConfig):
        self.config = config
        self.app = create_app(config)
        self.runner = service_runner(self.app, config, shutdown_timeout=0.5, access_log=None)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def start() -> int:
            await self.runner.setup()
            self.site = LimitedSite(self.runner, config, "127.0.0.1", 0)
            await self.site.start()
            return self.runner.addresses[0][1]

        self.port = self.run(start())
        self.url = f"http://127.0.0.1:{self.port}"

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def on_loop(self, fn):
        """fn() called on the service's loop (where its store and pool live)."""
        async def call():
            return fn()
        return self.run(call())

    def stop(self) -> None:
        if self.loop.is_closed():  # stopped already, by a test that restarts the service
            return
        self.run(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def start_service(tmp_path):
    """start_service(**config) → a running Service; private URLs allowed, one worker, by default."""
    started: list[Service] = []

    def start(**options) -> Service:
        options.setdefault("data_dir", tmp_path / "data")
        options.setdefault("allow_private_urls", True)
        options.setdefault("workers", 1)
        started.append(Service(ServerConfig(**options)))
        return started[-1]

    yield start
    for service in started:
        service.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServeProcess(Endpoint):
    """`draftrender serve` in a subprocess, ready when it answers /openapi.json."""

    def __init__(self, data_dir: Path, *args: str, log: Path, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "draftrender", "serve", "--port", str(self.port), "--data-dir", str(data_dir),
             *args], stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        end = time.monotonic() + 30
        while True:
            assert self.proc.poll() is None, f"serve exited: {Path(log).read_text()}"
            try:
                if self.call("GET", "/openapi.json", timeout=2).status == 200:
                    return
            except OSError:
                pass
            assert time.monotonic() < end, f"serve never answered: {Path(log).read_text()}"
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing gets to clean up."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0): it is gone in every way that matters.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False
