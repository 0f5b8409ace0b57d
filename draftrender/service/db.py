"""Opening the database: an engine for a URL (SQLite or PostgreSQL), brought to the newest
schema by the Alembic migrations in migrations/versions/ before it is used.

To add a table: define it in schema.py, then add migrations/versions/NNNN_name.py whose
down_revision is the newest one there (one head: upgrade fails on two).
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
# Any fixed number: it names the one lock that serialises migrations across PostgreSQL clients.
MIGRATION_LOCK = 2026_0520


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{Path(path)}"


def open_database(url: str) -> sa.Engine:
    """An engine for `url`, its schema migrated to the newest version."""
    engine = sa.create_engine(url, json_serializer=lambda o: json.dumps(o, ensure_ascii=False),
                              pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    migrate(engine)
    return engine


def migrate(engine: sa.Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two services starting at once: the second waits, then finds nothing to do.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL: readers (a second process inspecting the file) never block the service.
    dbapi_conn.execute("PRAGMA journal_mode=WAL")
    dbapi_conn.execute("PRAGMA synchronous=NORMAL")
