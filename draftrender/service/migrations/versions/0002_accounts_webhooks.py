"""Accounts (users, API keys, credit holds, rate windows, settings) and webhook deliveries."""

import sqlalchemy as sa
from alembic import op

revision = "0002_accounts_webhooks"
down_revision = "0001_tasks"


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("plan", sa.String(32), nullable=False),
        sa.Column("created", sa.Double, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("name", sa.String(200), nullable=False, default=""),
        sa.Column("plan", sa.String(32), nullable=False),
        sa.Column("credits", sa.BigInteger, nullable=True),
        sa.Column("admin", sa.Boolean, nullable=False, default=False),
        sa.Column("webhook_secret", sa.Text, nullable=False),
        sa.Column("created", sa.Double, nullable=False),
        sa.Column("revoked", sa.Double, nullable=True),
    )
    op.create_table(
        "credit_holds",
        sa.Column("task_id", sa.String(64), primary_key=True),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created", sa.Double, nullable=False),
        sa.Column("settled", sa.Double, nullable=True),
    )
    op.create_table(
        "rate_windows",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("window_start", sa.BigInteger, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_table(
        "account_settings",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("task_id", sa.String(64), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("signer", sa.String(32), nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("created", sa.Double, nullable=False),
        sa.Column("next_at", sa.Double, nullable=True),
        sa.Column("finished", sa.Double, nullable=True),
        sa.Column("log", sa.JSON, nullable=False),
    )
    op.create_index("webhook_deliveries_task", "webhook_deliveries", ["task_id", "created"])
    op.create_index("webhook_deliveries_due", "webhook_deliveries", ["status", "next_at"])


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("account_settings")
    op.drop_table("rate_windows")
    op.drop_table("credit_holds")
    op.drop_table("api_keys")
    op.drop_table("users")
