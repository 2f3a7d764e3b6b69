"""Time smoke alarms from MQTT to a wall's ticker in Chromium, on a production-shaped cockpit; prints, never asserts.

`cockpit worker` (with its MQTT bridge) and gunicorn run on a scratch street, Redis and the real
Mosquitto (cockpit.bench.screens.production_cockpit); a headless Chromium wall is signed in by
its kiosk link. Each event is one smoke detector's alarm published with QoS 1 as a device would;
it is on screen when the wall's ticker holds an item for the alert it raised. The store's alert
row tells which alert that is, and when the rules wrote it (the part of the wait before the
screens had anything to show).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from cockpit.bench.browser import in_chromium
from cockpit.bench.screens import production_cockpit

Say = Callable[[str], None]
EVENTS = 20
# The ticker draws each alert as a button carrying its id (assets/cockpit.js, ticker).
ON_TICKER = (
    'id => !!document.querySelector(`#alert-ticker [data-pick=\'{"kind":"alert","id":"${id}"}\']`)'
)


def bench_events(
    scale: str = "s-street",
    redis_url: str = "redis://127.0.0.1:6379/0",
    mqtt_url: str = "mqtt://127.0.0.1:1883",
    events: int = EVENTS,
    every_s: float = 2.0,
    browser: Any = None,
    say: Say = print,
) -> dict[str, float]:
    """Print smoke alarm to wall ticker p50/p95 (and to the stored alert), over `events` alarms.

    `browser` is a Playwright browser to open the wall in (a test's); without one, Chromium is
    started for the run.
    """
    if browser is None:
        return in_chromium(
            lambda own: bench_events(
                scale, redis_url, mqtt_url, events, every_s, browser=own, say=say
            )
        )
    with production_cockpit(scale, redis_url, 64, say, mqtt_url=mqtt_url) as cockpit:
        detectors = _smoke_detectors(cockpit.database_url, events)
        context = browser.new_context(viewport={"width": 1920, "height": 1080})
        try:
            page = context.new_page()
            page.goto(f"{cockpit.url}kiosk?token={cockpit.token}")
            page.wait_for_function(
                "() => document.documentElement.getAttribute('data-push') === 'on'",
                timeout=120_000,
            )
            time.sleep(3)  # the wall's first refreshes land
            waits, stored = _play(page, cockpit, mqtt_url, detectors, every_s)
        finally:
            context.close()
    figures = {
        "events": len(waits),
        "p50_ms": statistics.median(waits),
        "p95_ms": statistics.quantiles(waits, n=20)[-1] if len(waits) >= 20 else max(waits),
        "max_ms": max(waits),
        "stored_p50_ms": statistics.median(stored),
    }
    say(
        f"smoke alarm (MQTT) to the wall's ticker in Chromium, {figures['events']} events: "
        f"p50 {figures['p50_ms']:.0f} ms, p95 {figures['p95_ms']:.0f} ms, max "
        f"{figures['max_ms']:.0f} ms; the alert stored after p50 {figures['stored_p50_ms']:.0f} ms"
    )
    return figures


def _play(
    page: Any, cockpit: Any, mqtt_url: str, detectors: list[int], every_s: float
) -> tuple[list[float], list[float]]:
    """Publish one alarm per detector; return ms to the ticker and to the stored alert, each."""
    import paho.mqtt.client as mqtt
    from sqlalchemy import select

    from cockpit.store import schema
    from cockpit.store.database import make_engine

    address = urlsplit(mqtt_url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-{time.time_ns()}")
    client.connect(address.hostname or "127.0.0.1", address.port or 1883)
    client.loop_start()
    engine = make_engine(cockpit.database_url)
    waits, stored = [], []
    try:
        for seq, detector in enumerate(detectors, start=1):
            topic = f"cockpit/{cockpit.street_code}/smoke/{detector}/reading"
            payload = {"ts": datetime.now(UTC).isoformat(), "seq": seq, "values": {"alarm": True}}
            sent = time.monotonic()
            client.publish(topic, orjson.dumps(payload), qos=1).wait_for_publish(10)
            alert_id = None
            while alert_id is None and time.monotonic() - sent < 30:
                with engine.connect() as conn:
                    alert_id = conn.execute(
                        select(schema.Alert.id).where(
                            schema.Alert.object_id == detector, schema.Alert.kind == "fire.smoke"
                        )
                    ).scalar()
                if alert_id is None:
                    time.sleep(0.005)
            if alert_id is None:
                raise RuntimeError(f"detector {detector}'s alarm raised no alert in 30 s")
            stored.append((time.monotonic() - sent) * 1000)
            page.wait_for_function(ON_TICKER, arg=alert_id, timeout=30_000, polling="raf")
            waits.append((time.monotonic() - sent) * 1000)
            time.sleep(every_s)
    finally:
        client.loop_stop()
        client.disconnect()
        engine.dispose()
    return waits, stored


def _smoke_detectors(database_url: str, count: int) -> list[int]:
    """Return `count` smoke detectors of the street, spread over it."""
    from sqlalchemy import select

    from cockpit.store import schema
    from cockpit.store.database import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            ids = (
                conn.execute(
                    select(schema.Device.id)
                    .where(schema.Device.kind == "smoke")
                    .order_by(schema.Device.id)
                )
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    if len(ids) < count:
        raise RuntimeError(f"the street has {len(ids)} smoke detectors, {count} asked")
    step = len(ids) // count
    return [ids[i * step] for i in range(count)]
