"""Keep the alert changes the rules make while the SQL store is down, in order, and bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from cockpit import streaming
from cockpit.alerts import AlertBook
from cockpit.live import InProcessLiveStore, LiveReading
from cockpit.rules.config import load_rules_config
from cockpit.simulator.generator import seed_street
from cockpit.store import schema
from cockpit.streaming import StreamingRules
from tests.streets import tiny_tier

START = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


class FlakyBook(AlertBook):
    """Act as the alert book, failing as an unreachable database does while `down` is set."""

    down = False

    def raise_candidate(self, candidate, at):
        if self.down:
            raise OperationalError("INSERT INTO alerts", {}, Exception("connection refused"))
        return super().raise_candidate(candidate, at)

    def resolve(self, condition_key, at):
        if self.down:
            raise OperationalError("UPDATE alerts", {}, Exception("connection refused"))
        return super().resolve(condition_key, at)


def smoke(device: int, at: datetime, alarm: bool) -> LiveReading:
    """Return a smoke detector's reading, alarming or clear."""
    return LiveReading(device, "smoke", at.timestamp(), 1, {"alarm": alarm})


@pytest.fixture
def street(sqlite_engine):
    """Seed a street with smoke detectors; return the rules over a flaky book and two detectors."""
    seed_street(sqlite_engine, tiny_tier(fire_devices=12), 7, (121.5, 31.3))
    with sqlite_engine.connect() as conn:
        first, second = (
            conn.execute(select(schema.Device.id).where(schema.Device.kind == "smoke").limit(2))
            .scalars()
            .all()
        )
    book = FlakyBook(sqlite_engine, InProcessLiveStore())
    return StreamingRules(sqlite_engine, book, load_rules_config()), book, first, second


def alerts_of(engine) -> list[tuple[int, str]]:
    """Return each stored alert's device and status, in id order."""
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(schema.Alert.object_id, schema.Alert.status).order_by(schema.Alert.id)
            )
        ]


def test_alarms_raised_and_cleared_while_the_store_is_down_reach_the_book_in_order(
    street, sqlite_engine
):
    rules, book, first, second = street
    book.down = True
    rules.on_readings([smoke(first, START, True)])
    rules.on_readings([smoke(second, START + timedelta(seconds=1), True)])
    rules.on_readings([smoke(first, START + timedelta(seconds=2), False)])
    assert rules.alerts_waiting == 3 and alerts_of(sqlite_engine) == []

    book.down = False
    assert rules.flush_alerts() == 0
    # Raised, then resolved in the order they happened: the first detector cleared, not lost.
    assert alerts_of(sqlite_engine) == [(first, "resolved"), (second, "new")]


def test_the_next_reading_after_the_outage_writes_what_waited(street, sqlite_engine):
    rules, book, first, second = street
    book.down = True
    rules.on_readings([smoke(first, START, True)])
    book.down = False
    rules.on_readings([smoke(second, START + timedelta(seconds=5), True)])
    assert rules.alerts_waiting == 0
    assert alerts_of(sqlite_engine) == [(first, "new"), (second, "new")]


def test_beyond_the_bound_alert_changes_are_counted_as_lost(street, sqlite_engine, monkeypatch):
    rules, book, first, second = street
    monkeypatch.setattr(streaming, "MAX_WAITING_ALERTS", 1)
    book.down = True
    rules.on_readings([smoke(first, START, True)])
    rules.on_readings([smoke(second, START, True)])
    assert (rules.alerts_waiting, rules.alerts_lost) == (1, 1)
    book.down = False
    rules.flush_alerts()
    assert alerts_of(sqlite_engine) == [(first, "new")]


def test_a_restart_during_the_outage_still_writes_what_waited(street, sqlite_engine):
    rules, book, first, second = street
    book.down = True
    rules.on_readings([smoke(first, START, True)])
    rules.on_readings([smoke(second, START + timedelta(seconds=1), True)])
    rules.on_readings([smoke(first, START + timedelta(seconds=2), False)])
    assert len(book.live.load_rule_memory(streaming.MEMORY_WAITING_ALERTS)) == 3

    # The process dies; a new one starts with the store back and recalls the waiting changes.
    restarted = StreamingRules(
        sqlite_engine, AlertBook(sqlite_engine, book.live), load_rules_config()
    )
    assert restarted.alerts_waiting == 3
    assert restarted.flush_alerts() == 0
    assert alerts_of(sqlite_engine) == [(first, "resolved"), (second, "new")]
    assert book.live.load_rule_memory(streaming.MEMORY_WAITING_ALERTS) == {}


def test_nothing_is_kept_in_the_live_store_while_the_book_answers(street, sqlite_engine):
    rules, book, first, _ = street
    rules.on_readings([smoke(first, START, True)])
    assert alerts_of(sqlite_engine) == [(first, "new")]
    assert book.live.load_rule_memory(streaming.MEMORY_WAITING_ALERTS) == {}
