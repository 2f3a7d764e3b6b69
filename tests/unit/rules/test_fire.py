"""Test the fire-safety rules: smoke, gas, water pressure, electricity, patrols and silence."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cockpit.domain.kinds import AlertLevel, DeviceKind
from cockpit.rules.config import load_rules_config
from cockpit.rules.fire import (
    FireDevice,
    device_offline,
    device_state,
    evaluate_fire_reading,
    fire_conditions_checked,
    patrol_overdue,
    required_pressure_kpa,
)
from cockpit.rules.results import RuleKind, level_rank

CFG = load_rules_config()
NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

SMOKE = FireDevice(1, DeviceKind.SMOKE)
GAS = FireDevice(2, DeviceKind.GAS)
POWER = FireDevice(3, DeviceKind.ELECTRICITY)

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**9), 10**9),
)
fire_devices = st.builds(
    FireDevice,
    id=st.integers(1, 10**6),
    kind=st.sampled_from(list(DeviceKind)),
    building_floors=st.one_of(st.none(), st.integers(-3, 200)),
    building_height_m=st.one_of(st.none(), st.floats(-10, 700, allow_nan=False)),
    floor=st.one_of(st.none(), st.integers(-3, 250)),
    rated_current_a=st.one_of(st.none(), st.floats(0, 1000, allow_nan=False)),
)
value_keys = st.sampled_from(
    [
        "alarm",
        "obscuration_pct_m",
        "battery_pct",
        "lel_pct",
        "pressure_kpa",
        "current_a",
        "leakage_ma",
        "cable_temp_c",
        "checked_in",
        "other",
    ]
)


def level_of(candidates, kind: RuleKind) -> AlertLevel | None:
    """Return the level of the candidate of one kind, or None when there is none."""
    levels = [c.level for c in candidates if c.kind == kind]
    assert len(levels) <= 1
    return levels[0] if levels else None


def high_rise(height_m: float, floors: int, floor: int | None = None) -> FireDevice:
    """Return a water-pressure sensor in a building of the given height."""
    return FireDevice(9, DeviceKind.WATER_PRESSURE, floors, height_m, floor)


# -- smoke and gas ----------------------------------------------------------------------------


def test_smoke_alarm_is_red_and_broadcast() -> None:
    """The detector's alarm flag is red, routed to every responder at once, with its facts."""
    [alert] = evaluate_fire_reading(
        SMOKE, {"alarm": True, "obscuration_pct_m": 4.2, "battery_pct": 90}, CFG
    )
    assert (alert.kind, alert.level, alert.routing) == ("fire.smoke", AlertLevel.RED, "broadcast")
    assert alert.condition_key == "fire.smoke:device:1"
    assert [r.code for r in alert.reasons] == ["smoke_alarm", "obscuration"]


def test_smoke_rising_without_alarm_is_a_yellow_prealarm() -> None:
    """Obscuration over the pre-alarm level without the flag is yellow."""
    [alert] = evaluate_fire_reading(SMOKE, {"alarm": False, "obscuration_pct_m": 1.8}, CFG)
    assert alert.level is AlertLevel.YELLOW
    assert alert.reasons[0].value == 1.8 and alert.reasons[0].threshold == 1.5


def test_low_battery_is_a_separate_blue_condition() -> None:
    """A low battery is maintenance: blue, its own condition key, next to any alarm."""
    alerts = evaluate_fire_reading(SMOKE, {"alarm": True, "battery_pct": 12}, CFG)
    assert level_of(alerts, RuleKind.SMOKE) is AlertLevel.RED
    assert level_of(alerts, RuleKind.SMOKE_BATTERY) is AlertLevel.BLUE
    assert len({a.condition_key for a in alerts}) == 2


@pytest.mark.parametrize(
    ("values", "level"),
    [
        ({"lel_pct": 3.0, "alarm": False}, None),
        ({"lel_pct": 12.0, "alarm": False}, AlertLevel.YELLOW),
        ({"lel_pct": 30.0, "alarm": False}, AlertLevel.ORANGE),
        ({"lel_pct": 2.0, "alarm": True}, AlertLevel.ORANGE),
        ({"lel_pct": 55.0, "alarm": True}, AlertLevel.RED),
    ],
)
def test_gas_grades(values: dict, level: AlertLevel | None) -> None:
    """Gas: pre-alarm yellow, alarm (flag or 25 % LEL) orange, 50 % LEL red."""
    assert level_of(evaluate_fire_reading(GAS, values, CFG), RuleKind.GAS) == level


@given(st.floats(0, 100), st.floats(0, 100), st.booleans())
def test_more_gas_never_lowers_the_grade(a: float, b: float, alarm: bool) -> None:
    """A higher % LEL with the same flag never gives a lower level."""
    low, high = sorted((a, b))
    before = level_of(
        evaluate_fire_reading(GAS, {"lel_pct": low, "alarm": alarm}, CFG), RuleKind.GAS
    )
    after = level_of(
        evaluate_fire_reading(GAS, {"lel_pct": high, "alarm": alarm}, CFG), RuleKind.GAS
    )
    assert level_rank(after) >= level_rank(before)


# -- water pressure ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("height", "floors", "required"),
    [(18.0, 6, 70.0), (24.0, 8, 100.0), (80.0, 26, 100.0), (100.0, 33, 150.0), (250.0, 60, 150.0)],
)
def test_required_pressure_grows_with_height_tiers(
    height: float, floors: int, required: float
) -> None:
    """Below 24 m 70 kPa, high-rise 100 kPa, 100 m and taller 150 kPa at the top hydrant."""
    assert required_pressure_kpa(high_rise(height, floors), CFG) == required


def test_a_sensor_below_the_top_also_carries_the_water_column_above_it() -> None:
    """Ten storeys of 3 m below the top need 30 m × 9.81 kPa/m more."""
    top = required_pressure_kpa(high_rise(60.0, 20, 20), CFG)
    lower = required_pressure_kpa(high_rise(60.0, 20, 10), CFG)
    assert lower == pytest.approx(top + 30 * 9.81)


def test_height_is_estimated_from_floors_when_unknown() -> None:
    """Without a surveyed height, 3 m a storey: 10 floors is 30 m, a high-rise."""
    assert required_pressure_kpa(FireDevice(9, DeviceKind.WATER_PRESSURE, 10, None), CFG) == 100


@pytest.mark.parametrize(
    ("height", "pressure", "level"),
    [
        (18.0, 75.0, None),
        (30.0, 95.0, AlertLevel.YELLOW),
        (30.0, 45.0, AlertLevel.ORANGE),
        (120.0, 140.0, AlertLevel.YELLOW),
        (120.0, 0.0, AlertLevel.ORANGE),
    ],
)
def test_low_pressure_grades(height: float, pressure: float, level: AlertLevel | None) -> None:
    """Below the requirement yellow, below half of it orange; the reason names both figures."""
    alerts = evaluate_fire_reading(high_rise(height, 40), {"pressure_kpa": pressure}, CFG)
    assert level_of(alerts, RuleKind.WATER_PRESSURE) == level
    if alerts:
        assert alerts[0].reasons[0].value == pressure
        assert alerts[0].reasons[0].threshold == required_pressure_kpa(high_rise(height, 40), CFG)


@given(st.floats(0, 2000), st.floats(0, 2000), st.floats(0, 500), st.integers(1, 150))
def test_lower_pressure_never_lowers_the_grade(
    a: float, b: float, height: float, floors: int
) -> None:
    """Less pressure in the same building never gives a lower level."""
    device = high_rise(height, floors)
    low, high = sorted((a, b))
    at_low = level_of(
        evaluate_fire_reading(device, {"pressure_kpa": low}, CFG), RuleKind.WATER_PRESSURE
    )
    at_high = level_of(
        evaluate_fire_reading(device, {"pressure_kpa": high}, CFG), RuleKind.WATER_PRESSURE
    )
    assert level_rank(at_low) >= level_rank(at_high)


# -- electricity ------------------------------------------------------------------------------


def test_electricity_conditions_are_separate() -> None:
    """Leakage, cable temperature and overload are three conditions, each with its own level."""
    alerts = evaluate_fire_reading(
        POWER, {"current_a": 70.0, "leakage_ma": 520.0, "cable_temp_c": 62.0}, CFG
    )
    assert level_of(alerts, RuleKind.LEAKAGE) is AlertLevel.ORANGE
    assert level_of(alerts, RuleKind.CABLE_TEMPERATURE) is AlertLevel.YELLOW
    assert level_of(alerts, RuleKind.OVERLOAD) is AlertLevel.YELLOW
    overload = next(a for a in alerts if a.kind == RuleKind.OVERLOAD)
    assert overload.reasons[0].value == round(70 / 63, 3)


def test_a_device_rating_overrides_the_default() -> None:
    """80 A is fine on a 100 A circuit and an orange overload on a 32 A one."""
    big = FireDevice(4, DeviceKind.ELECTRICITY, rated_current_a=100.0)
    small = FireDevice(5, DeviceKind.ELECTRICITY, rated_current_a=32.0)
    assert evaluate_fire_reading(big, {"current_a": 80.0}, CFG) == []
    assert level_of(evaluate_fire_reading(small, {"current_a": 80.0}, CFG), RuleKind.OVERLOAD) is (
        AlertLevel.ORANGE
    )


@given(
    st.tuples(st.floats(0, 2000), st.floats(0, 2000)),
    st.tuples(st.floats(-40, 200), st.floats(-40, 200)),
    st.tuples(st.floats(0, 500), st.floats(0, 500)),
)
def test_higher_electrical_readings_never_lower_a_grade(leak, temp, current) -> None:
    """Each of leakage, temperature and current is monotonic in its own condition."""
    lows = {"leakage_ma": min(leak), "cable_temp_c": min(temp), "current_a": min(current)}
    highs = {"leakage_ma": max(leak), "cable_temp_c": max(temp), "current_a": max(current)}
    before = evaluate_fire_reading(POWER, lows, CFG)
    after = evaluate_fire_reading(POWER, highs, CFG)
    for kind in (RuleKind.LEAKAGE, RuleKind.CABLE_TEMPERATURE, RuleKind.OVERLOAD):
        assert level_rank(level_of(after, kind)) >= level_rank(level_of(before, kind))


# -- every input ------------------------------------------------------------------------------


@given(fire_devices, st.dictionaries(value_keys, junk, max_size=10))
def test_any_reading_never_crashes_and_every_alert_has_reasons(device, values) -> None:
    """Junk values, odd buildings and every device kind: no crash, no reasonless alert."""
    alerts = evaluate_fire_reading(device, values, CFG)
    assert all(alert.reasons and alert.object_id == device.id for alert in alerts)
    assert len({alert.condition_key for alert in alerts}) == len(alerts)
    assert {a.condition_key for a in alerts} <= fire_conditions_checked(device, values)


@given(
    st.floats(0, 0.4),
    st.integers(70, 100),
    st.floats(0, 3),
    st.floats(5, 60),
    st.floats(3, 90),
    st.floats(24, 48),
    st.floats(240, 420),
    st.integers(10, 60),
)
def test_the_simulators_normal_readings_raise_nothing(
    obscuration, battery, lel, current, leakage, temp, pressure, floors
) -> None:
    """The defaults stay quiet on the live scenario's everyday value ranges."""
    readings = {
        DeviceKind.SMOKE: {
            "obscuration_pct_m": obscuration,
            "alarm": False,
            "battery_pct": battery,
        },
        DeviceKind.GAS: {"lel_pct": lel, "alarm": False},
        DeviceKind.ELECTRICITY: {"current_a": current, "leakage_ma": leakage, "cable_temp_c": temp},
        DeviceKind.WATER_PRESSURE: {"pressure_kpa": pressure},
    }
    for kind, values in readings.items():
        device = FireDevice(1, kind, floors, floors * 3.0, floors)
        assert evaluate_fire_reading(device, values, CFG) == []


def test_conditions_checked_follow_the_values_present() -> None:
    """Only conditions whose inputs were in the reading are decided by it."""
    assert fire_conditions_checked(POWER, {"leakage_ma": 5.0}) == {"fire.leakage:device:3"}
    assert fire_conditions_checked(SMOKE, {"alarm": False}) == {"fire.smoke:device:1"}
    assert fire_conditions_checked(SMOKE, {"alarm": "yes", "battery_pct": math.nan}) == set()
    assert (
        fire_conditions_checked(FireDevice(6, DeviceKind.PATROL_POINT), {"checked_in": True})
        == set()
    )


# -- patrols and silence ----------------------------------------------------------------------


def test_patrol_overdue_blue_then_yellow() -> None:
    """Within the window nothing; past it blue; past two windows yellow; never checked blue."""
    window = timedelta(hours=2)
    assert patrol_overdue(5, NOW - timedelta(hours=2), NOW, window) is None
    late = patrol_overdue(5, NOW - timedelta(hours=3), NOW, window)
    assert late is not None and late.level is AlertLevel.BLUE
    assert (late.reasons[0].value, late.reasons[0].threshold) == (3.0, 2.0)
    very_late = patrol_overdue(5, NOW - timedelta(hours=5), NOW, window)
    assert very_late is not None and very_late.level is AlertLevel.YELLOW
    assert very_late.condition_key == late.condition_key == "fire.patrol_overdue:device:5"
    never = patrol_overdue(5, None, NOW, window)
    assert never is not None and never.reasons[0].code == "patrol_never"
    with pytest.raises(ValueError):
        patrol_overdue(5, NOW, NOW, timedelta(0))


@given(st.integers(0, 100_000), st.integers(0, 100_000))
def test_later_patrols_never_lower_the_grade(a: int, b: int) -> None:
    """The longer since the last check-in, the same or a higher level."""
    window = timedelta(hours=2)
    short, long = sorted((a, b))
    first = patrol_overdue(1, NOW - timedelta(seconds=short), NOW, window)
    second = patrol_overdue(1, NOW - timedelta(seconds=long), NOW, window)
    assert level_rank(second and second.level) >= level_rank(first and first.level)


def test_device_state_is_offline_after_k_intervals_of_silence() -> None:
    """Silent for k × interval is still online; longer, or never seen, is offline."""
    assert device_state(NOW - timedelta(seconds=180), 60, NOW, 3) == "online"
    assert device_state(NOW - timedelta(seconds=181), 60, NOW, 3) == "offline"
    assert device_state(None, 60, NOW, 3) == "offline"
    assert device_state(NOW + timedelta(seconds=30), 60, NOW, 3) == "online"
    with pytest.raises(ValueError):
        device_state(NOW, 0, NOW, 3)


def test_device_offline_alert_says_how_long() -> None:
    """An offline device is a blue maintenance alert with its silence and the limit."""
    assert device_offline(7, NOW - timedelta(seconds=100), 60, NOW, 3) is None
    alert = device_offline(7, NOW - timedelta(seconds=400), 60, NOW, 3)
    assert alert is not None and alert.level is AlertLevel.BLUE
    assert (alert.reasons[0].value, alert.reasons[0].threshold) == (400.0, 180.0)
    never = device_offline(7, None, 60, NOW, 3)
    assert never is not None and never.reasons[0].code == "never_reported"


@given(
    st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))),
    st.floats(0.001, 10**6),
    st.floats(0.001, 100),
)
def test_device_state_is_always_online_or_offline(last_seen, interval, k) -> None:
    """There is no third answer: a silent device is never 'normal'."""
    assert device_state(last_seen, interval, NOW, k) in ("online", "offline")
