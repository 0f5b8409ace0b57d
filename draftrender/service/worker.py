"""`draftrender worker`: a Celery worker that runs render and generation tasks from the broker.

One task, start to end: claim the row (compare-and-set), fetch the draft from storage,
render in a local work folder while reporting progress and renewing a lease in the store,
move the video into storage, and finish the row once. The store and storage calls retry
with backoff through a few seconds of a lost database or bucket; a render error fails the
task with its error, at once.

A draft longer than the service's chunk_seconds is rendered in parts (render/chunks.py):
the task's worker publishes one message per part so that idle workers join in, takes parts
itself while any is unclaimed, and joins them. A part is claimed in Redis with an expiry
renewed while it renders; a part whose worker died is claimed again once that runs out, and
a rendered one stays claimed, so that a late copy of its message does not render it again.

A generation (queue `generate`) is claimed the same way, with a lease in its row, and run to
its end by service/generations.py: the provider's job id is in the row as soon as it is
submitted, so the worker that takes over a dead one's generation polls that job again.

A message may come twice (the broker hands an unacknowledged one out again when it lost a
worker, or the service published it again after a restart or once a worker let its lease run
out: service/queue.py). A copy whose task runs under a
fresh lease looks again later, and takes the task over only once the lease runs out: a dead
worker's task is never lost, and a live one's is never run twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import sqlalchemy.exc
import tenacity
from celery import Task as CeleryTask
from celery.exceptions import Reject, SoftTimeLimitExceeded
from celery.signals import worker_process_init

from ..assets.fetch import remove_orphaned_downloads
from ..errors import DraftRenderError, RenderFailed, RenderTimeout
from ..generate.providers import load_configs
from ..render.chunks import Part, render_chunked, render_part, result_from_json
from ..render.pipeline import RenderOptions, RenderResult, render_timeline
from ..server.worker import error_json, prepare_job
from ..timeline import Timeline
from .accounts import Accounts
from .generations import FAILED as GENERATION_FAILED
from .generations import Generations
from .queue import GENERATE_TASK, LEASE, PART_TASK, POLL, QUEUES, RENDER_TASK, VISIBILITY_TIMEOUT, celery_app
from .storage import open_storage
from .store import TaskStore
from .tasks import COMPLETED, FAILED, PROCESSING, Task, overall_progress
from .webhooks import Webhooks

log = logging.getLogger("draftrender.worker")

# Errors that pass: the database, the broker or the bucket away for a moment.
TRANSIENT = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, ConnectionError, TimeoutError)
durable = tenacity.retry(retry=tenacity.retry_if_exception_type(TRANSIENT), reraise=True,
                         wait=tenacity.wait_exponential(multiplier=0.2, max=5), stop=tenacity.stop_after_delay(60),
                         before_sleep=lambda s: log.warning("retrying after %s", s.outcome and s.outcome.exception()))
TASK_RETRIES = 5  # Celery-level retries (with backoff) once `durable` gave up
HEARTBEAT = 2.0  # seconds between a running task's lease renewals
# How long a rendered part stays claimed: a copy of its message that comes late (queued behind
# other work, or handed out again) must not render it again, nor leave it in storage after the join.
PART_DONE = 24 * 3600  # seconds


class TaskGone(Exception):
    """The row was deleted or finished elsewhere while this worker rendered it."""


# Set by run_worker before the pool forks; each worker process opens its own connections.
SETTINGS: dict = {}


@cache
def worker_store() -> TaskStore:
    return TaskStore(Path(SETTINGS["data_dir"]), SETTINGS["store"], open_storage(SETTINGS["storage"]))


@cache
def worker_generations(retention_s: float) -> Generations:
    from ..server.app import generation_events  # the APIs' callback bodies

    store = worker_store()
    # Webhooks here only records deliveries: the service's sender sends them.
    return Generations(store.db, store.storage, store.root / "generations", load_configs(SETTINGS["providers"]),
                       Accounts(store.db), Webhooks(store.db), cache_dir=store.cache_dir, retention_s=retention_s,
                       events=generation_events())


class Redelivered(CeleryTask):
    """A task whose message comes back when its retry cannot be published (the broker away):
    Celery would drop it (Reject without requeue), and the task with it."""

    def retry(self, *args, **kwargs):
        try:
            return super().retry(*args, **kwargs)
        except Reject as e:  # unacknowledged if the broker is still away: handed out again after the visibility timeout
            raise Reject(e.reason, requeue=True) from None


# A task that meets a TRANSIENT error runs again later, from the start (the row says where it is).
RETRIED = dict(base=Redelivered, autoretry_for=TRANSIENT, retry_backoff=True, retry_backoff_max=60,
               max_retries=TASK_RETRIES)


def make_worker_app(broker: str, visibility_timeout: float = VISIBILITY_TIMEOUT):
    app = celery_app(broker, visibility_timeout=visibility_timeout)

    @app.task(name=RENDER_TASK, bind=True, **RETRIED)
    def render(self, task_id: str, policy: dict) -> None:
        if run_render(task_id, policy, broker) == "held elsewhere":
            # Looked at again before the broker's visibility timeout would hand this out anew.
            raise self.retry(countdown=min(LEASE, visibility_timeout / 2), max_retries=None)

    @app.task(name=PART_TASK, **RETRIED)
    def render_part_task(task_id: str, part: list, policy: dict) -> None:
        run_part(task_id, Part(*part), policy, broker)

    @app.task(name=GENERATE_TASK, bind=True, **RETRIED)
    def generate(self, gen_id: str, policy: dict) -> None:
        if run_generation(gen_id, policy) == "held elsewhere":
            raise self.retry(countdown=min(LEASE, visibility_timeout / 2), max_retries=None)

    return app


def run_generation(gen_id: str, policy: dict) -> str:
    """How it ended: "done" (completed, failed, or nothing left to do) or "held elsewhere"."""
    gens = worker_generations(policy["retention_s"])
    claim = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"
    gen = durable(gens.claim)(gen_id, claim, lease=LEASE)
    if gen is None:
        current = durable(gens.get)(gen_id)
        return "done" if current is None or current.done else "held elsewhere"
    if gen.attempts > policy["max_attempts"]:
        durable(gens.finish)(gen_id, GENERATION_FAILED, error_code="generation_failed", error_message=(
            f"the generation was started {gen.attempts - 1} times and its worker stopped each time; not retried again"))
        return "done"
    with Heartbeat(lambda: gens.beat(gen)):
        asyncio.run(gens.run(gen))
    return "done"


def run_render(task_id: str, policy: dict, broker: str) -> str:
    """How it ended: "done" (rendered, failed, or nothing left to do) or "held elsewhere"."""
    store = worker_store()
    task = durable(store.claim)(task_id, os.getpid(), lease=LEASE)
    if task is None:
        current = durable(store.get)(task_id)
        return "done" if current is None or current.done else "held elsewhere"
    with Heartbeat(lambda: store.beat(task)):
        _render(store, task, policy, broker)
    return "done"


def _render(store: TaskStore, task: Task, policy: dict, broker: str) -> None:
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
        report = Reporter(store, task)
        tl, opts = prepare_job(job_of(store, task, policy, work), report)
        output = work / "video.mp4"
        chunk = policy.get("chunk_seconds")
        if chunk and tl.duration > chunk * 1e6:
            parts = SharedParts(store, task, policy, broker, tl, opts, report)
            result = render_chunked(tl, output, opts, chunk, parts).to_json()
            parts.remove()
        else:
            result = render_timeline(tl, output, opts).to_json()
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


def job_of(store: TaskStore, task: Task, policy: dict, work: Path) -> dict:
    """What server.worker.prepare_job takes: the draft fetched into `work`, the service's policy."""
    return {
        "draft": str(durable(store.fetch_draft)(task.id, work / "draft.json")), "origin": task.draft_url,
        "base_url": task.base_url, "options": task.options,
        "media_roots": policy["media_roots"], "allow_private_urls": policy["allow_private_urls"],
        "cache_dir": str(store.cache_dir), "max_media_bytes": policy["max_media_bytes"],
        "max_output_pixels": policy["max_output_pixels"], "media_timeout": policy["media_timeout"],
        "max_cache_bytes": policy["max_cache_bytes"],
    }


# ---------------------------------------------------------------- long renders in parts


def part_name(task_id: str, part: Part) -> str:
    return f"parts/{task_id}/{part.name}"


class PartClaims:
    """Which worker renders which part of a task's attempt: a Redis key set only if absent,
    expiring after LEASE unless its worker renews it, and kept for PART_DONE once the part is
    rendered. Keyed by the attempt, as a worker that takes a dead one's task over renders again
    the parts that died with it (only those in storage outlive their worker)."""

    def __init__(self, broker: str):
        import redis  # installed with celery[redis]

        self.redis = redis.Redis.from_url(broker)

    def take(self, task: Task, part: Part) -> bool:
        return bool(self.redis.set(self._key(task, part), os.getpid(), nx=True, ex=int(LEASE)))

    @contextmanager
    def held(self, task: Task, part: Part):
        """Renew a taken claim while the block renders the part; once it ends without an
        error, keep the claim for PART_DONE."""
        with Heartbeat(lambda: self.redis.expire(self._key(task, part), int(LEASE))):
            yield
        self.redis.set(self._key(task, part), "done", ex=PART_DONE)

    @staticmethod
    def _key(task: Task, part: Part) -> str:
        return f"draftrender:part:{task.id}:{task.attempts}:{part.name}"


def run_part(task_id: str, part: Part, policy: dict, broker: str) -> None:
    """Render one part of a task's chunked render, if nobody has and the task still runs."""
    store = worker_store()
    task = durable(store.get)(task_id)
    claims = PartClaims(broker)
    if (task is None or task.status != PROCESSING or durable(store.storage.exists)(part_name(task_id, part))
            or not claims.take(task, part)):
        return
    work = store.work_dir(task_id) / part.name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        with claims.held(task, part):
            tl, opts = prepare_job(job_of(store, task, policy, work), lambda event: None)
            result = render_part(tl, part, work / part.name, opts)
            log.info("task %s: rendered part %s", task_id, part.name)
            name = part_name(task_id, part)
            summary = result.to_json() if result is not None else {}
            durable(store.storage.put_bytes)(json.dumps(summary).encode(), name + ".json")
            durable(store.storage.put_file)(work / part.name, name)  # last: its presence says the part is done
    finally:
        shutil.rmtree(work, ignore_errors=True)


class SharedParts:
    """render_chunked's `run` across workers: each part published for any worker to take,
    the unclaimed ones rendered here, the others' fetched from storage when they appear."""

    def __init__(self, store: TaskStore, task: Task, policy: dict, broker: str, tl: Timeline,
                 opts: RenderOptions, report: Reporter):
        self.store, self.task, self.policy, self.broker = store, task, policy, broker
        self.tl, self.opts, self.report = tl, opts.model_copy(update=dict(progress=None)), report
        self.claims = PartClaims(broker)

    def __call__(self, jobs: Iterable[tuple[Part, Path]]) -> list[RenderResult | None]:
        jobs = list(jobs)
        app = celery_app(self.broker)
        for part, _ in jobs:
            app.send_task(PART_TASK, args=[self.task.id, [part.kind, part.first, part.last], self.policy],
                          queue="render", retry=True)
        results: dict[Part, RenderResult | None] = {}
        while len(results) < len(jobs):
            for part, path in jobs:
                if part not in results:
                    self._try(part, path, results)
            self.report({"stage": "render", "done": len(results), "total": len(jobs)})
            if len(results) < len(jobs):
                time.sleep(POLL)
        return [results[part] for part, _ in jobs]

    def _try(self, part: Part, path: Path, results: dict) -> None:
        name = part_name(self.task.id, part)
        if durable(self.store.storage.exists)(name):
            durable(self.store.storage.get_file)(name, path)
            summary = json.loads(durable(self.store.storage.read_bytes)(name + ".json"))
            results[part] = result_from_json(summary) if summary else None
        elif self.claims.take(self.task, part):
            with self.claims.held(self.task, part):
                results[part] = render_part(self.tl, part, path, self.opts)
            log.info("task %s: rendered part %s", self.task.id, part.name)

    def remove(self) -> None:
        for name in self.store.storage.names(f"parts/{self.task.id}/"):
            self.store.storage.delete(name)


class Heartbeat:
    """Calls `beat` every HEARTBEAT seconds from a thread while a render runs (a render's
    stages may go long without a progress event), to renew a lease."""

    def __init__(self, beat: Callable[[], object]):
        self.beat = beat
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="heartbeat")

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join()

    def _run(self) -> None:
        while not self.stopped.wait(HEARTBEAT):
            try:
                self.beat()
            except TRANSIENT as e:  # the lease is long enough to ride out a short outage
                log.warning("lease not renewed: %s", e)


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
               hostname: str | None = None, providers: Path | None = None) -> None:
    SETTINGS.update(store=store, storage=storage, data_dir=str(data_dir), providers=providers)
    checked = TaskStore(data_dir, store, open_storage(storage))  # fails now, not per task, on a bad URL
    checked.close()
    if "generate" in queues:
        load_configs(providers)  # a bad providers file fails now, not per generation
    # A worker process killed mid-download leaves partial files: swept as this worker starts, and
    # as each pool process starts (one replaces a killed one).
    remove_orphaned_downloads(checked.cache_dir)
    worker_process_init.connect(lambda **_: remove_orphaned_downloads(checked.cache_dir), weak=False)
    app = make_worker_app(broker, visibility_timeout)
    argv = ["worker", f"--concurrency={concurrency}", f"--queues={','.join(queues)}", "--loglevel=INFO",
            "--without-gossip", "--without-mingle"]
    if hostname:
        argv.append(f"--hostname={hostname}")
    app.worker_main(argv)
