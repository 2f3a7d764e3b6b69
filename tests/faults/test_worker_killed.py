"""Kill `cockpit worker` with SIGKILL: readiness fails, the wall says stale, both recover."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cockpit.heartbeat import WORKER_HEARTBEAT
from tests.browser.conftest import CHROMIUM, ROOT, CockpitServer, screenshot
from tests.faults.own_thread import on_own_thread
from tests.private_servers import PrivateRedis

pytestmark = pytest.mark.integration
INTERVAL_S = 0.5


def ready(server: CockpitServer) -> tuple[int, dict]:
    """Return /healthz/ready's status and body."""
    try:
        with urllib.request.urlopen(server.url + "healthz/ready", timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def last_heartbeat(server: CockpitServer) -> dict:
    """Return the worker's last heartbeat as the web reads it from the private Redis."""
    import redis

    client = redis.Redis.from_url(server.env["COCKPIT_REDIS_URL"])
    try:
        keys = list(client.scan_iter(f"cockpit:*:view:{WORKER_HEARTBEAT}"))
        assert len(keys) == 1, keys
        return json.loads(client.get(keys[0]))
    finally:
        client.close()


def wait_for(check: Callable[[], object], what: str, timeout: float = 60) -> object:
    """Return check()'s first truthy answer, polling; fail naming `what` after the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = check()
        if answer:
            return answer
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


class WorkerProcess:
    """Run `cockpit worker` as production does, in a process group of its own."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the worker process."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cockpit.cli", "worker"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL the worker: no goodbye, nothing flushed, exactly a crash."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


@pytest.fixture
def production(tmp_path) -> Iterator[tuple[CockpitServer, WorkerProcess]]:
    """Return a web process without an embedded worker and a `cockpit worker`, on a private Redis."""
    with PrivateRedis() as redis_server:
        server = CockpitServer(
            tmp_path,
            COCKPIT_SCALE="changbai",
            COCKPIT_EMBEDDED_WORKER="false",
            COCKPIT_REDIS_URL=redis_server.url,
            COCKPIT_REFRESH_MS="500",
            COCKPIT_LIVE_POLL_SECONDS=str(INTERVAL_S),
        )
        worker = WorkerProcess(server.env, tmp_path / "worker.log")
        try:
            server.start()
            worker.start()
            yield server, worker
        finally:
            worker.kill()
            server.stop()


def dots(page) -> list[str]:
    """Return the class of every source dot in the header."""
    return page.eval_on_selector_all(".sources .source", "els => els.map(e => e.className)")


def freshness(page) -> tuple[str, str]:
    """Return the freshness mark's text and class."""
    return page.inner_text("#data-freshness"), page.get_attribute("#data-freshness", "class")


def test_a_killed_worker_makes_ready_fail_and_the_wall_stale_until_it_returns(production, fault):
    fault(
        "worker killed",
        "readiness fails within two intervals, wall shows stale, recovers when it returns",
    )
    on_own_thread(lambda: kill_and_return(*production))


def kill_and_return(server: CockpitServer, worker: WorkerProcess) -> None:
    """Watch two walls (zh, en) while the worker is killed and started again."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            watch_walls(server, worker, chromium)
        finally:
            chromium.close()


def open_wall(server: CockpitServer, chromium, query: str = ""):
    """Open the wall signed in as a kiosk, recording console errors."""
    page = chromium.new_page(viewport={"width": 1920, "height": 1080})
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    server.accounts.sign_in(page, "kiosk")
    page.goto(server.url + query)
    return page


def watch_walls(server: CockpitServer, worker: WorkerProcess, chromium) -> None:
    """Kill the worker under the walls' eyes, check ready and the walls, start it again."""
    wait_for(lambda: ready(server)[0] == 200, "ready with the worker running")
    wall = open_wall(server, chromium)
    wall_en = open_wall(server, chromium, "?lang=en")
    for page in (wall, wall_en):
        wait_for(lambda p=page: "freshness-stale" not in freshness(p)[1], "the wall fresh")
        wait_for(lambda p=page: "source source-ok" in dots(p), "a green source dot")

    worker.kill()
    status, body = wait_for(
        lambda: (answer := ready(server))[0] == 503 and answer, "ready turning 503"
    )
    # The views age past the limit first (the heartbeat is the tick's last write), then the beat.
    assert status == 503 and set(body["failed"]) <= {"worker", "view_models"}, body["failed"]
    status, body = wait_for(
        lambda: {"worker", "view_models"} <= set((answer := ready(server))[1]["failed"]) and answer,
        "ready naming the worker too",
    )
    # Two cycles of the worker: its interval plus its slowest tick, as its last heartbeat says
    # (how slow a tick is depends on the machine: the rule is checked, not a time).
    beat = last_heartbeat(server)
    assert beat["interval_s"] == INTERVAL_S
    assert body["stale_after_s"] == round(2 * (INTERVAL_S + beat["slowest_tick_s"]), 2)
    for page, word in ((wall, "数据已过期"), (wall_en, "STALE")):
        wait_for(lambda p=page: "freshness-stale" in freshness(p)[1], "the mark stale", 15)
        assert word in freshness(page)[0]
        assert "source source-ok" not in dots(page), "no dot may be green on stale data"
        assert page.is_visible("#stale-banner")
    screenshot(wall, "wall-worker-killed")
    screenshot(wall_en, "wall-worker-killed-en")
    mark_size = wall.eval_on_selector(
        "#data-freshness", "e => parseFloat(getComputedStyle(e).fontSize)"
    )
    assert mark_size >= 24, "readable across the room on a 1080p wall"
    health = json.loads(urllib.request.urlopen(server.url + "healthz", timeout=5).read())
    assert health["status"] == "stale" and {s["state"] for s in health["sources"]} == {"stale"}
    # A monitor polling hard is answered every time: health paths are never rate-limited.
    assert {ready(server)[0] for _ in range(40)} == {503}

    worker.start()
    wait_for(lambda: ready(server)[0] == 200, "ready again with a new worker")
    for page in (wall, wall_en):
        wait_for(lambda p=page: "freshness-stale" not in freshness(p)[1], "the wall fresh again")
        wait_for(lambda p=page: "source source-ok" in dots(p), "green dots again")
        assert page.console_errors == []
