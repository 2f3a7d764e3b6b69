"""A faster-than-real street's clock resumes from its last run's time, never going back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from cockpit.simulator.resume import last_simulated_time, simulation_clock
from cockpit.store import schema


def played(engine, name: str, at: datetime) -> None:
    """Record that a scripted incident played at a simulated time."""
    with engine.begin() as conn:
        conn.execute(insert(schema.ScenarioIncident), {"name": name, "due_at": at, "played_at": at})


def test_an_empty_store_starts_the_clock_now(sqlite_engine):
    assert last_simulated_time(sqlite_engine) is None
    now = datetime.now(UTC)
    assert abs((simulation_clock(sqlite_engine, 60).now() - now).total_seconds()) < 60


def test_a_street_that_ran_ahead_goes_on_from_where_it_stood(sqlite_engine):
    ahead = datetime.now(UTC) + timedelta(hours=5)
    played(sqlite_engine, "smoke_alarm", ahead - timedelta(hours=1))
    with sqlite_engine.begin() as conn:
        conn.execute(
            insert(schema.Complaint),
            {
                "source": "12345",
                "external_id": "C-1",
                "received_at": ahead,
                "category": "noise",
                "text": "夜间施工噪音",
                "address_text": "长白路100号",
            },
        )
    assert last_simulated_time(sqlite_engine) == ahead
    assert simulation_clock(sqlite_engine, 60).now() >= ahead


def test_at_real_speed_the_clock_never_follows_a_future_record(sqlite_engine):
    played(sqlite_engine, "smoke_alarm", datetime.now(UTC) + timedelta(days=3650))
    clock = simulation_clock(sqlite_engine, 1)
    assert clock.now() < datetime.now(UTC) + timedelta(minutes=1)
