"""Check that a whole source gone silent is one alert about the source, not one per device."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from cockpit.alerts import AlertBook
from cockpit.clock import ManualClock
from cockpit.ingest import Ingest
from cockpit.live import InProcessLiveStore
from cockpit.rules.config import load_rules_config
from cockpit.rules.results import RuleKind
from cockpit.rules.sources import FEED_ID, source_key, source_silence
from cockpit.simulator.generator import seed_street
from cockpit.simulator.scenario import LiveScenario
from cockpit.store import schema
from tests.streets import live_worker, tiny_tier

CFG = load_rules_config()
NOW = 1_000_000.0


@dataclass(frozen=True)
class Dev:
    """Stand in for the worker's DeviceState."""

    kind: str
    interval_s: int
    last_seen: float | None


def street(n: int = 40, seen_ago: float = 10.0, kind: str = "smoke", interval: int = 30) -> dict:
    """Return n devices of one kind, all last heard seen_ago seconds before NOW."""
    return {i: Dev(kind, interval, NOW - seen_ago) for i in range(1, n + 1)}


def test_a_reporting_street_has_no_silent_source():
    found = source_silence(street(), NOW, CFG)
    assert found.candidates == () and found.covered == frozenset()


def test_a_stopped_feed_is_one_alert_before_any_device_goes_offline():
    states = street() | {100: Dev("water_meter", 3600, NOW - 600)}
    # 61 s without a single reading: twice the shortest interval, under 3 x 30 s offline.
    (alert,) = source_silence(states, NOW + 61 - 10, CFG).candidates
    assert alert.kind == RuleKind.SOURCE_SILENT and alert.object_id == FEED_ID
    assert alert.level.value == "orange" and alert.title_en == "Device feed silent"
    assert [r.code for r in alert.reasons] == ["source_quiet"]
    assert source_silence(states, NOW + 61 - 10, CFG).covered == set(states)


def test_a_device_dead_before_the_outage_keeps_its_own_alert():
    states = street() | {99: Dev("smoke", 30, NOW - 86_400)}
    found = source_silence(states, NOW + 120, CFG)
    assert len(found.candidates) == 1 and 99 not in found.covered and 1 in found.covered


def test_one_device_type_gone_is_one_alert_about_that_type():
    states = street(40, 10.0, "electricity") | {
        i: Dev("smoke", 30, NOW - 400) for i in range(100, 120)
    }
    (alert,) = source_silence(states, NOW, CFG).candidates
    assert (
        alert.condition_key == source_key("smoke")
        and alert.title_en == "No data from smoke detectors"
    )
    assert source_silence(states, NOW, CFG).covered == set(range(100, 120))


def test_a_few_silent_devices_are_not_a_source():
    states = street(40) | {i: Dev("smoke", 30, NOW - 400) for i in range(100, 104)}
    found = source_silence(states, NOW, CFG)
    assert found.candidates == () and found.covered == frozenset()


def test_the_broker_link_down_is_the_feed_alert_naming_the_broker():
    found = source_silence(street(), NOW, CFG, link_down_for_s=45, link_name="broker:1883")
    (alert,) = found.candidates
    assert alert.title_en == "MQTT broker link down" and "broker:1883" in alert.reasons[0].text_en
    assert source_silence(street(), NOW, CFG, link_down_for_s=5).candidates == ()


def test_devices_of_a_source_just_back_get_one_window_to_report():
    states = street(40, seen_ago=600)  # all silent for ten minutes
    assert source_silence(states, NOW, CFG).candidates  # still silent
    back = {source_key(None): NOW - 5}
    found = source_silence(states | {1: Dev("smoke", 30, NOW - 1)}, NOW, CFG, returned=back)
    assert found.candidates == () and found.counted_from[2] == NOW - 5


def test_switched_off_it_says_nothing(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text("[devices.source_silence]\nenabled = false\n")
    assert source_silence(street(seen_ago=900), NOW, load_rules_config(path)).candidates == ()


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.integers(1, 500),
        st.tuples(
            st.sampled_from(["smoke", "gas", "elevator", "patrol_point"]), st.floats(0, 5000)
        ),
        max_size=80,
    ),
    st.floats(0, 120),
)
def test_at_most_one_alert_per_source_and_covered_devices_are_silent_ones(devices, link):
    states = {
        d: Dev(kind, 7200 if kind == "patrol_point" else 30, NOW - ago)
        for d, (kind, ago) in devices.items()
    }
    found = source_silence(states, NOW, CFG, link_down_for_s=link)
    keys = [c.condition_key for c in found.candidates]
    assert len(keys) == len(set(keys))
    # The feed's alert stands alone: its device types are part of it.
    assert source_key(None) not in keys or len(keys) == 1
    assert found.covered <= set(states)
    if not found.candidates:
        assert found.covered == frozenset()


def silent_by_definition(group: dict, now: float) -> float | None:
    """Return when a source of these devices fell silent, by the module's definitions, or None."""
    rule, k = CFG.devices.source_silence, CFG.devices.offline_after_intervals
    if not group:
        return None
    newest = max(s.last_seen for s in group.values())
    if now - newest > rule.quiet_after_intervals * min(s.interval_s for s in group.values()):
        return newest
    offline = [s.last_seen for s in group.values() if now - s.last_seen > k * s.interval_s]
    return max(offline) if len(offline) / len(group) >= rule.silent_share else None


def covered_by_definition(group: dict, onset: float) -> set[int]:
    """Return the devices still reporting when their source fell silent at onset."""
    k = CFG.devices.offline_after_intervals
    return {
        d
        for d, s in group.items()
        if onset - s.last_seen <= (1 if s.kind == "patrol_point" else k) * s.interval_s
    }


@settings(max_examples=80, deadline=None)
@given(
    st.dictionaries(
        st.integers(1, 500),
        st.tuples(
            st.sampled_from(["smoke", "gas", "elevator", "patrol_point"]),
            st.sampled_from([30, 60, 7200]),
            st.floats(0, 2000),
        ),
        max_size=80,
    )
)
def test_the_silent_sources_are_those_the_definitions_name(devices):
    states = {d: Dev(kind, interval, NOW - ago) for d, (kind, interval, ago) in devices.items()}
    watched = {d: s for d, s in states.items() if s.kind != "patrol_point"}
    onset = silent_by_definition(watched, NOW)
    if onset is not None:
        keys, covered = {source_key(None)}, covered_by_definition(states, onset)
    else:
        keys, covered = set(), set()
        for kind in {s.kind for s in watched.values()}:
            members = {d: s for d, s in watched.items() if s.kind == kind}
            found = silent_by_definition(members, NOW)
            if len(members) >= CFG.devices.source_silence.min_devices and found is not None:
                keys.add(source_key(kind))
                covered |= covered_by_definition(members, found)
    got = source_silence(states, NOW, CFG)
    assert {c.condition_key for c in got.candidates} == keys
    assert got.covered == covered


# -- the worker on a tiny street ------------------------------------------------------------

START = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)


@pytest.fixture
def worker_street(sqlite_engine):
    """Return (engine, book, clock, scenario, worker) on a tiny street that has reported."""
    seed_street(sqlite_engine, tiny_tier(fire_devices=40), 5, (121.5, 31.3))
    clock = ManualClock(START)
    live = InProcessLiveStore()
    scenario = LiveScenario(sqlite_engine, Ingest(sqlite_engine, live, clock), clock, 5)
    book = AlertBook(sqlite_engine, live)
    worker = live_worker(sqlite_engine, live, clock, alerts=book)
    for _ in range(60):  # an hour of readings
        clock.advance(60)
        scenario.step()
    worker.tick()
    return sqlite_engine, book, clock, scenario, worker


def raised_offline(engine) -> set[int]:
    """Return the devices that were ever alerted offline."""
    with engine.connect() as conn:
        return set(
            conn.execute(
                select(schema.Alert.object_id).where(
                    schema.Alert.kind == RuleKind.DEVICE_OFFLINE.value
                )
            ).scalars()
        )


def test_a_stopped_street_raises_one_source_alert_and_no_offline_flood(worker_street):
    engine, book, clock, scenario, worker = worker_street
    # The fleet's own faults (dead for days, flapping) are their own alerts, never the source's.
    faulty = scenario.faults.dead | scenario.faults.flapping
    for _ in range(120):  # ten minutes with no reading at all, ticking every five seconds
        clock.advance(5)
        worker.tick()
    assert raised_offline(engine) <= faulty
    assert list(book.open_levels((RuleKind.SOURCE_SILENT.value,))) == [source_key(None)]
    scenario.step()  # everything overdue reports at once
    clock.advance(1)
    worker.tick()
    assert book.open_levels((RuleKind.SOURCE_SILENT.value,)) == {}
    for _ in range(12):  # the minute after: nobody is called offline for not yet reporting
        clock.advance(5)
        scenario.step()
        worker.tick()
    assert raised_offline(engine) <= faulty
