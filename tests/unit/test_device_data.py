"""Check that device data cannot lie: future dates, impossible values, unknown ids and wrong types."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from cockpit.alerts import AlertBook
from cockpit.clock import ManualClock
from cockpit.domain.kinds import DeviceKind
from cockpit.ingest import Ingest
from cockpit.live import InProcessLiveStore
from cockpit.rules import devices
from cockpit.rules.config import RulesConfigError, load_rules_config
from cockpit.rules.results import RuleKind
from cockpit.simulator.generator import seed_street
from cockpit.store import schema
from cockpit.streaming import StreamingRules
from tests.scripted_incidents import play_incidents
from tests.streets import tiny_tier

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
CFG = load_rules_config()


@pytest.fixture
def street(sqlite_engine):
    """Return ingest with the streaming rules over a seeded tiny street, and its devices by kind."""
    seed_street(sqlite_engine, tiny_tier(fire_devices=12), 5, (121.5, 31.3))
    live = InProcessLiveStore()
    clock = ManualClock(NOW)
    rules = StreamingRules(sqlite_engine, AlertBook(sqlite_engine, live), CFG)
    with sqlite_engine.connect() as conn:
        rows = conn.execute(select(schema.Device.id, schema.Device.kind)).all()
    by_kind: dict[str, list[int]] = {}
    for device_id, kind in rows:
        by_kind.setdefault(kind, []).append(device_id)
    return Ingest(sqlite_engine, live, clock, rules), by_kind


def reading(device_id: int, kind: str, seq: int, ts: datetime, **values) -> dict:
    """Return one raw device reading."""
    return {
        "device_id": device_id,
        "device_type": kind,
        "kind": "reading",
        "ts": ts.isoformat(),
        "seq": seq,
        "values": values,
    }


def alerts(engine) -> list[tuple[str, str, int, datetime]]:
    """Return every alert as (kind, level, device id, raised at)."""
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                select(
                    schema.Alert.kind,
                    schema.Alert.level,
                    schema.Alert.object_id,
                    schema.Alert.raised_at,
                ).order_by(schema.Alert.id)
            )
        ]


def test_far_future_alarm_is_refused_and_a_real_alarm_after_it_is_raised(street, sqlite_engine):
    ingest, by_kind = street
    detector = by_kind["smoke"][0]
    future = ingest.device_messages(
        [reading(detector, "smoke", 1, NOW + timedelta(days=3650), alarm=True)]
    )
    assert future.rejected == {"ts:future": 1}
    assert ingest.live.latest([detector]) == {}
    assert alerts(sqlite_engine) == []
    # Nothing was raised, so no case can carry a deadline ten years ahead.
    ingest.cases.sync(NOW)
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(schema.Case.id)).all() == []

    real = ingest.device_messages([reading(detector, "smoke", 2, NOW, alarm=True)])
    assert real.accepted == 1
    assert [(k, lvl, d) for k, lvl, d, _ in alerts(sqlite_engine)] == [
        (RuleKind.SMOKE.value, "red", detector)
    ]
    assert ingest.live.counters()["rejected:ts:future"] == 1


def test_a_late_alarm_is_raised_and_a_late_all_clear_resolves_nothing(street, sqlite_engine):
    ingest, by_kind = street
    late_alarm, late_clear = by_kind["smoke"][:2]
    # Each detector's newest reading arrives first; the older one after it, out of order.
    ingest.device_messages([reading(late_alarm, "smoke", 2, NOW, alarm=False)])
    result = ingest.device_messages(
        [reading(late_alarm, "smoke", 1, NOW - timedelta(seconds=20), alarm=True)]
    )
    assert result.stale == 1  # it does not move live state back
    assert ingest.live.latest([late_alarm])[late_alarm]["values"] == {"alarm": False}
    assert [(k, lvl, d) for k, lvl, d, _ in alerts(sqlite_engine)] == [
        (RuleKind.SMOKE.value, "red", late_alarm)
    ]
    ingest.device_messages([reading(late_clear, "smoke", 2, NOW, alarm=True)])
    ingest.device_messages(
        [reading(late_clear, "smoke", 1, NOW - timedelta(seconds=20), alarm=False)]
    )
    with sqlite_engine.connect() as conn:
        open_devices = conn.execute(
            select(schema.Alert.object_id).where(schema.Alert.status != "resolved")
        ).scalars()
        assert sorted(open_devices) == sorted([late_alarm, late_clear])


def test_impossible_cable_temperature_is_a_sensor_fault_not_an_overheat(street, sqlite_engine):
    ingest, by_kind = street
    meter = by_kind["electricity"][0]
    ingest.device_messages(
        [reading(meter, "electricity", 1, NOW, cable_temp_c=900.0, current_a=20.0)]
    )
    raised = alerts(sqlite_engine)
    assert [(k, lvl, d) for k, lvl, d, _ in raised] == [("device.fault", "yellow", meter)]
    with sqlite_engine.connect() as conn:
        reasons = conn.execute(select(schema.Alert.reasons)).scalar_one()
    assert "cable_temp_c" in reasons[0]["text_en"] and "900" in reasons[0]["text_en"]
    assert "-40..250" in reasons[0]["text_zh"]


def test_a_real_overheat_still_raises_the_fire_rule(street, sqlite_engine):
    ingest, by_kind = street
    meter = by_kind["electricity"][0]
    ingest.device_messages([reading(meter, "electricity", 1, NOW, cable_temp_c=75.0)])
    assert [k for k, *_ in alerts(sqlite_engine)] == [RuleKind.CABLE_TEMPERATURE.value]


def test_negative_water_pressure_is_a_sensor_fault_and_a_sane_reading_clears_it(
    street, sqlite_engine
):
    ingest, by_kind = street
    gauge = by_kind["water_pressure"][0]
    ingest.device_messages([reading(gauge, "water_pressure", 1, NOW, pressure_kpa=-5000.0)])
    assert [(k, d) for k, _, d, _ in alerts(sqlite_engine)] == [("device.fault", gauge)]
    ingest.device_messages(
        [reading(gauge, "water_pressure", 2, NOW + timedelta(minutes=1), pressure_kpa=300.0)]
    )
    with sqlite_engine.connect() as conn:
        open_keys = conn.execute(
            select(schema.Alert.open_key).where(schema.Alert.open_key.is_not(None))
        ).all()
    assert open_keys == []


def test_a_sensor_fault_opens_a_maintenance_case(street, sqlite_engine):
    ingest, by_kind = street
    gauge = by_kind["water_pressure"][0]
    ingest.device_messages([reading(gauge, "water_pressure", 1, NOW, pressure_kpa=-5000.0)])
    ingest.cases.sync(NOW)
    with sqlite_engine.connect() as conn:
        cases = conn.execute(select(schema.Case.category, schema.Case.priority)).all()
    assert [c.category for c in cases] == ["device.fault"]


def test_unknown_ids_and_type_mismatches_are_rejected_and_counted(street):
    ingest, by_kind = street
    smoke = by_kind["smoke"][0]
    result = ingest.device_messages(
        [
            reading(999_999, "smoke", 1, NOW, alarm=True),
            reading(smoke, "gas", 1, NOW, alarm=True),
        ]
    )
    assert result.rejected == {"device:unknown": 1, "device:type_mismatch": 1}
    assert ingest.live.latest([999_999, smoke]) == {}
    counters = ingest.live.counters()
    assert counters["rejected:device:unknown"] == 1
    assert counters["rejected:device:type_mismatch"] == 1


# -- the plausibility rule, pure ----------------------------------------------------------------

QUANTITIES = [(kind, name) for kind, ranges in CFG.devices.plausible.items() for name in ranges]


@st.composite
def inside(draw):
    """Draw a device kind, a quantity and a value inside its plausible range."""
    kind, name = draw(st.sampled_from(QUANTITIES))
    bounds = CFG.devices.plausible[kind][name]
    return kind, name, draw(st.floats(bounds.min, bounds.max))


@st.composite
def outside(draw):
    """Draw a device kind, a quantity and a finite value outside its plausible range."""
    kind, name = draw(st.sampled_from(QUANTITIES))
    bounds = CFG.devices.plausible[kind][name]
    below = st.floats(max_value=bounds.min, exclude_max=True, allow_nan=False, allow_infinity=False)
    above = st.floats(min_value=bounds.max, exclude_min=True, allow_nan=False, allow_infinity=False)
    return kind, name, draw(below | above)


@given(inside())
def test_values_inside_the_range_never_fault(case):
    kind, name, value = case
    assert devices.implausible(kind, {name: value}, CFG) == {}
    assert devices.sensor_fault(1, kind, {}, CFG) is None


@given(outside())
def test_values_outside_the_range_always_fault(case):
    kind, name, value = case
    assert devices.implausible(kind, {name: value}, CFG) == {name: value}
    candidate = devices.sensor_fault(1, kind, {name: value}, CFG)
    assert candidate is not None and candidate.kind == RuleKind.DEVICE_FAULT
    assert name in candidate.reasons[0].text_zh and name in candidate.reasons[0].text_en


def test_flags_and_missing_values_are_not_judged():
    assert devices.implausible(DeviceKind.SMOKE, {"alarm": True, "battery_pct": None}, CFG) == {}
    assert devices.implausible(DeviceKind.ELEVATOR, {"load_kg": -1.0}, CFG) == {}


def test_a_rules_file_can_widen_a_range_and_a_reversed_one_is_refused(tmp_path):
    widened = tmp_path / "rules.toml"
    widened.write_text(
        "[devices.plausible.electricity]\ncable_temp_c = { min = -40, max = 1000 }\n"
    )
    cfg = load_rules_config(widened)
    assert devices.implausible(DeviceKind.ELECTRICITY, {"cable_temp_c": 900.0}, cfg) == {}
    assert cfg.devices.plausible[DeviceKind.ELECTRICITY]["leakage_ma"].max == 3000
    reversed_ = tmp_path / "bad.toml"
    reversed_.write_text("[devices.plausible.gas]\nlel_pct = { min = 100, max = 0 }\n")
    with pytest.raises(RulesConfigError, match="lel_pct"):
        load_rules_config(reversed_)


def test_the_simulated_street_sends_only_valid_readings_of_registered_devices(sqlite_engine):
    live = InProcessLiveStore()
    _, rows = play_incidents(sqlite_engine, live, twice=False, days=1)
    assert [r for r in rows if r[0] == RuleKind.DEVICE_FAULT] == []
    assert [name for name in live.counters() if name.startswith("rejected:")] == []
