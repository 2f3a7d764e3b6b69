"""Check the map's adapters and published views on SQLite and the real PostgreSQL and Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from cockpit.clock import ManualClock
from cockpit.live import RedisLiveStore
from cockpit.map_layers import (
    BUILDING_CARDS,
    MAP_ALERTS,
    MAP_CASES,
    MAP_GEOMETRY,
    card_shard,
    layer_view,
)
from cockpit.map_views import build_map_views
from cockpit.rules.config import load_rules_config
from cockpit.rules.housing import building_risk
from cockpit.simulator.generator import seed_street
from cockpit.store import schema
from cockpit.viewmodels import ViewModelPublisher, read_view
from data_adapters.base import AdapterError
from data_adapters.map_geometry import MapGeometryAdapter
from data_adapters.panel_facts import BuildingFactsAdapter
from tests.panel_facts_contract import strings
from tests.streets import tiny_tier

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def seed(engine) -> dict:
    """Seed the tiny street and open alerts on a device, a resident and an enterprise, and cases."""
    seed_street(engine, tiny_tier(), 9, (121.5, 31.3))
    with engine.connect() as conn:
        device = conn.execute(
            select(schema.Device.id, schema.Device.lon, schema.Device.lat)
            .where(schema.Device.building_id.is_not(None))
            .limit(1)
        ).one()
        resident, home = conn.execute(
            select(schema.Resident.id, schema.Household.building_id)
            .join(schema.Household, schema.Household.id == schema.Resident.household_id)
            .limit(1)
        ).one()
        enterprise, office = conn.execute(
            select(schema.Enterprise.id, schema.Enterprise.building_id).limit(1)
        ).one()
        address = conn.execute(
            select(schema.Address.id, schema.Address.lon, schema.Address.lat).limit(1)
        ).one()
        names = set(conn.execute(select(schema.Resident.name)).scalars())
    alerts = [
        ("fire.smoke", "device", device.id, "red"),
        ("elder.no_water", "resident", resident, "orange"),
        ("enterprise.smoke", "enterprise", enterprise, "yellow"),
        ("enterprise.visit", "enterprise", enterprise, "blue"),  # a task, not an incident
    ]
    with engine.begin() as conn:
        conn.execute(
            insert(schema.Alert),
            [
                {
                    "kind": kind,
                    "level": level,
                    "status": "new",
                    "condition_key": f"{kind}:{object_type}:{object_id}",
                    "open_key": f"{kind}:{object_type}:{object_id}",
                    "object_type": object_type,
                    "object_id": object_id,
                    "title": "测试预警",
                    "title_en": "Test alert",
                    "reasons": [],
                    "raised_at": NOW - timedelta(minutes=5),
                }
                for kind, object_type, object_id, level in alerts
            ],
        )
        common = {
            "source": "grid_worker",
            "category": "sanitation",
            "title": "t",
            "description": "t",
            **dict.fromkeys(("address_id", "lon", "lat", "deadline_at", "closed_at")),
        }
        conn.execute(
            insert(schema.Case),
            [
                common | {"code": "M1", "state": "dispatched", "address_id": address.id,
                          "reported_at": NOW - timedelta(days=2), "deadline_at": NOW - timedelta(hours=1)},
                common | {"code": "M2", "state": "reported", "lon": 121.51, "lat": 31.31,
                          "reported_at": NOW - timedelta(hours=1), "deadline_at": NOW + timedelta(hours=5)},
                common | {"code": "M3", "state": "closed", "address_id": address.id,
                          "reported_at": NOW - timedelta(days=3), "closed_at": NOW - timedelta(days=1)},
            ],
        )  # fmt: skip
    return {
        "device": device,
        "home": home,
        "office": office,
        "enterprise": enterprise,
        "resident": resident,
        "address": address,
        "names": names,
    }


@pytest.fixture(params=["memory", "redis"])
def live(request, redis_client, street_code):
    """Return the in-process live store, then the real Redis one."""
    if request.param == "memory":
        from cockpit.live import InProcessLiveStore

        yield InProcessLiveStore()
        return
    store = RedisLiveStore(redis_client, street_code)
    yield store
    store.clear()


def test_published_map_views_match_the_store(any_engine, live):
    seeded = seed(any_engine)
    clock = ManualClock(NOW)
    views = build_map_views(
        any_engine, clock, timedelta(seconds=10), timedelta(minutes=5), None, "wgs84"
    )
    for adapter in views.adapters:
        assert adapter.refresh(), adapter.last_error
    facts_adapter = BuildingFactsAdapter(any_engine, clock, timedelta(minutes=1))
    facts_adapter.refresh()
    facts = facts_adapter.snapshot.data
    risks = [building_risk(f, load_rules_config()) for f in facts.values()]
    views.publish(ViewModelPublisher(live), {}, risks, facts, [], NOW, 3.0)

    with any_engine.connect() as conn:
        n_buildings = conn.execute(select(func.count()).select_from(schema.Building)).scalar()
        n_devices = conn.execute(select(func.count()).select_from(schema.Device)).scalar()
    geometry = read_view(live, MAP_GEOMETRY)
    assert geometry["layers"]["buildings"]["count"] == n_buildings
    assert geometry["device_cells"]["count"] == n_devices
    groups = read_view(live, layer_view("devices"))["features"]
    assert sum(len(g["properties"]["ids"]) for g in groups) == n_devices
    assert geometry["layers"]["devices"]["count"] == len(groups)

    alerts = {a["level"]: a for a in read_view(live, MAP_ALERTS)["items"]}
    device = seeded["device"]
    assert (alerts["red"]["lon"], alerts["red"]["lat"]) == (
        round(device.lon, 6),
        round(device.lat, 6),
    )
    assert alerts["red"]["device_id"] == device.id
    # The elder's alert sits on the home building and never carries the resident's id.
    assert alerts["orange"]["building_id"] == seeded["home"]
    assert seeded["resident"] not in (alerts["orange"].get("device_id"), alerts["orange"].get("id"))
    assert alerts["yellow"]["building_id"] == seeded["office"]
    assert "blue" not in alerts

    cases = {c["code"]: c for c in read_view(live, MAP_CASES)["items"]}
    assert set(cases) == {"M1", "M2"}
    address = seeded["address"]
    assert (cases["M1"]["lon"], cases["M1"]["lat"]) == (
        round(address.lon, 6),
        round(address.lat, 6),
    )
    assert cases["M1"]["overdue"] is True and cases["M2"]["overdue"] is False

    assert read_view(live, BUILDING_CARDS)["count"] == n_buildings
    home_card = read_view(live, card_shard(seeded["home"]))["cards"][str(seeded["home"])]
    assert home_card["residents"] == facts[seeded["home"]].residents
    # Nothing the map publishes names a resident.
    published = [read_view(live, n) for n in (MAP_ALERTS, MAP_CASES, card_shard(seeded["home"]))]
    assert not seeded["names"] & set(strings(published))


def test_an_unreadable_store_is_an_adapter_error(tmp_path):
    from cockpit.store.database import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables at all
    adapter = MapGeometryAdapter(engine, ManualClock(NOW), timedelta(minutes=5))
    with pytest.raises(AdapterError, match="SQL store"):
        adapter._fetch()
    assert adapter.refresh() is False and adapter.snapshot is None
    engine.dispose()
