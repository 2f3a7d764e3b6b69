"""Stop a tiny street's readings on the real servers: one source alert, never thousands of offline ones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from cockpit.alerts import AlertBook
from cockpit.clock import ManualClock
from cockpit.ingest import Ingest
from cockpit.live import RedisLiveStore
from cockpit.rules.results import RuleKind
from cockpit.rules.sources import source_key
from cockpit.simulator.generator import seed_street
from cockpit.store import schema
from cockpit.viewmodels import TICKER, read_view
from cockpit.worker import ViewModelWorker
from tests.streets import live_worker, tiny_tier

pytestmark = pytest.mark.integration
START = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
SOURCE = (RuleKind.SOURCE_SILENT.value,)


@pytest.fixture
def street(postgres_engine, redis_client, street_code):
    """Return (engine, live, clock, ingest, devices, make_worker) on a tiny street in PostgreSQL."""
    seed_street(postgres_engine, tiny_tier(fire_devices=40), 11, (121.5, 31.3))
    clock = ManualClock(START)
    live = RedisLiveStore(redis_client, street_code)
    with postgres_engine.connect() as conn:
        devices = dict(conn.execute(select(schema.Device.id, schema.Device.kind)).all())

    def make_worker() -> ViewModelWorker:
        return live_worker(postgres_engine, live, clock, alerts=AlertBook(postgres_engine, live))

    return postgres_engine, live, clock, Ingest(postgres_engine, live, clock), devices, make_worker


seq = iter(range(1, 10**9))


def report(ingest, clock, devices, leave_out=()):
    """Have every device but the left-out ones send a status message now."""
    ts = clock.now().isoformat()
    ingest.device_messages(
        {"device_id": d, "device_type": k, "kind": "status", "ts": ts, "seq": next(seq)}
        for d, k in devices.items()
        if d not in leave_out
    )


def count(engine, kind: str) -> int:
    """Return how many alerts of a kind were ever raised."""
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(schema.Alert).where(schema.Alert.kind == kind)
        ).scalar_one()


def test_a_stopped_feed_is_one_alert_that_resolves_when_readings_resume(street):
    engine, live, clock, ingest, devices, make_worker = street
    worker = make_worker()
    report(ingest, clock, devices)
    worker.tick()
    for _ in range(60):  # five minutes without a single reading
        clock.advance(5)
        worker.tick()
    book = worker.alerts
    assert list(book.open_levels(SOURCE)) == [source_key(None)]
    assert count(engine, RuleKind.DEVICE_OFFLINE.value) == 0
    # A restarted worker finds the devices' last-seen times in Redis and the alert in the book.
    worker = make_worker()
    clock.advance(5)
    worker.tick()
    assert count(engine, RuleKind.SOURCE_SILENT.value) == 1
    assert count(engine, RuleKind.DEVICE_OFFLINE.value) == 0
    ticker = read_view(live, TICKER)["items"]
    assert [i["kind"] for i in ticker] == [RuleKind.SOURCE_SILENT.value]
    report(ingest, clock, devices)
    clock.advance(1)
    worker.tick()
    assert book.open_levels(SOURCE) == {}
    assert count(engine, RuleKind.DEVICE_OFFLINE.value) == 0


def test_a_few_silent_devices_still_raise_their_own_offline_alerts(street):
    engine, live, clock, ingest, devices, make_worker = street
    worker = make_worker()
    fire = sorted(d for d, k in devices.items() if k in ("smoke", "electricity"))
    quiet = set(fire[:3])
    report(ingest, clock, devices)
    worker.tick()
    for _ in range(40):  # 200 s: the three miss every report, everyone else keeps reporting
        clock.advance(5)
        report(ingest, clock, devices, leave_out=quiet)
        worker.tick()
    book = worker.alerts
    assert book.open_levels(SOURCE) == {}
    offline = book.open_levels((RuleKind.DEVICE_OFFLINE.value,))
    assert {int(key.rsplit(":", 1)[1]) for key in offline} == quiet
    report(ingest, clock, devices)
    clock.advance(1)
    worker.tick()
    assert book.open_levels((RuleKind.DEVICE_OFFLINE.value,)) == {}
