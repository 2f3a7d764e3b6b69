"""Check that the streaming rules' memory survives a restart through the live store."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from cockpit.alerts import AlertBook
from cockpit.domain.kinds import DeviceKind
from cockpit.live import InProcessLiveStore, LiveReading, LiveStoreError
from cockpit.rules.config import load_rules_config
from cockpit.rules.results import RuleKind
from cockpit.simulator.generator import seed_street
from cockpit.store import schema
from cockpit.streaming import StreamingRules
from tests.streets import tiny_tier

T0 = datetime(2026, 11, 21, 2, 0, tzinfo=UTC).timestamp()
STOPPED_WITH_PASSENGER = {"state": "stopped", "occupied": True, "door": "closed"}


def trapped_alerts(engine) -> list[int]:
    """Return the devices with a trapped-passenger alert."""
    with engine.connect() as conn:
        return list(
            conn.scalars(
                select(schema.Alert.object_id).where(
                    schema.Alert.kind == RuleKind.ELEVATOR_TRAPPED.value
                )
            )
        )


def car_readings(car: int, *offsets: float) -> list[LiveReading]:
    """Return readings of a car stopped with someone inside, at T0 plus each offset."""
    return [
        LiveReading(car, DeviceKind.ELEVATOR.value, T0 + dt, i, dict(STOPPED_WITH_PASSENGER))
        for i, dt in enumerate(offsets)
    ]


def first_elevator(engine) -> int:
    """Return the id of the street's first elevator."""
    with engine.connect() as conn:
        return conn.scalar(
            select(schema.Device.id).where(schema.Device.kind == DeviceKind.ELEVATOR.value)
        )


def test_a_restart_in_the_middle_of_a_confinement_keeps_its_start(sqlite_engine) -> None:
    seed_street(sqlite_engine, tiny_tier(), 8, (121.5, 31.3))
    live, cfg = InProcessLiveStore(), load_rules_config()
    car = first_elevator(sqlite_engine)
    before = StreamingRules(sqlite_engine, AlertBook(sqlite_engine, live), cfg)
    before.on_readings(car_readings(car, 0, 30, 60))
    assert trapped_alerts(sqlite_engine) == []

    # The process restarts; 95 s after the doors shut is past the 90 s limit, counted from T0.
    after = StreamingRules(sqlite_engine, AlertBook(sqlite_engine, live), cfg)
    after.on_readings(car_readings(car, 95))
    assert trapped_alerts(sqlite_engine) == [car]


def test_without_the_memory_a_restart_would_start_counting_again(sqlite_engine) -> None:
    seed_street(sqlite_engine, tiny_tier(), 8, (121.5, 31.3))
    cfg = load_rules_config()
    car = first_elevator(sqlite_engine)
    StreamingRules(sqlite_engine, AlertBook(sqlite_engine, InProcessLiveStore()), cfg).on_readings(
        car_readings(car, 0, 30, 60)
    )
    fresh = InProcessLiveStore()  # a live store that lost everything
    StreamingRules(sqlite_engine, AlertBook(sqlite_engine, fresh), cfg).on_readings(
        car_readings(car, 95)
    )
    assert trapped_alerts(sqlite_engine) == []


class ForgetfulLiveStore(InProcessLiveStore):
    """Refuse to keep rule memory, like a Redis that went away."""

    def save_rule_memory(self, rule, items) -> None:
        """Fail like an unreachable Redis."""
        raise LiveStoreError("Redis: connection refused")


def test_rules_still_alert_when_their_memory_cannot_be_kept(sqlite_engine) -> None:
    seed_street(sqlite_engine, tiny_tier(), 8, (121.5, 31.3))
    live = ForgetfulLiveStore()
    car = first_elevator(sqlite_engine)
    rules = StreamingRules(sqlite_engine, AlertBook(sqlite_engine, live), load_rules_config())
    rules.on_readings(car_readings(car, 0, 30, 60, 95))
    assert trapped_alerts(sqlite_engine) == [car]
