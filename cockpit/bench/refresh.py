"""Time the cockpit's refresh callback as a browser calls it, on a seeded street; prints, never asserts."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

RUNS = 200
SCENARIO_STEPS = 30
# The pages need a session: the bench signs in as a wall and as a dispatcher, and times both.
ROLES = ("kiosk", "dispatcher")
BENCH_PASSWORD = "bench-refresh-0123"


def bench_refresh(
    scale: str = "s-street",
    redis_url: str | None = None,
    runs: int = RUNS,
    say: Callable[[str], None] = print,
    roles: tuple[str, ...] = ROLES,
) -> dict[str, dict[str, float]]:
    """Print p50/p95 server milliseconds of one refresh per role: nothing new, one view, all."""
    from callbacks.shell import REFRESHED_VIEWS  # the web app's: imported only by the bench

    with tempfile.TemporaryDirectory(prefix="cockpit-bench-refresh-") as tmp:
        started = time.perf_counter()
        runtime, app, _play = published_street(Path(tmp), scale, redis_url)
        say(f"seeded {scale} and published its views in {time.perf_counter() - started:.1f} s")
        floor_answer = _add_app_floor(app)
        output = next(key for key in app.callback_map if "heartbeat-store.data" in key)
        spec = app.callback_map[output]
        names = (*REFRESHED_VIEWS, "cases_wall")
        weights = {name: _size(runtime, name) for name in names}
        say("views published: " + ", ".join(f"{n} {b:,} B" for n, b in weights.items()))
        results: dict[str, dict[str, float]] = {"view bytes": weights}
        for role in roles:
            client = _signed_in(app, runtime, role)
            mode = "wall" if role == "kiosk" else "tablet"
            # What this role holds: its versions come back from a first refresh holding nothing.
            first = client.post(
                "/_dash-update-component",
                data=_request(output, spec, {}, mode),
                content_type="application/json",
            )
            held_now = orjson.loads(first.data)["response"]["view-versions"]["data"]
            one_changed = {name: v for name, v in held_now.items() if name != "cases"}
            for case, held in (
                ("unchanged", held_now),
                ("cases changed", one_changed),
                ("every view changed", {}),
            ):
                body = _request(output, spec, held, mode)
                timings, size = _time(client, body, runs)
                key = f"{role}, {case}"
                results[key] = {
                    "p50_ms": statistics.median(timings),
                    "p95_ms": _p95(timings),
                    "bytes": size,
                    "request_bytes": len(body),
                }
                say(
                    f"refresh as {key}: p50 {results[key]['p50_ms']:.2f} ms, "
                    f"p95 {results[key]['p95_ms']:.2f} ms, response {size:,} B, "
                    f"request {len(body):,} B ({runs} runs)"
                )
                if case == "unchanged":
                    answer = first_response(client, body)
                    floor = _floor(answer, body, runs)
                    results[f"{role}, floor"] = {"p50_ms": statistics.median(floor)}
                    floor_answer["bytes"] = answer
                    own = _time_app_floor(client, body, runs)
                    results[f"{role}, app floor"] = {"p50_ms": statistics.median(own)}
                    say(
                        f"bare Flask route, same bytes: p50 {statistics.median(floor):.2f} ms; "
                        f"the app's own route, same bytes: p50 {statistics.median(own):.2f} ms; "
                        f"unchanged refresh / floor: "
                        f"{results[key]['p50_ms'] / statistics.median(floor):.1f}x, "
                        f"/ the app's own: {results[key]['p50_ms'] / statistics.median(own):.1f}x"
                    )
        runtime.stop()
    return results


def published_street(
    data: Path, scale: str, redis_url: str | None = None, speed: float = 1.0
) -> tuple[Any, Any, Callable[[], None]]:
    """Seed a street in `data`, play it a little, publish its views; return (runtime, app, play).

    `play()` plays the street on to now and runs the worker's tick, as the running cockpit does.
    """
    # Imported here: the bench drives the whole web app, which the rest of cockpit/ never imports.
    from app import create_app
    from cockpit.runtime import Runtime
    from cockpit.settings import Settings

    settings = Settings(
        data_dir=data,
        scale=scale,
        database_url=None,
        redis_url=redis_url,
        mqtt_url=None,
        embedded_worker=False,
        simulate=False,
        simulation_speed=speed,
    )
    runtime = Runtime.open(settings)
    scenario = runtime.make_scenario()
    worker = runtime.make_worker()
    for _ in range(SCENARIO_STEPS):
        scenario.step()
    worker.tick()

    def play() -> float:
        """Play the street on to now, move one open case a step on, publish; return the tick's s."""
        scenario.step()
        _move_one_case(runtime)
        started = time.perf_counter()
        worker.tick()
        return time.perf_counter() - started

    return runtime, create_app(settings, runtime), play


# The steps a dispatcher's desk takes without choosing anybody (dispatch needs a target).
WARM_UP_S = 12
PLAIN_STEPS = ("register", "accept", "arrive", "handled", "verify", "close")


def _move_one_case(runtime: Any) -> None:
    """Take one step on the first open case that allows a plain one, as a dispatcher would."""
    raw = runtime.live.get_view("cases")
    for case in (orjson.loads(raw) if raw else {}).get("open", []):
        step = next((a for a in PLAIN_STEPS if a in case.get("actions", ())), None)
        if step is not None:
            runtime.cases.act(step, "dispatcher:bench", case_id=case["id"], note="bench")
            return


@dataclass
class _Screen:
    """One signed-in screen of the changes bench: what it holds and what it was sent."""

    name: str
    client: Any
    mode: str
    held: dict[str, str]
    views: dict[str, str | None]  # store -> the view the role is sent
    sent: list[int] = field(default_factory=list)  # bytes of each answer that brought a change
    packed: list[int] = field(default_factory=list)  # the same, brotli 4 (as on the wire)
    whole: list[int] = field(default_factory=list)  # the same with every changed view whole
    by_view: dict[str, list[int]] = field(default_factory=dict)  # store -> [patches, wholes, B]

    def refresh(self, post: Callable[..., Any], read: Callable[[str], bytes | None]) -> None:
        """Refresh holding what it holds; count the answer when it brought anything."""
        import brotli

        answer = post(self.held, self.mode)
        if answer.status_code == 204:
            return
        response = orjson.loads(answer.data)["response"]
        changed = [k[5:] for k in response if k.startswith("view-") and k != "view-versions"]
        if not changed:
            return
        self.sent.append(len(answer.data))
        self.packed.append(len(brotli.compress(answer.data, quality=4)))
        extra = 0
        for store in changed:
            data = response[f"view-{store}"]["data"]
            size = len(orjson.dumps(data))
            patched = isinstance(data, dict) and "__dash_patch_update" in data
            if patched:
                extra += len(read(self.views[store]) or b"") - size
            counts = self.by_view.setdefault(store, [0, 0, 0])
            counts[0 if patched else 1] += 1
            counts[2] += size
        self.whole.append(len(answer.data) + extra)
        self.held.update(response.get("view-versions", {}).get("data") or {})

    def figures(self) -> dict[str, float]:
        """Return the per-change figures of what it was sent."""
        return {
            "changes": len(self.sent),
            "mean_bytes": statistics.mean(self.sent),
            "max_bytes": max(self.sent),
            "mean_br_bytes": statistics.mean(self.packed),
            "max_br_bytes": max(self.packed),
            "whole_mean_bytes": statistics.mean(self.whole),
            "whole_max_bytes": max(self.whole),
        }


def bench_changes(
    scale: str = "s-street",
    redis_url: str | None = None,
    seconds: float = 60.0,
    speed: float = 10.0,
    say: Callable[[str], None] = print,
    roles: tuple[str, ...] = ROLES,
    warm_up_s: int = WARM_UP_S,
) -> dict[str, dict[str, float]]:
    """Print the bytes a screen receives per change, with differences and as whole views.

    The street plays at `speed` for `seconds`, and each second one open case moves a step on
    (cases are what change most); then each role's screen refreshes holding what it was sent
    last, as a pushed or polling screen does. A change is a refresh that brought anything;
    "whole" is what the same refresh would have sent with every changed view whole (as before
    patches).
    """
    from callbacks.shell import REFRESHED_VIEWS
    from cockpit.access.policy import Principal, Role
    from cockpit.access.views import views_for

    with tempfile.TemporaryDirectory(prefix="cockpit-bench-changes-") as tmp:
        runtime, app, play = published_street(Path(tmp), scale, redis_url, speed)
        output = next(key for key in app.callback_map if "heartbeat-store.data" in key)
        spec = app.callback_map[output]
        for _ in range(warm_up_s):  # the adapters' first reads land in the first ticks
            time.sleep(1.0)
            play()
        screens = []
        for role in roles:
            client = _signed_in(app, runtime, role)

            def post(held: dict[str, str], mode: str, client: Any = client) -> Any:
                """Post the refresh a page holding `held` sends."""
                body = _request(output, spec, held, mode)
                return client.post(
                    "/_dash-update-component", data=body, content_type="application/json"
                )

            mode = "wall" if role == "kiosk" else "tablet"
            first = post({}, mode)
            held = orjson.loads(first.data)["response"]["view-versions"]["data"]
            views = views_for(Principal(0, f"bench-{role}", Role(role)), REFRESHED_VIEWS)
            screens.append((_Screen(mode, client, mode, held, views), post))
        ends = time.monotonic() + seconds
        ticks = []
        while time.monotonic() < ends:
            time.sleep(1.0)
            ticks.append(play() * 1000)
            for screen, post in screens:
                screen.refresh(post, runtime.live.get_view)
        runtime.stop()
    results: dict[str, dict[str, float]] = {
        "worker tick": {
            "p50_ms": statistics.median(ticks),
            "max_ms": max(ticks),
            "ticks": len(ticks),
        }
    }
    say(
        f"worker tick while the street plays: p50 {results['worker tick']['p50_ms']:.0f} ms, "
        f"max {results['worker tick']['max_ms']:.0f} ms ({len(ticks)} ticks)"
    )
    for screen, _post in screens:
        if not screen.sent:
            say(f"{screen.name}: no change reached it in {seconds:.0f} s")
            continue
        r = results[screen.name] = screen.figures()
        say(
            f"{screen.name}: {r['changes']} changes in {seconds:.0f} s at speed {speed:g}; per "
            f"change mean {r['mean_bytes']:,.0f} B ({r['mean_br_bytes']:,.0f} B brotli), largest "
            f"{r['max_bytes']:,} B ({r['max_br_bytes']:,} B brotli); the views whole: mean "
            f"{r['whole_mean_bytes']:,.0f} B, largest {r['whole_max_bytes']:,} B"
        )
        say(
            f"  {screen.name} by view (patches / whole / bytes): "
            + ", ".join(f"{k} {p}/{w}/{b:,}" for k, (p, w, b) in sorted(screen.by_view.items()))
        )
    return results


def _signed_in(app: Any, runtime: Any, role: str) -> Any:
    """Return a test client signed in with a new account of the role (a kiosk by its token)."""
    client = app.server.test_client()
    name = f"bench-{role}"
    if role == "kiosk":
        token = runtime.accounts.add(name, role)
        response = client.get(f"/kiosk?token={token}")
    else:
        runtime.accounts.add(name, role, password=BENCH_PASSWORD)
        response = client.post("/login", data={"username": name, "password": BENCH_PASSWORD})
    if response.status_code not in (302, 303):
        raise RuntimeError(f"signing in as {role} failed: {response.status_code}")
    return client


def _size(runtime: Any, name: str) -> int:
    """Return a published view model's size in bytes."""
    return len(runtime.live.get_view(name) or b"")


def _request(
    output: str, spec: dict[str, Any], held: dict[str, str], mode: str, pushed: bool = False
) -> bytes:
    """Return the JSON body Dash's renderer posts for the refresh callback."""
    outputs = [
        {"id": item.split(".")[0], "property": item.split(".")[1]}
        for item in output.strip(".").split("...")
    ]
    # The page sends the versions it holds and its profile (whatever else the callback states).
    state = [
        dict(s, value=held if s["id"] == "view-versions" else {"mode": mode, "pushed": pushed})
        for s in spec["state"]
    ]
    return orjson.dumps(
        {
            "output": output,
            "outputs": outputs,
            "inputs": [dict(i, value=1) for i in spec["inputs"]],
            "changedPropIds": ["refresh-interval.n_intervals"],
            "state": state,
        }
    )


def _time(client: Any, body: bytes, runs: int) -> tuple[list[float], int]:
    """Post the body `runs` times; return the milliseconds each took and the response size."""
    timings = []
    size = 0
    for _ in range(runs):
        started = time.perf_counter()
        response = client.post(
            "/_dash-update-component", data=body, content_type="application/json"
        )
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code not in (200, 204):
            raise RuntimeError(f"refresh failed: {response.status_code} {response.data[:300]!r}")
        size = len(response.data)
    return timings, size


def first_response(client: Any, body: bytes) -> bytes:
    """Return the bytes the refresh answers to the body."""
    return client.post("/_dash-update-component", data=body, content_type="application/json").data


def _floor(answer: bytes, body: bytes, runs: int) -> list[float]:
    """Time a bare Flask route that returns the same bytes to the same post: the floor."""
    import flask

    bare = flask.Flask("floor")

    @bare.post("/_dash-update-component")
    def same() -> flask.Response:
        flask.request.get_json()  # read the body as Dash does
        return flask.Response(answer, mimetype="application/json")

    client = bare.test_client()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        client.post("/_dash-update-component", data=body, content_type="application/json")
        timings.append((time.perf_counter() - started) * 1000)
    return timings


APP_FLOOR_PATH = "/_bench/floor"


def _add_app_floor(app: Any) -> dict[str, bytes]:
    """Give the bench's app a route answering what the returned dict's "bytes" holds: its floor.

    It runs behind everything the app puts in front of a route (the session and the account
    behind it, security headers, the rate limit, compression), which a bare Flask app does not;
    the refresh's cost over it is Dash's dispatch and the callback.
    """
    import flask

    held = {"bytes": b"{}"}

    def same() -> flask.Response:
        flask.request.get_json()  # read the body as Dash does
        return flask.Response(held["bytes"], mimetype="application/json")

    app.server.add_url_rule(APP_FLOOR_PATH, "bench_app_floor", same, methods=["POST"])
    return held


def _time_app_floor(client: Any, body: bytes, runs: int) -> list[float]:
    """Time the app's own floor route, signed in, posting the refresh's body."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        client.post(APP_FLOOR_PATH, data=body, content_type="application/json")
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _p95(values: list[float]) -> float:
    """Return the 95th percentile."""
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)
