"""The render pool: a bounded queue of tasks and one worker process per running task.

A process per task (rather than a reused pool) is what lets the service kill one render at
its time limit, or on cancel, without disturbing the others; the forkserver start method
keeps each start cheap (the renderer is imported once, in the fork server). Progress comes
back over each worker's socket, read by the event loop, and goes into the task store.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from ..assets.fetch import remove_partial_downloads
from ..errors import RenderFailed, RenderTimeout, ServiceBusy
from . import worker
from .config import ServerConfig
from ..service.store import TaskStore
from ..service.tasks import COMPLETED, FAILED, PROCESSING, QUEUED, Task, overall_progress

log = logging.getLogger("draftrender.server")


def process_context():
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["draftrender.server.worker"])
        return ctx
    # Never plain fork: the service has threads (the loop's executor), fork would copy locks.
    return multiprocessing.get_context("spawn")


@dataclass
class Running:
    task: Task
    process: multiprocessing.process.BaseProcess
    conn: Connection
    timer: asyncio.TimerHandle
    stage_started: float = field(default_factory=time.monotonic)
    outcome: tuple | None = None  # ("done", result) or ("error", error), once sent


class RenderPool:
    def __init__(self, config: ServerConfig, store: TaskStore):
        self.config = config
        self.store = store
        self.ctx = process_context()
        self.queue: deque[str] = deque()
        self.running: dict[str, Running] = {}
        self.finished: dict[str, asyncio.Event] = {}  # for requests waiting on a task
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The service's event loop: the pool's callbacks all run on it."""
        if self._loop is None:
            raise RuntimeError("RenderPool.start() has not run")
        return self._loop

    # -- intake ---------------------------------------------------------------------

    async def start(self, queued: list[Task]) -> None:
        self._loop = asyncio.get_running_loop()
        if self.ctx.get_start_method() == "forkserver":
            # Started (and the renderer imported) now, off the loop; else the first
            # render's start would hold the loop for as long as that takes.
            from multiprocessing import forkserver
            await self.loop.run_in_executor(None, forkserver.ensure_running)
        remove_partial_downloads(self.store.cache_dir)  # no worker runs yet: any part is a killed one's
        self.queue.extend(t.id for t in queued)
        self._dispatch()

    def check_capacity(self) -> None:
        """ServiceBusy when a new task would find neither a worker nor a place in the queue."""
        if len(self.running) >= self.config.workers and len(self.queue) >= self.config.queue_size:
            raise ServiceBusy(f"all {self.config.workers} workers are busy and {len(self.queue)} tasks are "
                              f"waiting (queue size {self.config.queue_size}); retry later")

    def submit(self, task: Task) -> None:
        self.queue.append(task.id)
        self._dispatch()

    async def wait(self, task_id: str, seconds: float) -> None:
        """Return when the task finishes or after `seconds`, whichever is first."""
        event = self.finished.setdefault(task_id, asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            pass

    def cancel(self, task_id: str) -> bool:
        """Stop a queued or running task; True if it was either."""
        if task_id in self.queue:
            self.queue.remove(task_id)
            self._notify(task_id)
            return True
        run = self.running.pop(task_id, None)
        if run is None:
            return False
        self._stop(run)
        self._notify(task_id)
        self._dispatch()
        return True

    async def close(self) -> None:
        """Stop every worker; their tasks go back to the queue for the next start."""
        for run in list(self.running.values()):
            self._stop(run)
            run.task.status, run.task.stage, run.task.progress, run.task.stages = QUEUED, None, 0.0, {}
            run.task.attempts = max(0, run.task.attempts - 1)  # a clean stop is not the task's fault
            run.task.worker_pid = None
            self.store.update(run.task)
        self.running.clear()
        self.queue.clear()

    # -- workers --------------------------------------------------------------------

    def _dispatch(self) -> None:
        while self.queue and len(self.running) < self.config.workers:
            task = self.store.get(self.queue.popleft())
            if task is not None and task.status == QUEUED:
                self._launch(task)

    def _launch(self, task: Task) -> None:
        task.status, task.stage, task.progress, task.stages = PROCESSING, "parse", 0.0, {}
        task.started, task.attempts = time.time(), task.attempts + 1
        ours, theirs = self.ctx.Pipe(duplex=True)
        process = self.ctx.Process(target=worker.run, args=(theirs, self.job(task)), daemon=True,
                                   name=f"draftrender-render-{task.id[:8]}")
        try:
            process.start()
        except OSError as e:
            ours.close()
            theirs.close()
            self._fail(task, RenderFailed(f"cannot start a render worker: {e}"))
            return
        theirs.close()  # only the worker holds its end: its closing is our EOF, and ours is its
        task.worker_pid = process.pid
        self.store.update(task)
        timer = self.loop.call_later(self.config.task_timeout, self._time_out, task.id)
        self.running[task.id] = Running(task, process, ours, timer)
        self.loop.add_reader(ours.fileno(), self._on_message, task.id)

    def job(self, task: Task) -> dict:
        work = self.store.work_dir(task.id)
        work.mkdir(parents=True, exist_ok=True)
        return {
            "draft": str(self.store.fetch_draft(task.id, work / "draft.json")),
            "origin": task.draft_url, "base_url": task.base_url,
            "output": str(work / "video.mp4"), "options": task.options,
            "media_roots": [str(r) for r in self.config.media_roots],
            "allow_private_urls": self.config.allow_private_urls, "cache_dir": str(self.store.cache_dir),
            "max_media_bytes": self.config.max_media_bytes, "max_output_pixels": self.config.max_output_pixels,
            "media_timeout": self.config.media_timeout, "max_cache_bytes": self.config.max_cache_bytes,
        }

    def _on_message(self, task_id: str) -> None:
        run = self.running.get(task_id)
        if run is None:
            return
        try:
            message = run.conn.recv()
        except (EOFError, OSError):
            self._worker_ended(run)
            return
        if message[0] == "progress":
            self._progress(run, *message[1:])
        else:
            run.outcome = message

    def _progress(self, run: Running, stage: str, done: int, total: int) -> None:
        task = run.task
        changed = stage != task.stage
        if changed:
            self._close_stage(run)
            task.stage = stage
        progress = overall_progress(stage, done, total)
        # Stages may repeat (the render re-checks the cache); progress never goes back.
        if progress is not None and int(progress) > int(task.progress):
            task.progress = progress
            changed = True
        if changed:
            self.store.update(task, "stage", "progress", "stages")

    def _close_stage(self, run: Running) -> None:
        now = time.monotonic()
        if run.task.stage:
            run.task.stages[run.task.stage] = run.task.stages.get(run.task.stage, 0.0) + now - run.stage_started
        run.stage_started = now

    def _worker_ended(self, run: Running) -> None:
        """The worker's socket closed: it finished, or it died."""
        del self.running[run.task.id]
        self._stop(run, kill=run.outcome is None)
        task = run.task
        if run.outcome and run.outcome[0] == "done":
            self._store_video(run, run.outcome[1])
        elif run.outcome and run.outcome[0] == "error":
            self._finish(task, FAILED, error=run.outcome[1])
        else:
            run.process.join(1)  # it has closed its end, so it is exiting: the code is moments away
            code = run.process.exitcode
            how = f"was killed by signal {-code}" if code and code < 0 else f"exited with code {code}"
            self._fail(task, RenderFailed(f"the render worker {how} before it finished"))
        self._dispatch()

    def _store_video(self, run: Running, result: dict) -> None:
        task = run.task
        self._progress(run, "store", 0, 1)
        try:
            self.store.save_video(task.id, result.pop("output"))
        except OSError as e:
            self._fail(task, RenderFailed(f"cannot store the video: {e}"))
            return
        self._close_stage(run)
        self._finish(task, COMPLETED, result=result)

    def _time_out(self, task_id: str) -> None:
        run = self.running.get(task_id)
        if run is None or run.outcome is not None:
            return  # finished just in time: its socket's EOF is on the way
        del self.running[task_id]
        self._stop(run)
        self._fail(run.task, RenderTimeout(
            f"the render ran longer than the {self.config.task_timeout:g} s limit and was stopped "
            f"(at stage {run.task.stage})"))
        self._dispatch()

    def _stop(self, run: Running, *, kill: bool = True) -> None:
        run.timer.cancel()
        self.loop.remove_reader(run.conn.fileno())
        run.conn.close()
        if kill and run.process.is_alive():
            run.process.kill()
        if kill:  # its downloads stopped midway: their partial files go now, not at retention
            remove_partial_downloads(self.store.cache_dir, run.process.pid)
        # Reaped off the loop: join() blocks until the kernel has the process gone.
        self.loop.run_in_executor(None, run.process.join, 10)

    def _fail(self, task: Task, error) -> None:
        self._finish(task, FAILED, error={"status": error.status, **error.to_json()})

    def _finish(self, task: Task, status: str, **outcome) -> None:
        if status == FAILED:
            log.info("task %s failed: %s", task.id, outcome["error"].get("message"))
        self.store.finish(task, status, **outcome)
        self._notify(task.id)

    def _notify(self, task_id: str) -> None:
        event = self.finished.pop(task_id, None)
        if event is not None:
            event.set()

