"""Each task's owner: the id of the API key that created it (api_keys.id)."""

import sqlalchemy as sa
from alembic import op

revision = "0006_task_owner"
down_revision = "0005_videomatic"


def upgrade() -> None:
    op.add_column("tasks", sa.Column("owner", sa.String(32)))


def downgrade() -> None:
    op.drop_column("tasks", "owner")
