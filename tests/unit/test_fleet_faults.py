"""Play the simulated fleet with its faults: a plausible online share, few alerts, no silent source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cockpit.alerts import AlertBook
from cockpit.clock import ManualClock
from cockpit.domain.kinds import DeviceKind, in_maintenance
from cockpit.ingest import Ingest
from cockpit.live import InProcessLiveStore
from cockpit.rules.results import RuleKind
from cockpit.simulator import generator
from cockpit.simulator.generator import StreetGenerator, seed_street
from cockpit.simulator.scenario import LiveScenario
from cockpit.store import schema
from cockpit.store.database import make_engine, migrate
from cockpit.viewmodels import OVERVIEW, TICKER, read_view
from tests.streets import live_worker, tiny_tier

START = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
TIER = tiny_tier(fire_devices=1_500, households=600, residents=1_400)


def test_the_seed_puts_a_small_share_of_the_fleet_in_maintenance() -> None:
    """About 1 % of the devices are out for service, with a date and the work; no patrol point."""
    rows = StreetGenerator(TIER, 3, (121.5, 31.3)).generate()["devices"]
    serviced = [d for d in rows if in_maintenance(d["params"])]
    fleet = [d for d in rows if d["kind"] != DeviceKind.PATROL_POINT.value]
    assert len(serviced) == round(len(fleet) * generator.MAINTENANCE_SHARE) > 5
    assert all(d["params"]["maintenance_work"] in generator.MAINTENANCE_WORK for d in serviced)
    assert all(d["params"]["maintenance_since"] <= f"{generator.REFERENCE_DAY}" for d in serviced)


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    """Return (engine, live, clock, scenario, worker, book) after two hours of the street.

    Played once for the module (forty steps and ticks): the tests only read what it left.
    """
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('faults') / 'cockpit.db'}")
    migrate(engine)
    seed_street(engine, TIER, 3, (121.5, 31.3))
    clock = ManualClock(START)
    live = InProcessLiveStore()
    scenario = LiveScenario(engine, Ingest(engine, live, clock), clock, 3)
    book = AlertBook(engine, live)
    worker = live_worker(engine, live, clock, alerts=book)
    for _ in range(40):
        clock.advance(180)
        scenario.step()
        worker.tick()
    yield engine, live, clock, scenario, worker, book
    engine.dispose()


def test_the_fleet_reads_a_plausible_online_share_and_counts_maintenance_apart(running) -> None:
    """95-98.5 % online; online + offline + maintenance add up; the dead are among the offline."""
    _engine, live, _clock, scenario, _worker, _book = running
    kpis = read_view(live, OVERVIEW)["kpis"]
    share = kpis["devices_online"] / kpis["devices_total"]
    assert 0.95 <= share <= 0.985, share
    assert (
        kpis["devices_online"] + kpis["devices_offline"] + kpis["devices_maintenance"]
        == kpis["devices_total"]
    )
    assert kpis["devices_maintenance"] == len(scenario.faults.maintenance) > 0
    assert kpis["devices_offline"] >= len(scenario.faults.dead) > 0
    assert scenario.faults.flapping and scenario.faults.low_battery


def test_faults_raise_few_grouped_alerts_and_never_a_silent_source(running) -> None:
    """Offline alerts name dead or flapping devices only, none in maintenance; no source.silent."""
    engine, live, _clock, scenario, worker, book = running
    worker.tick()  # the ticker folds in the alerts the last tick raised
    faults = scenario.faults
    offline = {
        int(key.rsplit(":", 1)[1]) for key in book.open_levels((RuleKind.DEVICE_OFFLINE.value,))
    }
    assert faults.dead <= offline
    assert offline <= faults.dead | faults.flapping
    assert not offline & faults.maintenance
    assert book.open_levels((RuleKind.SOURCE_SILENT.value,)) == {}
    # The low batteries read low, within what a detector can report (the streaming rules, not
    # wired here, raise fire.smoke_battery on them).
    latest = live.latest(faults.low_battery)
    assert all(0 < latest[d]["values"]["battery_pct"] < 20 for d in faults.low_battery)
    with engine.connect() as conn:
        total = len(conn.execute(select(schema.Device.id)).all())
    assert len(offline) < 0.03 * total
    # On the ticker the open offline alerts are one counted item, not a flood.
    items = read_view(live, TICKER)["items"]
    open_offline = [
        i for i in items if i["kind"] == RuleKind.DEVICE_OFFLINE.value and i["status"] != "resolved"
    ]
    assert [(i.get("group"), i.get("count")) for i in open_offline] == [(True, len(offline))]


def test_a_flapping_device_comes_back(running) -> None:
    """Each flapping device has reported within the last hour, though it misses reports at times."""
    _engine, live, clock, scenario, _worker, _book = running
    seen = live.last_seen()
    now = clock.now().timestamp()
    back = [d for d in scenario.faults.flapping if now - seen[d] < timedelta(hours=1).seconds]
    assert len(back) > len(scenario.faults.flapping) / 2
