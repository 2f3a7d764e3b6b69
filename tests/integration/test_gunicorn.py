"""Run the web the production way: gunicorn with two workers, the cockpit's log lines on stderr."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import REDIS_URL, require_server

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) (\d+) "
    r"([\w.]+): (.*)$"
)


def free_port() -> int:
    """Return a loopback port nobody listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cockpit_env(tmp_path: Path, port: int) -> dict[str, str]:
    """Return a production-shaped environment: temp SQLite, the real Redis, a real secret key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COCKPIT_")}
    env.update(
        COCKPIT_ENVIRONMENT="production",
        COCKPIT_SECRET_KEY=secrets.token_urlsafe(48),
        COCKPIT_DATA_DIR=str(tmp_path),
        COCKPIT_REDIS_URL=REDIS_URL,
        # A street code of its own keeps this test's live keys apart from every other test's.
        COCKPIT_STREET_CODE=f"9{secrets.randbelow(10**8):08d}",
        COCKPIT_EMBEDDED_WORKER="false",
        COCKPIT_SIMULATE="false",
        COCKPIT_AUTO_SEED="false",
        COCKPIT_HOST="127.0.0.1",
        COCKPIT_PORT=str(port),
        # The access log is off by default; here it tells which worker answered each request.
        COCKPIT_LOG_LEVELS="gunicorn.access=INFO",
    )
    return env


def log_lines(path: Path) -> list[re.Match]:
    """Return stderr's lines parsed; a line of another shape fails the test at once."""
    parsed = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = LINE.match(line)
        assert match, f"not one cockpit log line: {line!r}"
        parsed.append(match)
    return parsed


def wait_for(condition, what: str, timeout_s: float = 90.0, process=None):
    """Poll condition() until it returns something true; fail naming what did not happen."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        if process is not None and process.poll() is not None:
            pytest.fail(f"gunicorn exited ({process.returncode}) before {what}")
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}")


def get(url: str) -> tuple[int, bytes]:
    """Return the status and body of a GET, on a new connection each time."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


def test_gunicorn_two_workers_log_one_line_per_event_and_both_answer(tmp_path):
    require_server("Redis", "127.0.0.1", 6379)
    port = free_port()
    env = cockpit_env(tmp_path, port)
    cockpit = [sys.executable, "-m", "cockpit.cli"]
    migrated = subprocess.run(
        [*cockpit, "migrate"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert migrated.returncode == 0, migrated.stderr
    stderr_path = tmp_path / "gunicorn.err"
    with stderr_path.open("wb") as stderr:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:cockpit.web.gunicorn_conf",
                "--workers",
                "2",
                "app:create_server()",
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    try:

        def ready_workers() -> set[str]:
            pids = {
                m[2]
                for m in log_lines(stderr_path)
                if m[3] == "app" and m[4].startswith("web worker ready")
            }
            return pids if len(pids) == 2 else set()

        # A log line of the app's own, from each of the two workers, on gunicorn's stderr.
        workers = wait_for(ready_workers, "two 'web worker ready' lines", process=server)
        master = {m[2] for m in log_lines(stderr_path) if "Listening at" in m[4]}
        assert master and not master & workers

        url = f"http://127.0.0.1:{port}/healthz"

        def answered_by() -> set[str]:
            with ThreadPoolExecutor(max_workers=8) as pool:
                answers = list(pool.map(lambda _: get(url), range(16)))
            assert all(status == 200 and b'"status"' in body for status, body in answers)
            pids = {
                m[2]
                for m in log_lines(stderr_path)
                if m[3] == "gunicorn.access" and "GET /healthz" in m[4]
            }
            return pids if pids == workers else set()

        wait_for(answered_by, "/healthz answered by both workers", timeout_s=30, process=server)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
    assert server.returncode == 0
    lines = log_lines(stderr_path)
    assert any(m[3] == "gunicorn.error" and "Shutting down" in m[4] for m in lines)
    assert not [m[0] for m in lines if m[1] in ("ERROR", "CRITICAL")]
