"""Generation tasks behind the gateway."""

import sqlalchemy as sa
from alembic import op

revision = "0003_generations"
down_revision = "0002_accounts_webhooks"


def upgrade() -> None:
    op.create_table(
        "generations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("api", sa.String(16), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("request", sa.JSON, nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Integer, nullable=False),
        sa.Column("key_id", sa.String(32)),
        sa.Column("provider", sa.String(64)),
        sa.Column("provider_job_id", sa.String(200)),
        sa.Column("error_code", sa.String(64)),
        sa.Column("error_message", sa.Text),
        sa.Column("callback_url", sa.Text),
        sa.Column("base_url", sa.Text, nullable=False),
        sa.Column("price", sa.BigInteger, nullable=False),
        sa.Column("created", sa.Double, nullable=False),
        sa.Column("started", sa.Double),
        sa.Column("completed", sa.Double),
        sa.Column("deadline", sa.Double),
        sa.Column("expires", sa.Double),
        sa.Column("files_removed", sa.Boolean, nullable=False),
        sa.Column("width", sa.Integer),
        sa.Column("height", sa.Integer),
        sa.Column("seconds", sa.Double),
        sa.Column("file_size", sa.BigInteger),
    )
    op.create_index("generations_api", "generations", ["api", "key_id", "created"])
    op.create_index("generations_status", "generations", ["status"])


def downgrade() -> None:
    op.drop_table("generations")
