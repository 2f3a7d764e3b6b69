"""Check the alert book's lifecycle; called on SQLite (unit) and PostgreSQL (integration)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from cockpit.alerts import AlertBook
from cockpit.domain.kinds import AlertLevel
from cockpit.live import InProcessLiveStore
from cockpit.rules.results import AlertCandidate, Reason
from cockpit.store import schema

AT = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def candidate(level=AlertLevel.YELLOW, object_id=7, kind="fire.smoke") -> AlertCandidate:
    """Return a smoke candidate on one device."""
    reason = Reason("obscuration", "烟雾浓度超限", "Smoke obscuration over limit", 4.2, 3.0)
    return AlertCandidate.build(
        kind, level, "device", object_id, "烟感报警", "Smoke alarm", [reason]
    )


def open_count(engine) -> int:
    """Return how many alerts are open."""
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(schema.Alert).where(schema.Alert.open_key.is_not(None))
        ).scalar_one()


def check_one_open_alert_per_condition(engine) -> None:
    """Raising the same condition again folds into the open alert; a graver one lifts its level."""
    book = AlertBook(engine, InProcessLiveStore())
    first = book.raise_candidate(candidate(), AT)
    again = book.raise_candidate(candidate(), AT + timedelta(seconds=5))
    graver = book.raise_candidate(candidate(AlertLevel.RED), AT + timedelta(seconds=9))
    assert first.created and not again.created and not graver.created
    assert first.alert_id == again.alert_id == graver.alert_id
    assert graver.level is AlertLevel.RED
    assert open_count(engine) == 1
    assert book.open_alerts()[0]["reasons"][0]["code"] == "obscuration"
    events = book.live.read_events("alerts")
    # One alert on the wall: raised once, then shown at its graver level (the repeat says nothing).
    assert [e["event"] for _, e in events] == ["raised", "regraded"]
    assert events[-1][1]["level"] == "red" and events[-1][1]["id"] == first.alert_id


def check_lifecycle_and_reopening(engine) -> None:
    """Acknowledge is idempotent; resolving frees the condition for a new alert."""
    book = AlertBook(engine, InProcessLiveStore())
    raised = book.raise_candidate(candidate(), AT)
    book.acknowledge(raised.alert_id, "dispatcher-1", AT + timedelta(minutes=1))
    book.acknowledge(raised.alert_id, "dispatcher-2", AT + timedelta(minutes=2))
    with engine.connect() as conn:
        row = conn.execute(
            select(schema.Alert.status, schema.Alert.acknowledged_by).where(
                schema.Alert.id == raised.alert_id
            )
        ).one()
        assert tuple(row) == ("acknowledged", "dispatcher-1")
    assert book.resolve(candidate().condition_key, AT + timedelta(minutes=3)) == raised.alert_id
    assert book.resolve(candidate().condition_key, AT + timedelta(minutes=4)) is None
    assert open_count(engine) == 0
    assert book.raise_candidate(candidate(), AT + timedelta(minutes=5)).created


def check_escalation_of_unacknowledged(engine) -> None:
    """A new alert nobody acknowledges goes up one level once; an acknowledged one does not."""
    book = AlertBook(engine, InProcessLiveStore())
    ignored = book.raise_candidate(candidate(AlertLevel.BLUE, 1), AT)
    seen = book.raise_candidate(candidate(AlertLevel.BLUE, 2), AT)
    book.acknowledge(seen.alert_id, "leader", AT + timedelta(minutes=1))
    assert book.escalate_unacknowledged(AT + timedelta(minutes=4), timedelta(minutes=5)) == []
    assert book.escalate_unacknowledged(AT + timedelta(minutes=6), timedelta(minutes=5)) == [
        ignored.alert_id
    ]
    assert book.escalate_unacknowledged(AT + timedelta(minutes=30), timedelta(minutes=5)) == []
    levels = {a["id"]: a["level"] for a in book.open_alerts()}
    assert levels == {ignored.alert_id: "yellow", seen.alert_id: "blue"}


def check_concurrent_raises_make_one_alert(engine) -> None:
    """Eight threads raising the same condition at once leave exactly one open alert."""
    book = AlertBook(engine, InProcessLiveStore())
    results = []
    barrier = threading.Barrier(8)

    def raise_one():
        barrier.wait()
        results.append(book.raise_candidate(candidate(object_id=99), AT))

    threads = [threading.Thread(target=raise_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.created for r in results) == 1
    assert len({r.alert_id for r in results}) == 1
    assert open_count(engine) == 1


def check_raise_many_opens_new_and_folds_when_one_is_open(engine) -> None:
    """Many new conditions open in one go; one already open sends the batch down the careful path."""
    book = AlertBook(engine, InProcessLiveStore())
    book.raise_many([candidate(object_id=i) for i in range(1, 51)], AT)
    assert open_count(engine) == 50
    assert len(book.live.read_events("alerts", limit=1000)) == 50
    assert set(book.open_levels(("fire.smoke",)).values()) == {AlertLevel.YELLOW}
    book.raise_many([candidate(AlertLevel.RED, object_id=1), candidate(object_id=51)], AT)
    levels = book.open_levels(("fire.smoke",))
    assert open_count(engine) == 51
    assert levels["fire.smoke:device:1"] is AlertLevel.RED
