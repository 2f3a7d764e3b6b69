"""Check readiness on the real servers: a stopped worker or a cut database turns /ready 503."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial

import pytest
from flask import Flask
from sqlalchemy.engine import make_url

from cockpit.alerts import AlertBook
from cockpit.clock import ManualClock
from cockpit.health import DatabaseProbe, make_health_blueprint, sql_ping
from cockpit.heartbeat import WORKER_HEARTBEAT
from cockpit.live import RedisLiveStore
from cockpit.rules.config import load_rules_config
from cockpit.settings import Settings
from cockpit.simulator.generator import seed_street
from cockpit.store.database import make_engine
from cockpit.viewmodels import read_view
from cockpit.worker import build_worker
from tests.conftest import REDIS_URL
from tests.streets import tiny_tier
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration
START = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
INTERVAL_S = 1.0  # long enough that a busy machine reads ready before the views age out
AFTER_INTERVALS = 2.0


class WorkerThread:
    """Run the full view-model worker on a thread, as `cockpit worker` runs it in its process."""

    def __init__(self, engine, live) -> None:
        settings = Settings(live_poll_seconds=INTERVAL_S, redis_url=REDIS_URL)
        clock = ManualClock(START)
        self.worker = build_worker(
            engine, live, clock, AlertBook(engine, live), load_rules_config(), settings
        )
        self.stop_event = threading.Event()
        self.thread = threading.Thread(
            target=self.worker.run, args=(self.stop_event, INTERVAL_S), daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        """Stop the worker as a kill would: it publishes nothing more."""
        self.stop_event.set()
        self.thread.join(10)


def poll(
    ask: Callable[[], tuple[int, dict]],
    until: Callable[[int, dict], bool],
    timeout: float = 30,
):
    """Ask until the status satisfies `until`; return every (status, body) seen, the last matching."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = ask()
        seen.append((status, body))
        if until(status, body):
            return seen
        time.sleep(0.02)
    raise AssertionError(f"no matching answer within {timeout} s; last: {seen[-1]}")


@pytest.fixture
def street(postgres_engine, redis_client, street_code) -> Iterator[tuple]:
    """Return (engine, the worker's live store, a web process's own live store) on a tiny street."""
    seed_street(postgres_engine, tiny_tier(), 21, (121.5, 31.3))
    live = RedisLiveStore(redis_client, street_code)
    web_live = RedisLiveStore.from_url(REDIS_URL, street_code)
    try:
        yield postgres_engine, live, web_live
    finally:
        live.clear()


def web_client(web_live, database: DatabaseProbe):
    """Return a test client of a web process's health blueprint, reading only Redis."""
    app = Flask(__name__)
    app.register_blueprint(
        make_health_blueprint(
            partial(read_view, web_live),
            ping_cache=web_live.ping,
            database=database,
            ready_after_intervals=AFTER_INTERVALS,
            default_interval_s=INTERVAL_S,
        )
    )
    client = app.test_client()

    def ask() -> tuple[int, dict]:
        response = client.get("/healthz/ready")
        return response.status_code, response.get_json()

    return client, ask


def test_a_stopped_worker_makes_ready_fail_within_two_cycles_and_a_new_one_mends_it(street):
    engine, live, web_live = street
    client, ask = web_client(web_live, DatabaseProbe(sql_ping(engine), cache_s=0.5))
    first = WorkerThread(engine, live)
    try:
        seen = poll(ask, lambda status, _: status == 200)
        # A few ticks past the cold first one, so the limit reflects the worker's usual cycle.
        poll(lambda: (first.worker.heartbeat.ticks, {}), lambda ticks, _: ticks >= 4)
    finally:
        first.stop()
    beat = read_view(web_live, WORKER_HEARTBEAT)
    assert beat["interval_s"] == INTERVAL_S and beat["ticks"] >= 2
    assert seen[-1][1]["checks"]["worker"]["pid"] == beat["pid"]

    seen = poll(ask, lambda status, _: status == 503)
    (last_ready, ready_body), (_, failed_body) = seen[-2], seen[-1]
    assert last_ready == 200, "ready until the models aged past the limit, not a moment before"
    # The limit is two of the worker's own cycles: its interval plus its slowest recent tick.
    limit = failed_body["stale_after_s"]
    assert limit == round(AFTER_INTERVALS * (INTERVAL_S + beat["slowest_tick_s"]), 2)
    failed = failed_body["failed"]
    assert failed and set(failed) <= {"worker", "view_models"}, failed
    for name in failed:  # it turned the moment the age passed the limit
        assert ready_body["checks"][name]["age_s"] <= limit < failed_body["checks"][name]["age_s"]
    seen = poll(ask, lambda status, body: len(body["failed"]) == 2)
    assert seen[-1][1]["failed"] == ["worker", "view_models"]
    summary = client.get("/healthz").get_json()
    assert summary["status"] == "stale" and {s["state"] for s in summary["sources"]} == {"stale"}

    second = WorkerThread(engine, live)  # a new worker process, as systemd would start one
    try:
        seen = poll(ask, lambda status, _: status == 200)
        assert seen[-1][1]["failed"] == []
        assert read_view(web_live, WORKER_HEARTBEAT)["started_wall"] > beat["started_wall"]
        assert client.get("/healthz").get_json()["status"] == "ok"
    finally:
        second.stop()


def test_a_cut_database_is_named_by_ready_and_mended_when_it_answers(street, postgres_url):
    engine, live, web_live = street
    url = make_url(postgres_url)
    proxy = TcpProxy(url.host, url.port)
    web_engine = make_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(False))
    worker = WorkerThread(engine, live)  # the worker's own line stays up: only the web's is cut
    try:
        _, ask = web_client(web_live, DatabaseProbe(sql_ping(web_engine), cache_s=0.1))
        poll(ask, lambda status, _: status == 200)
        proxy.cut()
        seen = poll(ask, lambda status, _: status == 503)
        assert seen[-1][1]["failed"] == ["database"]
        assert seen[-1][1]["checks"]["database"]["detail"].startswith("OperationalError")
        proxy.restore()
        poll(ask, lambda status, _: status == 200)
    finally:
        worker.stop()
        proxy.close()
        web_engine.dispose()


def test_a_bad_database_url_is_named_by_ready(street):
    _, live, web_live = street
    refused = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    live.set_view(WORKER_HEARTBEAT, b'{"beat_wall": 0}')
    _, ask = web_client(web_live, DatabaseProbe(sql_ping(refused)))
    status, body = ask()
    assert status == 503 and "database" in body["failed"]
    assert (
        "127.0.0.1" in body["checks"]["database"]["detail"]
        or "refused" in (body["checks"]["database"]["detail"])
    )
