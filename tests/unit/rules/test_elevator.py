"""Test the 90-second trapped-passenger rule on device time, one alert per entrapment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cockpit.domain.kinds import AlertLevel
from cockpit.rules.config import load_rules_config
from cockpit.rules.elevator import (
    ElevatorReading,
    EntrapmentState,
    entrapment_cleared,
    step,
    trapped_condition_key,
)

CFG = load_rules_config()
T0 = datetime(2026, 3, 1, 8, 5, tzinfo=UTC)
STUCK = {"state": "stopped", "occupied": True, "door": "closed", "between_floors": True}
RUNNING = {"state": "running", "occupied": True, "door": "closed", "floor": 12}


def reading(seconds: float, values: dict, device_id: int = 3) -> ElevatorReading:
    """Return a reading made `seconds` after T0 on the device's clock."""
    parsed = ElevatorReading.from_values(device_id, T0 + timedelta(seconds=seconds), values)
    assert parsed is not None
    return parsed


def run(readings: list[ElevatorReading]):
    """Feed readings through step() and return the final state and every (index, alert)."""
    state, alerts = None, []
    for i, r in enumerate(readings):
        state, alert = step(state, r, CFG)
        if alert is not None:
            alerts.append((i, alert))
    return state, alerts


def test_the_scenarios_stuck_car_raises_one_red_alert_after_90_s() -> None:
    """Reports every 15 s for 180 s: one alert, at the first report past 90 s (105 s)."""
    readings = [reading(offset, STUCK) for offset in range(0, 181, 15)]
    state, alerts = run(readings)
    assert len(alerts) == 1
    index, alert = alerts[0]
    assert readings[index].ts - T0 == timedelta(seconds=105)
    assert (alert.level, alert.kind, alert.routing) == (
        AlertLevel.RED,
        "elevator.trapped",
        "property_maintenance",
    )
    assert alert.condition_key == trapped_condition_key(3)
    assert alert.reasons[0].value == 105 and alert.reasons[0].threshold == 90
    assert "between_floors" in {r.code for r in alert.reasons}
    assert state is not None and state.alerted


def test_exactly_90_s_is_not_over_90_s() -> None:
    """The rule is 'over 90 seconds'."""
    _, alerts = run([reading(0, STUCK), reading(90, STUCK)])
    assert alerts == []
    _, alerts = run([reading(0, STUCK), reading(90.5, STUCK)])
    assert len(alerts) == 1


@pytest.mark.parametrize(
    "release",
    [RUNNING, {**STUCK, "door": "open"}, {**STUCK, "occupied": False}],
    ids=["runs", "door opens", "empty"],
)
def test_entrapment_clears_and_a_new_one_alerts_again(release: dict) -> None:
    """Running, an open door or an empty car clear it; the next entrapment is a new alert."""
    before, _ = run([reading(0, STUCK), reading(100, STUCK)])
    after, alert = step(before, reading(110, release), CFG)
    assert alert is None and not after.alerted and after.since is None
    assert entrapment_cleared(before, after)
    readings = [reading(0, STUCK), reading(100, STUCK), reading(110, release)]
    readings += [reading(200, STUCK), reading(295, STUCK)]
    _, alerts = run(readings)
    assert [i for i, _ in alerts] == [1, 4]


def test_device_time_not_wall_time_decides() -> None:
    """Readings processed at once but stamped 120 s apart alert; stamped 30 s apart do not."""
    assert len(run([reading(0, STUCK), reading(120, STUCK)])[1]) == 1
    assert run([reading(0, STUCK), reading(30, STUCK)])[1] == []


def test_late_or_repeated_readings_are_ignored() -> None:
    """A reading not newer than the state changes nothing and never alerts twice."""
    state, alerts = run([reading(0, STUCK), reading(100, STUCK)])
    assert len(alerts) == 1
    same, alert = step(state, reading(100, STUCK), CFG)
    assert same is state and alert is None
    earlier, alert = step(state, reading(50, RUNNING), CFG)
    assert earlier is state and alert is None


def test_a_state_for_another_car_is_refused() -> None:
    """Mixing up cars is a bug, not a reading."""
    state, _ = step(None, reading(0, STUCK, device_id=1), CFG)
    with pytest.raises(ValueError):
        step(state, reading(10, STUCK, device_id=2), CFG)


def test_from_values_needs_state_and_occupancy() -> None:
    """Without state or occupancy the rule cannot judge the car, so there is no reading."""
    assert ElevatorReading.from_values(1, T0, {"door": "closed"}) is None
    assert ElevatorReading.from_values(1, T0, {"state": "stopped", "occupied": "yes"}) is None
    parsed = ElevatorReading.from_values(1, T0, {**RUNNING, "floor": 7.0})
    assert parsed is not None and parsed.floor == 7 and not parsed.confined


def test_state_round_trips_through_a_dict() -> None:
    """A saved state resumes the same entrapment after a restart."""
    state, _ = run([reading(0, STUCK), reading(60, STUCK)])
    restored = EntrapmentState.from_dict(state.as_dict())
    assert restored == state
    _, alert = step(restored, reading(95, STUCK), CFG)
    assert alert is not None


car_values = st.fixed_dictionaries(
    {
        "state": st.sampled_from(["running", "stopped", "fault"]),
        "occupied": st.booleans(),
        "door": st.sampled_from(["open", "closed"]),
        "between_floors": st.booleans(),
    }
)


@given(st.lists(st.tuples(st.floats(0, 200), car_values), max_size=40))
def test_one_alert_per_entrapment_exactly_when_over_the_limit(steps) -> None:
    """Against a reference: each confined spell alerts once, at its first report over 90 s."""
    readings, t = [], 0.0
    for gap, values in steps:
        t += gap
        readings.append(reading(t, values))
    _, alerts = run(readings)
    expected, since, alerted, last = [], None, False, None
    for i, r in enumerate(readings):
        if last is not None and r.ts <= last:
            continue
        last = r.ts
        if not r.confined:
            since, alerted = None, False
            continue
        since = since or r.ts
        if not alerted and (r.ts - since).total_seconds() > 90:
            expected.append(i)
            alerted = True
    assert [i for i, _ in alerts] == expected
    assert all(a.reasons and a.level is AlertLevel.RED for _, a in alerts)
