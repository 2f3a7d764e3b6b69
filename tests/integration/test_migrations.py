"""Test the Alembic migrations and UTC time columns on SQLite and the real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from cockpit.store.database import alembic_config, is_migrated, migrate, table_names
from cockpit.store.schema import Base, Complaint

pytestmark = pytest.mark.integration

BEIJING = timezone(timedelta(hours=8))


def schema_differences(engine) -> list:
    """Return Alembic's differences between the database and the declared schema."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def current_revision(engine) -> str | None:
    """Return the revision the database is stamped with."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def complaint(external_id: str, received_at: datetime) -> Complaint:
    """Return a complaint received at the given time."""
    return Complaint(
        source="12345",
        external_id=external_id,
        received_at=received_at,
        category="noise",
        text="夜间施工噪音",
        address_text="长白路100号",
    )


def test_migrated_schema_matches_the_models(any_engine) -> None:
    """After migrate(), Alembic finds no difference between the database and the models."""
    assert is_migrated(any_engine)
    assert set(table_names()) <= set(inspect(any_engine).get_table_names())
    assert schema_differences(any_engine) == []


def test_database_is_at_head(any_engine) -> None:
    """The database is stamped with the newest migration."""
    head = ScriptDirectory.from_config(alembic_config(any_engine)).get_current_head()
    assert head is not None
    assert current_revision(any_engine) == head


def test_migrating_twice_is_harmless(any_engine) -> None:
    """A second migrate() changes nothing and keeps the data."""
    with Session(any_engine) as session:
        session.add(complaint("A-1", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)))
        session.commit()
    before = current_revision(any_engine)
    migrate(any_engine)
    migrate(any_engine)
    assert current_revision(any_engine) == before
    assert schema_differences(any_engine) == []
    with Session(any_engine) as session:
        assert session.scalars(select(Complaint.external_id)).all() == ["A-1"]


def test_aware_times_come_back_as_the_same_instant_in_utc(any_engine) -> None:
    """A time written in +08:00 reads back as the same instant, tagged UTC."""
    written = datetime(2026, 1, 1, 9, 30, 15, 123456, tzinfo=BEIJING)
    with Session(any_engine) as session:
        session.add(complaint("T-1", written))
        session.commit()
    with Session(any_engine) as session:
        read = session.scalars(select(Complaint.received_at)).one()
    assert read == written
    assert read.tzinfo is UTC
    assert (read.hour, read.minute, read.microsecond) == (1, 30, 123456)


def test_time_filters_compare_instants(any_engine) -> None:
    """Filtering on a time column compares instants, whatever zone the bound value is in."""
    with Session(any_engine) as session:
        session.add_all(
            [
                # 23:00 UTC the day before, then 01:00 UTC.
                complaint("early", datetime(2026, 1, 1, 7, 0, tzinfo=BEIJING)),
                complaint("late", datetime(2026, 1, 1, 9, 0, tzinfo=BEIJING)),
            ]
        )
        session.commit()
        after_midnight_utc = session.scalars(
            select(Complaint.external_id).where(
                Complaint.received_at >= datetime(2026, 1, 1, tzinfo=UTC)
            )
        ).all()
        assert after_midnight_utc == ["late"]
        ordered = session.scalars(
            select(Complaint.external_id).order_by(Complaint.received_at)
        ).all()
        assert ordered == ["early", "late"]


def test_naive_time_is_refused(any_engine) -> None:
    """Writing a naive datetime fails, and nothing is stored."""
    with Session(any_engine) as session:
        session.add(complaint("N-1", datetime(2026, 1, 1, 9, 30)))
        with pytest.raises(StatementError, match="naive"):
            session.commit()
        session.rollback()
    with Session(any_engine) as session:
        assert session.scalars(select(Complaint)).all() == []
