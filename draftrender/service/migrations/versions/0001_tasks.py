"""The tasks table.

A data dir from before migrations already has it (same columns, JSON as TEXT): kept as is.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_tasks"
down_revision = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("tasks"):
        return
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("draft_url", sa.Text, nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(16)),
        sa.Column("progress", sa.Float, nullable=False, server_default="0"),
        sa.Column("stages", sa.JSON, nullable=False),
        sa.Column("error", sa.JSON),
        sa.Column("result", sa.JSON),
        sa.Column("created", sa.Double, nullable=False),
        sa.Column("started", sa.Double),
        sa.Column("finished", sa.Double),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("worker_pid", sa.Integer),
        sa.Column("base_url", sa.Text),
    )
    op.create_index("tasks_key", "tasks", ["key", "created"])
    op.create_index("tasks_url", "tasks", ["draft_url", "created"])
    op.create_index("tasks_status", "tasks", ["status", "created"])


def downgrade() -> None:
    op.drop_table("tasks")
