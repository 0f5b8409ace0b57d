"""Where render and generation tasks run when scaled out: Celery on a Redis broker.

The service side is CeleryQueue, with the RenderPool's interface (start, check_capacity,
submit, wait, cancel, close), so the HTTP modules call `request.app[POOL].submit(task)` the
same way in both modes: locally it runs in a worker process of the service, scaled out a
`draftrender worker` on any machine picks it up. The message carries only the task id and
the service's policy (media limits, time limit, attempts); everything else is in the
store and the storage that the service and every worker share. A generation goes the same
way on the `generate` queue (publish_generation), for workers that wait on providers.

Reliability (see service/worker.py): the message is acknowledged only once the task
finished (late ack); a worker that dies leaves it unacknowledged, and the broker hands it
to another worker after the visibility timeout. A message may still be lost (a retry the
broker could not take, retries run out): the service publishes again every task whose worker
let its lease run out, or still queued a visibility timeout after it was published
(requeue_orphaned, every few seconds), so no task waits on a lost message for ever.
"""

from __future__ import annotations

import asyncio
import logging

from celery import Celery

from ..errors import ServiceBusy
from .store import TaskStore
from .tasks import Task

log = logging.getLogger("draftrender.server")

RENDER_TASK = "draftrender.render"
PART_TASK = "draftrender.render_part"  # one chunk (or the sound) of a long render
GENERATE_TASK = "draftrender.generate"  # one generation behind the gateway (service/generations.py)
QUEUES = ("render", "generate")  # generations wait on providers, not on CPUs: their own workers
# How long a delivered, unacknowledged message waits before another worker gets it: longer
# than the longest render, else a slow render also runs a second time (harmless, wasted).
VISIBILITY_TIMEOUT = 3600.0
# A few seconds without the broker are survived: publishing retries for about this long.
PUBLISH_RETRY = {"max_retries": 10, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 2.0}
POLL = 0.25  # seconds between store reads while a request waits on a task
LEASE = 10.0  # a task whose worker has not renewed its lease for this long is taken over


def celery_app(broker: str, *, visibility_timeout: float = VISIBILITY_TIMEOUT) -> Celery:
    app = Celery("draftrender", broker=broker, set_as_current=False)
    app.conf.update(
        task_acks_late=True,  # acknowledged once done: a worker killed mid-task loses nothing
        task_reject_on_worker_lost=True,  # a render process killed (OOM): the message goes back
        worker_prefetch_multiplier=1,  # a worker holds only the tasks it runs
        # The broker lost: running tasks go on (their lease in the store says they are alive);
        # the copy the broker hands out again waits for them (service/worker.py).
        worker_cancel_long_running_tasks_on_connection_loss=False,
        broker_transport_options={
            "visibility_timeout": visibility_timeout,
            # Look for messages whose worker went silent a few times per timeout (kombu's
            # default is every 100 s, whatever the timeout).
            "unacked_restore_interval": max(1.0, min(10.0, visibility_timeout / 4)),
            "unacked_restore_throttle": 1,
        },
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # the broker away for a while: keep trying
        task_ignore_result=True,  # states and results live in the task store
        task_serializer="json", accept_content=["json"],
        task_default_queue="render",
        worker_hijack_root_logger=False,
    )
    return app


class CeleryQueue:
    def __init__(self, config, store: TaskStore, broker: str):
        self.config = config
        self.store = store
        self.celery = celery_app(broker)

    async def start(self, queued: list[Task]) -> None:
        # Published again: a service stopped between storing a task and publishing it would
        # otherwise leave it queued forever. A worker skips a copy whose task already runs.
        for task in queued:
            await asyncio.to_thread(self._publish_again, task)

    def check_capacity(self) -> None:
        """Scaled out the broker holds any number of tasks; nothing to refuse here."""

    def submit(self, task: Task) -> None:
        try:
            self._publish(task)
        except Exception as e:  # noqa: BLE001 - any broker failure: the caller may retry
            self.store.remove(task.id)  # never published: an identical request starts afresh
            raise ServiceBusy(f"the task broker is unreachable ({type(e).__name__}: {e}); retry later") from None

    async def wait(self, task_id: str, seconds: float) -> None:
        """Return when the task finishes or after `seconds`: the store tells, read every POLL s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            task = self.store.get(task_id)
            if task is None or task.done:
                return
            await asyncio.sleep(min(POLL, max(0.0, deadline - loop.time())))

    def cancel(self, task_id: str) -> bool:
        """True if the task was queued or running; its worker stops at its next progress
        report, once the row is gone (the caller removes it)."""
        task = self.store.get(task_id)
        return task is not None and not task.done

    async def close(self) -> None:
        self.celery.close()

    def requeue_orphaned(self, lease: float = LEASE, queued_for: float = VISIBILITY_TIMEOUT) -> None:
        """Publish again each render whose worker let its lease run out (queued again), or
        queued and not taken `queued_for` seconds after it was published: its message may be
        lost, and the broker would hand a dead worker's out again only after the visibility
        timeout. A worker skips a copy whose task already runs."""
        for task in self.store.orphaned(lease, queued_for):
            if self._publish_again(task):
                log.info("task %s: its message may be lost; published again", task.id)

    def _publish_again(self, task: Task) -> bool:
        """Publish a task again and queue it (its heartbeat: now), unless a worker took it meanwhile."""
        self._publish(task)
        return self.store.requeue(task)

    def _publish(self, task: Task) -> None:
        self.celery.send_task(
            RENDER_TASK, args=[task.id, self.policy()], queue="render", task_id=task.id,
            soft_time_limit=self.config.task_timeout, time_limit=self.config.task_timeout + 60,
            retry=True, retry_policy=PUBLISH_RETRY)

    def publish_generation(self, gen_id: str) -> None:
        self.celery.send_task(GENERATE_TASK, args=[gen_id, self.generation_policy()], queue="generate",
                              task_id=gen_id, retry=True, retry_policy=PUBLISH_RETRY)

    def generation_policy(self) -> dict:
        return {"retention_s": self.config.generation_retention_s, "max_attempts": self.config.max_attempts}

    def policy(self) -> dict:
        """What the service decides for every render, wherever it runs."""
        return {
            "media_roots": [str(r) for r in self.config.media_roots],
            "allow_private_urls": self.config.allow_private_urls,
            "max_media_bytes": self.config.max_media_bytes,
            "max_output_pixels": self.config.max_output_pixels,
            "media_timeout": self.config.media_timeout,
            "max_cache_bytes": self.config.max_cache_bytes,
            "task_timeout": self.config.task_timeout,
            "max_attempts": self.config.max_attempts,
            "chunk_seconds": self.config.chunk_seconds,
        }
