"""Serve one visitor's demo from two gunicorn web processes sharing the real Redis and PostgreSQL:
paused through one, it is paused through the other; restarted through the other, the first shows
the day from its start again; a second visitor gets a room of their own, in the other process;
and the rooms' capacity counts both processes together."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from cockpit.access.accounts import AccountStore
from cockpit.clock import SystemClock, local_day
from cockpit.demo.script import load_script
from cockpit.demo.session import demo_folder, ensure_template
from cockpit.settings import Settings
from cockpit.simulator.generator import seed_street
from cockpit.store.database import make_engine, migrate
from tests.browser.conftest import free_port
from tests.conftest import REDIS_URL
from tests.streets import tiny_tier

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "demo-workers-pass"
SECRET = "demo-workers-test-secret-key-0123456789abcdef"


class Web:
    """One gunicorn master with one web worker, on a port of its own."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = log
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:cockpit.web.gunicorn_conf",
                "--workers",
                "1",
                "app:create_server()",
            ],
            cwd=ROOT,
            env={**env, "COCKPIT_PORT": str(self.port)},
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def wait(self, timeout: float = 90) -> None:
        """Wait until the worker answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-3000:]}")
            try:
                requests.get(self.url + "healthz/live", timeout=2)
                return
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        """Ask the master to stop (it stops its worker), without waiting."""
        if self.process.poll() is None:
            self.process.terminate()

    def join(self) -> None:
        """Wait for the master to end; kill it if it does not."""
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="module")
def webs(tmp_path_factory) -> Iterator[tuple[Web, Web, str]]:
    """Seed a tiny street in PostgreSQL, start two gunicorn web processes on it; yield them and
    the street's code."""
    import uuid

    from tests.conftest import POSTGRES_URL, require_server

    require_server("PostgreSQL", "127.0.0.1", 5432)
    require_server("Redis", "127.0.0.1", 6379)
    data = tmp_path_factory.mktemp("demo-workers")
    schema_name = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema_name}"')
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema_name}"
    code = f"9{uuid.uuid4().int % 10**8:08d}"
    engine = make_engine(url)
    migrate(engine)
    day = local_day(SystemClock().now())
    seed_street(engine, dataclasses.replace(tiny_tier(), street_code=code), 7, (121.5, 31.3))
    AccountStore(engine).add("visitor", "viewer", password=PASSWORD)
    engine.dispose()
    settings = Settings(data_dir=data, database_url=None, redis_url=None)
    # The day's demo street, seeded once for both processes as the first room would seed it:
    # tiny, so a room opens in a second (the real Changbai street takes ~7 s to seed).
    demo_street = dataclasses.replace(tiny_tier(fire_devices=12), name="changbai")
    ensure_template(demo_folder(settings), settings, day, demo_street, load_script().bounds(day)[0])
    env = {
        **os.environ,
        "COCKPIT_HOST": "127.0.0.1",
        "COCKPIT_DATA_DIR": str(data),
        "COCKPIT_DATABASE_URL": url,
        "COCKPIT_REDIS_URL": REDIS_URL,
        "COCKPIT_SECRET_KEY": SECRET,  # one key: a session cookie signed by one is valid on both
        "COCKPIT_EMBEDDED_WORKER": "false",
        "COCKPIT_SIMULATE": "false",
        "COCKPIT_AUTO_SEED": "false",
        "COCKPIT_DEMO_ROOMS": "2",
        "COCKPIT_MQTT_URL": "",
    }
    first, second = Web(env, data / "a.log"), Web(env, data / "b.log")
    try:
        first.wait()
        second.wait()
        yield first, second, code
    finally:
        for web in (first, second):
            web.stop()
        for web in (first, second):
            web.join()
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(f"cockpit:{code}:*"))
        if keys:
            client.delete(*keys)
        client.close()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema_name}" CASCADE')
        admin.dispose()


class Visitor:
    """One browser session (one cookie jar) talking to either web process like the page does."""

    def __init__(self, sign_in_at: Web) -> None:
        self.http = requests.Session()
        answer = self.http.post(
            sign_in_at.url + "login",
            data={"username": "visitor", "password": PASSWORD},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302, answer.text[:300]
        self.deps = self.http.get(sign_in_at.url + "_dash-dependencies", timeout=10).json()

    def callback(self, web: Web, output_has: str, inputs: dict, state: dict, changed: str):
        """Post one callback request (the dependency whose output names `output_has`)."""
        dep = next(
            d for d in self.deps if output_has in d["output"] and not d.get("clientside_function")
        )

        def props(items, given):
            return [
                {
                    "id": i["id"],
                    "property": i["property"],
                    "value": given.get(f"{i['id']}.{i['property']}"),
                }
                for i in items
            ]

        outputs = [
            {"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
            for part in dep["output"].strip(".").split("...")
        ]
        body = {
            "output": dep["output"],
            "outputs": outputs,
            "inputs": props(dep["inputs"], inputs),
            "state": props(dep["state"], state),
            "changedPropIds": [changed],
        }
        answer = self.http.post(web.url + "_dash-update-component", json=body, timeout=30)
        assert answer.status_code == 200, answer.text[:500]
        return answer.json()["response"]

    def page(self, web: Web, lang: str = "en") -> str:
        """Return the demo page's layout as the pages router renders it, as JSON text."""
        response = self.callback(
            web,
            "_pages_content.children",
            {"_pages_location.pathname": "/", "_pages_location.search": f"?mode=demo&lang={lang}"},
            {},
            "_pages_location.pathname",
        )
        return json.dumps(response, ensure_ascii=False)

    def enter(self, web: Web) -> str:
        """Open the demo page, asking again while it says "preparing"; return the last page."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            page = self.page(web)
            if "demo-bar" in page or "All demo rooms are in use" in page:
                return page
            time.sleep(0.5)
        raise AssertionError(f"the demo never became ready: {page[:500]}")

    def demo(self, web: Web) -> dict:
        """Return the `demo` view the page's refresh brings, through the given process."""
        response = self.callback(
            web,
            "view-demo.data",
            {"refresh-interval.n_intervals": 1},
            {"page-profile.data": {"mode": "demo"}},
            "refresh-interval.n_intervals",
        )
        return response["view-demo"]["data"]

    def control(self, web: Web, what: str, speed: int = 60) -> dict:
        """Press play/pause or restart, or choose a speed, through the given process."""
        changed = {"play": "demo-play.n_clicks", "restart": "demo-restart.n_clicks"}.get(
            what, "demo-speed.value"
        )
        response = self.callback(
            web,
            "demo-ack.data",
            {"demo-play.n_clicks": 1, "demo-restart.n_clicks": 1, "demo-speed.value": speed},
            {"labels-store.data": {"mode": "demo", "lang": "en"}},
            changed,
        )
        assert response["demo-message"]["children"] == "", response
        return response["demo-ack"]["data"]

    @property
    def room(self) -> str:
        """Return the visitor's demo room key, from the signed session cookie's payload."""
        import base64
        import zlib

        raw = self.http.cookies.get("cockpit_session")
        compressed = raw.startswith(".")
        body = raw.lstrip(".").split(".")[0]
        data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        return json.loads(zlib.decompress(data) if compressed else data)["demo_room"]


def wait_until(check, timeout: float = 30.0, every: float = 0.2):
    """Poll check() until it returns something truthy; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("never happened")


def test_one_visitor_one_demo_across_two_web_processes(webs) -> None:
    """Pause through A → paused through B, clock held; restart through B → A shows the day from
    its start again; a second visitor's room is their own, in the other process; a third
    visitor finds both places taken, on either process."""
    import redis

    a, b, code = webs
    first = Visitor(a)
    assert "demo-bar" in first.enter(a)
    owners = redis.Redis.from_url(REDIS_URL)
    owner_of = lambda key: owners.get(f"cockpit:{code}:demo:owner:{key}").decode()  # noqa: E731
    room_a = owner_of(first.room)
    assert first.demo(b)["state"] == "playing"  # B serves A's room
    assert "demo-bar" in first.page(b) and owner_of(first.room) == room_a  # its page too
    assert first.control(b, "speed", 300)["done"] == "speed"
    wait_until(lambda: first.demo(a)["time"] >= "08:10:00")
    assert first.control(a, "play")["done"] == "pause"
    # The player publishes its state with its next tick (a fifth of a second).
    seen = wait_until(lambda: (v := first.demo(b))["state"] == "paused" and v)
    assert seen["speed"] == 300
    held = seen["time"]
    time.sleep(1.0)
    assert first.demo(b)["time"] == held == first.demo(a)["time"]
    assert first.control(b, "speed", 10)["done"] == "speed"
    assert first.control(b, "restart")["done"] == "restart"
    again = wait_until(lambda: (v := first.demo(a))["time"] < held and v)
    assert again["state"] == "playing" and again["speed"] == 10 and again["progress"] < 0.05
    assert owner_of(first.room) == room_a  # still the one room, in the same process

    second = Visitor(b)
    assert "demo-bar" in second.enter(b)
    assert second.room != first.room and owner_of(second.room) != room_a
    assert second.control(a, "play")["done"] == "pause"  # through A, on B's room
    wait_until(lambda: second.demo(a)["state"] == "paused" == second.demo(b)["state"])
    assert first.demo(b)["state"] == "playing"  # the first visitor's demo never moved

    third = Visitor(a)
    for web in (a, b):
        assert "All demo rooms are in use" in third.enter(web)

    # A's worker is restarted (SIGTERM, as gunicorn's max-requests or a reload does): it hands
    # its room over at exit, so the first visitor's next request through B reopens it there.
    os.kill(int(room_a.split(":")[1]), signal.SIGTERM)
    # A graceful exit hands the room over; a slow one leaves it to the claim's TTL (15 s).
    fresh = wait_until(lambda: (v := first.demo(b))["state"] == "preparing" and v, timeout=40)
    assert fresh["progress"] == 0
    wait_until(lambda: owners.get(f"cockpit:{code}:demo:owner:{first.room}") is not None)
    assert owner_of(first.room) == owner_of(second.room)  # now B's, like the second room
    wait_until(lambda: first.demo(b)["state"] == "playing")
    owners.close()
