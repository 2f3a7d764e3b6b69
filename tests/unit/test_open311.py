"""Check the Open311 GeoReport v2 endpoint: every route, every error, filters and privacy."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from cockpit.access.audit import AuditLog, AuditQuery
from cockpit.clock import ManualClock
from cockpit.domain.services import SERVICES, SERVICES_BY_CODE
from cockpit.ingest import Ingest
from cockpit.live import InProcessLiveStore
from cockpit.open311 import PERSONAL_FIELDS, READ_FIELDS, building_level, make_blueprint
from cockpit.settings import Settings
from cockpit.simulator.generator import seed_street
from cockpit.simulator.scenario import REQUEST_SERVICES
from cockpit.store import requests as request_store
from cockpit.store import schema
from cockpit.web.limits import make_limiter
from tests.streets import tiny_tier

NOW = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
JURISDICTION = "310110012"
API = "/open311/v2"
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}
PERSON = {
    "email": "zhang.san@example.com",
    "first_name": "三",
    "last_name": "张",
    "phone": "13812345678",
    "device_id": "device-7f3a9c",
    "account_id": "account-88121",
}


@pytest.fixture
def street(sqlite_engine):
    """Return the SQLite store holding a tiny seeded street."""
    seed_street(sqlite_engine, tiny_tier(), 6, (121.5, 31.3))
    return sqlite_engine


@pytest.fixture
def clock():
    """Return a clock standing at NOW."""
    return ManualClock(NOW)


@pytest.fixture
def ingest(street, clock):
    """Return ingest over the street and an in-process live store."""
    return Ingest(street, InProcessLiveStore(), clock)


@pytest.fixture
def client(street, ingest, clock):
    """Return a test client of a bare Flask app serving only the blueprint."""
    app = Flask(__name__)
    app.testing = True
    app.register_blueprint(make_blueprint(street, ingest, clock, JURISDICTION))
    return app.test_client()


@pytest.fixture
def address(street):
    """Return one standard address of the street."""
    return request_store.get_address(street, 3)


def post(client, **fields):
    """POST a form-encoded request."""
    return client.post(f"{API}/requests.json", data=fields)


def created_id(response) -> int:
    """Check a 201 answer's shape and return the new request's id."""
    assert response.status_code == 201, response.get_json()
    (body,) = response.get_json()
    assert set(body) == {"service_request_id", "service_notice", "account_id"}
    assert body["account_id"] is None
    return int(body["service_request_id"])


def error(response, status: int) -> str:
    """Check an answer is the standard's error list with this status; return the description."""
    assert response.status_code == status
    assert response.content_type == "application/json; charset=utf-8"
    body = response.get_json()
    assert isinstance(body, list) and len(body) == 1
    assert body[0]["code"] == status
    assert isinstance(body[0]["description"], str) and body[0]["description"]
    return body[0]["description"]


def row(engine, request_id: int) -> dict:
    """Return a stored request as a dict of its columns."""
    with engine.connect() as conn:
        found = conn.execute(
            select(schema.ResidentRequest).where(schema.ResidentRequest.id == request_id)
        ).one()
    return dict(found._mapping)


# -- catalogue -----------------------------------------------------------------------------


def test_catalogue_covers_the_simulator_and_the_street():
    codes = {s.code for s in SERVICES}
    assert {code for code, _ in REQUEST_SERVICES} <= codes
    assert {"elevator", "elderly_care", "fire_passage"} <= codes
    assert len(codes) == len(SERVICES)
    assert not READ_FIELDS & PERSONAL_FIELDS


def test_services_list_in_chinese_by_default(client):
    response = client.get(f"{API}/services.json")
    assert response.status_code == 200
    assert response.content_type == "application/json; charset=utf-8"
    assert "设施报修".encode() in response.data  # UTF-8, not \u escapes
    services = response.get_json()
    assert [s["service_code"] for s in services] == [s.code for s in SERVICES]
    for item in services:
        assert set(item) == {
            "service_code",
            "service_name",
            "description",
            "metadata",
            "type",
            "keywords",
            "group",
        }
        assert item["metadata"] is False
        assert item["type"] == "realtime"
        entry = SERVICES_BY_CODE[item["service_code"]]
        assert item["service_name"] == entry.name.zh
        assert item["group"] == entry.group.zh
        assert item["keywords"] == entry.keywords.zh


def test_services_list_in_english(client):
    services = client.get(f"{API}/services.json?lang=en").get_json()
    by_code = {s["service_code"]: s for s in services}
    assert by_code["repair"]["service_name"] == "Facility repair"
    assert by_code["elevator"]["group"] == "Housing and facilities"
    assert "," in by_code["noise"]["keywords"]


def test_unknown_language_falls_back_to_chinese(client):
    services = client.get(f"{API}/services.json?lang=fr").get_json()
    assert services[0]["service_name"] == SERVICES[0].name.zh


@pytest.mark.parametrize("code", ["repair", "no_such_service"])
def test_service_definition_is_not_found(client, code):
    description = error(client.get(f"{API}/services/{code}.json"), 404)
    assert code in description
    if code == "repair":
        assert "metadata" in description


# -- formats, methods, unknown paths ---------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/services.xml"),
        ("GET", "/services/repair.xml"),
        ("GET", "/requests.xml"),
        ("POST", "/requests.xml"),
        ("GET", "/requests/1.xml"),
        ("GET", "/requests.csv"),
    ],
)
def test_only_json_is_served(client, method, path):
    response = client.open(f"{API}{path}", method=method, data={"service_code": "repair"})
    description = error(response, 400)
    assert "JSON only" in description and ".json" in description


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/services.json"),
        ("DELETE", "/requests.json"),
        ("PUT", "/requests/1.json"),
        ("PATCH", "/services/repair.json"),
    ],
)
def test_other_methods_are_refused(client, method, path):
    assert method in error(client.open(f"{API}{path}", method=method), 405)


@pytest.mark.parametrize("path", ["/", "/services", "/requests", "/requests/1", "/discovery.json"])
def test_unknown_paths_answer_in_the_error_shape(client, path):
    assert "not a resource" in error(client.get(f"{API}{path}"), 404)


def test_head_is_allowed_where_get_is(client):
    assert client.head(f"{API}/services.json").status_code == 200


# -- POST requests.json -----------------------------------------------------------------------


def test_post_with_a_point_attaches_the_nearest_address(client, street, ingest, address):
    response = post(
        client,
        service_code="repair",
        description="楼道灯不亮",
        lat=str(address.lat + 0.0002),  # about 22 m north
        long=str(address.lon),
    )
    new_id = created_id(response)
    (body,) = response.get_json()
    assert body["service_notice"] == SERVICES_BY_CODE["repair"].notice.zh
    stored = row(street, new_id)
    assert stored["address_id"] == address.id
    assert stored["address_text"] is None
    assert stored["lat"] == pytest.approx(address.lat + 0.0002)
    assert stored["channel"] == "open311"
    assert stored["status"] == "open"
    assert stored["requested_at"] == NOW
    assert stored["description"] == "楼道灯不亮"
    assert ingest.live.counters()["requests_received"] == 1


def test_post_with_a_json_body(client, street, address):
    response = client.post(
        f"{API}/requests.json",
        json={
            "service_code": "water",
            "lat": address.lat,
            "long": address.lon,
            "description": "楼顶水箱漏水",
            "media_url": "https://example.com/photo.jpg",
            "jurisdiction_id": JURISDICTION,
            "attribute": {"floor": 6},  # unread: services have no metadata
        },
    )
    stored = row(street, created_id(response))
    assert stored["service_code"] == "water"
    assert stored["media_url"] == "https://example.com/photo.jpg"
    assert stored["address_id"] == address.id


def test_post_with_an_address_id_takes_its_point(client, street, address):
    new_id = created_id(post(client, service_code="elevator", address_id=str(address.id)))
    stored = row(street, new_id)
    assert (stored["address_id"], stored["lon"], stored["lat"]) == (
        address.id,
        address.lon,
        address.lat,
    )
    assert stored["description"] == ""


def test_post_with_the_exact_address_text_attaches_it(client, street, address):
    new_id = created_id(post(client, service_code="noise", address_string=address.full_text))
    stored = row(street, new_id)
    assert stored["address_id"] == address.id
    assert stored["address_text"] == address.full_text
    assert (stored["lon"], stored["lat"]) == (address.lon, address.lat)


def test_post_with_an_unknown_address_text_keeps_it_unattached(client, street):
    text = "长白新村街道延吉东路88弄7号502室"
    new_id = created_id(post(client, service_code="greenery", address_string=text))
    stored = row(street, new_id)
    assert stored["address_text"] == text  # stored as given, room and all
    assert stored["address_id"] is None
    assert stored["lon"] is None


def test_post_far_from_every_address_is_not_attached(client, street, address):
    new_id = created_id(
        post(client, service_code="parking", lat=str(address.lat + 0.01), long=str(address.lon))
    )
    assert row(street, new_id)["address_id"] is None


def test_post_with_the_matching_jurisdiction(client):
    created_id(
        post(client, service_code="repair", lat="31.3", long="121.5", jurisdiction_id=JURISDICTION)
    )


def test_post_notice_follows_the_language(client):
    response = client.post(
        f"{API}/requests.json?lang=en",
        data={"service_code": "elevator", "lat": "31.3", "long": "121.5"},
    )
    created_id(response)
    assert "119" in response.get_json()[0]["service_notice"]
    assert response.get_json()[0]["service_notice"].startswith("Received")


def test_description_of_4000_characters_is_kept(client, street):
    text = "漏" * 4000
    new_id = created_id(
        post(client, service_code="water", lat="31.3", long="121.5", description=text)
    )
    assert row(street, new_id)["description"] == text


def test_personal_fields_are_accepted_but_never_stored_or_returned(client, street, ingest, address):
    response = post(
        client,
        service_code="repair",
        description="门禁坏了",
        address_id=str(address.id),
        **PERSON,
    )
    new_id = created_id(response)
    stored = row(street, new_id)
    for value in PERSON.values():
        assert all(value not in str(column) for column in stored.values())
        assert value.encode() not in response.data
    fetched = client.get(f"{API}/requests/{new_id}.json")
    listed = client.get(f"{API}/requests.json")
    for value in PERSON.values():
        assert value.encode() not in fetched.data
        assert value.encode() not in listed.data
    assert not set(PERSON) & set(fetched.get_json()[0])
    live_text = json.dumps([ingest.live.counters()], ensure_ascii=False)
    assert all(value not in live_text for value in PERSON.values())


# -- POST errors --------------------------------------------------------------------------------

POINT = {"lat": "31.3", "long": "121.5"}


@pytest.mark.parametrize(
    ("fields", "status", "names"),
    [
        ({**POINT}, 400, "service_code"),
        ({"service_code": " ", **POINT}, 400, "service_code"),
        ({"service_code": "pothole", **POINT}, 404, "pothole"),
        ({"service_code": "repair"}, 400, "location"),
        ({"service_code": "repair", "description": "无地址"}, 400, "address_string"),
        ({"service_code": "repair", "lat": "31.3"}, 400, "long"),
        ({"service_code": "repair", "long": "121.5"}, 400, "lat"),
        ({"service_code": "repair", "lat": "north", "long": "121.5"}, 400, "lat"),
        ({"service_code": "repair", "lat": "91", "long": "121.5"}, 400, "lat"),
        ({"service_code": "repair", "lat": "31.3", "long": "-180.5"}, 400, "long"),
        ({"service_code": "repair", "lat": "nan", "long": "121.5"}, 400, "lat"),
        ({"service_code": "repair", "lat": "31.3", "long": "inf"}, 400, "long"),
        ({"service_code": "repair", **POINT, "description": "x" * 4001}, 400, "description"),
        ({"service_code": "repair", **POINT, "description": "a\x00b"}, 400, "description"),
        (
            {"service_code": "repair", **POINT, "media_url": "ftp://example.com/a.jpg"},
            400,
            "media_url",
        ),
        ({"service_code": "repair", **POINT, "media_url": "javascript:alert(1)"}, 400, "media_url"),
        ({"service_code": "repair", **POINT, "media_url": "https://"}, 400, "media_url"),
        ({"service_code": "repair", **POINT, "media_url": "http://[::1"}, 400, "media_url"),
        (
            {"service_code": "repair", **POINT, "media_url": "https://a.cn/a b.jpg"},
            400,
            "media_url",
        ),
        (
            {"service_code": "repair", **POINT, "media_url": "https://a.cn/" + "x" * 400},
            400,
            "media_url",
        ),
        ({"service_code": "repair", "address_id": "abc"}, 400, "address_id"),
        ({"service_code": "repair", "address_id": "99999"}, 400, "address_id"),
        ({"service_code": "repair", "address_id": "99999999999999999999"}, 400, "address_id"),
        ({"service_code": "repair", "address_string": "路" * 201}, 400, "address_string"),
        (
            {"service_code": "repair", **POINT, "jurisdiction_id": "330104005"},
            404,
            "jurisdiction_id",
        ),
    ],
)
def test_post_errors_name_the_parameter(client, street, fields, status, names):
    assert names in error(post(client, **fields), status)
    with street.connect() as conn:
        assert conn.execute(select(schema.ResidentRequest.id)).first() is None


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ("[1, 2]", "JSON body"),
        ("{not json", "JSON body"),
        ('{"service_code": ["repair"], "lat": 31.3, "long": 121.5}', "service_code"),
        ('{"service_code": "repair", "lat": true, "long": 121.5}', "lat"),
        ('{"service_code": "repair", "lat": NaN, "long": 121.5}', "lat"),
        (
            '{"service_code": "repair", "lat": 31.3, "long": 121.5, "description": "\\ud800"}',
            "description",
        ),
    ],
)
def test_post_json_errors(client, body, names):
    response = client.post(f"{API}/requests.json", data=body, content_type="application/json")
    assert names in error(response, 400)


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"service_code": "\ud800", **POINT}, 404),
        ({"service_code": "repair", "jurisdiction_id": "\udfff", **POINT}, 404),
        ({"service_code": "repair", "address_id": "\ud800", **POINT}, 400),
        ({"service_code": "repair", "address_string": "安图路\ud800"}, 400),
        ({"service_code": "repair", "media_url": "https://a.cn/\ud800", **POINT}, 400),
    ],
)
def test_unpaired_surrogates_are_refused_in_utf8(client, fields, status):
    response = client.post(f"{API}/requests.json", json=fields)
    error(response, status)
    response.data.decode("utf-8")


def test_oversized_body_is_refused(client):
    response = post(client, service_code="repair", **POINT, description="x" * 100_000)
    error(response, 413)


# -- GET requests ---------------------------------------------------------------------------


@pytest.fixture
def history(street, ingest, clock, address):
    """Store four requests over 100 days and return their ids, oldest first."""
    ids = [
        ingest.resident_request(
            "repair", "很久以前", NOW - timedelta(days=100), "app", address.lon, address.lat
        ),
        ingest.resident_request(
            "noise",
            "夜间施工",
            NOW - timedelta(days=10),
            "wechat",
            None,
            None,
            "安图路5号",
            address.id,
        ),
        ingest.resident_request("water", "停水", NOW - timedelta(days=1), "hotline", 121.5, 31.3),
        ingest.resident_request("repair", "灯坏", NOW - timedelta(hours=1), "app", 121.5, 31.3),
    ]
    with street.begin() as conn:
        conn.execute(
            update(schema.ResidentRequest)
            .where(schema.ResidentRequest.id == ids[2])
            .values(status="closed", updated_at=NOW - timedelta(hours=2))
        )
    return ids


def listed(client, query: str = "") -> list[dict]:
    """GET requests.json with a query string and return the list, checking its status."""
    response = client.get(f"{API}/requests.json{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def ids_of(items: list[dict]) -> list[int]:
    """Return the ids of listed requests in order."""
    return [int(item["service_request_id"]) for item in items]


def test_default_window_is_the_last_90_days_newest_first(client, history):
    assert ids_of(listed(client)) == [history[3], history[2], history[1]]


def test_listed_requests_carry_the_standard_fields(client, history, address):
    items = {int(i["service_request_id"]): i for i in listed(client)}
    noise = items[history[1]]
    assert set(noise) == REQUEST_FIELDS
    assert noise["service_name"] == "噪声扰民"
    assert noise["agency_responsible"] == "街道城管中队"
    assert noise["requested_datetime"] == "2026-11-11T08:00:00+08:00"
    assert noise["updated_datetime"] == "2026-11-11T08:00:00+08:00"
    assert noise["address"] == f"{address.road}{address.number}"
    assert noise["address_id"] == str(address.id)
    assert noise["status"] == "open"
    assert noise["status_notes"] is None and noise["zipcode"] is None
    closed = items[history[2]]
    assert closed["status"] == "closed"
    assert closed["updated_datetime"] == "2026-11-21T06:00:00+08:00"
    assert (closed["lat"], closed["long"]) == (31.3, 121.5)
    assert closed["address"] is None and closed["address_id"] is None


def test_listed_requests_in_english(client, history):
    items = listed(client, "?lang=en")
    assert {i["service_name"] for i in items} == {
        "Facility repair",
        "Water supply and drainage",
        "Noise",
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?service_code=repair", [3]),
        ("?service_code=repair,water", [3, 2]),
        ("?service_code=pothole", []),
        ("?status=open", [3, 1]),
        ("?status=closed", [2]),
        ("?status=open,closed", [3, 2, 1]),
        ("?service_code=repair&status=closed", []),
        ("?start_date=2026-11-20T00:00:00%2B08:00", [3, 2]),
        ("?start_date=2026-11-20T00:00:01Z", [3]),
        ("?start_date=2026-11-20T08:00:00 08:00", [3, 2]),  # '+' sent unencoded
        ("?end_date=2026-11-20T08:00:00%2B08:00", [2, 1]),
        ("?end_date=2026-08-20T00:00:00Z", [0]),
        ("?start_date=2026-08-01T00:00:00Z&end_date=2026-08-20T00:00:00Z", [0]),
        ("?start_date=2026-08-13T00:00:00Z", [1, 0]),  # both ends inclusive
        ("?service_request_id={0},{2}", [2, 0]),
        ("?service_request_id={0}&service_code=water&status=open", [0]),
        ("?service_request_id=99999", []),
    ],
)
def test_filters(client, history, query, expected):
    query = query.format(*history)
    assert ids_of(listed(client, query)) == [history[i] for i in expected]


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("?status=pending", "status"),
        ("?start_date=yesterday", "start_date"),
        ("?start_date=2026-11-20", "start_date"),  # a date alone has no zone
        ("?end_date=2026-11-20T08:00:00", "end_date"),
        ("?start_date=2026-11-20T00:00:00Z&end_date=2026-11-19T00:00:00Z", "before"),
        ("?start_date=2026-01-01T00:00:00Z&end_date=2026-11-19T00:00:00Z", "90 days"),
        ("?start_date=9999-12-31T00:00:00Z", "out of range"),
        ("?end_date=0001-01-01T00:00:00%2B00:00", "out of range"),
        ("?start_date=0001-01-01T00:00:00%2B08:00", "out of range"),
        ("?service_request_id=1,abc", "service_request_id"),
        ("?service_request_id=,,", "service_request_id"),
        ("?service_request_id=" + ",".join(str(i) for i in range(1, 300)), "service_request_id"),
    ],
)
def test_filter_errors_name_the_parameter(client, history, query, names):
    assert names in error(client.get(f"{API}/requests.json{query}"), 400)


def test_get_with_another_jurisdiction_is_not_found(client, history):
    assert "jurisdiction_id" in error(
        client.get(f"{API}/requests.json?jurisdiction_id=330104005"), 404
    )
    assert len(listed(client, f"?jurisdiction_id={JURISDICTION}")) == 3
    error(client.get(f"{API}/services.json?jurisdiction_id=x"), 404)


def test_get_one_request(client, history):
    response = client.get(f"{API}/requests/{history[0]}.json")
    assert response.status_code == 200
    (item,) = response.get_json()
    assert item["service_request_id"] == str(history[0])
    assert item["description"] == "很久以前"  # no date window for one id


@pytest.mark.parametrize("request_id", ["99999", "abc", "0", "-1", "99999999999999999999", "1.5"])
def test_get_unknown_request_is_not_found(client, history, request_id):
    assert "service_request_id" in error(client.get(f"{API}/requests/{request_id}.json"), 404)


# -- text and privacy -----------------------------------------------------------------------


def test_description_comes_back_as_json_text_never_html(client):
    text = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    new_id = created_id(post(client, service_code="repair", description=text, **POINT))
    response = client.get(f"{API}/requests/{new_id}.json")
    assert response.content_type == "application/json; charset=utf-8"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert b"<" not in response.data and b">" not in response.data
    assert response.get_json()[0]["description"] == text


def test_returned_address_is_cut_to_the_building(client, street):
    text = "长白新村街道延吉东路88弄7号502室"
    new_id = created_id(post(client, service_code="repair", address_string=text))
    (item,) = client.get(f"{API}/requests/{new_id}.json").get_json()
    assert item["address"] == "长白新村街道延吉东路88弄7号"
    assert "502" not in client.get(f"{API}/requests.json").get_data(as_text=True)


def test_matched_address_is_returned_as_road_and_number(client, address):
    new_id = created_id(
        post(client, service_code="repair", address_id=str(address.id), address_string="3楼302室")
    )
    (item,) = client.get(f"{API}/requests/{new_id}.json").get_json()
    assert item["address"] == f"{address.road}{address.number}"
    assert "302" not in json.dumps(item, ensure_ascii=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("长白路100弄3号502室", "长白路100弄3号"),
        ("长白路100弄3号楼2单元502室", "长白路100弄3号楼"),
        ("长白一村12幢301", "长白一村12幢"),
        ("延吉东路三号楼五楼", "延吉东路三号楼"),
        ("安图路88号", "安图路88号"),
        ("长白新村3单元502室", "长白新村"),
        ("安图路与敦化路路口", "安图路与敦化路路口"),
        ("Yanji Road East, Room 1203", "Yanji Road East"),
        ("502室", None),
        ("   ", None),
    ],
)
def test_building_level_cut(text, expected):
    record = request_store.RequestRecord(
        1, "repair", "", "open", "app", NOW, NOW, None, None, text, None, None, None, None
    )
    assert building_level(record) == expected


# -- properties -------------------------------------------------------------------------------

FIELD_NAMES = st.sampled_from(sorted(READ_FIELDS | PERSONAL_FIELDS)) | st.text(max_size=12)
FIELD_VALUES = (
    st.text(max_size=60)
    | st.sampled_from(sorted(SERVICES_BY_CODE))
    | st.sampled_from(["31.3", "121.5", "-0", "1e309", "nan", "3", "2147483648", JURISDICTION])
    | st.sampled_from(["https://example.com/a.jpg", "http://[::1", "长白新村街道安图路5号"])
    | st.from_regex(r"-?[0-9]{1,3}\.[0-9]{1,8}", fullmatch=True)
)
# JSON escapes can carry unpaired surrogates, which forms cannot.
ODD_TEXT = st.text(st.characters(categories=["Cs", "Cc", "Lo", "Nd"]), max_size=6)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | FIELD_VALUES | ODD_TEXT,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
# Valid requests with at most one field spoiled, so the property reaches the store as well.
VALID = st.fixed_dictionaries(
    {
        "service_code": st.sampled_from(sorted(SERVICES_BY_CODE)),
        "lat": st.floats(31.28, 31.32),
        "long": st.floats(121.48, 121.52),
    },
    optional={
        "description": st.text(max_size=300),
        "address_string": st.text(max_size=80) | st.just("长白新村街道安图路5号"),
        "address_id": st.integers(1, 16),
        "media_url": st.just("https://example.com/p.png"),
        "jurisdiction_id": st.just(JURISDICTION),
        **{name: st.text(max_size=20) for name in sorted(PERSONAL_FIELDS)},
    },
)
FORMS = st.dictionaries(FIELD_NAMES, FIELD_VALUES, max_size=8) | st.builds(
    lambda valid, spoiled: {**{k: str(v) for k, v in valid.items()}, **spoiled},
    VALID,
    st.dictionaries(FIELD_NAMES, FIELD_VALUES, max_size=1),
)
JSON_BODIES = (
    JSON_VALUES
    | st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=8)
    | st.builds(
        lambda valid, spoiled: {**valid, **spoiled},
        VALID,
        st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=1),
    )
)


def check_answer(response) -> None:
    """Check an answer is a creation or a client error in the standard's shape, never a 500."""
    assert response.status_code == 201 or 400 <= response.status_code < 500, response.data
    body = response.get_json()
    if response.status_code == 201:
        assert set(body[0]) == {"service_request_id", "service_notice", "account_id"}
    else:
        assert body == [{"code": response.status_code, "description": body[0]["description"]}]


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fields=FORMS)
def test_any_form_is_created_or_refused_cleanly(client, fields):
    check_answer(post(client, **fields))


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=JSON_BODIES)
def test_any_json_body_is_created_or_refused_cleanly(client, body):
    check_answer(client.post(f"{API}/requests.json", json=body))


# -- masked descriptions ----------------------------------------------------------------------

TYPED = (
    "我是张三，手机139 1234 5678，身份证330104199001010018，邮箱zhang.san@example.com，车沪A·12345"
)


def test_get_masks_personal_data_in_the_description_and_the_store_keeps_it(client, street):
    new_id = created_id(post(client, service_code="repair", description=TYPED, **POINT))
    assert row(street, new_id)["description"] == TYPED
    for path in (f"{API}/requests/{new_id}.json", f"{API}/requests.json"):
        response = client.get(path)
        text = response.get_data(as_text=True)
        for secret in ("1234 5678", "199001010018", "zhang.san", "12345"):
            assert secret not in text
        (item,) = [i for i in response.get_json() if i["service_request_id"] == str(new_id)]
        assert item["description"] == (
            "我是张三，手机139****5678，身份证330104********0018，邮箱z***@example.com，车沪A***45"
        )
        assert "status_notes" in item


def test_get_masks_a_phone_typed_into_the_address(client):
    new_id = created_id(
        post(client, service_code="repair", address_string="安图路5号 13912345678 502室")
    )
    (item,) = client.get(f"{API}/requests/{new_id}.json").get_json()
    assert item["address"] == "安图路5号"
    new_id = created_id(
        post(client, service_code="repair", address_string="电话13912345678找安图路那边")
    )
    (item,) = client.get(f"{API}/requests/{new_id}.json").get_json()
    assert "13912345678" not in json.dumps(item) and "139****5678" in item["address"]


# -- malformed bodies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("[" * 10_000 + "]" * 10_000, "application/json"),
        ('{"a":' * 10_000 + "1" + "}" * 10_000, "application/json"),
        (
            b'{"service_code": "repair", "description": "\xff\xfe", "lat": 31.3, "long": 121.5}',
            "application/json",
        ),
        (b"\xff\xfe\xfd", "application/json"),
        ('["service_code", "repair"]', "application/json"),
        ('"repair"', "application/json"),
        ("null", "application/json"),
        ("", "application/json"),
        (
            b"service_code=repair&lat=31.3&long=121.5&description=\xff\xfe",
            "application/x-www-form-urlencoded",
        ),
        (
            "service_code=repair&lat=31.3&long=121.5&description=%FF%FE",
            "application/x-www-form-urlencoded",
        ),
    ],
)
def test_malformed_bodies_get_400_in_the_standard_shape(client, street, body, content_type):
    response = client.post(f"{API}/requests.json", data=body, content_type=content_type)
    description = error(response, 400)
    assert "JSON" in description or "UTF-8" in description
    with street.connect() as conn:
        assert conn.execute(select(schema.ResidentRequest.id)).first() is None


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_body_over_64_kb_gets_413_with_a_clear_message(client, content_type):
    body = "description=" + "x" * (64 * 1024)
    assert "64 KB" in error(
        client.post(f"{API}/requests.json", data=body, content_type=content_type), 413
    )
    # A chunked body has no length to check up front: it is cut and refused, never read short.
    response = client.post(
        f"{API}/requests.json",
        input_stream=io.BytesIO(b"service_code=repair&lat=31.3&long=121.5&x=" + b"y" * (64 * 1024)),
        content_type=content_type,
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert "64 KB" in error(response, 413)


def test_a_body_just_under_the_limit_is_read(client, street):
    fields = "service_code=repair&lat=31.3&long=121.5&description=ok&pad="
    body = fields + "p" * (64 * 1024 - len(fields))
    response = client.post(
        f"{API}/requests.json", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert row(street, created_id(response))["description"] == "ok"


# -- client apps: api_key, rate limit, audit --------------------------------------------------

KEYS = {"key-of-a": "app-a", "key-of-b": "app-b"}


def configured(street, ingest, clock, *, clients=None, rate_limit="3 per minute", audit=None):
    """Return a test client of an app whose Open311 blueprint has keys, a limiter and audit."""
    app = Flask(__name__)
    app.testing = True
    limiter = make_limiter(app, Settings(redis_url=None))
    app.register_blueprint(
        make_blueprint(
            street,
            ingest,
            clock,
            JURISDICTION,
            clients=clients or {},
            limiter=limiter,
            rate_limit=rate_limit,
            audit=audit,
        )
    )
    return app.test_client()


def test_with_client_apps_a_post_needs_a_known_api_key(street, ingest, clock):
    client = configured(street, ingest, clock, clients=KEYS, rate_limit="100 per minute")
    assert "api_key" in error(post(client, service_code="repair", **POINT), 403)
    assert "api_key" in error(post(client, service_code="repair", api_key="guess", **POINT), 403)
    created_id(post(client, service_code="repair", api_key="key-of-a", **POINT))
    body = {"service_code": "repair", "api_key": "key-of-b", "lat": 31.3, "long": 121.5}
    created_id(client.post(f"{API}/requests.json", json=body))
    # In the query string too, as some clients send it.
    created_id(
        client.post(
            f"{API}/requests.json?api_key=key-of-a", data={"service_code": "repair", **POINT}
        )
    )
    with street.connect() as conn:
        assert len(conn.execute(select(schema.ResidentRequest.id)).all()) == 3
    # Reading stays open to all.
    assert client.get(f"{API}/requests.json").status_code == 200
    assert client.get(f"{API}/services.json").status_code == 200


def test_without_client_apps_a_post_needs_no_key(street, ingest, clock):
    client = configured(street, ingest, clock, rate_limit="100 per minute")
    created_id(post(client, service_code="repair", **POINT))
    created_id(post(client, service_code="repair", api_key="anything", **POINT))


def test_posts_over_the_limit_get_429_per_app_and_per_address(street, ingest, clock):
    client = configured(street, ingest, clock, clients=KEYS)
    for _ in range(3):
        created_id(post(client, service_code="repair", api_key="key-of-a", **POINT))
    refused = post(client, service_code="repair", api_key="key-of-a", **POINT)
    assert "too many" in error(refused, 429)
    assert int(refused.headers["Retry-After"]) > 0
    # Another app has its own count; so has each address without a known key.
    for _ in range(3):
        created_id(post(client, service_code="repair", api_key="key-of-b", **POINT))
    error(post(client, service_code="repair", api_key="key-of-b", **POINT), 429)
    for _ in range(3):
        error(post(client, service_code="repair", api_key="guess", **POINT), 403)
    error(post(client, service_code="repair", api_key="guess", **POINT), 429)
    other = {"REMOTE_ADDR": "10.1.2.3"}
    response = client.post(
        f"{API}/requests.json", data={"service_code": "repair", **POINT}, environ_base=other
    )
    error(response, 403)
    # GET is never counted.
    assert client.get(f"{API}/requests.json").status_code == 200
    with street.connect() as conn:
        assert len(conn.execute(select(schema.ResidentRequest.id)).all()) == 6


def test_malformed_bodies_count_against_the_address_and_never_500(street, ingest, clock):
    client = configured(street, ingest, clock, clients=KEYS, rate_limit="2 per minute")
    deep = "[" * 10_000 + "]" * 10_000
    for _ in range(2):
        error(client.post(f"{API}/requests.json", data=deep, content_type="application/json"), 400)
    error(client.post(f"{API}/requests.json", data=deep, content_type="application/json"), 429)
    big = "x" * (70 * 1024)
    error(client.post(f"{API}/requests.json", data=big, content_type="application/json"), 429)


def test_each_accepted_post_is_audited_with_its_app(street, ingest, clock):
    audit = AuditLog(street, clock)
    client = configured(
        street, ingest, clock, clients=KEYS, rate_limit="100 per minute", audit=audit
    )
    first = created_id(post(client, service_code="repair", api_key="key-of-a", **POINT))
    error(post(client, service_code="repair", **POINT), 403)
    error(post(client, service_code="pothole", api_key="key-of-b", **POINT), 404)
    rows = audit.search(AuditQuery(action="open311_post"))
    assert [(r["actor"], r["record_type"], r["record_id"], r["source_ip"]) for r in rows] == [
        ("open311:app-a", "request", str(first), "127.0.0.1")
    ]
    open_client = configured(street, ingest, clock, rate_limit="100 per minute", audit=audit)
    second = created_id(post(open_client, service_code="noise", **POINT))
    latest = audit.search(AuditQuery(action="open311_post"))[0]
    assert (latest["actor"], latest["record_id"]) == ("open311:anonymous", str(second))
