"""A case that collects hundreds of repeat reports keeps one summary entry, in the store and views."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import func, select

from cockpit.alerts import AlertBook
from cockpit.cases.deadlines import load_cases_config
from cockpit.cases.desk import REPEATS_KEY, CaseDesk
from cockpit.cases.panel import build_case_views, case_summary
from cockpit.clock import ManualClock
from cockpit.ingest import Ingest
from cockpit.live import InProcessLiveStore
from cockpit.simulator.generator import seed_street
from cockpit.store import schema
from data_adapters.case_facts import CaseFactsAdapter, CaseReader
from tests.streets import tiny_tier

pytestmark = pytest.mark.integration

MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
FLOOD = 500


def flood(engine, count: int, start: datetime) -> tuple[CaseDesk, list[datetime]]:
    """Have `count` residents report the same broken lamp of one address, a minute apart."""
    live = InProcessLiveStore()
    clock = ManualClock(start)
    desk = CaseDesk(engine, live, clock, load_cases_config(), AlertBook(engine, live))
    ingest = Ingest(engine, live, clock, cases=desk)
    with engine.connect() as conn:
        address = conn.execute(select(schema.Address).order_by(schema.Address.id).limit(1)).one()
    times = [start + timedelta(minutes=n) for n in range(count)]
    for at in times:
        ingest.resident_request(
            "repair", "楼道灯不亮，电话13912345678", at, "app", address.lon, address.lat,
            address.full_text, address.id,
        )  # fmt: skip
    while desk.sync(times[-1] + timedelta(minutes=1)).linked:
        pass
    return desk, times


def views_of(engine, now: datetime) -> tuple[dict, int]:
    """Return the `cases` view and the bytes of it and `cases_wall`, built from the store."""
    adapter = CaseFactsAdapter(engine, ManualClock(now), timedelta(seconds=10))
    adapter.refresh()
    views = build_case_views(adapter.snapshot.data, now)
    return views.cases, len(orjson.dumps(views.cases)) + len(orjson.dumps(views.wall))


def test_five_hundred_repeats_are_one_history_entry_with_count_first_and_last(any_engine):
    seed_street(any_engine, tiny_tier(), 5, (121.5, 31.3))
    desk, times = flood(any_engine, FLOOD, MONDAY_10)
    h = schema.CaseHistory
    with any_engine.connect() as conn:
        (case_id,) = conn.execute(select(schema.Case.id)).scalars().all()  # one case only
        rows = conn.execute(select(h.action).where(h.case_id == case_id)).scalars().all()
        summary = conn.execute(
            select(h.repeats, h.at, h.last_at).where(
                h.case_id == case_id, h.action_key == REPEATS_KEY
            )
        ).one()
        linked = conn.scalar(select(func.count()).where(schema.CaseReport.linked.is_(True)))
    assert sorted(rows) == ["link", "report"]
    assert summary.repeats == linked == FLOOD - 1
    assert (summary.at, summary.last_at) == (times[1], times[-1])
    history = desk.history(case_id)
    assert [(e["action"], e.get("repeats")) for e in history] == [
        ("report", None),
        ("link", FLOOD - 1),
    ]


def test_the_published_views_do_not_grow_with_the_flood(any_engine):
    seed_street(any_engine, tiny_tier(), 5, (121.5, 31.3))
    flood(any_engine, 5, MONDAY_10)
    _, few = views_of(any_engine, MONDAY_10 + timedelta(hours=9))
    flood(any_engine, FLOOD - 5, MONDAY_10 + timedelta(minutes=5))
    cases, many = views_of(any_engine, MONDAY_10 + timedelta(hours=9))
    (case,) = cases["open"]
    (entry,) = [e for e in case["history"] if e.get("repeats")]
    assert entry["repeats"] == FLOOD - 1 and len(case["history"]) == 2
    assert entry["last_at"] == (MONDAY_10 + timedelta(minutes=FLOOD - 1)).isoformat()
    # Only the count's digits and the last time differ: a flood costs the views nothing.
    assert abs(many - few) < 16, (few, many)
    print(f"\nviews with 4 repeats: {few} B; with {FLOOD - 1}: {many} B")


def test_a_case_read_by_id_is_the_case_the_open_list_publishes(any_engine):
    """CaseReader (a card for a case past the lists' hundred) reads the same summary and history
    as the `cases` view lists, on SQLite and PostgreSQL; an unknown id reads None."""
    seed_street(any_engine, tiny_tier(), 5, (121.5, 31.3))
    flood(any_engine, 3, MONDAY_10)
    now = MONDAY_10 + timedelta(minutes=5)
    view, _ = views_of(any_engine, now)
    (listed,) = view["open"]
    row = CaseReader(any_engine).one(listed["id"])
    assert case_summary(row, now) == listed
    assert "13912345678" not in orjson.dumps(case_summary(row, now)).decode()
    assert CaseReader(any_engine).one(listed["id"] + 1000) is None
