"""Serve /healthz/live, /healthz/ready and the /healthz summary: health that tells the truth.

`/healthz/live` says only that this web process answers. `/healthz/ready` answers 200 only when
the view cache answers, the worker's heartbeat and the published view models are younger than
`ready_after_intervals` worker cycles, the MQTT bridge (when configured) is connected and the
database answers a `SELECT 1`; otherwise 503 naming each failed check. `/healthz` keeps its
summary, always 200, with a status that says `stale` or `degraded` in those cases.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from flask import Blueprint, Response
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from cockpit.heartbeat import WORKER_HEARTBEAT, stale_limit_s
from cockpit.panels import SOURCE_HEALTH

log = logging.getLogger(__name__)

# The publisher's wall-clock stamp is replaced by the model's age, which a monitor can read.
HIDDEN_KEYS = ("published_wall",)
MQTT_SOURCE = "mqtt"
ERROR_CHARS = 200

ReadView = Callable[[str], dict[str, Any] | None]
Check = dict[str, Any]


class DatabaseProbe:
    """Answer whether the database takes a `SELECT 1`: bounded in time, cached for a moment.

    Monitors, load balancers and every web worker may ask many times a second: one probe runs
    at a time and its answer serves everyone for `cache_s`, and nobody waits past `timeout_s`
    for a database that does not answer (the probe keeps running on its own thread meanwhile).
    """

    def __init__(
        self,
        ping: Callable[[], None],
        timeout_s: float = 2.0,
        cache_s: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ping = ping
        self.timeout_s = timeout_s
        self.cache_s = cache_s
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._answer: tuple[float, bool, str] | None = None  # (when, ok, detail)
        self._running: threading.Event | None = None

    def check(self) -> tuple[bool, str]:
        """Return (answers, detail), probing again when the last answer is older than cache_s."""
        with self._lock:
            answer = self._answer
            if answer is not None and self.monotonic() - answer[0] < self.cache_s:
                return answer[1], answer[2]
            done = self._running
            if done is None:
                done = self._running = threading.Event()
                threading.Thread(
                    target=self._probe, args=(done,), name="database-probe", daemon=True
                ).start()
        if not done.wait(self.timeout_s):
            return False, f"no answer to SELECT 1 within {self.timeout_s:g} s"
        with self._lock:
            answer = self._answer
        return (answer[1], answer[2]) if answer else (False, "no answer")

    def _probe(self, done: threading.Event) -> None:
        """Run one ping and keep its answer for everyone asking meanwhile."""
        try:
            self.ping()
            ok, detail = True, "answers SELECT 1"
        except Exception as exc:  # whatever the driver raises, the answer is "not ready"
            ok = False
            first = str(exc).splitlines()[0] if str(exc) else ""
            # The log names the server for the operator (once per outage); the answer does not.
            if self._answer is None or self._answer[1]:
                log.warning("database probe failed: %s: %s", exc.__class__.__name__, first)
            detail = f"{exc.__class__.__name__}: {without_addresses(first)}"
        with self._lock:
            self._answer = (self.monotonic(), ok, detail[:ERROR_CHARS])
            self._running = None
        done.set()


# Quoted names (hosts, databases, users), IP addresses and ports in a driver's message.
ADDRESSES = re.compile(
    r'"[^"]*"(?:,? port \d+)?|\b\d{1,3}(?:\.\d{1,3}){3}\b|\[[0-9a-fA-F:]+\]|,? port \d+'
)


def without_addresses(text: str) -> str:
    """Return a driver's error without the server's address, user or database name."""
    return ADDRESSES.sub("…", text)


def sql_ping(engine: Engine, timeout_s: float = 2.0) -> Callable[[], None]:
    """Return a `SELECT 1` on a connection of its own, so a busy pool cannot hold the probe up."""
    # NullPool: each probe opens and closes one connection (at most one per cache period per web
    # process); it never waits for, nor takes, a connection the callbacks need.
    if engine.url.get_backend_name() == "sqlite":
        args: dict[str, Any] = {"timeout": timeout_s, "check_same_thread": False}
    else:
        args = {"connect_timeout": max(1, round(timeout_s))}
    probe_engine = create_engine(engine.url, poolclass=NullPool, connect_args=args)

    def ping() -> None:
        with probe_engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    return ping


def _age(now_wall: float, stamp: Any) -> float | None:
    """Return how many seconds ago the wall-clock stamp was, or None when it is not one."""
    if not isinstance(stamp, int | float) or isinstance(stamp, bool):
        return None
    return round(max(0.0, now_wall - stamp), 1)


def readiness_checks(
    now_wall: float,
    limit_s: float,
    cache_error: str | None,
    model: Mapping[str, Any] | None,
    beat: Mapping[str, Any] | None,
    database: tuple[bool, str] | None,
    mqtt_configured: bool,
) -> dict[str, Check]:
    """Return each readiness check by name: ok and why; the web is ready iff all are ok."""
    checks: dict[str, Check] = {
        "view_cache": {"ok": cache_error is None, "detail": cache_error or "answers"}
    }
    unread = "view cache unreachable" if cache_error else None
    beat_age = _age(now_wall, (beat or {}).get("beat_wall"))
    if beat_age is None:
        checks["worker"] = {"ok": False, "detail": unread or "no heartbeat from the worker"}
    else:
        who = f"pid {beat.get('pid')}"  # not its host: /healthz answers anyone who asks
        fresh = beat_age <= limit_s
        checks["worker"] = {
            "ok": fresh,
            "detail": f"{who}, last tick {beat_age:g} s ago"
            + ("" if fresh else f" (limit {limit_s:g} s): gone or stuck"),
            "pid": beat.get("pid"),
            "age_s": beat_age,
        }
    model_age = _age(now_wall, (model or {}).get("published_wall"))
    if model_age is None:
        checks["view_models"] = {"ok": False, "detail": unread or "nothing published yet"}
    else:
        fresh = model_age <= limit_s
        checks["view_models"] = {
            "ok": fresh,
            "detail": f"published {model_age:g} s ago"
            + ("" if fresh else f", older than {limit_s:g} s"),
            "age_s": model_age,
        }
    sources = {s.get("name"): s for s in (model or {}).get("sources") or []}
    if mqtt_configured or MQTT_SOURCE in sources:
        bridge = sources.get(MQTT_SOURCE)
        if bridge is None:
            checks["broker"] = {
                "ok": False,
                "detail": unread or "MQTT is configured but the worker reports no bridge",
            }
        else:
            up = bridge.get("state") == "ok"
            reported = "" if model_age is None else f" (as reported {model_age:g} s ago)"
            checks["broker"] = {
                "ok": up,
                "detail": ("subscribed" if up else str(bridge.get("error") or "down")) + reported,
            }
    if database is not None:
        checks["database"] = {"ok": database[0], "detail": database[1]}
    return checks


def make_health_blueprint(
    read_view: ReadView,
    *,
    ping_cache: Callable[[], bool] | None = None,
    database: DatabaseProbe | None = None,
    mqtt_configured: bool = False,
    ready_after_intervals: float = 2.0,
    default_interval_s: float = 1.0,
    wall: Callable[[], float] = time.time,
) -> Blueprint:
    """Return the health blueprint; it reads published views and pings, and runs no SQL itself."""
    blueprint = Blueprint("cockpit_health", __name__)
    # Per blueprint, not per module: log once when a state changes, not on every probe.
    cache_failing = [False]
    last_failed: list[tuple[str, ...] | None] = [None]

    def assess() -> tuple[dict[str, Any] | None, float, dict[str, Check], float]:
        """Read the views and run the checks: (model, limit, checks, now)."""
        cache_error = None
        model = beat = None
        try:
            model = read_view(SOURCE_HEALTH)
            beat = read_view(WORKER_HEARTBEAT)
            if ping_cache is not None and not ping_cache():
                cache_error = "does not answer PING"
        except Exception as exc:  # a dead cache is news for the body, never a 500
            cache_error = f"unreachable: {exc.__class__.__name__}"
            if not cache_failing[0]:
                # Marked before logging: a burst of monitors polling at once logs one line.
                cache_failing[0] = True
                log.warning("health cannot read the view cache: %s", exc)
        if cache_error is None and cache_failing[0]:
            log.info("health reads the view cache again")
        cache_failing[0] = cache_error is not None
        now = wall()
        limit = stale_limit_s(beat, ready_after_intervals, default_interval_s)
        db = database.check() if database is not None else None
        checks = readiness_checks(now, limit, cache_error, model, beat, db, mqtt_configured)
        failed = tuple(name for name, check in checks.items() if not check["ok"])
        if failed != last_failed[0]:
            if failed:
                log.warning(
                    "not ready: %s",
                    "; ".join(f"{name}: {checks[name]['detail']}" for name in failed),
                )
            elif last_failed[0] is not None:
                log.info("ready again")
            last_failed[0] = failed
        return model, limit, checks, now

    @blueprint.get("/healthz/live")
    def live() -> Response:
        """Answer 200 while this web process serves; it touches no store."""
        return _json({"status": "live"}, 200)

    @blueprint.get("/healthz/ready")
    def ready() -> Response:
        """Answer 200 when every check passes, else 503 naming each failed check and why."""
        _, limit, checks, _ = assess()
        failed = [name for name, check in checks.items() if not check["ok"]]
        body = {
            "status": "not_ready" if failed else "ready",
            "failed": failed,
            "stale_after_s": limit,
            "checks": checks,
        }
        return _json(body, 503 if failed else 200)

    @blueprint.get("/healthz")
    def healthz() -> Response:
        """Describe the sources; the status code only says that this web process answers."""
        model, limit, checks, now = assess()
        return _json(summary(model, limit, checks, now), 200)

    return blueprint


def summary(
    model: dict[str, Any] | None, limit_s: float, checks: Mapping[str, Check], now_wall: float
) -> dict[str, Any]:
    """Return the /healthz body: the published model, its age and a status that tells the truth."""
    ready = all(check["ok"] for check in checks.values())
    extra = {
        "ready": ready,
        "stale_after_s": limit_s,
        "worker": {k: checks["worker"].get(k) for k in ("pid", "age_s")}
        if "pid" in checks["worker"]
        else None,
        "checks": dict(checks),
    }
    if not checks["view_cache"]["ok"]:
        return {
            "status": "unknown",
            "sources": [],
            "error": f"view cache {checks['view_cache']['detail']}",
        } | extra
    if not model:
        return {"status": "starting", "sources": []} | extra
    body = {k: v for k, v in model.items() if k not in HIDDEN_KEYS}
    age = _age(now_wall, model.get("published_wall"))
    if age is not None:
        # A worker that stopped publishing leaves an old model behind: show how old it is.
        body["model_age_s"] = age
    if not (checks["worker"]["ok"] and checks["view_models"]["ok"]):
        # Nobody has looked at these sources for too long: none of them may say "ok".
        body["status"] = "stale"
        body["sources"] = [
            dict(s, state="stale", reported_state=s.get("state")) for s in body.get("sources", [])
        ]
    elif not ready and body.get("status") == "ok":
        body["status"] = "degraded"
    return body | extra


def _json(body: dict[str, Any], status: int) -> Response:
    """Return a JSON response no cache or proxy keeps."""
    response = Response(orjson.dumps(body), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response
