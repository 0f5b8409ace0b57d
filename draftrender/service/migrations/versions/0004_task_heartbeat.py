"""tasks.heartbeat: a scaled-out worker's lease on the task it runs."""

import sqlalchemy as sa
from alembic import op

revision = "0004_task_heartbeat"
down_revision = "0003_generations"


def upgrade() -> None:
    op.add_column("tasks", sa.Column("heartbeat", sa.Double))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("heartbeat")
