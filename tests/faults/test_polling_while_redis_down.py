"""Poll a served cockpit from 100 clients at once while its Redis is dead, then bring Redis back."""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests
from werkzeug.serving import make_server

from cockpit.access.policy import Role
from cockpit.clock import local_day
from cockpit.settings import Settings
from cockpit.simulator.generator import seed_street
from cockpit.store.database import make_engine, migrate
from tests.private_servers import PrivateRedis
from tests.streets import tiny_tier

pytestmark = pytest.mark.integration
CLIENTS = 100
REFRESH = {
    "output": None,  # filled from the app's own dependency list
    "inputs": [{"id": "refresh-interval", "property": "n_intervals", "value": 1}],
    "state": [
        {"id": "view-versions", "property": "data", "value": {}},
        {"id": "page-profile", "property": "data", "value": {"mode": "wall"}},
    ],
    "changedPropIds": ["refresh-interval.n_intervals"],
}


def refresh_body(base: str, cookies) -> dict:
    """Return the refresh callback's request body, its output named as the app names it."""
    from dash._utils import split_callback_id

    for dep in requests.get(f"{base}/_dash-dependencies", cookies=cookies, timeout=10).json():
        if not dep.get("clientside_function") and dep["inputs"][0]["id"] == "refresh-interval":
            return REFRESH | {"output": dep["output"], "outputs": split_callback_id(dep["output"])}
    raise AssertionError("no refresh callback")


def burst(base: str, cookies, body: dict) -> list[tuple[str, int, float]]:
    """Send CLIENTS requests at once (half /healthz, half the refresh); return what each got."""
    start = threading.Barrier(CLIENTS)

    def one(i: int) -> tuple[str, int, float]:
        start.wait()
        began = time.perf_counter()
        if i % 2:
            answer = requests.get(f"{base}/healthz", timeout=20)
            kind = "healthz"
        else:
            answer = requests.post(
                f"{base}/_dash-update-component", json=body, cookies=cookies, timeout=20
            )
            kind = "refresh"
        return kind, answer.status_code, time.perf_counter() - began

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(one, range(CLIENTS)))


def figures(results: list[tuple[str, int, float]], kind: str) -> str:
    """Describe the latencies of one kind of request, for the log (never asserted)."""
    took = sorted(t * 1000 for k, _, t in results if k == kind)
    p95 = took[int(len(took) * 0.95) - 1]
    return f"{kind}: n={len(took)} p50={statistics.median(took):.0f} ms p95={p95:.0f} ms max={took[-1]:.0f} ms"


def test_a_hundred_clients_polling_while_redis_is_down_get_quick_answers_and_no_errors(
    fault, tmp_path
):
    fault(
        "100 clients polling while Redis is down",
        "every poll answers (stale or unknown, never a 500), no thread pile-up, the process "
        "stays healthy and serves fresh data once Redis is back",
    )
    from app import create_app
    from cockpit.runtime import Runtime

    engine = make_engine(f"sqlite:///{tmp_path / 'cockpit.db'}")
    migrate(engine)
    seed_street(engine, tiny_tier(), 61, (121.5, 31.28), as_of=local_day(datetime.now(UTC)))
    engine.dispose()
    with PrivateRedis() as redis_server:
        settings = Settings(
            data_dir=tmp_path,
            simulate=False,
            embedded_worker=False,
            auto_seed=False,
            scale="changbai",
            redis_url=redis_server.url,
        )
        runtime = Runtime.open(settings)
        app = create_app(settings, runtime)
        server = make_server("127.0.0.1", 0, app.server, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        try:
            worker = runtime.make_worker()
            worker.tick()
            wall = requests.Session()
            token = runtime.accounts.add("fault-wall", Role.KIOSK)
            assert wall.get(f"{base}/kiosk", params={"token": token}, timeout=10).ok
            cookies = wall.cookies.get_dict()
            body = refresh_body(base, cookies)
            fresh = requests.post(
                f"{base}/_dash-update-component", json=body, cookies=cookies, timeout=10
            )
            assert fresh.status_code == 200 and "overview" in fresh.text

            redis_server.kill()
            threads_before = threading.active_count()
            results = burst(base, cookies, body)
            print(f"\n[redis down] {figures(results, 'healthz')}; {figures(results, 'refresh')}")
            statuses = {(kind, status) for kind, status, _ in results}
            assert all(status != 500 for _, status in statuses), statuses
            assert {s for k, s in statuses if k == "refresh"} <= {200, 204}, statuses
            assert {s for k, s in statuses if k == "healthz"} <= {200, 503}, statuses
            # The pool's threads end with the burst; the server must not keep any stuck on Redis.
            deadline = time.monotonic() + 10
            while threading.active_count() > threads_before + 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert threading.active_count() <= threads_before + 2, threading.enumerate()
            down = requests.get(f"{base}/healthz", timeout=10)
            assert down.status_code in (200, 503) and down.json()["status"] != "ok"

            redis_server.start()  # back, and empty
            worker.tick()
            back = requests.post(
                f"{base}/_dash-update-component", json=body, cookies=cookies, timeout=10
            )
            assert back.status_code == 200 and "overview" in back.text
            results = burst(base, cookies, body)
            print(f"[redis back] {figures(results, 'healthz')}; {figures(results, 'refresh')}")
            assert {status for _, status, _ in results} <= {200, 503}
        finally:
            server.shutdown()
            runtime.stop()
