"""The task store on SQLite and on PostgreSQL: the same calls, the same answers."""

from __future__ import annotations

import sqlite3
import time
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from draftrender.service.db import MIGRATIONS
from draftrender.service.schema import metadata
from draftrender.service.store import TaskStore, draft_name
from draftrender.service.tasks import COMPLETED, FAILED, PROCESSING, QUEUED, Task


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").create_database(f"store_{uuid.uuid4().hex[:12]}")
    s = TaskStore(tmp_path / "data", url)
    yield s
    s.close()


def task(n: int, **fields) -> Task:
    return Task(id=f"{n:032x}", key=f"k{n}", draft_url=f"https://x.example/{n}.json", options={"fps": 30},
                **fields)


def test_rows_round_trip_with_json_and_utf8(store):
    t = store.add(task(1, created=100.0), {"标题": "你好"})
    assert store.storage.read_bytes(draft_name(t.id)).decode() == '{"标题": "你好"}'
    t.status, t.stage, t.progress, t.stages = PROCESSING, "render", 42.5, {"parse": 0.25}
    store.update(t, "status", "stage", "progress", "stages")
    got = store.get(t.id)
    assert (got.status, got.stage, got.progress, got.stages, got.options) == (PROCESSING, "render", 42.5,
                                                                              {"parse": 0.25}, {"fps": 30})
    assert got.error is None and got.result is None
    store.finish(got, FAILED, error={"status": 422, "detail": "素材缺失"})
    assert store.get(t.id).error == {"status": 422, "detail": "素材缺失"}
    assert store.get("f" * 32) is None


def test_queries_order_and_filter(store):
    for n in range(5):
        store.add(task(n, created=100.0 + n, status=COMPLETED if n % 2 else QUEUED), {})
    page, total = store.page((QUEUED,), limit=2, offset=0)
    assert total == 3 and [t.id for t in page] == [f"{4:032x}", f"{2:032x}"]
    assert [t.id for t in store.with_status(QUEUED)] == [f"{n:032x}" for n in (0, 2, 4)]
    assert store.latest_for_url("https://x.example/3.json").id == f"{3:032x}"
    assert store.joinable("k3", failed_since=0).id == f"{3:032x}"
    assert store.finish(store.get(f"{0:032x}"), FAILED, error={"status": 500})
    assert store.joinable("k0", failed_since=time.time() - 60).status == FAILED
    assert store.joinable("k0", failed_since=time.time() + 60) is None


def test_recover_and_expire(store):
    running = store.add(task(1, status=PROCESSING, attempts=1), {})
    spent = store.add(task(2, status=PROCESSING, attempts=3), {})
    queued = store.add(task(3), {})
    assert [t.id for t in store.recover(max_attempts=3)] == [running.id, queued.id]
    assert store.get(spent.id).status == FAILED
    assert store.expire(before=time.time() + 1) == [spent.id]
    assert store.get(spent.id) is None and store.get(running.id).status == QUEUED


def test_the_schema_matches_the_migrations(store):
    with store.db.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diffs == []


def newest_migration() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def test_a_data_dir_from_before_migrations_keeps_its_tasks(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    db = sqlite3.connect(data / "tasks.sqlite3")
    db.executescript("""
        CREATE TABLE tasks (id TEXT PRIMARY KEY, key TEXT NOT NULL, draft_url TEXT NOT NULL, options TEXT NOT NULL,
            status TEXT NOT NULL, stage TEXT, progress REAL NOT NULL DEFAULT 0, stages TEXT NOT NULL DEFAULT '{}',
            error TEXT, result TEXT, created REAL NOT NULL, started REAL, finished REAL,
            attempts INTEGER NOT NULL DEFAULT 0, worker_pid INTEGER, base_url TEXT);
        INSERT INTO tasks (id, key, draft_url, options, status, result, created)
            VALUES ('aaaa', 'k', 'https://x.example/d.json', '{"fps": 25}', 'completed', '{"frames": 30}', 1.5);
    """)
    db.close()
    store = TaskStore(data)
    old = store.get("aaaa")
    assert (old.options, old.result, old.stages) == ({"fps": 25}, {"frames": 30}, {})
    with store.db.connect() as conn:
        assert conn.scalar(sa.text("SELECT version_num FROM alembic_version")) == newest_migration()
    store.close()


def test_a_task_finishes_once_and_is_taken_over_only_when_its_lease_ran_out(store):
    t = store.add(task(1), {})
    first = store.claim(t.id, 11, lease=10)
    assert first.attempts == 1 and first.heartbeat is not None
    assert store.claim(t.id, 12, lease=10) is None  # its worker renewed the lease just now
    taken = store.claim(t.id, 13, lease=-1)  # no renewal for longer than the lease: its worker died
    assert (taken.worker_pid, taken.attempts) == (13, 2)
    assert not store.beat(first) and store.beat(taken)  # the first worker's claim is over
    taken.progress = 50.0
    assert store.report(taken)
    assert store.finish(taken, COMPLETED, result={"frames": 30})
    late = store.get(t.id)
    assert not store.finish(late, FAILED, error={"status": 500})  # the slower worker loses
    assert not store.report(late)
    assert store.get(t.id).status == COMPLETED and store.get(t.id).result == {"frames": 30}
    assert store.claim(t.id, 14, lease=-1) is None
