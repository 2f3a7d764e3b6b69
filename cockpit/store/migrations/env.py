"""Run Alembic migrations on the engine the cockpit hands over, in batch mode for SQLite."""

from __future__ import annotations

from alembic import context

from cockpit.store.schema import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Migrate through the injected engine; batch mode lets SQLite alter tables."""
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
