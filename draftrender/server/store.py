"""The task store: one SQLite file in the data dir, plus the drafts and videos beside it.

Owns the task rows, the files that belong to a task (drafts/<id>.json, videos/<id>.mp4,
work/<id>/) and what a restart does to tasks that were running. Only the event loop's
thread uses it; every call is a short statement, so it never holds the loop for long.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import sqlite3
import time
from pathlib import Path

from ..errors import RenderFailed
from .task import COMPLETED, FAILED, PROCESSING, QUEUED, Task

SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY, key TEXT NOT NULL, draft_url TEXT NOT NULL, options TEXT NOT NULL,
    status TEXT NOT NULL, stage TEXT, progress REAL NOT NULL DEFAULT 0, stages TEXT NOT NULL DEFAULT '{}',
    error TEXT, result TEXT, created REAL NOT NULL, started REAL, finished REAL,
    attempts INTEGER NOT NULL DEFAULT 0, worker_pid INTEGER, base_url TEXT
);
CREATE INDEX IF NOT EXISTS tasks_key ON tasks (key, created);
CREATE INDEX IF NOT EXISTS tasks_url ON tasks (draft_url, created);
CREATE INDEX IF NOT EXISTS tasks_status ON tasks (status, created);
"""
JSON_COLUMNS = ("options", "stages", "error", "result")
COLUMNS = ("id", "key", "draft_url", "options", "status", "stage", "progress", "stages", "error", "result",
           "created", "started", "finished", "attempts", "worker_pid", "base_url")


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
    def __init__(self, data_dir: Path):
        self.root = Path(data_dir)
        for sub in ("drafts", "videos", "work", "cache"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.root / "tasks.sqlite3", isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        # WAL: readers (a second process inspecting the file) never block the service.
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- files ----------------------------------------------------------------------

    def draft_file(self, task_id: str) -> Path:
        return self.root / "drafts" / f"{task_id}.json"

    def video_file(self, task_id: str) -> Path:
        return self.root / "videos" / f"{task_id}.mp4"

    def work_dir(self, task_id: str) -> Path:
        return self.root / "work" / task_id

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    # -- rows -----------------------------------------------------------------------

    def add(self, task: Task, draft: dict) -> Task:
        self.draft_file(task.id).write_text(json.dumps(draft, ensure_ascii=False), encoding="utf-8")
        row = self._row(task)
        self.db.execute(f"INSERT INTO tasks ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                        tuple(row.values()))
        return task

    def get(self, task_id: str) -> Task | None:
        row = self.db.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
        return _task(row) if row else None

    def update(self, task: Task, *names: str) -> None:
        row = self._row(task)
        names = names or tuple(c for c in COLUMNS if c != "id")
        self.db.execute(f"UPDATE tasks SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?",
                        tuple(row[n] for n in names) + (task.id,))

    def joinable(self, key: str, failed_since: float) -> Task | None:
        """The task an identical request joins: live or completed, or failed recently."""
        row = self.db.execute(
            "SELECT * FROM tasks WHERE key = ? AND (status != ? OR finished >= ?) ORDER BY created DESC LIMIT 1",
            (key, FAILED, failed_since)).fetchone()
        return _task(row) if row else None

    def latest_for_url(self, draft_url: str) -> Task | None:
        row = self.db.execute("SELECT * FROM tasks WHERE draft_url = ? ORDER BY created DESC LIMIT 1",
                              (draft_url,)).fetchone()
        return _task(row) if row else None

    def page(self, statuses: tuple[str, ...], limit: int, offset: int) -> tuple[list[Task], int]:
        """Tasks newest first, and how many match in all."""
        where = f"WHERE status IN ({', '.join('?' * len(statuses))})" if statuses else ""
        total = self.db.execute(f"SELECT COUNT(*) FROM tasks {where}", statuses).fetchone()[0]
        rows = self.db.execute(f"SELECT * FROM tasks {where} ORDER BY created DESC, id LIMIT ? OFFSET ?",
                               statuses + (limit, offset)).fetchall()
        return [_task(r) for r in rows], total

    def with_status(self, status: str) -> list[Task]:
        rows = self.db.execute("SELECT * FROM tasks WHERE status = ? ORDER BY created", (status,)).fetchall()
        return [_task(r) for r in rows]

    def remove(self, task_id: str) -> None:
        self.db.execute("DELETE FROM tasks WHERE id = ?", (task_id,))
        self.remove_files(task_id)

    def remove_files(self, task_id: str, *, keep_video: bool = False) -> None:
        self.draft_file(task_id).unlink(missing_ok=True)
        shutil.rmtree(self.work_dir(task_id), ignore_errors=True)
        if not keep_video:
            self.video_file(task_id).unlink(missing_ok=True)

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
            if not self.draft_file(task.id).is_file():
                err = RenderFailed("the task's saved draft is gone from the data dir")
                self.finish(task, FAILED, error={"status": err.status, **err.to_json()})
        return self.with_status(QUEUED)

    def finish(self, task: Task, status: str, *, error: dict | None = None, result: dict | None = None) -> None:
        task.status, task.error, task.result = status, error, result
        task.finished, task.worker_pid = time.time(), None
        if status == COMPLETED:
            task.progress = 100.0
        self.update(task)
        self.remove_files(task.id, keep_video=status == COMPLETED)

    def expire(self, before: float) -> list[str]:
        """Remove tasks that finished before `before`, and their files; then files no task owns."""
        ids = [r[0] for r in self.db.execute("SELECT id FROM tasks WHERE finished IS NOT NULL AND finished < ?",
                                             (before,))]
        for task_id in ids:
            self.remove(task_id)
        self._remove_orphans()
        _remove_older(self.cache_dir, before)
        return ids

    def _remove_orphans(self) -> None:
        known = {r[0] for r in self.db.execute("SELECT id FROM tasks")}
        live = {r[0] for r in self.db.execute("SELECT id FROM tasks WHERE status IN (?, ?)", (QUEUED, PROCESSING))}
        for path in (self.root / "videos").iterdir():
            if path.stem not in known and not path.name.startswith("."):
                path.unlink(missing_ok=True)
        for path in (self.root / "work").iterdir():
            if path.name not in live:
                shutil.rmtree(path, ignore_errors=True)
        for path in (self.root / "drafts").iterdir():
            if path.stem not in live:
                path.unlink(missing_ok=True)

    @staticmethod
    def _row(task: Task) -> dict:
        row = {c: getattr(task, c) for c in COLUMNS}
        for c in JSON_COLUMNS:
            if row[c] is not None:
                row[c] = json.dumps(row[c], ensure_ascii=False)
        return row


def _task(row: sqlite3.Row) -> Task:
    values = dict(row)
    for c in JSON_COLUMNS:
        if values[c] is not None:
            values[c] = json.loads(values[c])
    return Task(**values)


def _remove_older(folder: Path, before: float) -> None:
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < before:
                path.unlink()
        except OSError:
            pass  # another worker may be renaming it into place right now
