"""VideoMatic: templates, batches and videos."""

import sqlalchemy as sa
from alembic import op

revision = "0005_videomatic"
down_revision = "0004_task_heartbeat"


def upgrade() -> None:
    op.create_table(
        "vm_templates",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("owner", sa.String(32), nullable=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("base_url", sa.Text, nullable=True),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("canvas", sa.JSON, nullable=False),
        sa.Column("frame_seconds", sa.Double, nullable=True),
        sa.Column("preview_error", sa.Text, nullable=True),
        sa.Column("created", sa.Double, nullable=False),
    )
    op.create_index("vm_templates_category", "vm_templates", ["category", "created"])
    op.create_table(
        "vm_batches",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("owner", sa.String(32), nullable=True),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("template_id", sa.String(40), nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("concurrent", sa.Integer, nullable=False),
        sa.Column("webhook_url", sa.Text, nullable=True),
        sa.Column("created", sa.Double, nullable=False),
        sa.Column("finished", sa.Double, nullable=True),
    )
    op.create_table(
        "vm_videos",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("owner", sa.String(32), nullable=True),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("concurrency", sa.Integer, nullable=True),
        sa.Column("base", sa.Text, nullable=False),
        sa.Column("template_id", sa.String(40), nullable=False),
        sa.Column("batch_id", sa.String(40), nullable=True),
        sa.Column("row", sa.Integer, nullable=True),
        sa.Column("task_id", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("error", sa.JSON, nullable=True),
        sa.Column("webhook_url", sa.Text, nullable=True),
        sa.Column("created", sa.Double, nullable=False),
        sa.Column("completed", sa.Double, nullable=True),
    )
    op.create_index("vm_videos_batch", "vm_videos", ["batch_id", "row"])
    op.create_index("vm_videos_status", "vm_videos", ["status", "created"])


def downgrade() -> None:
    op.drop_table("vm_videos")
    op.drop_table("vm_batches")
    op.drop_table("vm_templates")
