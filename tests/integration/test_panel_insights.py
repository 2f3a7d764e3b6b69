"""Check hot topics, request satisfaction, office vacancy and tax trend facts on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, insert, select, update

from cockpit.clock import ManualClock
from cockpit.panels import enterprise_panel, livelihood_panel
from cockpit.simulator.generator import seed_street
from cockpit.simulator.history import seed_history
from cockpit.simulator.tiers import get_tier
from cockpit.store import schema
from data_adapters.panel_facts import PanelFactsAdapter, office_units
from tests.streets import tiny_tier

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)  # 16:00 in Shanghai
WEEK = timedelta(days=7)
SINCE = datetime(2026, 10, 22, 16, 0, tzinfo=UTC)  # the 30-day window opens 2026-10-23, Shanghai
TODAY = date(2026, 11, 21)
PRIVATE_TEXT = "楼道灯坏了，电话 13800001111"


def places(engine: Engine) -> dict[int, list[int]]:
    """Return community id → its address ids, in id order."""
    out: dict[int, list[int]] = {}
    with engine.connect() as conn:
        for address, community in conn.execute(
            select(schema.Address.id, schema.Grid.community_id)
            .join(schema.Grid, schema.Grid.id == schema.Address.grid_id)
            .order_by(schema.Address.id)
        ):
            out.setdefault(community, []).append(address)
    return out


def seed(engine: Engine) -> dict[str, Any]:
    """Seed the tiny street, then requests, complaints, revisited cases and tax records."""
    seed_street(engine, tiny_tier(), 9, (121.5, 31.3), as_of=TODAY - timedelta(days=30))
    by_community = places(engine)
    c1, c2 = sorted(by_community)[:2]
    a1, a2 = by_community[c1][0], by_community[c2][0]
    requests: list[dict[str, Any]] = []

    def request(code: str, at: datetime, address: int | None) -> int:
        requests.append(
            {
                "id": len(requests) + 1,
                "service_code": code,
                "description": PRIVATE_TEXT,
                "status": "open",
                "channel": "open311",
                "requested_at": at,
                "updated_at": at,
                "address_id": address,
            }
        )
        return len(requests)

    # Noise rises and gathers in one community; repair falls; parking is new this week.
    for hours in (1, 20, 50, 100):
        request("noise", NOW - timedelta(hours=hours), a1)
    request("noise", NOW - timedelta(days=2), a2)
    request("noise", NOW - WEEK - timedelta(days=1), a1)
    request("noise", NOW - WEEK - timedelta(days=3), a2)
    for days in (1, 3):
        request("repair", NOW - timedelta(days=days), a1 if days == 1 else a2)
    request("repair", NOW - timedelta(days=4), None)  # not matched to an address
    for days in range(6):
        request("repair", NOW - WEEK - timedelta(days=days, hours=1), a2)
    request("parking", NOW - timedelta(days=6), a2)
    # The window edges: 7 days ago to the second is this week, a second earlier is last week;
    # older than 14 days or later than now is neither.
    request("greenery", NOW - WEEK, a1)
    request("greenery", NOW - WEEK - timedelta(seconds=1), a1)
    request("greenery", NOW - 2 * WEEK - timedelta(seconds=1), a1)
    request("greenery", NOW + timedelta(hours=1), a1)
    # Satisfaction: two requests joined one case (scored once); one case is unrevisited; one
    # request is older than the 30-day window.
    r_repair_a = request("water", NOW - timedelta(days=20), a1)
    r_repair_b = request("water", NOW - timedelta(days=19), a2)
    r_noise = request("noise", NOW - timedelta(days=25), a2)
    r_old = request("noise", SINCE - timedelta(seconds=1), a2)
    r_open = request("water", NOW - timedelta(days=10), a1)
    r_at_since = request("parking", SINCE, a1)

    complaints = []
    for n, (source, category, at, address) in enumerate(
        (
            ("12345", "noise", NOW - timedelta(hours=3), a1),
            ("labour", "unpaid_wages", NOW - timedelta(days=2), a2),
            ("labour", "unpaid_wages", NOW - WEEK - timedelta(days=2), a2),
            ("12345", "噪音扰民", NOW - timedelta(days=1), None),  # a feed's own category
        ),
        start=1,
    ):
        complaints.append(
            {
                "id": n,
                "source": source,
                "external_id": f"X{n}",
                "received_at": at,
                "category": category,
                "text": "投诉人王小明，手机 13900002222",
                "address_text": "某路 1 号",
                "address_id": address,
            }
        )

    cases, reports = [], []

    def case(category: str, source: str, score: int | None, *refs: tuple[str, int]) -> None:
        case_id = len(cases) + 1
        cases.append(
            {
                "id": case_id,
                "code": f"K{case_id:04d}",
                "source": source,
                "source_ref": str(refs[0][1]),
                "category": category,
                "title": "test",
                "description": "test",
                "state": "evaluated" if score else "closed",
                "reported_at": NOW - timedelta(days=20),
                "satisfaction": score,
            }
        )
        for n, (ref_source, ref) in enumerate(refs):
            reports.append(
                {
                    "case_id": case_id,
                    "source": ref_source,
                    "source_id": ref,
                    "reported_at": NOW - timedelta(days=20),
                    "linked": n > 0,
                }
            )

    case("water", "resident", 5, ("resident", r_repair_a), ("resident", r_repair_b))
    case("noise", "resident", 2, ("resident", r_noise))
    case("noise", "resident", 1, ("resident", r_old))
    case("water", "resident", None, ("resident", r_open))
    case("parking", "resident", 4, ("resident", r_at_since))
    # A complaint's case whose complaint id equals a request id: never a request's revisit.
    case("unpaid_wages", "complaint", 3, ("complaint", 1))

    with engine.begin() as conn:
        conn.execute(insert(schema.ResidentRequest), requests)
        conn.execute(insert(schema.Complaint), complaints)
        conn.execute(insert(schema.Case), cases)
        conn.execute(insert(schema.CaseReport), reports)
        offices = (
            conn.execute(
                select(schema.Building.id)
                .where(schema.Building.use == "office")
                .order_by(schema.Building.id)
            )
            .scalars()
            .all()
        )
        # An imported building's count may be text; the other building has none.
        conn.execute(
            update(schema.Building)
            .where(schema.Building.id == offices[0])
            .values(properties={"office_units": "40", "building": "office"})
        )
        conn.execute(
            update(schema.Building).where(schema.Building.id == offices[1]).values(properties=None)
        )
        tenants = (
            conn.execute(
                select(schema.Enterprise.id)
                .where(schema.Enterprise.building_id == offices[0])
                .order_by(schema.Enterprise.id)
            )
            .scalars()
            .all()
        )
        # Two firms share a room, one stopped operating, one has no room on record.
        conn.execute(
            update(schema.Enterprise)
            .where(schema.Enterprise.id.in_(tenants[:2]))
            .values(room="888", status="operating")
        )
        conn.execute(
            update(schema.Enterprise)
            .where(schema.Enterprise.id == tenants[2])
            .values(status="deregistered")
        )
        conn.execute(
            update(schema.Enterprise).where(schema.Enterprise.id == tenants[3]).values(room=None)
        )
        # Snapshots: a later one wins, one taken after today is not known yet, and a latest one
        # without a tax figure leaves its enterprise out of the comparison.
        conn.execute(
            insert(schema.EnterpriseSnapshot),
            [
                {"enterprise_id": tenants[0], "taken_on": date(2026, 6, 1), "annual_tax_wan": 1.0},
                {"enterprise_id": tenants[0], "taken_on": date(2026, 12, 1), "annual_tax_wan": 9e5},
                {"enterprise_id": tenants[1], "taken_on": date(2026, 6, 1), "annual_tax_wan": None},
            ],
        )
    return {"c1": c1, "c2": c2, "offices": offices}


def recompute(engine: Engine) -> dict[str, Any]:
    """Recompute the new facts the plain way: read every row, count in Python."""
    with engine.connect() as conn:
        requests = conn.execute(select(schema.ResidentRequest.__table__)).all()
        complaints = conn.execute(select(schema.Complaint.__table__)).all()
        community = dict(
            conn.execute(
                select(schema.Address.id, schema.Grid.community_id).join(
                    schema.Grid, schema.Grid.id == schema.Address.grid_id
                )
            ).all()
        )
        cases = {c.id: c for c in conn.execute(select(schema.Case.__table__))}
        reports = conn.execute(select(schema.CaseReport.__table__)).all()
        buildings = conn.execute(select(schema.Building.__table__)).all()
        enterprises = conn.execute(select(schema.Enterprise.__table__)).all()
        snapshots = conn.execute(
            select(schema.EnterpriseSnapshot.__table__).order_by(
                schema.EnterpriseSnapshot.taken_on, schema.EnterpriseSnapshot.id
            )
        ).all()
    topics: Counter[tuple[str, int | None, str]] = Counter()
    mentions = [(r.service_code, r.requested_at, r.address_id) for r in requests] + [
        (c.category, c.received_at, c.address_id) for c in complaints
    ]
    for topic, at, address in mentions:
        if NOW - 2 * WEEK <= at <= NOW:
            week = "recent" if at >= NOW - WEEK else "previous"
            topics[(topic, community.get(address), week)] += 1
    rows = [
        {
            "topic": topic,
            "community_id": place,
            "recent": topics[(topic, place, "recent")],
            "previous": topics[(topic, place, "previous")],
        }
        for topic, place in sorted(
            {(t, p) for t, p, _ in topics}, key=lambda k: (k[0], k[1] is None, k[1] or 0)
        )
    ]
    request_of = {r.id: r for r in requests}
    scored: set[tuple[str, int]] = set()
    for report in reports:
        r = request_of.get(report.source_id) if report.source == "resident" else None
        c = cases[report.case_id]
        if r and SINCE <= r.requested_at <= NOW and c.satisfaction is not None:
            scored.add((r.service_code, c.id))
    satisfaction: dict[str, dict[str, int]] = {}
    for code, case_id in scored:
        s = satisfaction.setdefault(code, {"answered": 0, "score_sum": 0, "satisfied": 0})
        score = cases[case_id].satisfaction
        s["answered"] += 1
        s["score_sum"] += score
        s["satisfied"] += score >= 4
    last_year = {}
    for snap in snapshots:
        if snap.taken_on < TODAY:
            last_year[snap.enterprise_id] = snap.annual_tax_wan
    offices = []
    for b in sorted(buildings, key=lambda b: b.id):
        if b.use != "office":
            continue
        mine = [e for e in enterprises if e.building_id == b.id]
        compared = [e for e in mine if last_year.get(e.id) is not None]
        offices.append(
            {
                "building_id": b.id,
                "office_units": office_units(b.properties),
                "occupied_units": len({e.room for e in mine if e.status == "operating" and e.room}),
                "tax_compared_wan": round(sum(e.annual_tax_wan for e in compared), 1)
                if compared
                else None,
                "tax_last_wan": round(sum(last_year[e.id] for e in compared), 1)
                if compared
                else None,
            }
        )
    return {"topics": rows, "satisfaction": satisfaction, "offices": offices}


def test_new_panel_facts_match_recomputation(any_engine) -> None:
    marks = seed(any_engine)
    facts = PanelFactsAdapter(any_engine, ManualClock(NOW), timedelta(seconds=30))._fetch()
    expected = recompute(any_engine)

    def order(rows):
        return sorted(
            rows, key=lambda r: (r["topic"], r["community_id"] is None, r["community_id"] or 0)
        )

    assert order(facts["topics"]) == order(expected["topics"])
    assert facts["request_satisfaction"] == expected["satisfaction"]
    # The joined case counts once; the old request, the unrevisited case and the complaint not.
    assert facts["request_satisfaction"] == {
        "water": {"answered": 1, "score_sum": 5, "satisfied": 1},
        "noise": {"answered": 1, "score_sum": 2, "satisfied": 0},
        "parking": {"answered": 1, "score_sum": 4, "satisfied": 1},
    }
    keys = ("building_id", "office_units", "occupied_units", "tax_compared_wan", "tax_last_wan")
    assert [{k: b[k] for k in keys} for b in facts["office_buildings"]] == expected["offices"]
    first, second = facts["office_buildings"]
    assert first["building_id"] == marks["offices"][0] and first["office_units"] == 40
    assert second["office_units"] is None
    assert 0 < first["occupied_units"] < first["enterprises"]


def test_panels_show_the_new_figures_without_personal_data(any_engine) -> None:
    marks = seed(any_engine)
    facts = PanelFactsAdapter(any_engine, ManualClock(NOW), timedelta(seconds=30))._fetch()
    livelihood = livelihood_panel(facts, {}, facts["alerts"]["open_objects"], NOW)
    enterprise = enterprise_panel(facts, facts["smoke_alerts"], facts["visit_alerts"])

    topics = livelihood["topics"]["topics"]
    by_code = {t["code"]: t for t in topics}
    # Rising topics lead: noise (+4), then parking (new, +1); greenery stays level, repair falls.
    assert [t["code"] for t in topics[:2]] == ["noise", "parking"]
    noise = by_code["noise"]
    assert (noise["count"], noise["previous"], noise["trend"]) == (6, 2, "up")
    assert noise["community_pct"] == 83  # five of six in the first community
    assert by_code["parking"]["trend"] == "new" and by_code["parking"]["change_pct"] is None
    assert by_code["greenery"]["count"] == 1 and by_code["greenery"]["trend"] == "same"
    assert by_code["repair"]["trend"] == "down" and by_code["repair"]["community"] is None
    assert by_code["噪音扰民"]["en"] == "Other topic"
    assert livelihood["topics"]["total"] == sum(t["count"] for t in topics)

    requests = livelihood["requests"]
    water = next(r for r in requests["by_category"] if r["code"] == "water")
    assert (water["satisfaction"], water["answered"], water["total"]) == (5.0, 1, 0)
    assert requests["satisfaction"] == round(11 / 3, 1) and requests["answered"] == 3

    economy = enterprise["buildings"]
    rows = {r["building_id"]: r for r in economy["top"]}
    first = next(b for b in facts["office_buildings"] if b["building_id"] == marks["offices"][0])
    assert rows[marks["offices"][0]]["vacancy_pct"] == round(
        100 * (1 - min(first["occupied_units"], 40) / 40)
    )
    assert "vacancy_pct" not in rows[marks["offices"][1]], "no unit count, no vacancy"
    assert economy["units_known"] == 1
    for b in facts["office_buildings"]:
        if b["tax_last_wan"]:
            expected = round(
                100 * (b["tax_compared_wan"] - b["tax_last_wan"]) / b["tax_last_wan"], 1
            )
            assert rows[b["building_id"]]["tax_change_pct"] == expected
    assert economy["tax_change_pct"] is not None

    text = orjson.dumps([livelihood, enterprise]).decode()
    for secret in ("13800001111", "楼道灯", "13900002222", "王小明", "某路"):
        assert secret not in text


def test_enterprise_rows_say_when_each_enterprise_was_last_visited(any_engine) -> None:
    from cockpit.alerts import AlertBook
    from cockpit.domain.kinds import AlertLevel
    from cockpit.live import InProcessLiveStore
    from cockpit.rules.results import AlertCandidate, Reason, RuleKind, condition_key

    seed(any_engine)
    with any_engine.begin() as conn:
        conn.execute(schema.EnterpriseEvent.__table__.delete())
        conn.execute(
            insert(schema.EnterpriseEvent),
            [
                {"enterprise_id": 1, "kind": "visit", "happened_on": TODAY - timedelta(days=90)},
                {"enterprise_id": 1, "kind": "visit", "happened_on": TODAY - timedelta(days=20)},
                {"enterprise_id": 1, "kind": "lawsuit", "happened_on": TODAY - timedelta(days=5)},
                {"enterprise_id": 2, "kind": "visit", "happened_on": TODAY - timedelta(days=3)},
            ],
        )
    book = AlertBook(any_engine, InProcessLiveStore())
    for enterprise in (1, 3):
        kind = RuleKind.ENTERPRISE_VISIT.value
        book.raise_candidate(
            AlertCandidate(
                kind=kind,
                level=AlertLevel.BLUE,
                object_type="enterprise",
                object_id=enterprise,
                condition_key=condition_key(kind, "enterprise", enterprise, "lawsuit"),
                title_zh="必访：涉诉",
                title_en="Visit due: lawsuit",
                reasons=(Reason("lawsuit", "涉诉", "Lawsuit", 1, 1),),
            ),
            NOW,
        )
    facts = PanelFactsAdapter(any_engine, ManualClock(NOW), timedelta(seconds=30))._fetch()
    last = {a["object_id"]: a["last_visit"] for a in facts["visit_alerts"]}
    # The latest visit, not a lawsuit; an enterprise never visited says so with None.
    assert last == {1: (TODAY - timedelta(days=20)).isoformat(), 3: None}
    due = enterprise_panel(facts, facts["smoke_alerts"], facts["visit_alerts"])["visits"]["due"]
    assert {row["enterprise_id"]: row["last_visit"] for row in due} == last


def test_a_freshly_seeded_street_has_topics_satisfaction_and_a_tax_trend(sqlite_engine) -> None:
    """A first start's street with its month of history fills the three figures from day one."""
    seed_street(sqlite_engine, get_tier("changbai"), 42, (121.537, 31.279), as_of=TODAY)
    seed_history(sqlite_engine, NOW, days=30, seed=42)
    facts = PanelFactsAdapter(sqlite_engine, ManualClock(NOW), timedelta(seconds=30))._fetch()
    livelihood = livelihood_panel(facts, {}, facts["alerts"]["open_objects"], NOW)
    enterprise = enterprise_panel(facts, facts["smoke_alerts"], facts["visit_alerts"])

    # Hot topics: this week's against last week's, some rising, some falling, one gathering.
    topics = livelihood["topics"]["topics"]
    assert topics and livelihood["topics"]["previous"] > 0
    assert {"up", "down"} <= {t["trend"] for t in topics}
    assert any(t["community"] for t in topics)
    # Request satisfaction: the revisits of the month's requests' cases.
    requests = livelihood["requests"]
    assert requests["answered"] > 0 and 1 <= requests["satisfaction"] <= 5
    assert requests["satisfied_pct"] is not None
    # Tax trend: the street's figure, and office buildings both up (▲) and down (▼).
    economy = enterprise["buildings"]
    changes = [row["tax_change_pct"] for row in economy["top"] if "tax_change_pct" in row]
    assert economy["tax_change_pct"] is not None
    assert any(c > 0 for c in changes) and any(c < 0 for c in changes)
