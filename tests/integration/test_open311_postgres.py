"""Check the Open311 endpoint against the real PostgreSQL: round trips, date filters, addresses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import func, select

from cockpit.access.audit import AuditLog, AuditQuery
from cockpit.clock import ManualClock
from cockpit.ingest import Ingest
from cockpit.live import InProcessLiveStore
from cockpit.open311 import make_blueprint
from cockpit.settings import Settings
from cockpit.simulator.generator import seed_street
from cockpit.store import requests as request_store
from cockpit.store import schema
from cockpit.web.limits import make_limiter
from tests.streets import tiny_tier

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
JURISDICTION = "310110012"
API = "/open311/v2"


@pytest.fixture
def clock():
    """Return a clock standing at NOW."""
    return ManualClock(NOW)


@pytest.fixture
def client(postgres_engine, clock):
    """Return a test client of the blueprint over a tiny street seeded on PostgreSQL."""
    seed_street(postgres_engine, tiny_tier(), 6, (121.5, 31.3))
    ingest = Ingest(postgres_engine, InProcessLiveStore(), clock)
    app = Flask(__name__)
    app.testing = True
    # Wired as app.py wires it: no client apps configured (POST open), a limit, the audit log.
    app.register_blueprint(
        make_blueprint(
            postgres_engine,
            ingest,
            clock,
            JURISDICTION,
            clients={},
            limiter=make_limiter(app, Settings(redis_url=None)),
            rate_limit="100 per minute",
            audit=AuditLog(postgres_engine, clock),
        )
    )
    return app.test_client()


def test_post_then_get_round_trip(client, postgres_engine):
    address = request_store.get_address(postgres_engine, 5)
    description = "电梯停运两天，<老人>下楼不便 & 需要帮助" + "。" * 3900
    response = client.post(
        f"{API}/requests.json",
        data={
            "service_code": "elevator",
            "description": description,
            "lat": str(address.lat + 0.00004),
            "long": str(address.lon - 0.00003),
            "media_url": "https://example.com/lift.jpg",
            "email": "li.si@example.com",
            "phone": "13900001111",
        },
    )
    assert response.status_code == 201, response.get_json()
    new_id = response.get_json()[0]["service_request_id"]

    (item,) = client.get(f"{API}/requests/{new_id}.json").get_json()
    assert item["description"] == description
    (entry,) = AuditLog(postgres_engine).search(AuditQuery(action="open311_post"))
    assert (entry["actor"], entry["record_type"], entry["record_id"]) == (
        "open311:anonymous",
        "request",
        new_id,
    )
    assert item["service_code"] == "elevator"
    assert item["address_id"] == str(address.id)
    assert item["address"] == f"{address.road}{address.number}"
    assert item["requested_datetime"] == "2026-11-21T08:00:00+08:00"
    assert item["media_url"] == "https://example.com/lift.jpg"
    assert item["lat"] == pytest.approx(address.lat + 0.00004)
    listed = client.get(f"{API}/requests.json?service_code=elevator&status=open").get_json()
    assert [i["service_request_id"] for i in listed] == [new_id]
    assert b"13900001111" not in client.get(f"{API}/requests.json").data


def test_date_filters(client, clock):
    ids = []
    for code in ("repair", "water", "noise"):
        response = client.post(
            f"{API}/requests.json",
            json={"service_code": code, "lat": 31.3, "long": 121.5, "description": code},
        )
        assert response.status_code == 201
        ids.append(response.get_json()[0]["service_request_id"])
        clock.advance(86_400)  # one day between requests

    def listed(query: str) -> list[str]:
        response = client.get(f"{API}/requests.json{query}")
        assert response.status_code == 200, response.get_json()
        return [i["service_request_id"] for i in response.get_json()]

    assert listed("") == ids[::-1]
    assert listed("?start_date=2026-11-22T08:00:00%2B08:00") == [ids[2], ids[1]]
    assert listed("?end_date=2026-11-22T07:59:59%2B08:00") == [ids[0]]
    assert listed("?start_date=2026-11-21T12:00:00Z&end_date=2026-11-22T12:00:00Z") == [ids[1]]
    assert listed("?start_date=2026-12-01T00:00:00Z") == []
    assert listed(f"?service_request_id={ids[0]},{ids[2]}") == [ids[2], ids[0]]
    response = client.get(f"{API}/requests.json?start_date=2026-01-01T00:00:00Z&end_date=now")
    assert response.status_code == 400


def test_text_postgres_cannot_hold_is_refused_not_crashed(client, postgres_engine):
    response = client.post(
        f"{API}/requests.json",
        data={"service_code": "repair", "lat": "31.3", "long": "121.5", "description": "a\x00b"},
    )
    assert response.status_code == 400
    assert "description" in response.get_json()[0]["description"]
    with postgres_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.ResidentRequest)).scalar() == 0


def test_address_resolution_on_postgres(postgres_engine, client):
    address = request_store.get_address(postgres_engine, 7)
    assert request_store.match_address(postgres_engine, f" {address.full_text} ") == address
    assert (
        request_store.nearest_address(postgres_engine, address.lon, address.lat + 0.0002) == address
    )
    assert request_store.nearest_address(postgres_engine, address.lon, address.lat + 0.01) is None


def test_personal_data_is_stored_as_received_and_served_masked(client, postgres_engine):
    typed = "联系人13912345678，身份证33010419900101001X"
    response = client.post(
        f"{API}/requests.json",
        json={"service_code": "repair", "lat": 31.3, "long": 121.5, "description": typed},
    )
    new_id = response.get_json()[0]["service_request_id"]
    with postgres_engine.connect() as conn:
        stored = conn.execute(select(schema.ResidentRequest.description)).scalar_one()
    assert stored == typed
    (item,) = client.get(f"{API}/requests/{new_id}.json").get_json()
    assert item["description"] == "联系人139****5678，身份证330104********001X"
