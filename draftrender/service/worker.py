"""`draftrender worker`: a Celery worker that runs render tasks from the broker.

One task, start to end: claim the row (compare-and-set), fetch the draft from storage,
render in a local work folder while reporting progress and renewing a lease in the store,
move the video into storage, and finish the row once. The store and storage calls retry
with backoff through a few seconds of a lost database or bucket; a render error fails the
task with its error, at once.

A message may come twice (the broker hands an unacknowledged one out again when it lost a
worker, or the service published it again after a restart). A copy whose task runs under a
fresh lease looks again later, and takes the task over only once the lease runs out: a dead
worker's task is never lost, and a live one's is never run twice.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from functools import cache
from pathlib import Path

import sqlalchemy.exc
import tenacity
from celery.exceptions import SoftTimeLimitExceeded

from ..errors import DraftRenderError, RenderFailed, RenderTimeout
from ..server.worker import error_json, render_job
from .queue import QUEUES, RENDER_TASK, VISIBILITY_TIMEOUT, celery_app
from .storage import open_storage
from .store import TaskStore
from .tasks import COMPLETED, FAILED, Task, overall_progress

log = logging.getLogger("draftrender.worker")

# Errors that pass: the database, the broker or the bucket away for a moment.
TRANSIENT = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, ConnectionError, TimeoutError)
durable = tenacity.retry(retry=tenacity.retry_if_exception_type(TRANSIENT), reraise=True,
                         wait=tenacity.wait_exponential(multiplier=0.2, max=5), stop=tenacity.stop_after_delay(60),
                         before_sleep=lambda s: log.warning("retrying after %s", s.outcome and s.outcome.exception()))
TASK_RETRIES = 5  # Celery-level retries (with backoff) once `durable` gave up
HEARTBEAT = 2.0  # seconds between a running task's lease renewals
LEASE = 10.0  # a task whose worker has not renewed its lease for this long is taken over


class TaskGone(Exception):
    """The row was deleted or finished elsewhere while this worker rendered it."""


# Set by run_worker before the pool forks; each worker process opens its own connections.
SETTINGS: dict = {}


@cache
def worker_store() -> TaskStore:
    return TaskStore(Path(SETTINGS["data_dir"]), SETTINGS["store"], open_storage(SETTINGS["storage"]))


def make_worker_app(broker: str, visibility_timeout: float = VISIBILITY_TIMEOUT):
    app = celery_app(broker, visibility_timeout=visibility_timeout)

    @app.task(name=RENDER_TASK, bind=True, autoretry_for=TRANSIENT, retry_backoff=True, retry_backoff_max=60,
              max_retries=TASK_RETRIES)
    def render(self, task_id: str, policy: dict) -> None:
        if run_render(task_id, policy) == "held elsewhere":
            # Looked at again before the broker's visibility timeout would hand this out anew.
            raise self.retry(countdown=min(LEASE, visibility_timeout / 2), max_retries=None)

    return app


def run_render(task_id: str, policy: dict) -> str:
    """How it ended: "done" (rendered, failed, or nothing left to do) or "held elsewhere"."""
    store = worker_store()
    task = durable(store.claim)(task_id, os.getpid(), lease=LEASE)
    if task is None:
        current = durable(store.get)(task_id)
        return "done" if current is None or current.done else "held elsewhere"
    with Heartbeat(store, task):
        _render(store, task, policy)
    return "done"


def _render(store: TaskStore, task: Task, policy: dict) -> None:
    task_id = task.id
    if task.attempts > policy["max_attempts"]:
        err = RenderFailed(f"the render was started {task.attempts - 1} times and its worker stopped each "
                           "time; not retried again")
        durable(store.finish)(task, FAILED, error=error_json(err))
        return
    work = store.work_dir(task_id)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        job = {
            "draft": str(durable(store.fetch_draft)(task_id, work / "draft.json")), "origin": task.draft_url,
            "base_url": task.base_url, "output": str(work / "video.mp4"), "options": task.options,
            "media_roots": policy["media_roots"], "allow_private_urls": policy["allow_private_urls"],
            "cache_dir": str(store.cache_dir), "max_media_bytes": policy["max_media_bytes"],
            "max_output_pixels": policy["max_output_pixels"], "media_timeout": policy["media_timeout"],
            "max_cache_bytes": policy["max_cache_bytes"],
        }
        report = Reporter(store, task)
        result = render_job(job, report)
        report({"stage": "store", "done": 0, "total": 1})
        durable(store.save_video)(task_id, Path(result.pop("output")))
        report.close_stage()
        durable(store.finish)(task, COMPLETED, result=result)
    except TaskGone:
        log.info("task %s was deleted or finished elsewhere; stopped", task_id)
    except SoftTimeLimitExceeded:
        durable(store.finish)(task, FAILED, error=error_json(RenderTimeout(
            f"the render ran longer than the {policy['task_timeout']:g} s limit and was stopped "
            f"(at stage {task.stage})")))
    except DraftRenderError as e:
        durable(store.finish)(task, FAILED, error=error_json(e))
    except TRANSIENT:
        raise  # Celery retries the task with backoff
    except Exception as e:  # a bug fails this task, not the worker
        log.exception("task %s failed", task_id)
        durable(store.finish)(task, FAILED, error=error_json(
            RenderFailed(f"the render worker failed: {type(e).__name__}: {e}")))
    finally:
        shutil.rmtree(work, ignore_errors=True)


class Heartbeat:
    """Renews the task's lease every HEARTBEAT seconds while the render runs, from a thread
    (a render's stages may go long without a progress event)."""

    def __init__(self, store: TaskStore, task: Task):
        self.store, self.task = store, task
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"heartbeat-{task.id[:8]}")

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join()

    def _run(self) -> None:
        while not self.stopped.wait(HEARTBEAT):
            try:
                self.store.beat(self.task)
            except TRANSIENT as e:  # the lease is long enough to ride out a short outage
                log.warning("heartbeat of task %s not saved: %s", self.task.id, e)


class Reporter:
    """The render's progress events → the task row, when the stage or whole percent changes."""

    def __init__(self, store: TaskStore, task: Task):
        self.store, self.task = store, task
        self.stage_started = time.monotonic()

    def __call__(self, event: dict) -> None:
        task = self.task
        changed = event["stage"] != task.stage
        if changed:
            self.close_stage()
            task.stage = event["stage"]
        progress = overall_progress(event["stage"], event["done"], event["total"])
        if progress is not None and int(progress) > int(task.progress):
            task.progress, changed = progress, True
        if not changed:
            return
        try:
            running = self.store.report(task)
        except TRANSIENT as e:  # progress is best effort: the render goes on without the database
            log.warning("progress of task %s not saved: %s", task.id, e)
            return
        if not running:
            raise TaskGone(task.id)

    def close_stage(self) -> None:
        now = time.monotonic()
        if self.task.stage:
            self.task.stages[self.task.stage] = self.task.stages.get(self.task.stage, 0.0) + now - self.stage_started
        self.stage_started = now


def run_worker(*, broker: str, store: str | None, storage: str, data_dir: Path, concurrency: int,
               queues: tuple[str, ...] = QUEUES, visibility_timeout: float = VISIBILITY_TIMEOUT,
               hostname: str | None = None) -> None:
    SETTINGS.update(store=store, storage=storage, data_dir=str(data_dir))
    TaskStore(data_dir, store, open_storage(storage)).close()  # fails now, not per task, on a bad URL
    app = make_worker_app(broker, visibility_timeout)
    argv = ["worker", f"--concurrency={concurrency}", f"--queues={','.join(queues)}", "--loglevel=INFO",
            "--without-gossip", "--without-mingle"]
    if hostname:
        argv.append(f"--hostname={hostname}")
    app.worker_main(argv)
