"""generations.worker, heartbeat, attempts: a scaled-out worker's lease on the generation it runs."""

import sqlalchemy as sa
from alembic import op

revision = "0007_generation_lease"
down_revision = "0006_task_owner"


def upgrade() -> None:
    op.add_column("generations", sa.Column("worker", sa.String(64)))
    op.add_column("generations", sa.Column("heartbeat", sa.Double))
    op.add_column("generations", sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("generations") as batch:
        batch.drop_column("attempts")
        batch.drop_column("heartbeat")
        batch.drop_column("worker")
