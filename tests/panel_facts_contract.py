"""Check the panel-facts adapters against plain recomputation; run on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, insert, select

from cockpit.clock import DISPLAY_ZONE, ManualClock
from cockpit.panels import (
    enterprise_panel,
    governance_panel,
    join_device_states,
    livelihood_panel,
)
from cockpit.rules.config import load_rules_config
from cockpit.rules.housing import building_risk
from cockpit.simulator.generator import seed_street
from cockpit.store import schema
from data_adapters.base import AdapterError
from data_adapters.panel_facts import BuildingFactsAdapter, PanelFactsAdapter
from tests.streets import tiny_tier

# 16:00 in Shanghai: "today" there began at 2026-11-20 16:00 UTC.
NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
START_OF_TODAY = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
WINDOW = 30
OPEN_CASE_STATES = ("reported", "registered", "dispatched", "handling", "rework", "parked")


def age_on(birth: date, day: date) -> int:
    """Return a person's age in whole years on a day."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def display_day(moment: datetime) -> str:
    """Return the Shanghai calendar day of a UTC time."""
    return moment.astimezone(DISPLAY_ZONE).date().isoformat()


def strings(value: Any):
    """Yield every string inside a JSON-ready value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from strings(v)


def seed(engine: Engine) -> dict[str, Any]:
    """Seed the tiny street, add cases, alerts and requests around the day and window edges."""
    seed_street(engine, tiny_tier(), 9, (121.5, 31.3))
    with engine.connect() as conn:
        buildings = (
            conn.execute(select(schema.Building.id).order_by(schema.Building.id)).scalars().all()
        )
        devices = conn.execute(
            select(schema.Device.id, schema.Device.kind, schema.Device.building_id).order_by(
                schema.Device.id
            )
        ).all()
        residents = (
            conn.execute(select(schema.Resident.id).where(schema.Resident.lives_alone.is_(True)))
            .scalars()
            .all()
        )
        enterprises = conn.execute(select(schema.Enterprise.id)).scalars().all()

    def first(kind: str, n: int = 1) -> list[int]:
        return [d.id for d in devices if d.kind == kind and d.building_id is not None][:n]

    smoke, gas = first("smoke", 3), first("gas", 2)
    elevators = first("elevator", 2)
    b1, b2, b3 = buildings[0], buildings[1], buildings[-1]

    cases = []

    def add_case(state, reported_at, building=None, closed_at=None, level=None, deadline=None):
        n = len(cases) + 1
        cases.append(
            {
                "code": f"T{n:05d}",
                "source": "grid_worker",
                "category": "sanitation",
                "title": "测试案件",
                "description": "test",
                "state": state,
                "building_id": building,
                "reported_at": reported_at,
                "closed_at": closed_at,
                "resolution_level": level,
                "deadline_at": deadline,
            }
        )

    # Open cases, two of them past their deadline, one due later.
    add_case("reported", NOW - timedelta(hours=2), b1, deadline=NOW - timedelta(minutes=1))
    add_case("dispatched", NOW - timedelta(days=3), b1, deadline=NOW - timedelta(days=1))
    add_case("handling", NOW - timedelta(days=1), b2, deadline=NOW + timedelta(hours=4))
    add_case("parked", NOW - timedelta(days=45), b2)
    add_case("rework", START_OF_TODAY - timedelta(minutes=1), None)  # 23:59 yesterday, Shanghai
    add_case("registered", START_OF_TODAY, b3)  # 00:00 today, Shanghai
    # Closed in the window at every level, one with no level, one at the window's very start.
    since = datetime(2026, 10, 22, 16, 0, tzinfo=UTC)  # 2026-10-23 00:00 Shanghai
    for i, level in enumerate(("grid", "grid", "community", "street", "district", None)):
        reported = NOW - timedelta(days=5 + i, hours=3)
        add_case("closed", reported, b1, closed_at=reported + timedelta(hours=30), level=level)
    add_case("evaluated", since - timedelta(days=2), b2, closed_at=since, level="street")
    # Outside the window or not a resolution: they must not count as closed.
    add_case(
        "closed",
        since - timedelta(days=9),
        b2,
        closed_at=since - timedelta(seconds=1),
        level="grid",
    )
    add_case("voided", NOW - timedelta(days=2), b3, closed_at=NOW - timedelta(days=1))
    # Overdue deadline but closed: not overdue.
    add_case(
        "closed",
        NOW - timedelta(days=4),
        b3,
        closed_at=NOW - timedelta(days=2),
        level="grid",
        deadline=NOW - timedelta(days=3),
    )

    alerts = []

    def add_alert(kind, object_type, object_id, raised_at, *, status="new", level="red", **extra):
        key = f"{kind}:{object_type}:{object_id}:{len(alerts)}"
        alerts.append(
            {
                "kind": kind,
                "level": level,
                "status": status,
                "condition_key": key,
                "open_key": None if status == "resolved" else key,
                "object_type": object_type,
                "object_id": object_id,
                "title": extra.get("title", "测试告警"),
                "title_en": extra.get("title_en", "Test alert"),
                "routing": extra.get("routing"),
                "reasons": extra.get("reasons", [{"code": "test", "value": 1}]),
                "raised_at": raised_at,
                "resolved_at": raised_at + timedelta(hours=1) if status == "resolved" else None,
            }
        )

    add_alert("fire.smoke", "device", smoke[0], NOW - timedelta(hours=1))  # open, recent
    add_alert("fire.smoke", "device", smoke[0], NOW - timedelta(days=60), status="acknowledged")
    add_alert("fire.smoke", "device", smoke[1], NOW - timedelta(days=3), status="resolved")
    add_alert("fire.gas", "device", gas[0], NOW - timedelta(days=90), status="resolved")
    add_alert("fire.gas", "device", gas[1], NOW - timedelta(days=29), status="resolved")
    add_alert("fire.smoke_battery", "device", smoke[2], NOW - timedelta(days=1), level="blue")
    add_alert("device.offline", "device", smoke[2], NOW - timedelta(hours=3), level="blue")
    add_alert("elevator.trapped", "device", elevators[0], NOW - timedelta(minutes=3))
    add_alert("elder.no_water", "resident", residents[0], NOW - timedelta(hours=5), level="orange")
    add_alert("elder.no_door_opening", "resident", residents[0], NOW, level="yellow")
    add_alert(
        "elder.no_water", "resident", residents[1], NOW - timedelta(days=2), status="resolved"
    )
    smoke_reasons = [
        {"code": "source_110", "text_zh": "110", "text_en": "110", "value": 2, "threshold": None},
        {"code": "source_12345", "text_zh": "x", "text_en": "x", "value": 1, "threshold": None},
        {"code": "distinct_sources", "text_zh": "x", "text_en": "x", "value": 2, "threshold": 2},
        {"code": "weighted_signals", "text_zh": "x", "text_en": "x", "value": 4.5, "threshold": 3},
    ]
    add_alert(
        "enterprise.smoke",
        "enterprise",
        enterprises[0],
        NOW - timedelta(days=1),
        level="orange",
        routing="major",
        reasons=smoke_reasons,
        title="企业冒烟预警",
        title_en="Enterprise distress signals",
    )
    for e in enterprises[:3]:
        add_alert(
            "enterprise.visit",
            "enterprise",
            e,
            NOW - timedelta(days=2),
            level="blue",
            title="必访：地在税不在",
            title_en="Visit due: Registered here, pays tax elsewhere",
        )
    add_alert(
        "enterprise.visit",
        "enterprise",
        enterprises[0],
        NOW - timedelta(days=2),
        level="blue",
        title="必访：经营异常",
        title_en="Visit due: Abnormal operation",
    )

    requests = []
    for code, status, at in (
        ("repair", "open", NOW - timedelta(hours=1)),
        ("repair", "closed", NOW - timedelta(hours=2)),
        ("repair", "open", START_OF_TODAY),
        ("noise", "closed", START_OF_TODAY + timedelta(minutes=5)),
        ("noise", "open", START_OF_TODAY - timedelta(seconds=1)),  # yesterday in Shanghai
        ("parking", "open", NOW - timedelta(days=3)),
    ):
        requests.append(
            {
                "service_code": code,
                "description": "楼道灯坏了，电话 13800001111",
                "status": status,
                "channel": "open311",
                "requested_at": at,
                "updated_at": at,
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(schema.Case), cases)
        conn.execute(insert(schema.Alert), alerts)
        conn.execute(insert(schema.ResidentRequest), requests)
    return {"smoke": smoke, "gas": gas, "elevators": elevators, "residents": residents}


def recompute_panel_facts(engine: Engine, now: datetime) -> dict[str, Any]:
    """Recompute the panel aggregates the plain way: read every row, count in Python."""
    today = now.astimezone(DISPLAY_ZONE).date()
    days = [(today - timedelta(days=WINDOW - 1 - i)).isoformat() for i in range(WINDOW)]
    with engine.connect() as conn:
        cases = conn.execute(select(schema.Case.__table__)).all()
        alerts = conn.execute(select(schema.Alert.__table__)).all()
        requests = conn.execute(select(schema.ResidentRequest.__table__)).all()
        residents = conn.execute(select(schema.Resident.__table__)).all()
        devices = conn.execute(select(schema.Device.__table__)).all()
        buildings = conn.execute(select(schema.Building.__table__)).all()
        enterprises = conn.execute(select(schema.Enterprise.__table__)).all()
    finished = {"closed", "evaluated", "voided"}
    resolved = {"closed", "evaluated"}
    closed_in_window = [
        c
        for c in cases
        if c.state in resolved and c.closed_at is not None and display_day(c.closed_at) in days
    ]
    by_level = Counter(
        c.resolution_level
        if c.resolution_level in ("grid", "community", "street", "district")
        else "unrecorded"
        for c in closed_in_window
    )
    reported = Counter(display_day(c.reported_at) for c in cases)
    closed = Counter(display_day(c.closed_at) for c in closed_in_window)
    open_by_kind: dict[str, dict[str, int]] = {}
    for a in alerts:
        if a.open_key is not None:
            levels = open_by_kind.setdefault(a.kind, {})
            levels[a.level] = levels.get(a.level, 0) + 1
    requests_today: dict[str, dict[str, int]] = {}
    for r in requests:
        if display_day(r.requested_at) == today.isoformat():
            counts = requests_today.setdefault(r.service_code, {"open": 0, "closed": 0})
            counts[r.status] += 1
    offices = []
    for b in sorted(buildings, key=lambda b: b.id):
        if b.use == "office":
            mine = [e for e in enterprises if e.building_id == b.id]
            offices.append(
                {
                    "building_id": b.id,
                    "enterprises": len(mine),
                    "tax_wan": round(sum(e.annual_tax_wan for e in mine), 1),
                    "prepaid": sum(e.prepaid for e in mine),
                }
            )
    return {
        "by_state": dict(Counter(c.state for c in cases)),
        "open": sum(c.state not in finished for c in cases),
        "overdue": sum(
            c.state not in finished and c.deadline_at is not None and c.deadline_at < now
            for c in cases
        ),
        "closed_by_level": {
            k: by_level.get(k, 0) for k in ("grid", "community", "street", "district", "unrecorded")
        },
        "daily": [{"day": d, "reported": reported[d], "closed": closed[d]} for d in days],
        "open_by_kind": open_by_kind,
        "open_alerts": sum(a.open_key is not None for a in alerts),
        "requests_today": requests_today,
        "offices": offices,
        "living_alone": sum(r.lives_alone and age_on(r.birth_date, today) >= 60 for r in residents),
        "elevators": sum(d.kind == "elevator" for d in devices),
        "taxi_kiosks": sum(d.kind == "taxi_kiosk" for d in devices),
    }


def check_panel_facts(engine: Engine) -> None:
    """The panel aggregates equal the plain recomputation, edges of day and window included."""
    seed(engine)
    facts = PanelFactsAdapter(engine, ManualClock(NOW), timedelta(seconds=30))._fetch()
    expected = recompute_panel_facts(engine, NOW)
    cases = facts["cases"]
    assert cases["by_state"] == expected["by_state"]
    assert cases["open"] == expected["open"] == 6
    assert cases["overdue"] == expected["overdue"] == 2
    assert cases["closed_by_level"] == expected["closed_by_level"]
    assert cases["closed_by_level"] == {
        "grid": 3,
        "community": 1,
        "street": 2,
        "district": 1,
        "unrecorded": 1,
    }
    assert cases["daily"] == expected["daily"]
    assert len(cases["daily"]) == WINDOW and cases["daily"][-1]["day"] == "2026-11-21"
    # 00:00 today counts today, 23:59 yesterday counts yesterday (Shanghai days, not UTC days).
    assert cases["daily"][-1]["reported"] == 2 and cases["daily"][-2]["reported"] == 2
    assert facts["alerts"]["open_by_kind"] == expected["open_by_kind"]
    assert len(facts["alerts"]["open_objects"]) == expected["open_alerts"]
    assert facts["requests_today"] == expected["requests_today"]
    assert facts["requests_today"] == {
        "repair": {"open": 2, "closed": 1},
        "noise": {"open": 0, "closed": 1},
    }
    assert [
        {k: b[k] for k in ("building_id", "enterprises", "tax_wan", "prepaid")}
        for b in facts["office_buildings"]
    ] == expected["offices"]
    assert sum(b["enterprises"] for b in facts["office_buildings"]) > 0
    assert facts["elders"]["living_alone"] == expected["living_alone"] > 0
    assert facts["devices"] == {
        "elevators": expected["elevators"],
        "taxi_kiosks": expected["taxi_kiosks"],
    }
    assert [a["object_id"] for a in facts["smoke_alerts"]] and all(
        a["reasons"] for a in facts["smoke_alerts"]
    )
    assert len(facts["visit_alerts"]) == 4
    assert facts["building_community"] and facts["communities"]
    assert set(facts["building_community"].values()) <= {c["id"] for c in facts["communities"]}


def recompute_building_facts(engine: Engine, now: datetime, window_days: int) -> dict[int, dict]:
    """Recompute every building's housing-risk inputs by walking the rows."""
    today = now.astimezone(DISPLAY_ZONE).date()
    with engine.connect() as conn:
        buildings = conn.execute(select(schema.Building.id)).scalars().all()
        households = {h.id: h for h in conn.execute(select(schema.Household.__table__))}
        residents = conn.execute(select(schema.Resident.__table__)).all()
        cases = conn.execute(select(schema.Case.__table__)).all()
        alerts = conn.execute(select(schema.Alert.__table__)).all()
        device_building = dict(
            conn.execute(select(schema.Device.id, schema.Device.building_id)).all()
        )
    facts = {
        b: {
            "residents": 0,
            "floating": 0,
            "elders": 0,
            "adults": Counter(),
            "open_cases": 0,
            "alarms": 0,
            "incidents": 0,
        }
        for b in buildings
    }
    for r in residents:
        household = households[r.household_id]
        f = facts[household.building_id]
        f["residents"] += 1
        f["floating"] += r.registration == "floating"
        age = age_on(r.birth_date, today)
        f["elders"] += r.lives_alone and age >= 60
        f["adults"][household.id] += age >= 18
    for c in cases:
        if c.building_id is not None and c.state not in ("closed", "evaluated", "voided"):
            facts[c.building_id]["open_cases"] += 1
    for a in alerts:
        if a.kind not in ("fire.smoke", "fire.gas") or a.object_type != "device":
            continue
        building = device_building.get(a.object_id)
        if building is None:
            continue
        if a.open_key is not None or a.raised_at >= now - timedelta(days=window_days):
            facts[building]["alarms"] += 1
        if a.status == "resolved":
            facts[building]["incidents"] += 1
    return facts


def check_building_facts(engine: Engine) -> None:
    """Every building's facts equal the recomputation, and the colours come out of them."""
    marks = seed(engine)
    adapter = BuildingFactsAdapter(engine, ManualClock(NOW), timedelta(seconds=60), window_days=30)
    facts = adapter._fetch()
    expected = recompute_building_facts(engine, NOW, 30)
    assert set(facts) == set(expected)
    for building_id, f in facts.items():
        e = expected[building_id]
        assert f.building_id == building_id
        assert (
            f.residents,
            f.floating_residents,
            f.elders_living_alone,
            f.open_cases,
            f.fire_alarms,
            f.past_incidents,
        ) == (
            e["residents"],
            e["floating"],
            e["elders"],
            e["open_cases"],
            e["alarms"],
            e["incidents"],
        )
        assert sorted(f.adults_per_household) == sorted(n for n in e["adults"].values() if n > 0)
    assert sum(f.residents for f in facts.values()) == 700
    assert max(max(f.adults_per_household, default=0) for f in facts.values()) >= 8
    # Open (recent and 60 days old) and raised within 30 days (resolved 3 and 29 days ago).
    assert sum(f.fire_alarms for f in facts.values()) == 4
    assert sum(f.past_incidents for f in facts.values()) == 3
    assert marks["smoke"]
    cfg = load_rules_config()
    colours = Counter(building_risk(f, cfg).colour for f in facts.values())
    assert sum(colours.values()) == len(facts)


def check_adapter_error(engine: Engine) -> None:
    """A store without the tables raises AdapterError, so refresh() keeps the last good data."""
    for adapter in (
        PanelFactsAdapter(engine, ManualClock(NOW), timedelta(seconds=30)),
        BuildingFactsAdapter(engine, ManualClock(NOW), timedelta(seconds=60)),
    ):
        try:
            adapter._fetch()
        except AdapterError as exc:
            assert "SQL store" in str(exc)
        else:
            raise AssertionError(f"{adapter.name} did not raise AdapterError")
        assert (
            adapter.refresh() is False and adapter.health(timedelta(seconds=30))["state"] == "down"
        )


def check_panels_carry_no_personal_data(engine: Engine) -> None:
    """Built from real facts, no panel contains a name, phone, ID number or request text."""
    seed(engine)
    clock = ManualClock(NOW)
    facts = PanelFactsAdapter(engine, clock, timedelta(seconds=30))._fetch()
    buildings = BuildingFactsAdapter(engine, clock, timedelta(seconds=60))._fetch()
    with engine.connect() as conn:
        devices = {
            d.id: (d.kind, d.report_interval_s)
            for d in conn.execute(
                select(schema.Device.id, schema.Device.kind, schema.Device.report_interval_s)
            )
        }
        people = conn.execute(
            select(schema.Resident.name, schema.Resident.phone, schema.Resident.id_number)
        ).all()
        legal = conn.execute(select(schema.Enterprise.legal_representative)).scalars().all()
    states = join_device_states(devices, dict.fromkeys(devices, NOW.timestamp() - 10))
    cfg = load_rules_config()
    risks = [building_risk(f, cfg) for f in buildings.values()]
    models = [
        governance_panel(facts, risks, states, NOW),
        enterprise_panel(facts, facts["smoke_alerts"], facts["visit_alerts"]),
        livelihood_panel(facts, states, facts["alerts"]["open_objects"], NOW),
    ]
    text = orjson.dumps(models).decode()
    names = {name for name, _, _ in people} | set(legal)
    numbers = {v for _, phone, id_number in people for v in (phone, id_number) if v}
    # Names are compared whole (a two-character name can hide inside any label); numbers anywhere.
    leaked = sorted((names & set(strings(models))) | {n for n in numbers if n in text})
    assert not leaked, f"personal data in the panels: {leaked[:5]}"
    assert "13800001111" not in text and "楼道灯" not in text
    livelihood = models[2]
    assert livelihood["elders"]["due_visit"] == 1
    assert livelihood["elevators"]["trapped"] == 1
    assert models[0]["cases"]["overdue"] == 2
    assert models[1]["smoke"]["watch"][0]["sources"] == {"110": 2, "12345": 1}
