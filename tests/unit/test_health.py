"""Check GET /healthz: the published source health, 200 whatever the sources' state."""

from __future__ import annotations

import functools
import logging
from datetime import UTC, datetime

import pytest
from flask import Flask

from cockpit.health import make_health_blueprint
from cockpit.live import InProcessLiveStore, LiveStoreError
from cockpit.panels import SOURCE_HEALTH, source_health
from cockpit.viewmodels import ViewModelPublisher, read_view

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def client_for(reader):
    """Return a Flask test client of an app serving only the health blueprint."""
    app = Flask(__name__)
    app.register_blueprint(make_health_blueprint(reader))
    return app.test_client()


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


def test_answers_starting_before_anything_is_published(live):
    response = client_for(functools.partial(read_view, live)).get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "starting", "sources": []}


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
    assert len(caplog.records) == 1, "an unreachable cache is logged once, not on every probe"


def test_head_and_other_paths(live):
    client = client_for(functools.partial(read_view, live))
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
