"""The service's side of the broker (service/queue.py) on a real Redis and PostgreSQL: a task
whose message may be lost (queued long ago and not taken, or its worker silent past its
lease) is published again, once, and queued again."""

from __future__ import annotations

import json
import time
import uuid

import redis

from draftrender.server.config import ServerConfig
from draftrender.service.queue import CeleryQueue
from draftrender.service.storage import FolderStorage
from draftrender.service.store import TaskStore
from draftrender.service.tasks import PROCESSING, QUEUED, Task

BROKER_DB = 7  # a Redis database of its own: the test counts the messages in it


def published(broker: redis.Redis) -> list[str]:
    """The task ids of the messages waiting in the render queue."""
    return [json.loads(m)["headers"]["id"] for m in broker.lrange("render", 0, -1)]


def test_tasks_whose_messages_may_be_lost_are_published_again_once(tmp_path, postgres, redis_server):
    broker = redis.Redis.from_url(redis_server.url(BROKER_DB))
    broker.flushdb()
    store = TaskStore(tmp_path / "data", postgres.create_database(f"queue_{uuid.uuid4().hex[:12]}"),
                      FolderStorage(tmp_path / "storage"))
    queue = CeleryQueue(ServerConfig(data_dir=tmp_path / "data"), store, redis_server.url(BROKER_DB))
    now = time.time()
    waiting = store.add(Task(id="waiting", key="a", draft_url="http://x/a.json", options={}, created=now - 120), {})
    fresh = store.add(Task(id="fresh", key="b", draft_url="http://x/b.json", options={}, created=now), {})
    silent = store.add(Task(id="silent", key="c", draft_url="http://x/c.json", options={}, created=now - 120,
                            status=PROCESSING, attempts=1, worker_pid=1, started=now - 100, heartbeat=now - 30), {})
    alive = store.add(Task(id="alive", key="d", draft_url="http://x/d.json", options={}, created=now - 120,
                           status=PROCESSING, attempts=1, worker_pid=2, started=now - 100, heartbeat=now), {})
    try:
        queue.requeue_orphaned(lease=10, queued_for=60)
        assert sorted(published(broker)) == ["silent", "waiting"]
        assert store.get(silent.id).status == QUEUED and store.get(silent.id).worker_pid is None
        assert [store.get(t.id).status for t in (waiting, fresh, alive)] == [QUEUED, QUEUED, PROCESSING]

        queue.requeue_orphaned(lease=10, queued_for=60)  # just published: not again
        assert sorted(published(broker)) == ["silent", "waiting"]
    finally:
        broker.flushdb()
        queue.celery.close()
        store.close()
