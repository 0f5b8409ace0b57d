"""A scaled-out draftrender on loopback: PostgreSQL, Redis, a shared storage folder,
`draftrender serve --broker …` and `draftrender worker`s, each a real process; the task and
generation rows read straight from the database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from service_harness import ServeProcess

from draftrender.service.schema import generations, tasks

VISIBILITY_TIMEOUT = 6  # seconds: a killed worker's task goes to another worker this soon


class Worker:
    def __init__(self, cluster: Cluster, name: str, *args: str):
        self.name = name
        self.log_path = cluster.root / f"{name}.log"
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "draftrender", "worker", *cluster.urls, "--concurrency", "1",
             "--data-dir", str(cluster.root / name), "--visibility-timeout", str(VISIBILITY_TIMEOUT), *args],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def owns(self, pid: int) -> bool:
        """True if `pid` is this worker or one of its pool processes."""
        try:
            return os.getpgid(pid) == self.proc.pid
        except ProcessLookupError:
            return False

    def kill(self) -> None:
        """SIGKILL to the worker and its pool at once, as when its machine dies."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()


class Cluster:
    def __init__(self, root: Path, postgres, redis, database: str):
        self.root = root
        self.postgres, self.redis = postgres, redis
        self.store_url = postgres.create_database(database)
        self.urls = ["--broker", redis.url(), "--store", self.store_url, "--storage", str(root / "storage")]
        self.db = sa.create_engine(self.store_url, pool_pre_ping=True)
        self.workers: list[Worker] = []
        self.service: ServeProcess | None = None

    def start_service(self, *args: str, port: int | None = None) -> ServeProcess:
        self.service_args = args
        self.service = ServeProcess(self.root / "service", *self.urls, "--allow-private-urls", *args,
                                    log=self.root / "service.log", port=port)
        return self.service

    def restart_service(self) -> ServeProcess:
        port = self.service.port
        self.service.stop()
        return self.start_service(*self.service_args, port=port)

    def add_worker(self, *args: str) -> Worker:
        self.workers.append(Worker(self, f"worker{len(self.workers) + 1}", *args))
        return self.workers[-1]

    def row(self, task_id: str) -> sa.Row:
        with self.db.connect() as conn:
            return conn.execute(tasks.select().where(tasks.c.id == task_id)).one()

    def generation(self, gen_id: str) -> sa.Row:
        with self.db.connect() as conn:
            return conn.execute(generations.select().where(generations.c.id == gen_id)).one()

    def wait_row(self, task_id: str, done, timeout: float = 60, *, row=None) -> sa.Row:
        """The row (of `row`, default a render task's) once `done(row)` holds."""
        row_of = row or self.row
        end = time.monotonic() + timeout
        while not done(row := row_of(task_id)):
            assert time.monotonic() < end, f"task {task_id} never got there: {row}\n{self.logs()}"
            time.sleep(0.1)
        return row

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(self.root.glob("*.log")))

    def close(self) -> None:
        if self.service:
            self.service.stop()
        for worker in self.workers:
            worker.stop()
        self.db.dispose()
