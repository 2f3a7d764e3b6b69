"""Play the live scenario on a tiny street and publish the overview from what it produced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cockpit.clock import ManualClock
from cockpit.ingest import Ingest
from cockpit.live import InProcessLiveStore
from cockpit.simulator.generator import seed_street
from cockpit.simulator.scenario import SCRIPT, LiveScenario
from cockpit.store import schema
from cockpit.viewmodels import OVERVIEW, read_view
from cockpit.worker import ViewModelWorker
from data_adapters.live_state import LiveStateAdapter
from data_adapters.registry import DeviceRegistryAdapter, RegistryAdapter
from tests.streets import tiny_tier

START = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)


@pytest.fixture
def street(sqlite_engine):
    """Return (engine, live store, clock, scenario) on a freshly seeded tiny street."""
    seed_street(sqlite_engine, tiny_tier(fire_devices=12), 5, (121.5, 31.3))
    clock = ManualClock(START)
    live = InProcessLiveStore()
    return (
        sqlite_engine,
        live,
        clock,
        LiveScenario(sqlite_engine, Ingest(sqlite_engine, live, clock), clock, 5),
    )


def play(clock, scenario, seconds, step=60):
    """Advance the clock in steps, letting the scenario emit what is due."""
    sent = 0
    for _ in range(int(seconds // step)):
        clock.advance(step)
        sent += scenario.step()
    return sent


def test_every_device_reports_within_its_interval(street):
    engine, live, clock, scenario = street
    play(clock, scenario, 3 * 3600)
    with engine.connect() as conn:
        devices = dict(
            conn.execute(select(schema.Device.id, schema.Device.report_interval_s)).all()
        )
    seen = live.last_seen()
    silent = [
        d
        for d, interval in devices.items()
        if clock.now().timestamp() - seen.get(d, 0) > interval * 1.2 and scenario.faults.healthy(d)
    ]
    assert silent == []
    # The dead and the serviced stay silent; a dead device's last word is days old.
    for d in scenario.faults.dead:
        assert clock.now().timestamp() - seen[d] > 86_400
    assert not scenario.faults.maintenance & seen.keys()


def test_scripted_incidents_play_in_order_at_their_times(street):
    engine, live, clock, scenario = street
    play(clock, scenario, 3 * 86400, step=600)
    # In the order they are due (the elder's dry meter at 12 h comes before day two's 96315).
    in_time = sorted(SCRIPT, key=lambda i: i.at)
    assert [incident.name for _, incident in scenario.played] == [i.name for i in in_time]
    for at, incident in scenario.played:
        assert at == START + incident.at
    with engine.connect() as conn:
        sources = conn.execute(
            select(func.count(func.distinct(schema.Complaint.source))).where(
                schema.Complaint.enterprise_id.is_not(None)
            )
        ).scalar()
    assert sources == 3, "the scripted enterprise has complaints from three sources within a week"
    alarm = [
        e for _, e in live.read_events("device_events", limit=10**6) if e["values"].get("alarm")
    ]
    assert len(alarm) == 1
    dry = scenario._targets["water_meter"]
    assert live.latest([dry])[dry]["values"]["flow_l"] == 0.0


def test_people_report_at_daily_rates(street):
    engine, _live, clock, scenario = street
    play(clock, scenario, 2 * 86400, step=900)
    with engine.connect() as conn:
        cases = conn.execute(select(func.count()).select_from(schema.Case)).scalar()
        requests = conn.execute(select(func.count()).select_from(schema.ResidentRequest)).scalar()
    assert 20 <= cases <= 70 and 40 <= requests <= 120


def test_worker_publishes_live_counts(street):
    engine, live, clock, scenario = street
    worker = ViewModelWorker(
        RegistryAdapter(engine, clock, timedelta(seconds=10)),
        DeviceRegistryAdapter(engine, clock, timedelta(seconds=60)),
        LiveStateAdapter(live, clock, timedelta(seconds=1)),
        live,
        clock,
        timedelta(seconds=30),
    )
    worker.tick()
    before = read_view(live, OVERVIEW)
    assert before["kpis"]["residents"] == 700 and before["kpis"]["devices_online"] == 0
    play(clock, scenario, 3600)
    worker.tick()
    after = read_view(live, OVERVIEW)
    assert after["version"] != before["version"]
    kpis = after["kpis"]
    assert (
        kpis["devices_online"] + kpis["devices_offline"] + kpis["devices_maintenance"]
        == (kpis["devices_total"])
    )
    assert kpis["devices_maintenance"] == len(scenario.faults.maintenance)
    assert kpis["devices_offline"] >= len(scenario.faults.dead)
    healthy = [d for d in range(1, kpis["devices_total"] + 1) if scenario.faults.healthy(d)]
    assert kpis["devices_online"] >= len(healthy) > 0
    assert after["kpis"]["readings_total"] > before["kpis"]["readings_total"]
    assert after["stale"] is False


def test_silent_devices_raise_offline_alerts_and_resolve_when_heard(street, tmp_path):
    from cockpit.alerts import AlertBook
    from cockpit.rules.config import load_rules_config
    from cockpit.rules.results import RuleKind

    engine, live, clock, scenario = street
    book = AlertBook(engine, live)
    # The whole street goes quiet below: with source silence on, that is one source alert
    # (tests/unit/test_source_silence.py); here each device speaks for itself, as it did before.
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text("[devices.source_silence]\nenabled = false\n")
    worker = ViewModelWorker(
        RegistryAdapter(engine, clock, timedelta(seconds=10)),
        DeviceRegistryAdapter(engine, clock, timedelta(seconds=60)),
        LiveStateAdapter(live, clock, timedelta(seconds=1)),
        live,
        clock,
        timedelta(seconds=30),
        alerts=book,
        rules_cfg=load_rules_config(rules_file),
    )
    offline = (RuleKind.DEVICE_OFFLINE.value,)

    def alerted() -> set[int]:
        return {int(key.rsplit(":", 1)[1]) for key in book.open_levels(offline)}

    # The fleet's own faults (dead for days, flapping) have alerts of their own throughout.
    faulty = scenario.faults.dead | scenario.faults.flapping
    play(clock, scenario, 3600)
    worker.tick()
    assert scenario.faults.dead <= alerted() <= faulty
    clock.advance(600)  # the street goes quiet: nothing reports for ten minutes
    worker.tick()
    with engine.connect() as conn:
        fast = set(
            conn.execute(
                select(schema.Device.id).where(schema.Device.report_interval_s * 3 < 600)
            ).scalars()
        )
    # Devices out for service are silent by design and raise nothing.
    spared = faulty | scenario.faults.maintenance
    assert alerted() - faulty == fast - spared and scenario.faults.dead <= alerted()
    clock.advance(1)  # the live adapter polls once a second
    scenario.step()  # everything overdue reports at once
    worker.tick()
    assert scenario.faults.dead <= alerted() <= faulty
