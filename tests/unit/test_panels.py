"""Check the pure panel builders on hand-made facts: totals add up, nothing personal, small."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import orjson
from hypothesis import given
from hypothesis import strategies as st

from cockpit.live import InProcessLiveStore
from cockpit.panels import (
    DeviceState,
    DeviceStateJoin,
    enterprise_panel,
    governance_panel,
    join_device_states,
    livelihood_panel,
    map_building_colours,
    shares_pct,
    source_health,
)
from cockpit.rules.housing import RiskResult
from cockpit.rules.results import Reason
from cockpit.viewmodels import ViewModelPublisher, read_view
from cockpit.worker import TickerFeed

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
NOW_TS = NOW.timestamp()
# Keys that would carry personal data; none may appear anywhere in a view model.
PERSONAL_KEYS = {
    "phone",
    "mobile",
    "id_number",
    "birth_date",
    "resident_id",
    "household_id",
    "room",
    "address",
    "address_text",
    "description",
    "text",
    "legal_representative",
    "managers",
    "uscc",
}
SMALL = 8000


def keys(value):
    """Yield every key of a JSON-ready value, at any depth."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from keys(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from keys(v)


def size(model) -> int:
    """Return the serialised size of a view model in bytes."""
    return len(orjson.dumps(model))


def reason(code: str, value=1) -> dict:
    """Return an alert reason as stored in Alert.reasons."""
    return {"code": code, "text_zh": code, "text_en": code, "value": value, "threshold": None}


def open_alert(kind: str, level: str, object_type: str, object_id: int) -> dict:
    """Return an open alert as the facts' alerts.open_objects list it."""
    return {"kind": kind, "level": level, "object_type": object_type, "object_id": object_id}


def facts() -> dict:
    """Return panel facts shaped like PanelFactsAdapter's, for a small street."""
    days = [(NOW.date() - timedelta(days=29 - i)).isoformat() for i in range(30)]
    return {
        "now": NOW.isoformat(),
        "today": NOW.date().isoformat(),
        "cases": {
            "by_state": {"reported": 4, "dispatched": 2, "closed": 30, "evaluated": 5, "odd": 1},
            "open": 7,
            "overdue": 3,
            "closed_by_level": {
                "grid": 12,
                "community": 9,
                "street": 10,
                "district": 4,
                "unrecorded": 2,
            },
            "daily": [{"day": d, "reported": i % 5, "closed": i % 3} for i, d in enumerate(days)],
        },
        "alerts": {
            "open_by_kind": {"fire.smoke": {"red": 1}},
            "open_objects": [
                open_alert("fire.smoke", "red", "device", 1),
                open_alert("device.offline", "blue", "device", 2),
                open_alert("fire.leakage", "yellow", "device", 5),
                open_alert("elevator.trapped", "red", "device", 20),
                open_alert("elder.no_water", "orange", "resident", 7),
                open_alert("elder.no_door_opening", "yellow", "resident", 7),
                open_alert("elder.water_running", "yellow", "resident", 8),
            ],
        },
        "requests_today": {
            "repair": {"open": 2, "closed": 1},
            "noise": {"open": 0, "closed": 3},
            "zzz": {"open": 1, "closed": 0},
        },
        "office_buildings": [
            {
                "building_id": 100 + i,
                "code": f"B330104005{100 + i:06d}",
                "label": None,
                "enterprises": i * 3,
                "tax_wan": i * 10.25,
                "prepaid": i % 4,
            }
            for i in range(30)
        ],
        "communities": [{"id": 1, "name": "长白社区"}, {"id": 2, "name": "延吉社区"}],
        "building_community": {10: 1, 11: 1, 12: 2, 13: 2},
        "elders": {"living_alone": 42},
        "devices": {"elevators": 5, "taxi_kiosks": 4},
    }


def devices() -> dict[int, DeviceState]:
    """Return device states: fire terminals of each system, elevators and kiosks."""
    fresh, old = NOW_TS - 10, NOW_TS - 4000
    return {
        1: DeviceState("smoke", 60, fresh),
        2: DeviceState("smoke", 60, old),  # offline, with an offline alert that is no alarm
        3: DeviceState("gas", 60, fresh, {"alarm": True}),  # alarm from its own reading
        4: DeviceState("gas", 60, None),
        5: DeviceState("electricity", 60, fresh),
        6: DeviceState("water_pressure", 60, fresh),
        7: DeviceState("patrol_point", 7200, NOW_TS - 7200),
        8: DeviceState("camera", 60, fresh),
        20: DeviceState("elevator", 60, fresh),
        21: DeviceState("elevator", 60, fresh),
        22: DeviceState("elevator", 60, old),
        23: DeviceState("elevator", 60, None, maintenance=True),  # out for its annual check
        30: DeviceState("taxi_kiosk", 300, fresh, {"status": "ok", "calls": 2}),
        31: DeviceState("taxi_kiosk", 300, fresh, {"status": "fault", "calls": 0}),
        32: DeviceState("taxi_kiosk", 300, old, {"status": "ok", "calls": 1}),
        33: DeviceState("taxi_kiosk", 300, None, maintenance=True),
    }


def risks() -> list[RiskResult]:
    """Return risk results of five buildings, one outside any known community."""
    crowd = Reason("group_renting", "群租", "group renting", 2, 6)
    alarms = Reason("fire_alarms", "报警", "alarms", 2, 30)
    return [
        RiskResult(10, "red", 7.0, (crowd, alarms)),
        RiskResult(11, "green", 0.0, ()),
        RiskResult(12, "yellow", 3.0, (alarms,)),
        RiskResult(13, "red", 6.0, (alarms, crowd)),
        RiskResult(99, "green", 0.0, ()),
    ]


def smoke_alerts(n: int = 25) -> list[dict]:
    """Return n open smoke alerts of mixed grades with their source reasons."""
    levels = ("blue", "yellow", "orange", "red")
    return [
        {
            "id": i,
            "kind": "enterprise.smoke",
            "level": levels[i % 4],
            "object_type": "enterprise",
            "object_id": 500 + i,
            "routing": "major",
            "raised_at": NOW.isoformat(),
            "reasons": [
                reason("source_110", 2),
                reason("source_96315", 1),
                reason("distinct_sources", 2),
                reason("weighted_signals", float(i)),
                reason("prepaid", 1.5),
            ],
        }
        for i in range(n)
    ]


def visit_alerts() -> list[dict]:
    """Return open visit alerts: three triggers over four enterprises."""
    rows = [
        (1, "必访：地在税不在", "Visit due: Registered here, pays tax elsewhere"),
        (2, "必访：地在税不在", "Visit due: Registered here, pays tax elsewhere"),
        (2, "必访：经营异常", "Visit due: Abnormal operation"),
        (3, "必访：租约即将到期", "Visit due: Lease ending soon"),
        (4, "必访：地在税不在", "Visit due: Registered here, pays tax elsewhere"),
    ]
    return [
        {
            "kind": "enterprise.visit",
            "level": "blue",
            "object_id": e,
            "title_zh": zh,
            "title_en": en,
        }
        for e, zh, en in rows
    ]


def ticker_model(events: list[tuple[str, dict]]) -> dict:
    """Return the ticker view model the worker publishes after these alert events."""
    feed = TickerFeed()
    feed.absorb(events)
    return feed.model()


def alert_events(n: int) -> list[tuple[str, dict]]:
    """Return n 'raised' events as the live alerts stream holds them, oldest first."""
    return [
        (
            f"{i + 1}-0",
            {
                "event": "raised",
                "id": i + 1,
                "level": "yellow",
                "kind": "fire.smoke",
                "title_zh": "烟感报警",
                "title_en": "Smoke alarm",
                "object_type": "device",
                "object_id": 1000 + i,
                "ts": NOW_TS + i,
            },
        )
        for i in range(n)
    ]


# -- governance --------------------------------------------------------------------------------


def test_governance_counts_add_up():
    model = governance_panel(facts(), risks(), devices(), NOW)
    housing = model["housing"]
    assert housing["overall"] == {"red": 2, "yellow": 1, "green": 2}
    assert [c["community"] for c in housing["communities"]] == ["长白社区", "延吉社区"]
    assert housing["communities"][0] == {
        "id": 1,
        "community": "长白社区",
        "community_en": "Changbai Community",
        "red": 1,
        "yellow": 0,
        "green": 1,
    }
    assert housing["red_reasons"] == {"group_renting": 1, "fire_alarms": 1}
    fire = {row["system"]: row for row in model["fire"]}
    assert list(fire) == ["water_pressure", "electricity", "smoke_gas", "patrol"]
    assert fire["smoke_gas"] == {
        "system": "smoke_gas",
        "alarm": 2,  # device 1 by its open alert, device 3 by its own reading
        "online": 0,
        "offline": 2,  # device 2 is silent (its offline alert is not an alarm), 4 never reported
        "maintenance": 0,
        "total": 4,
    }
    assert fire["electricity"]["alarm"] == 1 and fire["water_pressure"]["online"] == 1
    assert fire["patrol"]["online"] == 1, "a patrol point is judged on its own two-hour window"
    for row in fire.values():
        assert row["alarm"] + row["online"] + row["offline"] + row["maintenance"] == row["total"]


def test_governance_cases_resolution_and_trends():
    model = governance_panel(facts(), risks(), devices(), NOW)
    funnel = model["cases"]["funnel"]
    assert [row["state"] for row in funnel[:3]] == ["reported", "registered", "dispatched"]
    assert funnel[-1] == {"state": "odd", "count": 1}, "an unknown state is listed, not lost"
    assert sum(row["count"] for row in funnel) == 42
    assert model["cases"]["overdue"] == 3 and model["cases"]["open"] == 7
    resolution = model["resolution"]
    assert resolution["counts"] == {"district": 4, "street": 10, "community": 21}
    assert sum(resolution["pct"].values()) == 100
    assert resolution["pct"] == {"district": 11, "street": 29, "community": 60}
    assert resolution["target_pct"] == {"district": 10, "street": 30, "community": 60}
    assert resolution["unrecorded"] == 2
    trends = model["trends"]
    assert len(trends["days"]) == len(trends["reported"]) == len(trends["closed"]) == 30
    assert trends["d7"]["reported"] == sum(i % 5 for i in range(23, 30))
    assert trends["d30"]["closed"] == sum(i % 3 for i in range(30))


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=6))
def test_shares_always_add_up_to_100(counts):
    pct = shares_pct({f"k{i}": n for i, n in enumerate(counts)})
    assert sum(pct.values()) == (100 if sum(counts) else 0)
    assert all(0 <= p <= 100 for p in pct.values())
    total = sum(counts)
    for i, n in enumerate(counts):
        if total:
            assert abs(pct[f"k{i}"] - n * 100 / total) < 1


def test_governance_with_nothing_yet():
    model = governance_panel(None, [], None, NOW)
    assert model["housing"]["overall"] == {"red": 0, "yellow": 0, "green": 0}
    assert model["resolution"]["pct"] == {"district": 0, "street": 0, "community": 0}
    assert all(row["total"] == 0 for row in model["fire"])
    assert model["trends"]["d7"] == {"reported": 0, "closed": 0}
    assert governance_panel({}, [], {}, NOW) == model


# -- enterprise --------------------------------------------------------------------------------


def test_enterprise_watch_list_visits_and_buildings():
    model = enterprise_panel(facts(), smoke_alerts(), visit_alerts())
    smoke = model["smoke"]
    assert smoke["total"] == 25 and len(smoke["watch"]) == 20
    assert smoke["by_grade"] == {"red": 6, "orange": 6, "yellow": 6, "blue": 7}
    grades = [row["level"] for row in smoke["watch"]]
    assert grades == sorted(grades, key=["red", "orange", "yellow", "blue"].index)
    top = smoke["watch"][0]
    assert top["level"] == "red" and top["signals"] == 23.0
    assert top["sources"] == {"110": 2, "96315": 1}
    visits = model["visits"]
    assert visits["total"] == 5 and visits["enterprises"] == 4
    assert visits["by_trigger"][0] == {
        "zh": "地在税不在",
        "en": "Registered here, pays tax elsewhere",
        "count": 3,
    }
    assert sum(t["count"] for t in visits["by_trigger"]) == visits["total"]
    buildings = model["buildings"]
    assert buildings["buildings"] == 30 and len(buildings["top"]) == 20
    assert [b["building_id"] for b in buildings["top"][:2]] == [129, 128]
    assert buildings["enterprises"] == sum(i * 3 for i in range(30))


def test_enterprises_are_named_by_trade_and_number_never_by_company_name():
    smoke = [
        dict(a, industry="catering", enterprise_name="某某餐饮有限公司") for a in smoke_alerts()
    ]
    visits = [dict(a, industry="training") for a in visit_alerts()]
    model = enterprise_panel(facts(), smoke, visits)
    assert {row["industry"] for row in model["smoke"]["watch"]} == {"catering"}
    assert {row["industry"] for row in model["visits"]["due"]} == {"training"}
    assert "某某餐饮有限公司" not in json.dumps(model, ensure_ascii=False)


def test_enterprise_with_nothing_yet():
    model = enterprise_panel(None, None, None)
    assert model["smoke"] == {
        "total": 0,
        "by_grade": {"red": 0, "orange": 0, "yellow": 0, "blue": 0},
        "watch": [],
    }
    assert model["visits"] == {"total": 0, "enterprises": 0, "by_trigger": [], "due": []}
    assert model["buildings"]["top"] == []


# -- livelihood --------------------------------------------------------------------------------


def test_livelihood_counts():
    f = facts()
    model = livelihood_panel(f, devices(), f["alerts"]["open_objects"], NOW)
    assert model["elders"] == {
        "living_alone": 42,
        "due_visit": 2,
        "by_signal": {"no_door_opening": 1, "no_water": 1, "water_running": 1},
    }
    assert model["elevators"] == {
        "running": 1,
        "trapped": 1,
        "offline": 1,
        "maintenance": 1,  # neither running nor offline
        "unknown": 1,  # the registry counts five, the device states know four
        "total": 5,
    }
    assert model["taxi"] == {
        "online": 1,
        "fault": 1,
        "offline": 1,
        "maintenance": 1,
        "unknown": 0,
        "total": 4,
        "recent_calls": 3,
    }
    requests = model["requests"]
    assert requests["total"] == 7 and requests["closed"] == 4 and requests["closed_pct"] == 57
    assert [r["code"] for r in requests["by_category"]] == ["noise", "repair", "zzz"]
    repair = requests["by_category"][1]
    assert repair == {
        "code": "repair",
        "zh": "设施报修",
        "en": "Facility repair",
        "total": 3,
        "closed": 1,
        "closed_pct": 33,
        "satisfaction": None,  # no revisit in these facts
        "answered": 0,
    }
    unknown = next(r for r in requests["by_category"] if r["code"] == "zzz")
    assert unknown["zh"] == "zzz", "an unknown service shows its code"


def test_livelihood_reads_now_from_facts_and_survives_nothing():
    f = facts()
    assert livelihood_panel(f, devices(), f["alerts"]["open_objects"]) == livelihood_panel(
        f, devices(), f["alerts"]["open_objects"], NOW
    )
    empty = livelihood_panel(None, None, None)
    assert empty["elders"] == {
        "living_alone": 0,
        "due_visit": 0,
        "by_signal": {"no_door_opening": 0, "no_water": 0, "water_running": 0},
    }
    assert empty["elevators"]["total"] == 0 and empty["requests"]["by_category"] == []
    waiting = livelihood_panel(f, None, None)
    assert waiting["elevators"] == {
        "running": 0,
        "trapped": 0,
        "offline": 0,
        "maintenance": 0,
        "unknown": 5,
        "total": 5,
    }


def test_join_device_states_keeps_every_registered_device():
    states = join_device_states(
        {1: ("smoke", 60), 2: ("taxi_kiosk", 300)},
        {1: NOW_TS},
        {2: {"device_id": 2, "values": {"calls": 1}}},
    )
    assert states == {
        1: DeviceState("smoke", 60, NOW_TS, None),
        2: DeviceState("taxi_kiosk", 300, None, {"calls": 1}),
    }


# Ticks of a small fleet: sometimes a new registry (maintenance flags may flip), sometimes a
# device first heard or dropped, mostly some devices reporting again.
REGISTRY = st.dictionaries(
    st.integers(1, 12),
    st.tuples(st.sampled_from(["smoke", "water", "door"]), st.integers(1, 600), st.booleans()),
    max_size=12,
)
TICKS = st.lists(
    st.tuples(
        st.booleans(),  # a new registry snapshot this tick
        REGISTRY,
        st.dictionaries(st.integers(1, 14), st.floats(0, 1e6, allow_nan=False), max_size=14),
    ),
    min_size=1,
    max_size=8,
)


@given(TICKS)
def test_joining_tick_after_tick_gives_what_a_join_afresh_gives(ticks):
    join = DeviceStateJoin()
    registry: dict | None = None
    seen: dict[int, float] = {}
    for renewed, new_registry, reports in ticks:
        if renewed or registry is None:
            registry = new_registry
        # A report moves a device's last-seen time on (or first hears it); most keep theirs.
        seen = {**seen, **reports} if len(reports) % 3 else {**reports}
        got = join.join(registry, seen)
        assert got == join_device_states(registry, seen)


def test_a_joined_tick_leaves_the_last_one_as_it_was():
    join = DeviceStateJoin()
    registry = {1: ("smoke", 60), 2: ("water", 300)}
    first = join.join(registry, {1: 10.0, 2: 20.0})
    second = join.join(registry, {1: 70.0, 2: 20.0})
    assert first[1].last_seen == 10.0 and second[1].last_seen == 70.0
    assert second[2] is first[2]  # not heard again: the same state, not rebuilt


# -- map, source health ----------------------------------------------------------------


def test_map_colours_are_compact_and_json_keyed():
    colours = map_building_colours(risks())
    assert colours == {"10": "red", "11": "green", "12": "yellow", "13": "red", "99": "green"}
    orjson.dumps(colours)  # string keys: the publisher's orjson needs no option
    assert map_building_colours([]) == {}


def test_source_health_lists_sources_and_rejections_by_reason():
    health = [
        {"name": "registry", "state": "ok", "age_s": 1.2, "error": None, "fetched_at": "x"},
        {"name": "live", "state": "stale", "age_s": 95.0, "error": "Redis: " + "x" * 500},
        {"name": "panel_facts", "state": "down", "age_s": None, "error": "SQL store: Oops"},
    ]
    counters = {
        "readings_accepted": 900,
        "rejected:ts:missing": 3,
        "rejected:topic": 2,
        "requests_received": 4,
    }
    model = source_health(health, counters)
    assert model["status"] == "degraded"
    assert [s["name"] for s in model["sources"]] == ["registry", "live", "panel_facts"]
    assert model["sources"][0] == {"name": "registry", "state": "ok", "age_s": 1.2, "error": None}
    assert len(model["sources"][1]["error"]) == 200
    assert model["rejected"] == {"total": 5, "by_reason": {"topic": 2, "ts:missing": 3}}
    assert source_health(health[:1], {})["status"] == "ok"
    assert source_health(health[2:], None)["status"] == "down"
    assert source_health([], {})["rejected"] == {"total": 0, "by_reason": {}}


def test_source_health_version_ignores_ages():
    publisher = ViewModelPublisher(InProcessLiveStore())
    first = [{"name": "live", "state": "ok", "age_s": 1.0, "error": None}]
    later = [{"name": "live", "state": "ok", "age_s": 9.0, "error": None}]
    version = publisher.publish("source_health", source_health(first, {}), NOW)
    assert publisher.publish("source_health", source_health(later, {}), NOW) == version
    stale = [{"name": "live", "state": "stale", "age_s": 9.0, "error": None}]
    assert publisher.publish("source_health", source_health(stale, {}), NOW) != version


# -- every model -------------------------------------------------------------------------------


def every_model() -> dict[str, dict]:
    """Return every view model built from the full hand-made inputs."""
    f = facts()
    return {
        "governance": governance_panel(f, risks(), devices(), NOW),
        "enterprise": enterprise_panel(f, smoke_alerts(), visit_alerts()),
        "livelihood": livelihood_panel(f, devices(), f["alerts"]["open_objects"], NOW),
        "ticker": ticker_model(alert_events(50)),
        "map_colours": map_building_colours(risks()),
        "source_health": source_health(
            [{"name": "registry", "state": "ok", "age_s": 1.0, "error": None}], {"rejected:x": 1}
        ),
    }


def test_no_personal_fields_in_any_model():
    for name, model in every_model().items():
        found = PERSONAL_KEYS & set(keys(model))
        assert not found, f"{name} carries personal fields {found}"
        # Only a data source is ever called by its name; places are labels, people never appear.
        assert name == "source_health" or "name" not in set(keys(model)), name


def test_models_are_small_and_publishable():
    live = InProcessLiveStore()
    publisher = ViewModelPublisher(live)
    for name, model in every_model().items():
        if name != "map_colours":
            assert size(model) < SMALL, f"{name} is {size(model)} bytes"
        publisher.publish(name, model, NOW)
        assert read_view(live, name)["version"]


def test_panels_stay_small_however_big_the_street():
    """Twenty rows at most: a street ten times bigger sends the same size of model."""
    f = facts()
    f["office_buildings"] = f["office_buildings"] * 300
    f["building_community"] = {i: 1 + i % 2 for i in range(10_000)}
    many_risks = [RiskResult(i, "yellow", 3.0, ()) for i in range(10_000)]
    many_devices = {i: DeviceState("smoke", 60, NOW_TS) for i in range(100, 20_000)}
    assert size(governance_panel(f, many_risks, many_devices, NOW)) < SMALL
    assert size(enterprise_panel(f, smoke_alerts(2000), visit_alerts() * 500)) < SMALL
    assert size(ticker_model(alert_events(5000))) < SMALL


def test_a_low_battery_or_a_device_in_maintenance_is_no_fire_alarm():
    """A detector's low-battery alert is upkeep, not an alarm; a serviced one counts apart."""
    low = facts()
    low["alerts"]["open_objects"] = [open_alert("fire.smoke_battery", "blue", "device", 1)]
    states = {
        1: DeviceState("smoke", 60, NOW_TS - 10),
        2: DeviceState("smoke", 60, None, maintenance=True),
    }
    fire = {row["system"]: row for row in governance_panel(low, risks(), states, NOW)["fire"]}
    assert fire["smoke_gas"] == {
        "system": "smoke_gas",
        "alarm": 0,
        "online": 1,
        "offline": 0,
        "maintenance": 1,
        "total": 2,
    }
