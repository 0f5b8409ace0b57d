"""Every table of the service, in one SQLAlchemy Core MetaData: the same schema on SQLite
and PostgreSQL. A change here needs a migration in migrations/versions/ (see db.migrate);
tests/service/test_schema.py fails while the two disagree.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# Every kind of render task; JSON columns hold plain dicts, NULL when absent.
tasks = sa.Table(
    "tasks", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("key", sa.Text, nullable=False),  # draft_url + options + draft: identical requests share a task
    sa.Column("draft_url", sa.Text, nullable=False),
    sa.Column("options", sa.JSON(none_as_null=True), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("stage", sa.String(16)),
    sa.Column("progress", sa.Float, nullable=False, server_default="0"),
    sa.Column("stages", sa.JSON(none_as_null=True), nullable=False),
    sa.Column("error", sa.JSON(none_as_null=True)),
    sa.Column("result", sa.JSON(none_as_null=True)),
    sa.Column("created", sa.Double, nullable=False),  # epoch seconds
    sa.Column("started", sa.Double),
    sa.Column("finished", sa.Double),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("worker_pid", sa.Integer),
    sa.Column("base_url", sa.Text),
    sa.Index("tasks_key", "key", "created"),
    sa.Index("tasks_url", "draft_url", "created"),
    sa.Index("tasks_status", "status", "created"),
)
