"""Create the engine once, migrate the schema with Alembic and reset sequences after bulk loads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, create_engine, event, func, inspect, select, text
from sqlalchemy.engine import make_url

from cockpit.store.schema import Base

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def make_engine(url: str) -> Engine:
    """Return an engine for the URL; SQLite gets WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """Turn on WAL and foreign keys for each new SQLite connection."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    """Return an Alembic configuration bound to the engine."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


@dataclass(frozen=True)
class MigrationReport:
    """Say what a migration did: the revision before and after, and the tables it created."""

    before: str | None
    after: str | None
    created_tables: tuple[str, ...]

    def describe(self) -> str:
        """Return one plain sentence for an operator."""
        if self.before == self.after:
            return f"schema is current (revision {self.after}); nothing created"
        created = (
            f"; created {len(self.created_tables)} tables: {', '.join(self.created_tables)}"
            if self.created_tables
            else ""
        )
        if self.before is None:
            return f"created the schema at revision {self.after}{created}"
        return f"upgraded the schema from revision {self.before} to {self.after}{created}"


def migrate(engine: Engine) -> MigrationReport:
    """Bring the schema to the newest migration and say what changed; safe on every start."""
    tables_before = set(inspect(engine).get_table_names())
    before = current_revision(engine)
    command.upgrade(alembic_config(engine), "head")
    created = sorted(set(inspect(engine).get_table_names()) - tables_before - {"alembic_version"})
    return MigrationReport(before, current_revision(engine), tuple(created))


def current_revision(engine: Engine) -> str | None:
    """Return the store's Alembic revision, or None when it has none yet."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def store_location(url: str) -> str:
    """Return where a store lives, for messages: a SQLite file's path or the URL without password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return parsed.render_as_string(hide_password=True)


def missing_store(url: str) -> str | None:
    """Tell why there is no store at the URL without creating one: no file, or no schema."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not Path(database).exists():
            return f"no store at {database}"
    engine = make_engine(url)
    try:
        if not is_migrated(engine):
            return f"the database at {store_location(url)} holds no cockpit schema"
    finally:
        engine.dispose()
    return None


def table_names() -> list[str]:
    """Return the names of the tables the schema declares, parents before children."""
    return [table.name for table in Base.metadata.sorted_tables]


def is_migrated(engine: Engine) -> bool:
    """Tell whether the schema's tables exist in the database."""
    return "streets" in inspect(engine).get_table_names()


def max_id(conn: Connection, table) -> int:
    """Return the largest id in a table, or 0 when it is empty."""
    return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())


def reset_sequences(engine: Engine) -> None:
    """Move PostgreSQL id sequences past explicitly inserted ids (SQLite needs nothing)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        # A store at an older revision (a migration's test) lacks the newer tables: skip them.
        present = set(inspect(conn).get_table_names())
        for name in (name for name in table_names() if name in present):
            # Identifiers cannot be bound; these names come from our own metadata, never from input.
            conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence(:table, 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"
                ),
                {"table": name},
            )


def clear_store(engine: Engine) -> None:
    """Delete every row of every table, children first, keeping the schema."""
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
