"""Send the case card's text callbacks crafted requests as every role, and no session.

The fill gives masked words to the roles that read records and nothing to the rest; only a
reveal role with a reason gets the words unmasked; every reveal, refused or not, is audited,
and a refused one changes no table.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from cockpit.access.audit import AuditQuery
from cockpit.access.policy import Role
from cockpit.cases.desk import Report
from cockpit.clock import local_day
from cockpit.domain.kinds import CaseSource
from cockpit.settings import Settings
from cockpit.simulator.generator import seed_street
from cockpit.store import schema as s
from cockpit.store.database import make_engine, migrate
from tests.signed_in import clients_per_role
from tests.streets import tiny_tier

pytestmark = pytest.mark.integration

ROLES: tuple[str | None, ...] = (None, *(role.value for role in Role))
READERS = {"viewer", "dispatcher", "leader", "admin"}
REVEALERS = {"leader", "admin"}  # COCKPIT_REVEAL_ROLES' default
TYPED = "我是王小明，电话13912345678，身份证330104199001010018，楼道灯坏了"
UNMASKED = ("13912345678", "330104199001010018")
TABLET = "?mode=tablet&lang=en"
WATCHED = [t for t in s.Base.metadata.sorted_tables if t.name != "audit_log"]


@dataclass
class Street:
    """Hold the test cockpit, its store, a case with the resident's words, a client per role."""

    runtime: Any
    engine: Engine
    case_id: int
    clients: dict[str | None, Any]


@pytest.fixture(scope="module")
def street(tmp_path_factory) -> Iterator[Street]:
    """Seed a tiny street, start the cockpit app on it and sign in one client per role."""
    from app import create_app
    from cockpit.runtime import Runtime

    data: Path = tmp_path_factory.mktemp("reveal-matrix")
    engine = make_engine(f"sqlite:///{data / 'cockpit.db'}")
    migrate(engine)
    seed_street(engine, tiny_tier(), 11, (121.5, 31.28), as_of=local_day(datetime.now(UTC)))
    settings = Settings(
        data_dir=data, simulate=False, embedded_worker=False, auto_seed=False, scale="changbai"
    )
    runtime = Runtime.open(settings)
    app = create_app(settings, runtime)
    case_id = runtime.cases.report(
        Report(
            source=CaseSource.RESIDENT,
            category="repair",
            title="设施报修",
            description=TYPED,
            reported_at=runtime.cases.clock.now(),
        )
    )
    with engine.connect() as conn:
        worker = conn.execute(select(s.GridWorker.id).order_by(s.GridWorker.id)).scalars().first()
    clients = clients_per_role(app.server, runtime.accounts, "r", worker)
    yield Street(runtime, engine, case_id, clients)
    runtime.stop()


def snapshot(engine: Engine) -> str:
    """Return a digest of every watched table's rows."""
    digest = hashlib.blake2b(digest_size=16)
    with engine.connect() as conn:
        for table in WATCHED:
            for row in conn.execute(select(table).order_by(*table.primary_key.columns)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def pattern(**fields: Any) -> str:
    """Return a pattern-matching id as Dash writes it (sorted keys, no spaces); MATCH: ["MATCH"]."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"))


def post(street: Street, role: str | None, body: dict[str, Any]):
    return street.clients[role].post("/_dash-update-component", json=body)


def fill(street: Street, role: str | None, search: str = TABLET):
    """Ask for a card's text section as the browser does when the card appears."""
    section = {"type": "case-texts", "case": street.case_id}
    return post(
        street,
        role,
        {
            "output": pattern(type="case-texts", case=["MATCH"]) + ".children",
            "outputs": {"id": section, "property": "children"},
            "inputs": [{"id": section, "property": "id", "value": section}],
            "state": [{"id": "_pages_location", "property": "search", "value": search}],
            "changedPropIds": [],
        },
    )


def reveal(street: Street, role: str | None, reason: str | None, *, timer: bool = False):
    """Tap "show unmasked" (or let the timer run out) as the role."""
    case = street.case_id
    ids = {
        kind: {"type": kind, "case": case}
        for kind in ("case-texts-body", "case-reveal-timer", "case-reveal-go", "case-reveal-reason")
    }
    outputs = [
        (ids["case-texts-body"], "children"),
        (ids["case-reveal-timer"], "disabled"),
        (ids["case-reveal-timer"], "interval"),
        (ids["case-reveal-reason"], "value"),
    ]
    changed = (
        pattern(**ids["case-reveal-timer"]) + ".n_intervals"
        if timer
        else pattern(**ids["case-reveal-go"]) + ".n_clicks"
    )
    return post(
        street,
        role,
        {
            # Dash's name of a multi-output callback: "..a.x...b.y..".
            "output": ".."
            + "...".join(f"{pattern(type=i['type'], case=['MATCH'])}.{p}" for i, p in outputs)
            + "..",
            "outputs": [{"id": i, "property": p} for i, p in outputs],
            "inputs": [
                {"id": ids["case-reveal-go"], "property": "n_clicks", "value": 1},
                {"id": ids["case-reveal-timer"], "property": "n_intervals", "value": int(timer)},
            ],
            "state": [
                {"id": ids["case-reveal-reason"], "property": "value", "value": reason},
                {"id": "_pages_location", "property": "search", "value": TABLET},
            ],
            "changedPropIds": [changed],
        },
    )


def reveals(street: Street, actor: str) -> list[dict]:
    return street.runtime.audit.search(AuditQuery(action="reveal", actor=actor))


@pytest.mark.parametrize("role", ROLES)
def test_the_card_text_is_masked_for_readers_and_absent_for_everyone_else(street, role):
    answer = fill(street, role)
    if role in READERS:
        assert answer.status_code == 200 and "139****5678" in answer.text
        assert "楼道灯坏了" in answer.text
        assert ("case-reveal-go" in answer.text) is (role in REVEALERS)
    else:
        assert answer.status_code in (200, 204, 401)
        assert "楼道灯" not in answer.text and "139" not in answer.text
    assert not any(number in answer.text for number in UNMASKED)


@pytest.mark.parametrize("role", ROLES)
def test_only_a_reveal_role_with_a_reason_gets_the_words_unmasked(street, role):
    before = snapshot(street.engine)
    answer = reveal(street, role, "calling the resident back")
    assert snapshot(street.engine) == before  # a reveal writes the audit log only
    if role is None:
        assert answer.status_code == 401
        return
    actor = f"{role}:r-{role}"
    (entry,) = reveals(street, actor)[:1]
    assert entry["record_type"] == "case" and entry["record_id"] == str(street.case_id)
    assert entry["reason"] == "calling the resident back" and entry["role"] == role
    if role in REVEALERS:
        assert all(number in answer.text for number in UNMASKED)
        assert entry["outcome"] == "ok"
    else:
        assert not any(number in answer.text for number in UNMASKED)
        assert entry["outcome"] == "refused"
        if role not in READERS:
            assert "楼道灯" not in answer.text


@pytest.mark.parametrize("reason", [None, "", "abc", "   核实  "])
def test_a_leader_without_a_reason_is_refused_and_audited(street, reason):
    count = len(reveals(street, "leader:r-leader"))
    answer = reveal(street, "leader", reason)
    assert answer.status_code == 200 and "Not shown" in answer.text
    assert not any(number in answer.text for number in UNMASKED)
    entries = reveals(street, "leader:r-leader")
    assert len(entries) == count + 1 and entries[0]["outcome"] == "refused"


def test_the_timer_only_ever_answers_masked_words(street):
    count = len(reveals(street, "admin:r-admin"))
    answer = reveal(street, "admin", "calling the resident back", timer=True)
    assert answer.status_code == 200 and "139****5678" in answer.text
    assert not any(number in answer.text for number in UNMASKED)
    assert len(reveals(street, "admin:r-admin")) == count  # masking is no reveal


def test_a_wall_page_is_sent_no_text_even_for_a_leader(street):
    answer = fill(street, "leader", "?mode=wall&lang=en")
    assert "楼道灯" not in answer.text and "139" not in answer.text


@pytest.mark.parametrize("role", ROLES)
def test_the_cockpit_serves_the_audit_log_to_admins_only(street, role):
    reveal(street, "leader", "calling the resident back")
    page = street.clients[role].get("/admin/audit", query_string={"action": "reveal"})
    export = street.clients[role].get("/admin/audit.csv", query_string={"action": "reveal"})
    if role == "admin":
        assert page.status_code == 200 and "leader:r-leader" in page.text
        assert "calling the resident back" in export.data.decode("utf-8-sig")
    elif role is None:
        assert page.status_code == 302 and export.status_code == 401
    else:
        assert page.status_code == 403 and export.status_code == 403
        assert "leader:r-leader" not in page.text + export.text
