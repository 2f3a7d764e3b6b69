"""Check the `cases` view's dispatch targets on a seeded street, and a dispatch made from them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import orjson
import pytest
from sqlalchemy import select

from cockpit.alerts import AlertBook
from cockpit.cases.deadlines import load_cases_config
from cockpit.cases.desk import CaseDesk
from cockpit.cases.panel import CASE_TARGETS, CASES, CASES_WALL, tasks_view
from cockpit.clock import ManualClock
from cockpit.ingest import Ingest
from cockpit.live import InProcessLiveStore
from cockpit.privacy import mask_name
from cockpit.rules.config import load_rules_config
from cockpit.settings import Settings
from cockpit.simulator.generator import seed_street
from cockpit.store import schema
from cockpit.streaming import StreamingRules
from cockpit.viewmodels import read_view
from cockpit.worker import build_worker
from layouts.cases import CJK, dispatch_targets, find_case
from tests.streets import tiny_tier

pytestmark = pytest.mark.integration

MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a working day
MASKED = re.compile(r"^.\*\*$")


def test_the_cases_view_publishes_every_target_masked_and_a_tablet_dispatches_to_one(
    any_engine,
) -> None:
    live = InProcessLiveStore()
    clock = ManualClock(MONDAY_10)
    seed_street(any_engine, tiny_tier(grid_workers=9), 5, (121.5, 31.3))
    alerts = AlertBook(any_engine, live)
    desk = CaseDesk(any_engine, live, clock, load_cases_config(), alerts)
    ingest = Ingest(
        any_engine, live, clock, StreamingRules(any_engine, alerts, load_rules_config()), desk
    )
    worker = build_worker(any_engine, live, clock, alerts, load_rules_config(), Settings(), desk)
    with any_engine.connect() as conn:
        workers = conn.execute(
            select(schema.GridWorker.id, schema.GridWorker.grid_id, schema.GridWorker.name)
        ).all()
        teams = conn.execute(select(schema.ResponseTeam.id, schema.ResponseTeam.kind)).all()
        communities = conn.execute(select(schema.Community.id, schema.Community.name)).all()
        reporter, grid, _ = workers[-1]
        address = conn.execute(
            select(schema.Address).where(schema.Address.grid_id == grid).limit(1)
        ).one()
    case_id = ingest.grid_report(
        reporter,
        grid,
        "exposed_rubbish",
        "暴露垃圾",
        "路口暴露垃圾",
        clock.now(),
        address.lon,
        address.lat,
        address.building_id,
        address.id,
    )

    def view():
        clock.advance(30)
        worker.tick()
        return read_view(live, CASES)

    published = view()
    assert "targets" not in published  # the screens' view: the card reads them apart
    targets = read_view(live, CASE_TARGETS)["targets"]
    assert [(w["id"], w["grid_id"], w["name"]) for w in targets["workers"]] == sorted(
        (w.id, w.grid_id, mask_name(w.name)) for w in workers
    )
    assert all(MASKED.match(w["name"]) for w in targets["workers"])
    text = orjson.dumps([published, targets]).decode()
    assert not any(w.name in text for w in workers)  # no full name anywhere in the view
    assert [(t["id"], t["kind"]) for t in targets["teams"]] == sorted(tuple(t) for t in teams)
    assert [(c["id"], c["name"]) for c in targets["communities"]] == sorted(
        tuple(c) for c in communities
    )
    for table in ("community", "grid"):
        rows = published["indicators"][table]
        assert rows and all(r["name_en"] and not CJK.search(r["name_en"]) for r in rows)

    # The tablet: register, then dispatch to the first target offered, the grid's own worker.
    desk.act("register", "leader:wang", case_id=case_id, action_key="reg")
    case = find_case(view(), case_id)
    options = dispatch_targets(case, dict(published, targets=targets), "en")  # as the card does
    own_grid = {f"worker:{w.id}" for w in workers if w.grid_id == grid}
    assert options[0]["value"] in own_grid
    assert (
        options[0]["label"] == f"Grid worker {options[0]['value'].partition(':')[2]} · Grid {grid}"
    )
    assert not any(CJK.search(o["label"]) for o in options)
    assert len(options) == len(workers) + len(teams) + len(communities)
    target = options[0]["value"]
    result = desk.act("dispatch", "leader:wang", case_id=case_id, target=target, action_key="go")
    assert (result.state, result.applied) == ("dispatched", True)
    after = view()
    assert find_case(after, case_id)["assignee"] == target
    assert "tasks_by_worker" not in after
    # The worker dispatched to finds the case in their own tasks view, and nobody else's.
    mine = read_view(live, tasks_view(target.partition(":")[2]))
    assert mine["worker"] == target.partition(":")[2]
    assert case_id in [t["id"] for t in mine["tasks"]]
    others = [read_view(live, tasks_view(w.id)) for w in workers if f"worker:{w.id}" != target]
    assert all(o is not None for o in others)  # every worker's view is there from the start
    assert not any(t["id"] == case_id and t["task"] == "handle" for o in others for t in o["tasks"])
    # The wall's view: counts, and the case's code at most, never a title or a worker's name.
    wall = orjson.dumps(read_view(live, CASES_WALL)).decode()
    assert "路口暴露垃圾" not in wall and "title" not in wall
    assert not any(mask_name(w.name) in wall or w.name in wall for w in workers)
