"""Send every guarded callback and endpoint crafted requests as every role, and no session.

Requests are built the way an outsider builds them: from `/_dash-dependencies`, posted to
`/_dash-update-component`, with any ids, states and contexts they like. Each role gets exactly
what cockpit.access.policy allows; a refused request leaves every table as it was (the audit log
only gains the refusal), forged worker contexts and actors change nothing, and the actor in the
history is the signed-in account.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from dash._utils import split_callback_id
from sqlalchemy import Engine, select

from cockpit.access.policy import Role
from cockpit.cases.desk import Report
from cockpit.domain.kinds import AlertLevel, CaseSource
from cockpit.rules.results import AlertCandidate, Reason, condition_key
from cockpit.store import schema as s
from tests.signed_in import clients_per_role, tiny_cockpit

ROLES: tuple[str | None, ...] = (None, *(role.value for role in Role))
# Tables a refused request must leave exactly as they were (the audit log records the refusal).
WATCHED = [t for t in s.Base.metadata.sorted_tables if t.name != "audit_log"]
CALLBACK_TYPES = ("case-act", "alert-ack", "worker-act")


@dataclass
class Street:
    """Hold the test cockpit: its app, store, accounts and the cases each role acts on."""

    app: Any
    runtime: Any
    engine: Engine
    dependencies: list[dict[str, Any]]
    worker: int  # the grid worker the grid_worker account is bound to
    other_worker: int
    clients: dict[str | None, Any]


def snapshot(engine: Engine) -> str:
    """Return a digest of every watched table's rows."""
    digest = hashlib.blake2b(digest_size=16)
    with engine.connect() as conn:
        for table in WATCHED:
            for row in conn.execute(select(table).order_by(*table.primary_key.columns)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def street(tmp_path_factory) -> Iterator[Street]:
    """Seed a tiny street, start the cockpit app on it and sign in one client per role."""
    app, runtime, engine = tiny_cockpit(tmp_path_factory.mktemp("matrix"))
    with engine.connect() as conn:
        workers = conn.execute(select(s.GridWorker.id).order_by(s.GridWorker.id)).scalars().all()
    worker, other = workers[0], workers[1]
    clients = clients_per_role(app.server, runtime.accounts, "m", worker)
    dependencies = clients["admin"].get("/_dash-dependencies").get_json()
    yield Street(app, runtime, engine, dependencies, worker, other, clients)
    runtime.stop()


def dependency(street: Street, input_type: str) -> dict[str, Any]:
    """Return the server callback whose first input is the pattern (or component) named."""
    for dep in street.dependencies:
        if dep.get("clientside_function"):
            continue
        first = dep["inputs"][0]["id"]
        name = json.loads(first).get("type") if first.startswith("{") else first
        if name == input_type:
            return dep
    raise AssertionError(f"no server callback takes {input_type}")


def call(
    street: Street,
    role: str | None,
    input_type: str,
    inputs: list[Any],
    state: list[Any],
    changed: list[str],
):
    """Post a crafted callback request as the role; return the response."""
    dep = dependency(street, input_type)
    outputs = split_callback_id(dep["output"])
    body = {
        "output": dep["output"],
        "outputs": outputs,
        "inputs": inputs,
        "state": state,
        "changedPropIds": changed,
    }
    return street.clients[role].post("/_dash-update-component", json=body)


def pattern(**fields: Any) -> str:
    """Return a pattern-matching id as Dash writes it in prop ids (sorted keys, no spaces)."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"))


def case_in(street: Street, state: str, **extra: Any) -> int:
    """Open a fresh case and move it to `state` through the desk as the test's setup."""
    desk = street.runtime.cases
    with street.engine.connect() as conn:
        grid = conn.execute(select(s.Grid.id).order_by(s.Grid.id)).scalars().first()
    # No building and no address: a fresh case every time, never linked to an earlier one.
    case_id = desk.report(
        Report(
            source=CaseSource.GRID_WORKER,
            category="exposed_rubbish",
            title="test case",
            description="test case",
            reported_at=desk.clock.now(),
            grid_id=grid,
            reporter_worker_id=extra.get("reporter"),
        )
    )
    if state == "reported":
        return case_id
    desk.act("register", "setup:test", case_id=case_id)
    if state in ("dispatched", "handling"):
        desk.act("dispatch", "setup:test", case_id=case_id, target=extra.get("to", "team:1"))
    if state == "handling":
        desk.act("accept", "setup:test", case_id=case_id)
    return case_id


def case_act(street: Street, role: str | None, case_id: int, action: str, **values: Any):
    """Tap a case card's action button as the role, with the card's inputs."""
    key = f"m-{role}-{case_id}-{action}"
    button = {"type": "case-act", "case": case_id, "action": action, "key": key}
    inputs = [
        [{"id": button, "property": "n_clicks", "value": 1}],
    ]
    state = [
        [
            {
                "id": {"type": "case-input", "case": case_id, "name": k},
                "property": "value",
                "value": v,
            }
            for k, v in values.items()
        ],
        [{"id": {"type": "case-card", "id": case_id}, "property": "data", "value": {"nonce": "n"}}],
        {"id": "_pages_location", "property": "search", "value": "?mode=tablet&lang=en"},
    ]
    return call(street, role, "case-act", inputs, state, [pattern(**button) + ".n_clicks"])


def worker_act(street: Street, role: str | None, case_id: int, action: str, context: dict):
    """Tap a task's button on the worker page as the role, with a context the page claims."""
    button = {"type": "worker-act", "case": case_id, "action": action, "key": f"w-{role}-{action}"}
    inputs = [[{"id": button, "property": "n_clicks", "value": 1}]]
    state = [
        [{"id": {"type": "worker-note", "case": case_id}, "property": "value", "value": "done"}],
        [{"id": {"type": "worker-sat", "case": case_id}, "property": "value", "value": 5}],
        {"id": "worker-context", "property": "data", "value": context},
    ]
    return call(street, role, "worker-act", inputs, state, [pattern(**button) + ".n_clicks"])


def history_of(street: Street, case_id: int) -> list[tuple[str, str]]:
    """Return (action, actor) of a case's history, oldest first."""
    h = s.CaseHistory
    with street.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(h.action, h.actor).where(h.case_id == case_id).order_by(h.id)
            )
        ]


def audited(street: Street, case_id: int) -> list[dict[str, Any]]:
    """Return the audit entries about a case, newest first."""
    from cockpit.access.audit import AuditQuery

    query = AuditQuery(record_type="case", record_id=str(case_id))
    return street.runtime.audit.search(query)


def state_of(street: Street, case_id: int) -> str:
    """Return a case's state in the store."""
    with street.engine.connect() as conn:
        return conn.execute(select(s.Case.state).where(s.Case.id == case_id)).scalar_one()


def refused_changes_nothing(street: Street, send: Callable[[], Any]):
    """Send a request that must be refused; assert the watched tables did not move."""
    before = snapshot(street.engine)
    answer = send()
    assert snapshot(street.engine) == before
    return answer


OPERATORS = {"dispatcher", "leader", "admin"}
EMPTY = '{"multi":true,"response":{}}'


def assert_refused(answer) -> None:
    """Assert a refusal: no session (401), nothing sent back (204, empty), or the reason said."""
    assert answer.status_code in (200, 204, 401), answer.status_code
    if answer.status_code == 200 and answer.text != EMPTY:
        assert "Refused" in answer.text, answer.text[:300]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("action", "state", "values", "allowed"),
    [
        ("dispatch", "registered", {"target": "team:1"}, OPERATORS),
        ("void", "registered", {"note": "duplicate report"}, OPERATORS),
        ("supervise", "dispatched", {"note": "faster please"}, {"leader", "admin"}),
        ("park", "dispatched", {"note": "waiting for parts"}, OPERATORS),
    ],
)
def test_case_actions_from_the_tablet(street, role, action, state, values, allowed):
    case_id = case_in(street, state)
    if role in allowed:
        answer = case_act(street, role, case_id, action, **values)
        assert answer.status_code == 200
        assert state_of(street, case_id) != state
        assert history_of(street, case_id)[-1] == (action, f"{role}:m-{role}")
        entry = audited(street, case_id)[0]
        assert (entry["actor"], entry["action"], entry["outcome"]) == (
            f"{role}:m-{role}",
            f"case_{action}",
            "ok",
        )
        assert entry["reason"] == values.get("note")
    else:
        answer = refused_changes_nothing(
            street, lambda: case_act(street, role, case_id, action, **values)
        )
        assert_refused(answer)
        assert state_of(street, case_id) == state
        # A signed-in refusal is audited; no session never reaches a callback (the gate's 401).
        refusal = [e["outcome"] for e in audited(street, case_id)]
        assert refusal == ([] if role is None else ["refused"])


def alert_with_a_case(street: Street, nth: int) -> tuple[int, int]:
    """Raise a smoke alarm on the nth detector and open its case; return (alert, case)."""
    with street.engine.connect() as conn:
        devices = conn.execute(
            select(s.Device.id).where(s.Device.kind == "smoke").order_by(s.Device.id)
        ).scalars()
        device = list(devices)[nth]
    candidate = AlertCandidate(
        kind="fire.smoke",
        level=AlertLevel.YELLOW,
        object_type="device",
        object_id=device,
        condition_key=condition_key("fire.smoke", "device", device, "matrix"),
        title_zh="烟感报警",
        title_en="Smoke alarm",
        reasons=(Reason("smoke", "烟雾浓度超限", "Smoke above the limit", 0.2, 0.1),),
    )
    now = street.runtime.clock.now()
    raised = street.runtime.alerts.raise_candidate(candidate, now)
    street.runtime.cases.sync(now)
    with street.engine.connect() as conn:
        case_id = conn.execute(
            select(s.CaseReport.case_id).where(
                s.CaseReport.source == "alert", s.CaseReport.source_id == raised.alert_id
            )
        ).scalar_one()
    return raised.alert_id, case_id


@pytest.mark.parametrize("role", ROLES)
def test_acknowledging_an_alert(street, role):
    alert_id, case_id = alert_with_a_case(street, ROLES.index(role))
    button = {"type": "alert-ack", "id": alert_id, "key": f"ack-{role}"}

    def send():
        return call(
            street,
            role,
            "alert-ack",
            [[{"id": button, "property": "n_clicks", "value": 1}]],
            [{"id": "_pages_location", "property": "search", "value": "?mode=tablet"}],
            [pattern(**button) + ".n_clicks"],
        )

    with street.engine.connect() as conn:
        before = conn.execute(select(s.Alert.status).where(s.Alert.id == alert_id)).scalar_one()
    if role in OPERATORS:
        assert send().status_code == 200
        assert state_of(street, case_id) == "registered"
    else:
        refused_changes_nothing(street, send)
        with street.engine.connect() as conn:
            after = conn.execute(select(s.Alert.status).where(s.Alert.id == alert_id)).scalar_one()
        assert after == before  # a refused acknowledgement stops no escalation


@pytest.mark.parametrize("role", ROLES)
def test_the_worker_page_acts_only_for_the_signed_in_worker_on_their_own_cases(street, role):
    mine = case_in(street, "dispatched", to=f"worker:{street.worker}")
    theirs = case_in(street, "dispatched", to=f"worker:{street.other_worker}")
    forged = {"worker": str(street.other_worker), "lang": "en", "nonce": "x"}
    # Acting on another worker's case, whatever context the page claims: refused for everyone
    # but an admin, who may do anything (operators act from the tablet, not the worker page).
    if role == "admin":
        assert worker_act(street, role, theirs, "accept", forged).status_code == 200
        assert state_of(street, theirs) == "handling"
    else:
        refused_changes_nothing(street, lambda: worker_act(street, role, theirs, "accept", forged))
        assert state_of(street, theirs) == "dispatched"
    # The worker's own case: only that worker (and operators) may accept it; none may close it.
    own = {"worker": "999999", "lang": "en", "nonce": "x"}
    if role in ("admin", "grid_worker"):
        assert worker_act(street, role, mine, "accept", own).status_code == 200
        assert history_of(street, mine)[-1] == ("accept", f"{role}:m-{role}")
    else:
        refused_changes_nothing(street, lambda: worker_act(street, role, mine, "accept", own))
    if role == "grid_worker":
        refused_changes_nothing(street, lambda: worker_act(street, role, mine, "close", own))
        refused_changes_nothing(street, lambda: worker_act(street, role, mine, "void", own))


def test_a_forged_actor_never_reaches_the_history(street):
    case_id = case_in(street, "registered")
    button = {"type": "case-act", "case": case_id, "action": "dispatch", "key": "forge"}
    inputs = [[{"id": button, "property": "n_clicks", "value": 1}]]
    state = [
        [
            {
                "id": {"type": "case-input", "case": case_id, "name": "target"},
                "property": "value",
                "value": "team:1",
            },
            {
                "id": {"type": "case-input", "case": case_id, "name": "actor"},
                "property": "value",
                "value": "worker:<img src=x onerror=alert(1)>",
            },
        ],
        [
            {
                "id": {"type": "case-card", "id": case_id},
                "property": "data",
                "value": {"nonce": "n", "actor": "admin"},
            }
        ],
        {"id": "_pages_location", "property": "search", "value": "?mode=tablet&actor=leader"},
    ]
    call(street, "dispatcher", "case-act", inputs, state, [pattern(**button) + ".n_clicks"])
    assert history_of(street, case_id)[-1] == ("dispatch", "dispatcher:m-dispatcher")


@pytest.mark.parametrize("role", ROLES)
def test_a_case_card_is_read_only_by_roles_that_read_records(street, role):
    street.runtime.make_worker().tick()  # publish the cases view the card is drawn from
    view = json.loads(street.runtime.live.get_view("cases"))
    case_id = view["open"][0]["id"]
    answer = call(
        street,
        role,
        "card-pick-case",
        [{"id": "card-pick-case", "property": "data", "value": {"kind": "case", "id": case_id}}],
        [{"id": "_pages_location", "property": "search", "value": "?mode=tablet&lang=en"}],
        ["card-pick-case.data"],
    )
    if role in {"viewer", "dispatcher", "leader", "admin"}:
        assert answer.status_code == 200 and view["open"][0]["code"] in answer.text
    else:
        assert_refused(answer)
        assert view["open"][0]["code"] not in answer.text


def refresh_as(street: Street, role: str | None, mode: str = "tablet"):
    """Post the screens' refresh callback as the role, holding no view yet."""
    return call(
        street,
        role,
        "refresh-interval",
        [{"id": "refresh-interval", "property": "n_intervals", "value": 1}],
        [
            {"id": "view-versions", "property": "data", "value": {}},
            {"id": "page-profile", "property": "data", "value": {"mode": mode}},
        ],
        ["refresh-interval.n_intervals"],
    )


@pytest.mark.parametrize("role", ROLES)
def test_the_refresh_sends_each_role_only_its_views(street, role):
    street.runtime.make_worker().tick()
    answer = refresh_as(street, role)
    if role is None:
        assert answer.status_code == 401
        return
    stores = answer.get_json()["response"]
    cases = (stores.get("view-cases") or {}).get("data")
    if role in ("viewer", "dispatcher", "leader", "admin"):
        # The list of cases; never the dispatch targets (the server's card reads them apart).
        assert "open" in cases and "targets" not in cases
    elif role == "kiosk":
        # The wall's own view: counts, the funnel, codes of overdue cases; no list, no people.
        assert cases is not None and "open" not in cases and "targets" not in cases
        sent = json.dumps(cases)
        assert "history" not in sent and "title_zh" not in sent and "assignee" not in sent
    else:  # a grid worker's screen is their task page: no street-wide case list
        assert "open" not in (cases or {})
    assert "tasks_by_worker" not in answer.text


def worker_refresh(street: Street, role: str | None, claimed: int):
    """Post the worker page's refresh as the role, with a context naming another worker."""
    context = {"worker": str(claimed), "lang": "en", "nonce": "x", "version": None}
    return call(
        street,
        role,
        "worker-interval",
        [{"id": "worker-interval", "property": "n_intervals", "value": 1}],
        [
            {"id": "worker-context", "property": "data", "value": context},
            [],
            [],
        ],
        ["worker-interval.n_intervals"],
    )


@pytest.mark.parametrize("role", ROLES)
def test_a_worker_page_refresh_shows_the_signed_in_workers_own_tasks(street, role):
    mine = case_in(street, "dispatched", to=f"worker:{street.worker}")
    theirs = case_in(street, "dispatched", to=f"worker:{street.other_worker}")
    street.runtime.make_worker().tick()
    answer = worker_refresh(street, role, street.other_worker)
    text = answer.text
    if role == "grid_worker":
        # Whatever the page claims, the server shows the signed-in worker's list.
        assert f'"data-case":"{mine}"' in text.replace(" ", "")
        assert f'"data-case":"{theirs}"' not in text.replace(" ", "")
    elif role in ("viewer", "dispatcher", "leader", "admin"):
        # Staff may read a worker's list, without a button to act on it.
        assert f'"data-case":"{theirs}"' in text.replace(" ", "")
        assert "worker-act" not in text
    else:
        assert_refused(answer)
        assert f'"data-case":"{theirs}"' not in text.replace(" ", "")


# Every server callback, and the test that holds it to the policy.
COVERED = {
    "refresh-interval": "test_the_refresh_sends_each_role_only_its_views",
    "card-pick-case": "test_a_case_card_is_read_only_by_roles_that_read_records",
    "case-act": "test_case_actions_from_the_tablet",
    "alert-ack": "test_acknowledging_an_alert",
    "case-card-stale": "test_a_stale_case_card_is_redrawn_only_for_record_readers",
    "worker-interval": "test_a_worker_page_refresh_shows_the_signed_in_workers_own_tasks",
    "worker-act": "test_the_worker_page_acts_only_for_the_signed_in_worker_on_their_own_cases",
    "map-buildings": "test_map_cards_go_only_to_record_readers",
    "case-texts": "tests/integration/test_reveal_matrix.py",
    "case-reveal-go": "tests/integration/test_reveal_matrix.py",
    "demo-play": "tests/unit/demo/test_rooms.py (role x command x key)",
    "demo-source": "tests/unit/demo/test_rooms.py (role x command x key)",
    "demo-prep-poll": "tests/unit/demo/test_rooms.py (the requester's own room only)",
    "kpi-open": "test_the_records_behind_a_kpi_go_only_to_record_readers",
    "_pages_location": "test_pages_render_for_the_role_not_the_url",
}


def test_every_server_callback_is_held_to_the_policy_by_a_test(street):
    served = set()
    for dep in street.dependencies:
        if dep.get("clientside_function"):
            continue
        first = dep["inputs"][0]["id"]
        served.add(json.loads(first)["type"] if first.startswith("{") else first)
    assert served == set(COVERED), "a new server callback needs a row in the access matrix"


@pytest.mark.parametrize("role", ROLES)
def test_a_stale_case_card_is_redrawn_only_for_record_readers(street, role):
    street.runtime.make_worker().tick()
    view = json.loads(street.runtime.live.get_view("cases"))
    case = view["open"][0]
    stale = {"type": "case-card-stale", "id": case["id"]}
    answer = call(
        street,
        role,
        "case-card-stale",
        [[{"id": stale, "property": "data", "value": {"at": 1}}]],
        [
            [{"id": {"type": "case-card", "id": case["id"]}, "property": "data", "value": {}}],
            {"id": "_pages_location", "property": "search", "value": "?mode=tablet"},
        ],
        [pattern(**stale) + ".data"],
    )
    if role in ("viewer", "dispatcher", "leader", "admin"):
        assert case["code"] in answer.text
    else:
        assert_refused(answer)
        assert case["code"] not in answer.text


@pytest.mark.parametrize("role", ROLES)
def test_map_cards_go_only_to_record_readers(street, role):
    with street.engine.connect() as conn:
        building = conn.execute(select(s.Building.id).order_by(s.Building.id)).scalars().first()
    answer = call(
        street,
        role,
        "map-buildings",
        [
            {"id": "map-buildings", "property": "n_clicks", "value": 1},
            {"id": "map-devices", "property": "n_clicks", "value": None},
            {"id": "card-pick-map", "property": "data", "value": None},
        ],
        [
            {
                "id": "map-buildings",
                "property": "clickData",
                "value": {"properties": {"id": building}},
            },
            {"id": "map-devices", "property": "clickData", "value": None},
            {
                "id": "street-map-config",
                "property": "data",
                "value": {"lang": "en", "mode": "tablet"},
            },
        ],
        ["map-buildings.n_clicks"],
    )
    if role in ("viewer", "dispatcher", "leader", "admin"):
        assert answer.status_code == 200 and "card" in answer.text
    else:
        assert_refused(answer)


@pytest.mark.parametrize("role", ROLES)
def test_the_records_behind_a_kpi_go_only_to_record_readers(street, role):
    street.runtime.make_worker().tick()
    tapped = {"type": "kpi-open", "name": "cases_today"}
    answer = call(
        street,
        role,
        "kpi-open",
        [[{"id": tapped, "property": "n_clicks", "value": 1}]],
        [{"id": "labels-store", "property": "data", "value": {"lang": "en", "mode": "wall"}}],
        [pattern(**tapped) + ".n_clicks"],
    )
    if role in ("viewer", "dispatcher", "leader", "admin"):
        assert answer.status_code == 200 and "kpi-list-cases_today" in answer.text
    else:
        assert_refused(answer)
        assert "kpi-list" not in answer.text


@pytest.mark.parametrize("role", ROLES)
def test_pages_render_for_the_role_not_the_url(street, role):
    answer = call(
        street,
        role,
        "_pages_location",
        [
            {"id": "_pages_location", "property": "pathname", "value": "/"},
            {"id": "_pages_location", "property": "search", "value": "?mode=tablet&lang=en"},
        ],
        [],
        ["_pages_location.pathname"],
    )
    if role is None:
        assert answer.status_code == 401
        return
    text = answer.text
    if role == "kiosk":
        assert "mode-wall" in text and "mode-tablet" not in text  # the URL asked for the tablet
    elif role in ("viewer", "dispatcher", "leader", "admin"):
        assert "mode-tablet" in text
    # The page carries what it may offer, not more: only operators get acting buttons drawn.
    if role in ("kiosk", "viewer", "grid_worker"):
        assert '"act":true' not in text.replace(" ", "")
