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
    sa.Column("owner", sa.String(32)),  # the id of the API key that created it (api_keys.id); None: no keys
    # Scaled out: when the task's worker last said it is alive (epoch seconds); another worker
    # takes over a running task only once this is older than the lease (service/worker.py).
    sa.Column("heartbeat", sa.Double),
    sa.Index("tasks_key", "key", "created"),
    sa.Index("tasks_url", "draft_url", "created"),
    sa.Index("tasks_status", "status", "created"),
)

# Accounts (service/accounts.py): API keys are stored as SHA-256 hashes, passwords as Argon2id.
users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),  # Argon2id, with its parameters
    sa.Column("plan", sa.String(32), nullable=False),
    sa.Column("created", sa.Double, nullable=False),
)
api_keys = sa.Table(
    "api_keys", metadata,
    sa.Column("id", sa.String(32), primary_key=True),  # public: shown in listings and logs
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),  # sha256 hex of the key
    sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=True),
    sa.Column("name", sa.String(200), nullable=False, default=""),
    sa.Column("plan", sa.String(32), nullable=False),
    sa.Column("credits", sa.BigInteger, nullable=True),  # None: unlimited
    sa.Column("admin", sa.Boolean, nullable=False, default=False),
    sa.Column("webhook_secret", sa.Text, nullable=False),  # signs this key's callbacks
    sa.Column("created", sa.Double, nullable=False),
    sa.Column("revoked", sa.Double, nullable=True),
)
credit_holds = sa.Table(
    "credit_holds", metadata,
    sa.Column("task_id", sa.String(64), primary_key=True),
    sa.Column("key_id", sa.String(32), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # held → charged | refunded, once
    sa.Column("created", sa.Double, nullable=False),
    sa.Column("settled", sa.Double, nullable=True),
)
rate_windows = sa.Table(
    "rate_windows", metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("scope", sa.String(64), primary_key=True),
    sa.Column("window_start", sa.BigInteger, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)
settings = sa.Table(
    "account_settings", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# Webhook deliveries (service/webhooks.py), with each attempt in `log`.
deliveries = sa.Table(
    "webhook_deliveries", metadata,
    sa.Column("id", sa.String(40), primary_key=True),  # the message id: the same on every attempt
    sa.Column("task_id", sa.String(64), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # sent byte for byte (UTF-8) on every attempt
    sa.Column("signer", sa.String(32), nullable=False),
    sa.Column("secret", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending → delivered | failed
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("created", sa.Double, nullable=False),
    sa.Column("next_at", sa.Double, nullable=True),
    sa.Column("finished", sa.Double, nullable=True),
    sa.Column("log", sa.JSON, nullable=False),  # [{at, status, error}] per attempt
    sa.Index("webhook_deliveries_task", "task_id", "created"),
    sa.Index("webhook_deliveries_due", "status", "next_at"),
)

# Generation tasks behind the gateway (service/generations.py), whichever API made them.
generations = sa.Table(
    "generations", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("api", sa.String(16), nullable=False),  # openai | vibegen | zhaotou: the shape it answers in
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("request", sa.JSON, nullable=False),  # generate.GenerationRequest
    sa.Column("params", sa.JSON, nullable=False),  # the API's own fields, echoed in its answers
    sa.Column("status", sa.String(16), nullable=False),  # queued, in_progress, completed, failed
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
    sa.Column("worker", sa.String(64)),  # scaled out: the claim of the worker running it
    sa.Column("heartbeat", sa.Double),  # that worker's lease, renewed while it runs
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Index("generations_api", "api", "key_id", "created"),
    sa.Index("generations_status", "status"),
)

# VideoMatic (service/templates.py): templates are drafts with {{fields}}; a video is one filled
# template, rendered by a task once it is dispatched; a batch is many videos from one table.
templates = sa.Table(
    "vm_templates", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("owner", sa.String(32), nullable=True),  # the key id (or user id) that made it
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("source", sa.Text, nullable=False),  # where the draft came from, for people
    sa.Column("base_url", sa.Text, nullable=True),  # relative media resolve against it
    sa.Column("fields", sa.JSON, nullable=False),  # [Field.to_json()]
    sa.Column("canvas", sa.JSON, nullable=False),  # {width, height, fps, duration}
    sa.Column("frame_seconds", sa.Double, nullable=True),  # the preview still's render time: a speed
    sa.Column("preview_error", sa.Text, nullable=True),
    sa.Column("created", sa.Double, nullable=False),
    sa.Index("vm_templates_category", "category", "created"),
)
batches = sa.Table(
    "vm_batches", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("owner", sa.String(32), nullable=True),
    sa.Column("key_id", sa.String(32), nullable=True),  # whose webhook secret signs its callbacks
    sa.Column("template_id", sa.String(40), nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("concurrent", sa.Integer, nullable=False),
    sa.Column("webhook_url", sa.Text, nullable=True),
    sa.Column("created", sa.Double, nullable=False),
    sa.Column("finished", sa.Double, nullable=True),  # set once, when batch.completed is sent
)
videos = sa.Table(
    "vm_videos", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("owner", sa.String(32), nullable=True),  # the user (or key) whose video it is
    sa.Column("key_id", sa.String(32), nullable=True),  # whose webhook secret signs its callbacks
    sa.Column("concurrency", sa.Integer, nullable=True),  # the owner's plan: renders at once (None: any)
    sa.Column("base", sa.Text, nullable=False),  # the service's URL as the caller reached it, for file_url
    sa.Column("template_id", sa.String(40), nullable=False),
    sa.Column("batch_id", sa.String(40), nullable=True),
    sa.Column("row", sa.Integer, nullable=True),  # the batch's data row, from 1
    sa.Column("task_id", sa.String(32), nullable=True),  # set when dispatched to the render pool
    sa.Column("status", sa.String(16), nullable=False),  # the last status announced: pending → queued → …
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("options", sa.JSON, nullable=False),  # render options (scale, crf)
    sa.Column("error", sa.JSON, nullable=True),  # {code, message, field, row}
    sa.Column("webhook_url", sa.Text, nullable=True),
    sa.Column("created", sa.Double, nullable=False),
    sa.Column("completed", sa.Double, nullable=True),
    sa.Index("vm_videos_batch", "batch_id", "row"),
    sa.Index("vm_videos_status", "status", "created"),
)
