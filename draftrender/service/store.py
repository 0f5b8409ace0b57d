"""The task store: task rows in a database (SQLite in the data dir by default, or any
SQLAlchemy URL, such as PostgreSQL shared by several machines), each task's draft and video
in a Storage (the data dir by default, or a shared folder or bucket), and the local work and
cache folders under the data dir.

Owns what a restart does to tasks that were running, and the terminal transitions: a task
finishes once (compare-and-set), however many workers race to finish it. Every call is a
short statement in its own transaction, so it never holds the event loop for long.
"""

from __future__ import annotations

import fcntl
import json
import logging
import shutil
import time
from pathlib import Path

import sqlalchemy as sa

from ..errors import RenderFailed
from .tasks import COMPLETED, FAILED, FINISHED, PROCESSING, QUEUED, Task, outcome
from .db import open_database, sqlite_url
from .schema import tasks
from .storage import FolderStorage, Storage

log = logging.getLogger("draftrender.tasks")

COLUMNS = tuple(c.name for c in tasks.columns)


class DataDirInUse(RuntimeError):
    """Another service runs on this data dir: both would re-queue each other's renders."""


def claim(data_dir: Path):
    """Hold the data dir's lock for as long as the returned file stays open."""
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    lock = open(Path(data_dir) / "lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise DataDirInUse(f"data dir {data_dir} is in use by another draftrender serve") from None
    return lock


class TaskStore:
    def __init__(self, data_dir: Path, url: str | None = None, storage: Storage | None = None):
        """Work and cache under `data_dir`; rows in the database at `url` (default:
        data_dir/tasks.sqlite3); drafts and videos in `storage` (default: the data dir)."""
        self.root = Path(data_dir)
        for sub in ("work", "cache"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.storage = storage or FolderStorage(self.root)
        self.db = open_database(url or sqlite_url(self.root / "tasks.sqlite3"))

    def close(self) -> None:
        self.db.dispose()

    # -- files ----------------------------------------------------------------------

    def save_draft(self, task_id: str, draft: dict) -> None:
        self.storage.put_bytes(json.dumps(draft, ensure_ascii=False).encode("utf-8"), draft_name(task_id))

    def fetch_draft(self, task_id: str, dest: Path) -> Path:
        """The task's saved draft, copied to the local file `dest`."""
        dest.write_bytes(self.storage.read_bytes(draft_name(task_id)))
        return dest

    def save_video(self, task_id: str, src: Path) -> None:
        """Move the rendered file in as the task's video."""
        self.storage.put_file(src, video_name(task_id))

    def work_dir(self, task_id: str) -> Path:
        return self.root / "work" / task_id

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    # -- rows -----------------------------------------------------------------------

    def add(self, task: Task, draft: dict) -> Task:
        self.save_draft(task.id, draft)
        self._execute(tasks.insert().values(_row(task)))
        return task

    def get(self, task_id: str) -> Task | None:
        return self._first(tasks.select().where(tasks.c.id == task_id))

    def update(self, task: Task, *names: str) -> None:
        row = _row(task)
        names = names or tuple(c for c in COLUMNS if c != "id")
        self._execute(tasks.update().where(tasks.c.id == task.id).values({n: row[n] for n in names}))

    def joinable(self, key: str, failed_since: float) -> Task | None:
        """The task an identical request joins: live or completed, or failed recently."""
        return self._first(tasks.select()
                           .where(tasks.c.key == key, (tasks.c.status != FAILED) | (tasks.c.finished >= failed_since))
                           .order_by(tasks.c.created.desc()).limit(1))

    def latest_for_url(self, draft_url: str, owner: str | None = None) -> Task | None:
        """The newest task for the URL (among `owner`'s tasks, when given)."""
        return self._first(tasks.select().where(tasks.c.draft_url == draft_url, _owned_by(owner))
                           .order_by(tasks.c.created.desc()).limit(1))

    def page(self, statuses: tuple[str, ...], limit: int, offset: int,
             owner: str | None = None) -> tuple[list[Task], int]:
        """Tasks newest first (among `owner`'s tasks, when given), and how many match in all."""
        where = sa.and_(tasks.c.status.in_(statuses) if statuses else sa.true(), _owned_by(owner))
        with self.db.connect() as conn:
            total = conn.scalar(sa.select(sa.func.count()).select_from(tasks).where(where))
            rows = conn.execute(tasks.select().where(where).order_by(tasks.c.created.desc(), tasks.c.id)
                                .limit(limit).offset(offset))
            return [_task(r) for r in rows], total or 0

    def with_status(self, status: str) -> list[Task]:
        return self._all(tasks.select().where(tasks.c.status == status).order_by(tasks.c.created))

    def remove(self, task_id: str) -> None:
        self._execute(tasks.delete().where(tasks.c.id == task_id))
        self.remove_files(task_id)

    def remove_files(self, task_id: str, *, keep_video: bool = False) -> None:
        self.storage.delete(draft_name(task_id))
        shutil.rmtree(self.work_dir(task_id), ignore_errors=True)
        if not keep_video:
            self.storage.delete(video_name(task_id))

    # -- a worker's side (scaled out: the rows are all the workers and the service share) --

    def claim(self, task_id: str, worker_pid: int, *, lease: float) -> Task | None:
        """Start a queued task, or take over a running one whose worker has not beaten for
        `lease` seconds (it died). None when another worker has it, or it is finished or gone."""
        now = time.time()
        stale = (tasks.c.status == PROCESSING) & ((tasks.c.heartbeat == None) | (tasks.c.heartbeat < now - lease))  # noqa: E711
        done = self._execute(tasks.update().where(tasks.c.id == task_id, (tasks.c.status == QUEUED) | stale)
                             .values(status=PROCESSING, stage="parse", progress=0.0, stages={}, started=now,
                                     attempts=tasks.c.attempts + 1, worker_pid=worker_pid, heartbeat=now))
        return self.get(task_id) if done.rowcount else None

    def orphaned(self, lease: float, queued_for: float) -> list[Task]:
        """Running tasks whose worker has not renewed its lease for `lease` seconds, and tasks
        queued (a queued task's heartbeat: when it was last published) `queued_for` seconds ago."""
        now = time.time()
        return self._all(tasks.select().where(
            ((tasks.c.status == PROCESSING) & (tasks.c.heartbeat < now - lease))
            | ((tasks.c.status == QUEUED) & (sa.func.coalesce(tasks.c.heartbeat, tasks.c.created) < now - queued_for))))

    def requeue(self, task: Task) -> bool:
        """Queue an orphaned task again, just published, unless a worker took it meanwhile."""
        done = self._execute(tasks.update().where(tasks.c.id == task.id, tasks.c.status == task.status,
                                                  tasks.c.heartbeat.is_not_distinct_from(task.heartbeat))
                             .values(status=QUEUED, stage=None, progress=0.0, stages={}, worker_pid=None,
                                     heartbeat=time.time()))
        return bool(done.rowcount)

    def beat(self, task: Task) -> bool:
        """Renew the lease of a task this worker claimed; False when it no longer holds it."""
        # Its pid and start time name this claim: a pid alone may repeat on another machine.
        done = self._execute(tasks.update().where(tasks.c.id == task.id, tasks.c.status == PROCESSING,
                                                  tasks.c.worker_pid == task.worker_pid,
                                                  tasks.c.started == task.started).values(heartbeat=time.time()))
        return bool(done.rowcount)

    def report(self, task: Task) -> bool:
        """Save a running task's stage and progress; False when it is no longer running
        (deleted, or finished by another worker): the render should stop."""
        done = self._execute(tasks.update().where(tasks.c.id == task.id, tasks.c.status == PROCESSING)
                             .values(stage=task.stage, progress=task.progress, stages=task.stages))
        return bool(done.rowcount)

    def _execute(self, statement) -> sa.CursorResult:
        with self.db.begin() as conn:
            return conn.execute(statement)

    def _first(self, query) -> Task | None:
        with self.db.connect() as conn:
            row = conn.execute(query).first()
        return _task(row) if row else None

    def _all(self, query) -> list[Task]:
        with self.db.connect() as conn:
            return [_task(r) for r in conn.execute(query)]

    # -- restart and retention ------------------------------------------------------

    def recover(self, max_attempts: int) -> list[Task]:
        """After a restart: tasks that were rendering are queued again, or failed once they
        have been started `max_attempts` times (they may be what brings the server down).
        Returns every queued task, oldest first."""
        for task in self.with_status(PROCESSING):
            shutil.rmtree(self.work_dir(task.id), ignore_errors=True)
            task.worker_pid = None
            if task.attempts >= max_attempts:
                err = RenderFailed(f"the server stopped during this render {task.attempts} times; not retried again")
                self.finish(task, FAILED, error={"status": err.status, **err.to_json()})
            else:
                task.status, task.stage, task.progress, task.stages = QUEUED, None, 0.0, {}
                self.update(task)
        for task in self.with_status(QUEUED):
            if not self.storage.exists(draft_name(task.id)):
                err = RenderFailed("the task's saved draft is gone from the data dir")
                self.finish(task, FAILED, error={"status": err.status, **err.to_json()})
        return self.with_status(QUEUED)

    def finish(self, task: Task, status: str, *, error: dict | None = None, result: dict | None = None) -> bool:
        """Move the task to its terminal `status`, once: False (and nothing changed) when it
        had already finished or is gone."""
        task.status, task.error, task.result = status, error, result
        task.finished, task.worker_pid = time.time(), None
        if status == COMPLETED:
            task.progress = 100.0
        row = _row(task)
        done = self._execute(tasks.update().where(tasks.c.id == task.id, tasks.c.status.not_in(FINISHED))
                             .values({n: v for n, v in row.items() if n != "id"}))
        if done.rowcount:
            self.remove_files(task.id, keep_video=status == COMPLETED)
            log.info("task %s %s", task.id, outcome(task))
        return bool(done.rowcount)

    def expire(self, before: float) -> list[str]:
        """Remove tasks that finished before `before`, and their files; then files no task owns."""
        with self.db.connect() as conn:
            ids = list(conn.scalars(sa.select(tasks.c.id).where(tasks.c.finished < before)))
        for task_id in ids:
            self.remove(task_id)
        self._remove_orphans()
        _remove_older(self.cache_dir, before)
        return ids

    def _remove_orphans(self) -> None:
        with self.db.connect() as conn:
            known = set(conn.scalars(sa.select(tasks.c.id)))
            live = set(conn.scalars(sa.select(tasks.c.id).where(tasks.c.status.in_((QUEUED, PROCESSING)))))
        for name in self.storage.names("videos/"):
            if _task_id(name) not in known:
                self.storage.delete(name)
        for name in self.storage.names("drafts/"):
            if _task_id(name) not in live:
                self.storage.delete(name)
        for path in (self.root / "work").iterdir():
            if path.name not in live:
                shutil.rmtree(path, ignore_errors=True)


def draft_name(task_id: str) -> str:
    return f"drafts/{task_id}.json"


def video_name(task_id: str) -> str:
    return f"videos/{task_id}.mp4"


def _task_id(name: str) -> str:
    return name.rsplit("/", 1)[-1].split(".", 1)[0]


def _owned_by(owner: str | None):
    return sa.true() if owner is None else tasks.c.owner == owner


def _row(task: Task) -> dict:
    return {c: getattr(task, c) for c in COLUMNS}


def _task(row: sa.Row) -> Task:
    return Task(**row._mapping)


def _remove_older(folder: Path, before: float) -> None:
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < before:
                path.unlink()
        except OSError:
            pass  # another worker may be renaming it into place right now
