"""Templates, template videos and batches: their rows (vm_* tables) and the template drafts.

A template is a draft with `{{fields}}` (timeline/templates.py), kept as
`templates/<id>/draft.json` in the data dir with its preview still beside it. A video is one
row of data for a template; it waits as `pending` until the dispatcher gives it a render task,
then mirrors that task's status. Status changes are compare-and-set, so each is announced once.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import sqlalchemy as sa

from .schema import batches, tasks, templates, videos

PENDING = "pending"  # not yet given to the render pool; callers see "queued"
LIVE = ("pending", "queued", "processing")


def templates_dir(data_dir: Path) -> Path:
    """Where a service keeps its templates' drafts, previews and uploaded media."""
    return Path(data_dir) / "templates"


class TemplateStore:
    def __init__(self, engine: sa.Engine, root: Path):
        self.db = engine
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    # -- templates ------------------------------------------------------------------

    def folder(self, template_id: str) -> Path:
        return self.root / template_id

    def preview_file(self, template_id: str) -> Path:
        return self.folder(template_id) / "preview.png"

    def add_template(self, row: dict, draft: dict) -> None:
        self.folder(row["id"]).mkdir(parents=True, exist_ok=True)
        (self.folder(row["id"]) / "draft.json").write_text(json.dumps(draft, ensure_ascii=False), encoding="utf-8")
        self._execute(templates.insert().values(row))

    def draft(self, template_id: str) -> dict:
        return json.loads((self.folder(template_id) / "draft.json").read_text(encoding="utf-8"))

    def template(self, template_id: str) -> dict | None:
        return self._first(templates.select().where(templates.c.id == template_id))

    def templates(self, owner: str | None, category: str | None, limit: int, offset: int) -> tuple[list[dict], int]:
        where = [templates.c.owner == owner] if owner is not None else []
        if category:
            where.append(templates.c.category == category)
        with self.db.connect() as conn:
            total = conn.scalar(sa.select(sa.func.count()).select_from(templates).where(*where))
            rows = conn.execute(templates.select().where(*where).order_by(templates.c.created.desc(), templates.c.id)
                                .limit(limit).offset(offset)).mappings().all()
        return [dict(r) for r in rows], total or 0

    def update_template(self, template_id: str, **values) -> None:
        self._execute(templates.update().where(templates.c.id == template_id).values(**values))

    def delete_template(self, template_id: str) -> None:
        self._execute(templates.delete().where(templates.c.id == template_id))
        shutil.rmtree(self.folder(template_id), ignore_errors=True)

    # -- videos ---------------------------------------------------------------------

    def add_videos(self, rows: list[dict]) -> None:
        if rows:
            self._execute(videos.insert(), rows)

    def video(self, video_id: str) -> dict | None:
        return self._first(videos.select().where(videos.c.id == video_id))

    def batch_videos(self, batch_id: str) -> list[dict]:
        return self._all(videos.select().where(videos.c.batch_id == batch_id).order_by(videos.c.row))

    def move(self, video_id: str, before: str, **values) -> bool:
        """Set the video's values if its status is still `before`; True for the one caller that did."""
        with self.db.begin() as conn:
            return conn.execute(videos.update().where(videos.c.id == video_id, videos.c.status == before)
                                .values(**values)).rowcount == 1

    def pending(self) -> list[dict]:
        """Videos waiting for a render task, oldest first."""
        return self._all(videos.select().where(videos.c.status == PENDING).order_by(videos.c.created, videos.c.row))

    def dispatched(self) -> list[dict]:
        """Videos with a render task that were last seen unfinished, with the task's status now
        (None when the task is gone)."""
        query = (sa.select(videos, tasks.c.status.label("task_status"))
                 .select_from(videos.outerjoin(tasks, videos.c.task_id == tasks.c.id))
                 .where(videos.c.status.in_(("queued", "processing"))))
        return self._all(query)

    def running_counts(self) -> tuple[dict[str | None, int], dict[str, int]]:
        """Videos given to the pool and not finished: per owner, and per batch."""
        live = videos.c.status.in_(("queued", "processing"))
        with self.db.connect() as conn:
            owners = conn.execute(sa.select(videos.c.owner, sa.func.count()).where(live).group_by(videos.c.owner))
            per_batch = conn.execute(sa.select(videos.c.batch_id, sa.func.count())
                                     .where(live, videos.c.batch_id.is_not(None)).group_by(videos.c.batch_id))
            return dict(owners.all()), dict(per_batch.all())

    def render_speed(self, last: int = 20) -> float | None:
        """Seconds of rendering per second of video over the last template renders, or None."""
        query = (sa.select(tasks.c.started, tasks.c.finished, tasks.c.result)
                 .select_from(videos.join(tasks, videos.c.task_id == tasks.c.id))
                 .where(tasks.c.status == "completed", tasks.c.started.is_not(None))
                 .order_by(tasks.c.finished.desc()).limit(last))
        spent = length = 0.0
        for started, finished, result in self._rows(query):
            spent += finished - started
            length += (result or {}).get("duration") or 0.0
        return spent / length if length > 0 else None

    # -- batches --------------------------------------------------------------------

    def add_batch(self, row: dict, video_rows: list[dict]) -> None:
        with self.db.begin() as conn:
            conn.execute(batches.insert().values(row))
            if video_rows:
                conn.execute(videos.insert(), video_rows)

    def batch(self, batch_id: str) -> dict | None:
        return self._first(batches.select().where(batches.c.id == batch_id))

    def batch_concurrency(self) -> dict[str, int]:
        with self.db.connect() as conn:
            return dict(conn.execute(sa.select(batches.c.id, batches.c.concurrent)
                                     .where(batches.c.finished.is_(None))).all())

    def finish_batch(self, batch_id: str) -> bool:
        """Mark the batch finished if every video is and it was not yet; True for the one caller that did."""
        with self.db.begin() as conn:
            unfinished = conn.scalar(sa.select(sa.func.count()).select_from(videos).where(
                videos.c.batch_id == batch_id, videos.c.status.in_(LIVE)))
            if unfinished:
                return False
            return conn.execute(batches.update().where(batches.c.id == batch_id, batches.c.finished.is_(None))
                                .values(finished=time.time())).rowcount == 1

    # -- plumbing -------------------------------------------------------------------

    def _execute(self, statement, params=None) -> None:
        with self.db.begin() as conn:
            conn.execute(statement, params) if params is not None else conn.execute(statement)

    def _rows(self, query) -> list:
        with self.db.connect() as conn:
            return list(conn.execute(query).all())

    def _first(self, query) -> dict | None:
        with self.db.connect() as conn:
            row = conn.execute(query).mappings().first()
        return dict(row) if row else None

    def _all(self, query) -> list[dict]:
        with self.db.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings().all()]
