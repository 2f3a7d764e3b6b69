"""Run the MQTT-to-screen bench once: alarms through Mosquitto, the worker and gunicorn to a wall."""

from __future__ import annotations

import pytest

from cockpit.bench.events import bench_events
from tests.conftest import REDIS_URL, require_server

pytestmark = pytest.mark.browser


def test_the_events_bench_times_smoke_alarms_from_mqtt_to_the_walls_ticker(browser):
    """A bench that breaks fails here; its figures are not asserted, only that each alarm went
    all the way: published to the real Mosquitto, raised by the worker, drawn on the ticker."""
    require_server("Redis", "127.0.0.1", 6379)
    require_server("Mosquitto", "127.0.0.1", 1883)
    said: list[str] = []
    figures = bench_events(
        "changbai", REDIS_URL, events=3, every_s=0.5, browser=browser, say=said.append
    )
    assert figures["events"] == 3
    assert 0 < figures["stored_p50_ms"] <= figures["p50_ms"] <= figures["max_ms"]
    assert said[-1].startswith("smoke alarm (MQTT) to the wall's ticker in Chromium, 3 events")
