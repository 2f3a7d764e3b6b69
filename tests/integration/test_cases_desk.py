"""Run the closed loop on the real stores: alerts and reports become cases that move to closure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from cockpit.alerts import AlertBook
from cockpit.cases import desk as desk_module
from cockpit.cases.deadlines import Planner, load_cases_config
from cockpit.cases.desk import CaseActionError, CaseDesk, Report
from cockpit.cases.panel import CASES
from cockpit.clock import ManualClock
from cockpit.domain.kinds import CaseSource, CaseState, ComplaintSource, DeviceKind
from cockpit.ingest import Ingest
from cockpit.live import InProcessLiveStore, RedisLiveStore
from cockpit.rules.config import load_rules_config
from cockpit.rules.enterprise import Trigger, TriggerCode
from cockpit.rules.results import Reason
from cockpit.settings import Settings
from cockpit.simulator.generator import seed_street
from cockpit.store import schema
from cockpit.streaming import StreamingRules
from cockpit.viewmodels import read_view
from cockpit.worker import build_worker
from tests.streets import tiny_tier

pytestmark = pytest.mark.integration

# Monday 23 November 2026, 10:00 in Shanghai: inside working hours.
MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
CONFIG = load_cases_config()


def street(engine, live, clock):
    """Seed a tiny street; return (ingest, desk, alert book)."""
    seed_street(engine, tiny_tier(fire_devices=12), 5, (121.5, 31.3))
    alerts = AlertBook(engine, live)
    desk = CaseDesk(engine, live, clock, CONFIG, alerts)
    ingest = Ingest(engine, live, clock, StreamingRules(engine, alerts, load_rules_config()), desk)
    return ingest, desk, alerts


def first_id(engine, column, *where):
    """Return the smallest id of a table matching the conditions."""
    with engine.connect() as conn:
        return conn.execute(select(func.min(column)).where(*where)).scalar_one()


def grid_report(ingest, engine, at, category="exposed_rubbish", building=None):
    """File a grid worker's report on a building; return the case id."""
    worker = first_id(engine, schema.GridWorker.id)
    with engine.connect() as conn:
        grid = conn.execute(
            select(schema.GridWorker.grid_id).where(schema.GridWorker.id == worker)
        ).scalar_one()
        address = conn.execute(
            select(schema.Address).where(schema.Address.grid_id == grid).limit(1)
        ).first()
    return ingest.grid_report(
        worker,
        grid,
        category,
        "暴露垃圾",
        "路口暴露垃圾",
        at,
        address.lon,
        address.lat,
        building or address.building_id,
        address.id,
    )


def test_a_smoke_alarm_becomes_a_case_that_is_dispatched_handled_verified_and_closed(
    any_engine, redis_client, street_code
) -> None:
    """Smoke alarm → alert → case → team → handled → verified → closed, seen on the view model."""
    live = RedisLiveStore(redis_client, street_code)
    clock = ManualClock(MONDAY_10)
    try:
        ingest, desk, alerts = street(any_engine, live, clock)
        worker = build_worker(
            any_engine, live, clock, alerts, load_rules_config(), Settings(), desk
        )
        worker.tick()

        def view():
            worker.tick()
            return read_view(live, CASES)

        smoke = first_id(any_engine, schema.Device.id, schema.Device.kind == DeviceKind.SMOKE)
        ingest.device_messages(
            [
                {
                    "device_id": smoke,
                    "device_type": "smoke",
                    "kind": "event",
                    "ts": clock.now().isoformat(),
                    "seq": 1,
                    "values": {"alarm": True, "obscuration_pct_m": 4.2, "battery_pct": 90},
                }
            ]
        )
        alert_id = first_id(any_engine, schema.Alert.id, schema.Alert.kind == "fire.smoke")
        assert alert_id is not None
        clock.advance(10)
        model = view()
        (case,) = [c for c in model["open"] if c["category"] == "fire.smoke"]
        assert (case["state"], case["priority"]) == ("reported", "urgent")

        duty = desk.act("acknowledge", "duty:li", alert_id=alert_id, action_key="ack-1")
        assert (duty.case_id, duty.state, duty.applied) == (case["id"], "registered", True)
        with any_engine.connect() as conn:
            assert (
                conn.execute(
                    select(schema.Alert.status).where(schema.Alert.id == alert_id)
                ).scalar_one()
                == "acknowledged"
            )
        team = first_id(any_engine, schema.ResponseTeam.id, schema.ResponseTeam.kind == "fire")
        steps = [
            ("dispatch", {"target": f"team:{team}"}, "dispatched"),
            ("arrive", {}, "handling"),
            ("handled", {"note": "误报，已复位"}, "handled"),
            ("verify", {}, "verified"),
            ("close", {}, "closed"),
        ]
        for n, (action, kw, state) in enumerate(steps):
            clock.advance(30)
            result = desk.act(action, "leader:wang", case_id=case["id"], action_key=f"k{n}", **kw)
            assert (result.state, result.applied) == (state, True)
            model = view()
            funnel = {row["state"]: row["count"] for row in model["funnel"]}
            assert funnel[state] >= 1
            # Open cases are listed with their state (the map marks them from map_cases).
            listed = [c["state"] for c in model["open"] if c["id"] == case["id"]]
            assert listed == ([] if state == "closed" else [state])
        street_row = model["indicators"]["street"]
        assert street_row["closure_rate"] is not None and street_row["closure_rate"] > 0
        fire = [r for r in model["indicators"]["department"] if r["key"] == "fire"]
        assert fire and fire[0]["on_time_handling"] == 1.0 and fire[0]["rank"] >= 1
        assert [h["to_state"] for h in desk.history(case["id"])] == [
            "reported",
            "registered",
            "dispatched",
            "handling",
            "handled",
            "verified",
            "closed",
        ]
    finally:
        live.clear()


def test_a_double_tap_acts_once(any_engine) -> None:
    """The same action key applied twice writes one history row."""
    clock = ManualClock(MONDAY_10)
    ingest, desk, _ = street(any_engine, InProcessLiveStore(), clock)
    case_id = grid_report(ingest, any_engine, clock.now())
    first = desk.act("register", "centre", case_id=case_id, action_key="tap-1")
    again = desk.act("register", "centre", case_id=case_id, action_key="tap-1")
    assert (first.applied, again.applied, again.state) == (True, False, "registered")
    with any_engine.connect() as conn:
        rows = conn.execute(
            select(func.count()).where(schema.CaseHistory.case_id == case_id)
        ).scalar_one()
    assert rows == 2  # the report and one registration


def test_an_illegal_action_is_refused_and_changes_nothing(any_engine) -> None:
    """Closing a registered case fails with the allowed actions named; the case stays registered."""
    clock = ManualClock(MONDAY_10)
    ingest, desk, _ = street(any_engine, InProcessLiveStore(), clock)
    case_id = grid_report(ingest, any_engine, clock.now())
    desk.act("register", "centre", case_id=case_id)
    with pytest.raises(CaseActionError, match="cannot close a case that is registered"):
        desk.act("close", "centre", case_id=case_id)
    with pytest.raises(CaseActionError, match="team:<id>"):
        desk.act("dispatch", "centre", case_id=case_id, target="the fire brigade")
    with pytest.raises(CaseActionError, match="does not exist"):
        desk.act("dispatch", "centre", case_id=case_id, target="team:99999")
    assert desk.act("acknowledge", "centre", case_id=case_id).state == "registered"


def test_the_same_problem_reported_twice_links_to_one_case(any_engine) -> None:
    """A second report of rubbish at the same building joins the open case."""
    clock = ManualClock(MONDAY_10)
    ingest, _, _ = street(any_engine, InProcessLiveStore(), clock)
    first = grid_report(ingest, any_engine, clock.now())
    second = grid_report(ingest, any_engine, clock.now() + timedelta(hours=2))
    other = grid_report(ingest, any_engine, clock.now(), category="illegal_building")
    assert first == second != other
    with any_engine.connect() as conn:
        linked = (
            conn.execute(select(schema.CaseReport.linked).where(schema.CaseReport.case_id == first))
            .scalars()
            .all()
        )
    assert sorted(linked) == [False, True]


def test_sync_opens_one_case_per_request_and_complaint_and_routes_police_matters(
    any_engine,
) -> None:
    """Requests and complaints become cases once; a 110 call goes to the police command room."""
    clock = ManualClock(MONDAY_10)
    ingest, desk, _ = street(any_engine, InProcessLiveStore(), clock)
    desk.sync()
    ingest.resident_request("repair", "楼道灯不亮", clock.now(), "app")
    ingest.complaint(ComplaintSource.POLICE_110, "P-1", clock.now(), "noise", "噪音", "长白路1号")
    first = desk.sync()
    assert (first.opened, desk.sync().opened) == (2, 0)
    with any_engine.connect() as conn:
        centres = dict(conn.execute(select(schema.Case.source, schema.Case.centre)).all())
    assert centres == {CaseSource.RESIDENT.value: "street", CaseSource.COMPLAINT.value: "police"}


def test_closing_a_resident_case_closes_the_open311_request(any_engine) -> None:
    """The resident sees their request closed when its case closes."""
    clock = ManualClock(MONDAY_10)
    ingest, desk, _ = street(any_engine, InProcessLiveStore(), clock)
    desk.sync()
    request_id = ingest.resident_request("repair", "楼道灯不亮", clock.now(), "app")
    desk.sync()
    with any_engine.connect() as conn:
        case_id = conn.execute(select(schema.Case.id)).scalar_one()
    worker = first_id(any_engine, schema.GridWorker.id)
    for action, kw in [
        ("register", {}),
        ("dispatch", {"target": f"worker:{worker}"}),
        ("accept", {}),
        ("handled", {"note": "换了灯泡"}),
        ("verify", {}),
        ("close", {}),
    ]:
        desk.act(action, "centre", case_id=case_id, **kw)
    with any_engine.connect() as conn:
        status = conn.execute(
            select(schema.ResidentRequest.status).where(schema.ResidentRequest.id == request_id)
        ).scalar_one()
        level = conn.execute(
            select(schema.Case.resolution_level).where(schema.Case.id == case_id)
        ).scalar_one()
    assert (status, level) == ("closed", "grid")


def test_a_deadline_survives_a_restart_and_flags_overdue_on_time(any_engine) -> None:
    """A new desk on the same store flags the case overdue exactly when its stored deadline passes."""
    clock = ManualClock(MONDAY_10)
    ingest, desk, _ = street(any_engine, InProcessLiveStore(), clock)
    case_id = grid_report(ingest, any_engine, clock.now(), category="street_cleanliness")
    desk.act("register", "centre", case_id=case_id)
    team = first_id(any_engine, schema.ResponseTeam.id)
    desk.act("dispatch", "centre", case_id=case_id, target=f"team:{team}")
    any_engine.dispose()  # the process restarts: nothing in memory survives
    restarted = CaseDesk(any_engine, InProcessLiveStore(), clock, CONFIG)
    with any_engine.connect() as conn:
        due = conn.execute(
            select(schema.Case.deadline_at).where(schema.Case.id == case_id)
        ).scalar_one()
    # Five working hours from Monday 10:00 Shanghai: 16:00 the same day.
    assert due == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    restarted.sync(due - timedelta(seconds=1))
    assert restarted.sync(due - timedelta(microseconds=1)).overdue == []
    assert restarted.sync(due).overdue == [case_id]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    park_after=st.integers(min_value=0, max_value=4 * 86_400),
    parked_for=st.integers(min_value=1, max_value=20 * 86_400),
)
def test_a_parked_clock_resumes_exactly_after_a_restart(
    sqlite_engine, park_after, parked_for
) -> None:
    """Parking then resuming (in another process) keeps the working time left to the deadline."""
    engine = sqlite_engine
    clock = ManualClock(MONDAY_10)
    with engine.connect() as conn:
        seeded = conn.execute(select(func.count()).select_from(schema.Street)).scalar_one()
    if not seeded:
        seed_street(engine, tiny_tier(fire_devices=4), 5, (121.5, 31.3))
    desk = CaseDesk(engine, InProcessLiveStore(), clock, CONFIG)
    case_id = desk.report(
        Report(CaseSource.GRID_WORKER, "illegal_building", "违建", "违建", clock.now())
    )
    desk.act("register", "centre", case_id=case_id)
    desk.act("dispatch", "centre", case_id=case_id, target="community:1")
    clock.advance(park_after)
    planner = Planner(CONFIG)
    with engine.connect() as conn:
        due = conn.execute(
            select(schema.Case.deadline_at).where(schema.Case.id == case_id)
        ).scalar_one()
    left = planner.calendar.between(clock.now(), due)
    desk.act("park", "centre", case_id=case_id, note="等待规划部门意见")
    clock.advance(parked_for)
    engine.dispose()
    after = CaseDesk(engine, InProcessLiveStore(), clock, CONFIG)
    result = after.act("resume", "centre", case_id=case_id)
    assert result.state == CaseState.DISPATCHED.value
    assert planner.calendar.between(clock.now(), result.deadline_at) == pytest.approx(
        left, abs=1e-3
    )


def test_acknowledging_an_alert_before_the_sync_leaves_the_sync_working(any_engine) -> None:
    """A tap that opens an alert's case first: the sync skips that alert and opens the next."""
    clock = ManualClock(MONDAY_10)
    ingest, desk, alerts = street(any_engine, InProcessLiveStore(), clock)
    desk.sync()  # the cursor is set before any alert exists
    device = first_id(any_engine, schema.Device.id, schema.Device.kind == DeviceKind.SMOKE.value)
    other = first_id(
        any_engine,
        schema.Device.id,
        schema.Device.kind == DeviceKind.SMOKE.value,
        schema.Device.id > device,
    )
    ingest.device_messages(
        [
            {
                "device_id": d,
                "device_type": "smoke",
                "kind": "event",
                "ts": clock.now().isoformat(),
                "seq": 1,
                "values": {"alarm": True, "obscuration_pct_m": 4.2, "battery_pct": 90},
            }
            for d in (device, other)
        ]
    )
    with any_engine.connect() as conn:
        first_alert, second_alert = conn.scalars(
            select(schema.Alert.id).order_by(schema.Alert.id)
        ).all()
    tapped = desk.act("acknowledge", "duty", alert_id=first_alert, action_key="tap")
    result = desk.sync()
    assert result.opened == 1  # only the second alert's case: the first exists already
    with any_engine.connect() as conn:
        cases_by_alert = dict(conn.execute(select(schema.Case.alert_id, schema.Case.id)).all())
    assert cases_by_alert[first_alert] == tapped.case_id and second_alert in cases_by_alert
    assert desk.sync().opened == 0


class RacingDesk(CaseDesk):
    """Act as a second tap that read the case before the first tap's write landed."""

    def _apply(self, conn, case_id, action, actor, now, key, **kw):
        """Find the case moved under it, as the losing half of a race does."""
        raise desk_module._ChangedMeanwhileError(f"case {case_id} changed meanwhile")


def test_the_losing_half_of_a_double_tap_is_not_refused(any_engine) -> None:
    """A race lost to the same action key answers 'already done'; lost to another, it refuses."""
    clock = ManualClock(MONDAY_10)
    ingest, desk, alerts = street(any_engine, InProcessLiveStore(), clock)
    case_id = grid_report(ingest, any_engine, clock.now())
    assert desk.act("register", "centre", case_id=case_id, action_key="tap-9").applied
    racer = RacingDesk(any_engine, desk.live, clock, CONFIG, alerts)
    second = racer.act("register", "centre", case_id=case_id, action_key="tap-9")
    assert (second.applied, second.state) == (False, "registered")
    with pytest.raises(CaseActionError, match="changed meanwhile"):
        racer.act("dispatch", "centre", case_id=case_id, target="community:1", action_key="x")


def test_a_due_visit_opens_no_case(any_engine) -> None:
    """Due visits are a work list of the enterprise panel, not problems to dispatch."""
    clock = ManualClock(MONDAY_10)
    _, desk, alerts = street(any_engine, InProcessLiveStore(), clock)
    desk.sync()
    enterprise = first_id(any_engine, schema.Enterprise.id)
    trigger = Trigger(
        TriggerCode.ABNORMAL_OPERATION,
        enterprise,
        "经营异常",
        "Abnormal operation",
        clock.now().date(),
        (Reason("status", "经营状态：abnormal", "Operating status: abnormal", "abnormal"),),
    )
    alerts.raise_candidate(trigger.to_alert(), clock.now())
    assert desk.sync().opened == 0
