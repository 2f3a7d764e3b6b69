"""Connect many screens to a production-shaped cockpit; time each change to every screen; prints, never asserts.

The cockpit runs as in production (docs/deploy.md): `cockpit worker` and gunicorn with two web
workers on one Redis, a scratch SQLite street. The screens are asyncio clients in this process,
each behaving as assets/push.js does (push) or as a page without a stream does (poll): pushed,
a screen holds its views' versions, takes a `patch` that starts from the version it holds, and
refreshes through Dash on `views` or on a difference it cannot take; polling, it refreshes every
second. The bench raises red alerts with a tag through the real alert book, one every
`every_s`, and notes when each screen receives the tag; it reads the web workers' CPU time from
/proc before and after each window. Load generator, worker and web share the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from cockpit.bench.all import ROOT, TOKEN, free_port

Say = Callable[[str], None]
COUNTS = (50, 200, 500)
POLL_S = 1.0  # a polling screen's interval: the default COCKPIT_REFRESH_MS
CAUGHT_S = 15.0  # a screen that has not seen a change this long after it was made missed it
GAP_S = 0.5  # at most one pushed refresh this often, as assets/push.js's GAP_MS


@dataclass
class Screen:
    """One screen: what it holds, and when each tag reached it."""

    held: dict[str, str] = field(default_factory=dict)
    seen: dict[str, float] = field(default_factory=dict)  # tag -> when it arrived
    connected: bool = False
    refreshes: int = 0
    errors: int = 0
    taken: int = 0  # differences applied
    untaken: int = 0  # differences from a version it did not hold: refreshed instead
    told: int = 0  # `views` events: refreshed
    last_refresh: float = 0.0  # when its last pushed refresh went out (monotonic)
    pending: asyncio.Task | None = None  # the pushed refresh waiting for its turn


@dataclass
class Load:
    """A window of load: the screens, the tags raised (tag -> when), what went wrong."""

    screens: list[Screen]
    raised: dict[str, float] = field(default_factory=dict)
    stop: asyncio.Event = field(default_factory=asyncio.Event)


def bench_screens(
    counts: tuple[int, ...] = COUNTS,
    redis_url: str = "redis://127.0.0.1:6379/0",
    scale: str = "s-street",
    changes: int = 10,
    every_s: float = 2.0,
    idle_s: float = 10.0,
    modes: tuple[str, ...] = ("push", "poll"),
    say: Say = print,
) -> dict[str, dict[str, float]]:
    """Print, per mode and number of screens: change-to-screen p50/p95, misses, errors, web CPU."""
    results: dict[str, dict[str, float]] = {}
    threads = min(1000, max(counts) + 64)
    with production_cockpit(scale, redis_url, threads, say) as cockpit:
        for mode in modes:
            for count in counts:
                key = f"{mode}, {count} screens"
                figures = run_apart(_run(cockpit, mode, count, changes, every_s, idle_s))
                results[key] = figures
                say(
                    f"{key}: change to screen p50 {figures['p50_ms']:.0f} ms, p95 "
                    f"{figures['p95_ms']:.0f} ms, max {figures['max_ms']:.0f} ms; missed "
                    f"{figures['missed']:.0f} of {figures['expected']:.0f}; errors "
                    f"{figures['errors']:.0f}; refreshes {figures['refreshes']:.0f} (differences "
                    f"taken {figures['taken']:.0f}, not {figures['untaken']:.0f}, `views` "
                    f"{figures['told']:.0f}); web CPU "
                    f"idle {figures['idle_cpu']:.3f} s/s, with changes "
                    f"{figures['busy_cpu']:.3f} s/s ({figures['cpu_per_change_ms']:.0f} ms a change)"
                )
    return results


def run_apart(coroutine: Any) -> Any:
    """Run a coroutine to its end on a thread of its own and return its result.

    A loop of its own: the caller's thread may be running one already (Playwright's sync API
    in a test process does), and asyncio.run() refuses to nest.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="bench-screens") as pool:
        return pool.submit(asyncio.run, coroutine).result()


@dataclass(frozen=True)
class Cockpit:
    """A running production-shaped cockpit: its URL, a wall's session cookie, how to poke it."""

    url: str
    cookie: str
    token: str  # the wall's kiosk token (a browser signs in with it too)
    database_url: str
    street_code: str
    refresh_body: Callable[[dict[str, str], bool], bytes]
    raise_alert: Callable[[str], None]
    web_pids: Callable[[], list[int]]
    worker_pid: int
    simulator_pid: int | None


@contextlib.contextmanager
def production_cockpit(
    scale: str,
    redis_url: str,
    threads: int,
    say: Say,
    mqtt_url: str | None = None,
    simulate: bool = False,
) -> Iterator[Cockpit]:
    """Seed a scratch street; run `cockpit worker` and gunicorn (two workers) on it; yield it.

    With `mqtt_url` the worker runs the MQTT bridge: devices' messages reach the street; with
    `simulate` too, `cockpit simulate --speed 1` plays the street's devices and people over it.
    """
    with tempfile.TemporaryDirectory(prefix="cockpit-bench-screens-") as scratch:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("COCKPIT_")}
        env.update(
            COCKPIT_ENVIRONMENT="production",
            COCKPIT_SECRET_KEY=secrets.token_urlsafe(48),
            COCKPIT_DATA_DIR=scratch,
            COCKPIT_REDIS_URL=redis_url,
            COCKPIT_STREET_CODE=f"8{secrets.randbelow(10**8):08d}",  # keys of its own
            COCKPIT_SCALE=scale,
            COCKPIT_EMBEDDED_WORKER="false",
            COCKPIT_SIMULATE="false",
            COCKPIT_AUTO_SEED="false",
            COCKPIT_HOST="127.0.0.1",
            COCKPIT_PORT=str(port),
            COCKPIT_WEB_THREADS=str(threads),
        )
        if mqtt_url:
            env["COCKPIT_MQTT_URL"] = mqtt_url
        cli = [sys.executable, "-m", "cockpit.cli"]
        started = time.perf_counter()
        subprocess.run([*cli, "seed"], env=env, cwd=ROOT, check=True, capture_output=True)
        added = subprocess.run(
            [*cli, "users", "add", "bench-wall", "--role", "kiosk"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        token = TOKEN.search(added.stdout).group(1)
        say(f"seeded {scale} in {time.perf_counter() - started:.1f} s")
        log = Path(scratch) / "servers.log"
        with log.open("ab") as out:
            worker = subprocess.Popen([*cli, "worker"], env=env, cwd=ROOT, stdout=out, stderr=out)
            web = subprocess.Popen(
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
                stdout=out,
                stderr=out,
            )
            simulator = None
            if simulate and mqtt_url:
                simulator = subprocess.Popen(
                    [*cli, "simulate", "--speed", "1"], env=env, cwd=ROOT, stdout=out, stderr=out
                )
        url = f"http://127.0.0.1:{port}/"
        running = [p for p in (web, worker, simulator) if p is not None]
        try:
            _wait_ready(url, log, (worker, web))
            cookie = _sign_in(url, token)
            spec = _refresh_spec(url, cookie)
            yield Cockpit(
                url=url,
                cookie=cookie,
                token=token,
                database_url=_database_url(env),
                street_code=env["COCKPIT_STREET_CODE"],
                refresh_body=lambda held, pushed: _refresh_body(spec, held, pushed),
                raise_alert=_alert_raiser(env),
                web_pids=lambda: _children(web.pid),
                worker_pid=worker.pid,
                simulator_pid=simulator.pid if simulator is not None else None,
            )
        finally:
            for process in running:
                process.terminate()
            for process in running:
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()


def _wait_ready(url: str, log: Path, processes: tuple[Any, ...], timeout: float = 180) -> None:
    """Wait until /healthz/ready answers 200; fail with the servers' log when one exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise RuntimeError(f"a server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}healthz/ready", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the cockpit was not ready in {timeout:.0f} s")


def _sign_in(url: str, token: str) -> str:
    """Sign a wall in by its token; return the session cookie every screen then sends."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(f"{url}kiosk?token={token}", timeout=10)
    except urllib.error.HTTPError as answer:
        cookie = answer.headers.get("Set-Cookie", "")
        if answer.code in (302, 303) and cookie:
            return cookie.split(";", 1)[0]
        raise
    raise RuntimeError("the kiosk sign-in set no session")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Keep a redirect's answer (its Set-Cookie) instead of following it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _refresh_spec(url: str, cookie: str) -> dict[str, Any]:
    """Return the refresh callback's declaration from Dash's dependencies, as the page reads it."""
    request = urllib.request.Request(f"{url}_dash-dependencies", headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=10) as answer:
        callbacks = orjson.loads(answer.read())
    return next(cb for cb in callbacks if "heartbeat-store.data" in cb["output"])


def _refresh_body(spec: dict[str, Any], held: dict[str, str], pushed: bool) -> bytes:
    """Return the JSON a wall's page posts for its refresh, holding `held`."""
    from cockpit.bench.refresh import _request

    return _request(spec["output"], spec, held, "wall", pushed=pushed)


def _database_url(env: dict[str, str]) -> str:
    """Return the scratch street's SQLite URL."""
    return f"sqlite:///{Path(env['COCKPIT_DATA_DIR'], 'cockpit.db').resolve()}"


def _alert_raiser(env: dict[str, str]) -> Callable[[str], None]:
    """Return a function raising a red smoke alert with a tag in its title, as a rule would."""
    from cockpit.alerts import AlertBook
    from cockpit.domain.kinds import AlertLevel
    from cockpit.live import RedisLiveStore
    from cockpit.rules.results import AlertCandidate, Reason
    from cockpit.store.database import make_engine

    engine = make_engine(_database_url(env))
    book = AlertBook(
        engine, RedisLiveStore.from_url(env["COCKPIT_REDIS_URL"], env["COCKPIT_STREET_CODE"])
    )

    def raise_alert(tag: str) -> None:
        """Raise one red smoke alert titled with the tag."""
        candidate = AlertCandidate.build(
            "fire.smoke",
            AlertLevel.RED,
            "device",
            random.randrange(10**6, 10**7),  # a device no rule of the street can have opened
            f"烟感报警 {tag}",
            f"Smoke alarm {tag}",
            (Reason("smoke", "烟雾浓度 0.31", "Smoke density 0.31", 0.31, 0.1),),
        )
        book.raise_candidate(candidate, datetime.now(UTC))

    return raise_alert


def _children(pid: int) -> list[int]:
    """Return the pids of a process's children (gunicorn's web workers), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """Return the CPU seconds (user and system) the processes have used, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / ticks


async def _run(
    cockpit: Cockpit, mode: str, count: int, changes: int, every_s: float, idle_s: float
) -> dict[str, float]:
    """Connect `count` screens, measure an idle window and a window of changes; close them."""
    import aiohttp

    load = Load([Screen() for _ in range(count)])
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, headers={"Cookie": cockpit.cookie}
    ) as session:
        run = _pushed if mode == "push" else _polling
        tasks = [
            asyncio.create_task(run(session, cockpit, screen, load)) for screen in load.screens
        ]
        deadline = time.monotonic() + 60
        while not all(s.connected for s in load.screens) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(5.0)  # the first refreshes settle
        pids = cockpit.web_pids()
        before = cpu_seconds(pids)
        await asyncio.sleep(idle_s)
        idle_cpu = (cpu_seconds(pids) - before) / idle_s
        started = time.monotonic()
        before = cpu_seconds(pids)
        for n in range(changes):
            tag = f"bench-{n:03d}-{secrets.token_hex(3)}"
            load.raised[tag] = time.monotonic()
            await asyncio.to_thread(cockpit.raise_alert, tag)
            await asyncio.sleep(every_s)
        await asyncio.sleep(CAUGHT_S / 3)
        busy_s = time.monotonic() - started
        busy_cpu = (cpu_seconds(pids) - before) / busy_s
        load.stop.set()
        tasks += [screen.pending for screen in load.screens if screen.pending is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    waits = [
        (screen.seen[tag] - at) * 1000
        for screen in load.screens
        for tag, at in load.raised.items()
        if tag in screen.seen and screen.seen[tag] - at <= CAUGHT_S
    ]
    expected = len(load.screens) * len(load.raised)
    return {
        "screens": count,
        "expected": expected,
        "missed": expected - len(waits),
        "p50_ms": statistics.median(waits) if waits else float("nan"),
        "p95_ms": statistics.quantiles(waits, n=20)[-1] if len(waits) >= 20 else float("nan"),
        "max_ms": max(waits) if waits else float("nan"),
        "errors": sum(s.errors for s in load.screens),
        "refreshes": sum(s.refreshes for s in load.screens),
        "taken": sum(s.taken for s in load.screens),
        "untaken": sum(s.untaken for s in load.screens),
        "told": sum(s.told for s in load.screens),
        "idle_cpu": idle_cpu,
        "busy_cpu": busy_cpu,
        "cpu_per_change_ms": max(0.0, busy_cpu - idle_cpu) * busy_s / max(1, changes) * 1000,
    }


def _note_tags(screen: Screen, load: Load, data: bytes) -> None:
    """Note the tags a message or an answer brought, with when."""
    now = time.monotonic()
    for tag in load.raised:
        if tag not in screen.seen and tag.encode() in data:
            screen.seen[tag] = now


async def _refresh(
    session: Any, cockpit: Cockpit, screen: Screen, load: Load, pushed: bool
) -> None:
    """Post one refresh as the page does; take the versions it brings."""
    body = cockpit.refresh_body(screen.held, pushed)
    screen.refreshes += 1
    try:
        async with session.post(
            f"{cockpit.url}_dash-update-component",
            data=body,
            headers={"Content-Type": "application/json"},
        ) as answer:
            data = await answer.read()
            if answer.status == 204:
                return
            if answer.status != 200:
                screen.errors += 1
                return
    except Exception:  # noqa: BLE001 - counted, as a page would retry at its next poll
        screen.errors += 1
        return
    _note_tags(screen, load, data)
    versions = orjson.loads(data)["response"].get("view-versions")
    if versions and versions.get("data"):
        screen.held = dict(versions["data"])


async def _polling(session: Any, cockpit: Cockpit, screen: Screen, load: Load) -> None:
    """Refresh every POLL_S, as a page without a stream does."""
    await _refresh(session, cockpit, screen, load, pushed=False)
    screen.connected = True
    while not load.stop.is_set():
        await asyncio.sleep(POLL_S)
        await _refresh(session, cockpit, screen, load, pushed=False)


async def _pushed(session: Any, cockpit: Cockpit, screen: Screen, load: Load) -> None:
    """Hold a stream as assets/push.js does: take differences, refresh when one does not fit."""
    await _refresh(session, cockpit, screen, load, pushed=True)
    while not load.stop.is_set():
        try:
            async with session.get(f"{cockpit.url}live/stream") as stream:
                if stream.status != 200:
                    screen.errors += 1
                    await asyncio.sleep(3.0)
                    continue
                event, data = "", b""
                async for line in stream.content:
                    line = line.rstrip(b"\r\n")
                    if line.startswith(b"event: "):
                        event = line[7:].decode()
                    elif line.startswith(b"data: "):
                        data = line[6:]
                    elif not line and event:
                        await _on_event(session, cockpit, screen, load, event, data)
                        event, data = "", b""
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - EventSource reconnects; so does this screen
            screen.errors += 1
            await asyncio.sleep(3.0)


async def _on_event(
    session: Any, cockpit: Cockpit, screen: Screen, load: Load, event: str, data: bytes
) -> None:
    """Take one server-sent event as the page does."""
    if event == "hello":
        screen.connected = True
    elif event == "patch":
        _note_tags(screen, load, data)
        message = orjson.loads(data)
        if screen.held.get(message["store"]) == message["from"]:
            screen.held[message["store"]] = message["to"]
            screen.taken += 1
        else:
            screen.untaken += 1
            _refresh_soon(session, cockpit, screen, load)
    elif event == "views":
        screen.told += 1
        _refresh_soon(session, cockpit, screen, load)


def _refresh_soon(session: Any, cockpit: Cockpit, screen: Screen, load: Load) -> None:
    """Refresh as assets/push.js does: at most one per GAP_S, a burst folded into one at its end."""
    if screen.pending is not None:
        return  # one is waiting (or on its way) and will bring whatever this one would
    wait = screen.last_refresh + GAP_S - time.monotonic()

    async def in_turn() -> None:
        """Wait for the screen's turn, then refresh once."""
        try:
            if wait > 0:
                await asyncio.sleep(wait)
            screen.last_refresh = time.monotonic()
            await _refresh(session, cockpit, screen, load, pushed=True)
        finally:
            screen.pending = None

    screen.pending = asyncio.create_task(in_turn())
