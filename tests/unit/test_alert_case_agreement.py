"""Check that an alert's state, its case's state and the red-alert KPI tell one story."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from dash import no_update
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select

from cockpit.access.policy import Principal, Role
from cockpit.domain.kinds import CaseState
from cockpit.panels import KPI_LISTS, LISTED_KPIS, governance_panel, kpi_lists
from cockpit.store import schema as s
from cockpit.worker import TickerFeed
from data_adapters.alert_cases import AlertCases
from data_adapters.panel_facts import red_alerts_unsettled
from data_adapters.registry import CLOSED_STATES

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
STATES = [state.value for state in CaseState]
# One alert: its level, whether it cleared, and its case's state (None: it opened no case).
ALERT = st.tuples(
    st.sampled_from(["red", "orange", "blue"]),
    st.booleans(),
    st.none() | st.sampled_from(STATES),
)


def store_world(engine, world) -> None:
    """Write the alerts and the cases they opened, replacing what the store held."""
    with engine.begin() as conn:
        for table in (s.CaseReport, s.Case, s.Alert):
            conn.execute(table.__table__.delete())
        for n, (level, cleared, state) in enumerate(world, start=1):
            at = T0 + timedelta(seconds=n)
            conn.execute(
                insert(s.Alert),
                {
                    "id": n,
                    "kind": "fire.smoke",
                    "level": level,
                    "status": "resolved" if cleared else "new",
                    "condition_key": f"smoke:{n}",
                    "open_key": None if cleared else f"smoke:{n}",
                    "object_type": "device",
                    "object_id": n,
                    "title": "烟感报警",
                    "title_en": "Smoke alarm",
                    "reasons": [],
                    "raised_at": at,
                    "resolved_at": at if cleared else None,
                },
            )
            if state is None:
                continue
            conn.execute(
                insert(s.Case),
                {
                    "id": n,
                    "code": f"AL{n:08d}",
                    "source": "alert",
                    "category": "fire.smoke",
                    "title": "烟感报警",
                    "description": "",
                    "state": state,
                    "priority": "urgent",
                    "centre": "street",
                    "alert_id": n,
                    "reported_at": at,
                    "deadline_at": at + timedelta(seconds=30),
                    "dispatch_count": 0,
                    "rework_count": 0,
                    "self_handled": False,
                },
            )
            conn.execute(
                insert(s.CaseReport),
                {"case_id": n, "source": "alert", "source_id": n, "reported_at": at},
            )


def ticker_of(world, cases: AlertCases) -> TickerFeed:
    """Return a ticker that heard every alert of the world raised, and cleared where it was."""
    feed = TickerFeed()
    events = []
    for n, (level, cleared, _state) in enumerate(world, start=1):
        ts = (T0 + timedelta(seconds=n)).timestamp()
        events.append(
            (f"{n}-0", {"event": "raised", "id": n, "level": level, "kind": "fire.smoke", "ts": ts})
        )
        if cleared:
            events.append((f"{n}-1", {"event": "resolved", "id": n, "ts": ts}))
    feed.absorb(events)
    feed.cases = cases.of(feed.single_ids())
    return feed


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(ALERT, max_size=TickerFeed.SIZE))
def test_the_ticker_and_the_red_kpi_agree_for_any_alerts_and_cases(sqlite_engine, world) -> None:
    """Every red item the ticker shows as unsettled is counted by the KPI, and only those."""
    store_world(sqlite_engine, world)
    feed = ticker_of(world, AlertCases(sqlite_engine))
    items = {item["id"]: item for item in feed.model()["items"]}
    for n, (_level, cleared, state) in enumerate(world, start=1):
        item = items[n]
        assert item["status"] == ("resolved" if cleared else "new")
        if state is None:
            assert "case" not in item
        else:
            # The item carries its case's own state: never a cleared alert with a silent case.
            assert item["case"]["state"] == state
            assert item["case"]["open"] is (state not in CLOSED_STATES)
    with sqlite_engine.connect() as conn:
        counted = conn.execute(
            select(func.count()).select_from(red_alerts_unsettled().subquery())
        ).scalar_one()
    shown = sum(1 for i in items.values() if i["level"] == "red" and feed.unsettled(i))
    assert counted == shown
    facts = {"alerts": {"open_by_kind": {}, "red_unsettled": counted}}
    assert governance_panel(facts, [], {}, T0)["alerts"]["red_unsettled"] == counted


def test_a_cleared_alert_with_an_open_case_outranks_settled_ones_in_the_ticker() -> None:
    """A burst of blue alerts pushes out settled ones first, never a cleared red with its case open."""
    feed = TickerFeed()
    feed.cases = {1: {"id": 9, "state": "reported", "open": True}}
    feed.absorb(
        [
            ("1-0", {"event": "raised", "id": 1, "level": "red", "kind": "fire.smoke", "ts": 1.0}),
            ("1-1", {"event": "resolved", "id": 1, "ts": 2.0}),
        ]
    )
    feed.absorb(
        [
            (f"{n}-0", {"event": "raised", "id": n, "level": "blue", "kind": "x", "ts": float(n)})
            for n in range(10, 40)
        ]
    )
    (item,) = [i for i in feed.model()["items"] if i["id"] == 1]
    assert item["case"] == {"id": 9, "state": "reported", "open": True}


def principal(role: Role) -> Principal:
    """Return a signed-in principal of the role."""
    return Principal(account_id=1, username=f"test-{role.value}", role=role)


def test_the_kpi_list_is_built_for_record_viewers_and_never_for_the_wall() -> None:
    """A dispatcher gets the rows with place and state; the kiosk and strangers get nothing."""
    from callbacks.shell import kpi_list_for

    facts = {
        "kpi_lists": {
            "open_red_alerts": [
                {
                    "type": "alert",
                    "id": 5,
                    "level": "red",
                    "status": "resolved",
                    "title_zh": "烟感报警",
                    "title_en": "Smoke alarm",
                    "at": T0.isoformat(),
                    "place": "松花江路261号",
                    "case": {"id": 7, "code": "AL00000005", "state": "reported", "open": True},
                }
            ]
        },
        "smoke_alerts": [],
    }
    raw = orjson.dumps(kpi_lists(facts))
    read = {KPI_LISTS: raw}.get
    card = kpi_list_for(principal(Role.DISPATCHER), "open_red_alerts", read, "en")
    text = str(card.to_plotly_json())
    assert "No. 261, Songhuajiang Road" in text and "Cleared · case in hand" in text
    (item,) = card.children[-1].children
    row = item.children.to_plotly_json()["props"]
    # The row opens the case, where a cleared alert is acted on.
    assert orjson.loads(row["data-pick"]) == {"kind": "case", "id": 7}
    for nobody in (principal(Role.KIOSK), None):
        assert kpi_list_for(nobody, "open_red_alerts", read, "en") is no_update
    assert kpi_list_for(principal(Role.DISPATCHER), "devices_online", read, "en") is no_update
    assert set(kpi_lists(facts)["lists"]) == set(LISTED_KPIS)
