"""Check /healthz, /healthz/live and /healthz/ready: health that tells the truth, with fakes."""

from __future__ import annotations

import functools
import logging
import threading
from datetime import UTC, datetime

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from cockpit.health import DatabaseProbe, make_health_blueprint, readiness_checks
from cockpit.heartbeat import (
    TICK_WINDOW,
    WORKER_HEARTBEAT,
    HeartbeatWriter,
    parse_heartbeat,
    stale_limit_s,
)
from cockpit.live import InProcessLiveStore, LiveStoreError
from cockpit.panels import SOURCE_HEALTH, source_health
from cockpit.viewmodels import ViewModelPublisher, read_view

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
WALL = 1_800_000_000.0  # the fake wall clock's "now", in epoch seconds
OK_SOURCES = [
    {"name": "registry", "state": "ok", "age_s": 2.0, "error": None},
    {"name": "live", "state": "ok", "age_s": 0.5, "error": None},
]


def client_for(reader, **options):
    """Return a Flask test client of an app serving only the health blueprint."""
    app = Flask(__name__)
    app.register_blueprint(make_health_blueprint(reader, **options))
    return app.test_client()


def fake_views(
    model_age: float | None = 0.5,
    beat_age: float | None = 0.5,
    sources=OK_SOURCES,
    interval_s: float = 1.0,
    slowest_tick_s: float = 0.0,
) -> dict:
    """Return the views a reader serves: source health and heartbeat of the given ages."""
    views: dict = {}
    if model_age is not None:
        views[SOURCE_HEALTH] = source_health(sources, {}) | {"published_wall": WALL - model_age}
    if beat_age is not None:
        views[WORKER_HEARTBEAT] = {
            "pid": 4242,
            "host": "worker-host",
            "interval_s": interval_s,
            "slowest_tick_s": slowest_tick_s,
            "beat_wall": WALL - beat_age,
        }
    return views


def fake_client(views: dict, **options):
    """Return a client on the fake views, with the fake wall clock."""
    return client_for(views.get, wall=lambda: WALL, **options)


@pytest.fixture
def live() -> InProcessLiveStore:
    """Return an empty in-process live store."""
    return InProcessLiveStore()


def test_serves_the_published_source_health(live):
    health = [
        {"name": "registry", "state": "ok", "age_s": 2.0, "error": None},
        {"name": "live", "state": "down", "age_s": None, "error": "Redis: connection refused"},
    ]
    ViewModelPublisher(live).publish(
        SOURCE_HEALTH, source_health(health, {"rejected:ts:missing": 4}), NOW
    )
    HeartbeatWriter(live).beat(0.01, 1.0)
    response = client_for(functools.partial(read_view, live)).get("/healthz")
    assert response.status_code == 200, "a source being down is content, not an HTTP error"
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["status"] == "degraded"
    assert [(s["name"], s["state"]) for s in body["sources"]] == [
        ("registry", "ok"),
        ("live", "down"),
    ]
    assert body["rejected"] == {"total": 4, "by_reason": {"ts:missing": 4}}
    assert body["version"] and body["generated_at"] == NOW.isoformat()
    assert 0 <= body["model_age_s"] < 60 and "published_wall" not in body
    assert body["worker"]["pid"] > 0 and body["stale_after_s"] == 2.0


def test_answers_starting_before_anything_is_published(live):
    response = client_for(functools.partial(read_view, live)).get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["sources"], body["ready"]) == ("starting", [], False)
    assert client_for(functools.partial(read_view, live)).get("/healthz/ready").status_code == 503


def test_answers_200_when_the_view_cache_is_unreachable(caplog):
    calls = []

    def broken(name):
        calls.append(name)
        raise LiveStoreError("Redis: connection refused")

    client = client_for(broken)
    with caplog.at_level(logging.WARNING, logger="cockpit.health"):
        first = client.get("/healthz")
        client.get("/healthz")
    assert calls == [SOURCE_HEALTH, SOURCE_HEALTH]
    assert first.status_code == 200
    assert first.get_json()["status"] == "unknown" and first.get_json()["sources"] == []
    cache_lines = [r for r in caplog.records if "cannot read" in r.getMessage()]
    assert len(cache_lines) == 1, "an unreachable cache is logged once, not on every probe"
    ready = client.get("/healthz/ready")
    assert ready.status_code == 503
    assert ready.get_json()["failed"] == ["view_cache", "worker", "view_models"]


def test_head_and_other_paths(live):
    client = client_for(functools.partial(read_view, live))
    for path in ("/healthz", "/healthz/live", "/healthz/ready"):
        assert client.head(path).status_code in (200, 503)
        assert client.post(path).status_code == 405


def test_live_answers_200_whatever_else_is_down():
    def broken(_name):
        raise LiveStoreError("Redis: connection refused")

    database = DatabaseProbe(lambda: (_ for _ in ()).throw(OSError("refused")))
    response = client_for(broken, database=database, mqtt_configured=True).get("/healthz/live")
    assert response.status_code == 200
    assert response.get_json() == {"status": "live"}
    assert response.headers["Cache-Control"] == "no-store"


def test_ready_when_every_check_passes():
    database = DatabaseProbe(lambda: None)
    response = fake_client(fake_views(), database=database).get("/healthz/ready")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ready" and body["failed"] == []
    assert set(body["checks"]) == {"view_cache", "worker", "view_models", "database"}
    assert body["checks"]["worker"]["pid"] == 4242
    assert response.headers["Cache-Control"] == "no-store"


def test_a_dead_worker_makes_ready_503_and_the_summary_stale():
    # The worker (1 s interval) stopped 2.5 s ago: past two cycles, its views are stale.
    client = fake_client(fake_views(model_age=2.5, beat_age=2.5))
    ready = client.get("/healthz/ready")
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["failed"] == ["worker", "view_models"]
    assert "gone or stuck" in body["checks"]["worker"]["detail"]
    assert "older than 2 s" in body["checks"]["view_models"]["detail"]
    summary = client.get("/healthz").get_json()
    assert summary["status"] == "stale" and summary["ready"] is False
    assert {s["state"] for s in summary["sources"]} == {"stale"}
    assert {s["reported_state"] for s in summary["sources"]} == {"ok"}


def test_no_heartbeat_is_not_ready_even_with_young_views():
    response = fake_client(fake_views(beat_age=None)).get("/healthz/ready")
    assert response.status_code == 503
    assert response.get_json()["failed"] == ["worker"]
    assert "no heartbeat" in response.get_json()["checks"]["worker"]["detail"]


def test_a_slow_worker_gets_cycles_as_long_as_its_slowest_tick():
    # Interval 1 s and a slowest tick of 1.5 s: a cycle is 2.5 s, two of them 5 s.
    views = fake_views(model_age=4.0, beat_age=4.0, slowest_tick_s=1.5)
    assert fake_client(views).get("/healthz/ready").status_code == 200
    views = fake_views(model_age=5.5, beat_age=5.5, slowest_tick_s=1.5)
    assert fake_client(views).get("/healthz/ready").status_code == 503


def test_the_broker_is_checked_when_mqtt_is_configured():
    down = [*OK_SOURCES, {"name": "mqtt", "state": "down", "error": "no connection to broker"}]
    response = fake_client(fake_views(sources=down)).get("/healthz/ready")
    assert response.status_code == 503, "a reported bridge counts even if the web has no URL"
    assert response.get_json()["failed"] == ["broker"]
    assert "no connection to broker" in response.get_json()["checks"]["broker"]["detail"]
    summary = fake_client(fake_views(sources=down)).get("/healthz").get_json()
    assert summary["status"] == "degraded"
    missing = fake_client(fake_views(), mqtt_configured=True).get("/healthz/ready")
    assert missing.status_code == 503 and missing.get_json()["failed"] == ["broker"]
    up = [*OK_SOURCES, {"name": "mqtt", "state": "ok", "error": None}]
    assert (
        fake_client(fake_views(sources=up), mqtt_configured=True).get("/healthz/ready").status_code
        == 200
    )
    assert "broker" not in fake_client(fake_views()).get("/healthz/ready").get_json()["checks"]


def test_a_database_that_does_not_answer_is_named():
    def refuse():
        raise OSError("connection refused")

    client = fake_client(fake_views(), database=DatabaseProbe(refuse))
    response = client.get("/healthz/ready")
    assert response.status_code == 503
    body = response.get_json()
    assert body["failed"] == ["database"]
    assert "OSError: connection refused" in body["checks"]["database"]["detail"]
    summary = client.get("/healthz").get_json()
    assert summary["status"] == "degraded", "sources are fresh: degraded, not stale"
    assert {s["state"] for s in summary["sources"]} == {"ok"}


def test_the_database_probe_is_cached_and_never_waits_past_its_timeout():
    now = [0.0]
    calls = []
    probe = DatabaseProbe(lambda: calls.append(1), cache_s=2.0, monotonic=lambda: now[0])
    assert probe.check() == (True, "answers SELECT 1")
    for _ in range(50):
        probe.check()
    assert len(calls) == 1, "monitors hammering /ready cost the database one probe per period"
    now[0] = 2.5
    probe.check()
    assert len(calls) == 2

    release = threading.Event()
    hanging = DatabaseProbe(lambda: release.wait(10), timeout_s=0.05)
    try:
        ok, detail = hanging.check()
        assert not ok and "within 0.05 s" in detail
        started = threading.active_count()
        hanging.check()
        assert threading.active_count() == started, "one probe at a time, not one per request"
    finally:
        release.set()


def test_the_ready_log_says_each_change_once(caplog):
    views = fake_views(model_age=9, beat_age=9)
    client = fake_client(views)
    with caplog.at_level(logging.INFO, logger="cockpit.health"):
        for _ in range(5):
            client.get("/healthz/ready")
        views.update(fake_views())
        for _ in range(5):
            client.get("/healthz/ready")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith("not ready: worker:") and messages[1] == "ready again"


@given(
    cache_ok=st.booleans(),
    model_age=st.none() | st.floats(0, 30),
    beat_age=st.none() | st.floats(0, 30),
    interval=st.floats(0.1, 5),
    slowest=st.floats(0, 5),
    after=st.floats(1, 5),
    mqtt_configured=st.booleans(),
    mqtt_state=st.none() | st.sampled_from(["ok", "down", "stale"]),
    database=st.none() | st.booleans(),
)
def test_ready_iff_every_check_passes(
    cache_ok, model_age, beat_age, interval, slowest, after, mqtt_configured, mqtt_state, database
):
    sources = list(OK_SOURCES)
    if mqtt_state is not None:
        sources.append({"name": "mqtt", "state": mqtt_state, "error": None})
    views = fake_views(model_age, beat_age, sources, interval, slowest) if cache_ok else {}
    beat = views.get(WORKER_HEARTBEAT)
    limit = stale_limit_s(beat, after, 1.0)
    checks = readiness_checks(
        WALL,
        limit,
        None if cache_ok else "unreachable",
        views.get(SOURCE_HEALTH),
        beat,
        None if database is None else (database, "x"),
        mqtt_configured,
    )
    cycle = (interval if beat else 1.0) + (slowest if beat else 0.0)

    def young(age):
        # As a monitor reads it: to a tenth of a second, on the wall clock's own arithmetic.
        return age is not None and round(max(0.0, WALL - (WALL - age)), 1) <= limit

    expected = (
        cache_ok
        and young(model_age)
        and young(beat_age)
        and (mqtt_state == "ok" if (mqtt_configured or mqtt_state) else True)
        and database is not False
    )
    assert all(c["ok"] for c in checks.values()) == expected
    assert limit == pytest.approx(after * cycle, abs=0.01)
    assert {"view_cache", "worker", "view_models"} <= checks.keys()
    assert ("database" in checks) == (database is not None)


def test_the_heartbeat_leaves_out_the_cold_first_tick_and_keeps_the_slowest(live):
    writer = HeartbeatWriter(live, wall=lambda: WALL, pid=7, host="h")
    first = writer.beat(9.0, 1.0)
    assert first["slowest_tick_s"] == 0.0 and first["tick_s"] == 9.0
    writer.beat(0.2, 1.0)
    writer.beat(0.7, 1.0)
    beat = parse_heartbeat(live.get_view(WORKER_HEARTBEAT))
    assert beat == beat | {"pid": 7, "host": "h", "interval_s": 1.0, "slowest_tick_s": 0.7}
    assert beat["ticks"] == 3 and beat["beat_wall"] == WALL
    for _ in range(TICK_WINDOW):
        writer.beat(0.1, 1.0)
    assert writer.beat(0.1, 1.0)["slowest_tick_s"] == 0.1, "a slow tick an hour ago ages out"
    assert stale_limit_s(None, 2, 1.5) == 3.0
    assert stale_limit_s({"interval_s": 0.5, "slowest_tick_s": 0.25}, 3, 9) == 2.25
    assert parse_heartbeat(b"not json") is None and parse_heartbeat(b"[1]") is None


def test_the_summary_always_carries_the_worker_check_the_compose_healthcheck_reads():
    # docs/deploy/compose.yaml: the worker is healthy while /healthz says checks.worker.ok.
    def broken(_name):
        raise LiveStoreError("Redis: connection refused")

    answers = {
        "fresh": fake_client(fake_views()).get("/healthz").get_json(),
        "dead": fake_client(fake_views(model_age=30, beat_age=30)).get("/healthz").get_json(),
        "starting": fake_client({}).get("/healthz").get_json(),
        "unknown": client_for(broken).get("/healthz").get_json(),
    }
    assert {name: body["checks"]["worker"]["ok"] for name, body in answers.items()} == {
        "fresh": True,
        "dead": False,
        "starting": False,
        "unknown": False,
    }
    assert [answers[n]["status"] for n in answers] == ["ok", "stale", "starting", "unknown"]


def test_a_public_answer_names_no_server_address_nor_worker_host():
    from cockpit.health import without_addresses

    said = 'connection to server at "10.1.2.3", port 5432 failed: FATAL: role "cockpit"'
    assert "10.1.2.3" not in without_addresses(said) and "5432" not in without_addresses(said)
    assert "cockpit" not in without_addresses(said) and "failed" in without_addresses(said)
    assert without_addresses("connection refused") == "connection refused"


def test_no_health_answer_names_the_workers_host():
    database = DatabaseProbe(lambda: None)
    client = fake_client(fake_views(), database=database)
    for path in ("/healthz", "/healthz/ready"):
        assert b"worker-host" not in client.get(path).data, path
