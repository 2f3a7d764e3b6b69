"""Push what changed to the screens: one reader per web process, a server-sent event stream each.

The worker appends one event per cycle that changed any view to the live store's VIEWS_STREAM
(cockpit.viewmodels.ViewModelPublisher.announce), and publishes beside each screen view the
chain of its last differences. Each web process reads that stream on one thread (`ViewPush`):
for each changed view it reads the chain once and turns the step from the version it last
forwarded into one `patch` message, which every screen's `/live/stream` (text/event-stream,
signed-in accounts only) passes on if the screen's role is sent that view (cockpit.access.views,
asked when the stream opens). The page applies the difference itself (assets/push.js), so a
change costs a web process one read, whatever the number of screens, and each screen a few
hundred bytes; no refresh through Dash. Where no difference can be sent (a view's first
publication, a change larger than the view's chain keeps, a screen holding another version)
the screen is told `views` and runs its refresh, which stays the one way a whole view reaches
a page; polling stays as the fallback whenever the stream is down or blocked.

The reader also works out, every BEAT_S, how fresh the views are (the same heartbeat a refresh
returns) and sends it down every stream as a `beat`: while beats come, a page polls only
rarely (a safety net); when they stop, it polls as before.

Server-sent events rather than WebSockets: one direction is all a screen needs, EventSource
reconnects by itself (after a proxy timeout or a web worker restart) with no code of ours, and
it runs over plain HTTP through the same nginx location with buffering off.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import orjson
from flask import Blueprint, Response, abort, stream_with_context

from cockpit.live import LiveStore, LiveStoreError
from cockpit.viewmodels import TAIL_BYTES, VIEWS_STREAM, patch_view, peek

log = logging.getLogger(__name__)

# A comment line this often keeps proxies and the browser from closing an idle stream.
KEEPALIVE_S = 15.0
# A stream ends after this long and EventSource reconnects: the session (and with it what the
# role may see) is checked again, and a web worker's threads are never held for good.
STREAM_S = 300.0
RETRY_MS = 3_000  # EventSource's wait before reconnecting
READ_WAIT_S = 5.0  # the reader's blocking read on the views stream
# How often every stream hears how fresh the views are: well inside the page's "lost" limit
# (three polls and two seconds, layouts/shell.py), so a pushed page never looks lost.
BEAT_S = 2.0
# The messages a stream can catch up on; one that fell further behind is told to refresh.
BACKLOG = 256
# A difference larger than this goes as a refresh instead: no message of the stream is
# larger, and the backlog stays a few MB at most.
MAX_MESSAGE = 48_000
# How often a stream asks again who its screen is signed in as: an account deactivated, signed
# out or given another role stops receiving (or receives its new role's views) within this.
RECHECK_S = 30.0
REFRESH = None  # a backlog entry for every screen: refresh (no difference to send)


class ViewPush:
    """Read the worker's view announcements on one thread; hand each stream what changed."""

    def __init__(
        self,
        live: LiveStore,
        watched: frozenset[str],
        stop: threading.Event,
        beat: Callable[[], dict[str, Any]] | None = None,
        beat_s: float = BEAT_S,
    ) -> None:
        self.live = live
        self.watched = watched  # the views a screen's refresh reads: others wake nobody
        self.stop = stop
        self.beat = beat  # the screens' heartbeat, as a refresh would return it now
        self.beat_s = beat_s
        self.seq = 0  # how many messages (differences, refreshes) this process has made
        self.beats = 0  # how many heartbeats it has worked out
        self.beat_data = ""  # the last one, as JSON
        self.reading = False  # whether the reader is reading the stream now
        # (seq, view or REFRESH, the message's JSON body): what a stream passes on.
        self._backlog: deque[tuple[int, str | None, str]] = deque(maxlen=BACKLOG)
        self._forwarded: dict[str, str] = {}  # each view's version the last message led to
        self._changed = threading.Condition()
        self._started = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the reader once, in the process that serves (after gunicorn's fork)."""
        with self._started:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._read, name="view-push", daemon=True)
                self._thread.start()

    def wait(self, seen: tuple[int, int], timeout_s: float) -> tuple[int, int]:
        """Block until a message or a beat newer than `seen` or the timeout; return both counts."""
        with self._changed:
            self._changed.wait_for(
                lambda: (self.seq, self.beats) != seen or self.stop.is_set(), timeout_s
            )
            return self.seq, self.beats

    def since(self, seen: int) -> list[tuple[int, str | None, str]] | None:
        """Return the messages after `seen`, oldest first; None when they are no longer all kept."""
        with self._changed:
            if self.seq == seen:
                return []
            if not self._backlog or self._backlog[0][0] > seen + 1:
                return None
            return [entry for entry in self._backlog if entry[0] > seen]

    def _read(self) -> None:
        """Follow the views stream from its end; on a fault wait, say so once, and go on."""
        cursor: str | None = None
        failing = False
        beat_due = 0.0
        wait_s = min(READ_WAIT_S, self.beat_s) if self.beat is not None else READ_WAIT_S
        while not self.stop.is_set():
            try:
                if cursor is None:
                    cursor = self.live.last_event_id(VIEWS_STREAM)
                    self._forwarded = self._versions_now()
                self.reading = True
                if self.live.wait_events(VIEWS_STREAM, cursor, wait_s):
                    events = self.live.read_events(VIEWS_STREAM, cursor, 100)
                    if events:
                        cursor = events[-1][0]
                        names = {n for _, e in events for n in e.get("views") or ()}
                        self._forward(sorted(names & self.watched))
                if self.beat is not None and time.monotonic() >= beat_due:
                    beat_due = time.monotonic() + self.beat_s
                    self._beat(orjson.dumps(self.beat()).decode())
                if failing:
                    log.info("view push: reading the views stream again")
                failing = False
            except LiveStoreError as exc:
                self.reading = False
                if not failing:
                    log.warning("view push: cannot read the views stream (%s); screens poll", exc)
                failing = True
                cursor = None  # a restarted Redis starts its stream afresh
                self.stop.wait(2.0)
        self.reading = False
        self._add(REFRESH, "")

    def _versions_now(self) -> dict[str, str]:
        """Return the version each watched view has now: where the first differences start."""
        names = sorted(self.watched)
        tails = self.live.get_view_tails(names, TAIL_BYTES)
        stamps = {name: peek(tail) for name, tail in zip(names, tails, strict=True) if tail}
        return {name: stamp[0] for name, stamp in stamps.items() if stamp}

    def _forward(self, names: list[str]) -> None:
        """Make one message per changed view: its difference, or a refresh when there is none."""
        if not names:
            return
        chains = self.live.get_views([patch_view(name) for name in names])
        refresh = False
        for name, raw in zip(names, chains, strict=True):
            body = self._difference(name, raw)
            if body is None:
                refresh = True
            elif body:
                self._add(name, body)
        if refresh:
            self._add(REFRESH, "")

    def _difference(self, name: str, raw: bytes | None) -> str | None:
        """Return the view's difference since the last message as JSON, "" for none, or None."""
        if not raw:
            self._forwarded.pop(name, None)
            return None
        chain = orjson.loads(raw)
        was, now = self._forwarded.get(name), chain.get("to")
        self._forwarded[name] = now
        if was == now:
            return ""
        steps = chain.get("steps") or []
        start = next((i for i, step in enumerate(steps) if step["from"] == was), None)
        if was is None or start is None:
            return None
        ops = [op for step in steps[start:] for op in step["ops"]]
        body = orjson.dumps({"from": was, "to": now, "at": chain.get("at"), "ops": ops}).decode()
        return body if len(body) <= MAX_MESSAGE else None

    def _add(self, view: str | None, body: str) -> None:
        """Keep a message and wake every waiting stream."""
        with self._changed:
            self.seq += 1
            self._backlog.append((self.seq, view, body))
            self._changed.notify_all()

    def _beat(self, beat: str) -> None:
        """Keep the newest heartbeat and wake every waiting stream."""
        with self._changed:
            self.beat_data = beat
            self.beats += 1
            self._changed.notify_all()


def event_stream(
    push: ViewPush,
    stores: Mapping[str, str],
    clock: Callable[[], float] = time.monotonic,
    recheck: Callable[[], Mapping[str, str] | None] | None = None,
) -> Iterator[str]:
    """Yield one screen's server-sent events: differences, refreshes, beats, keep-alives, then end.

    `stores` maps each view this screen's role is sent to the page store it fills; a difference
    of any other view is not for this screen. `recheck()`, every RECHECK_S, returns that mapping
    anew, or None when the screen is no longer signed in: the stream ends there.
    """
    seen = (push.seq, push.beats)
    yield f"retry: {RETRY_MS}\nevent: hello\ndata: {seen[0]}\n\n"
    if push.beat_data:
        yield f"event: beat\ndata: {push.beat_data}\n\n"  # a new screen need not wait for one
    ends = clock() + STREAM_S
    rechecks = clock() + RECHECK_S
    while clock() < ends and not push.stop.is_set():
        if recheck is not None and clock() >= rechecks:
            rechecks = clock() + RECHECK_S
            again = recheck()
            if again is None:
                return
            stores = again
        now_seen = push.wait(seen, min(KEEPALIVE_S, max(0.0, ends - clock())))
        if now_seen == seen:
            yield ": keep-alive\n\n"
            continue
        # One write per wake, whatever it carries: a thread woken and a socket written per
        # screen per change is what a change costs, so not one per message.
        events = (
            list(_messages(push.since(seen[0]), stores, now_seen[0]))
            if now_seen[0] != seen[0]
            else []
        )
        if now_seen[1] != seen[1]:
            events.append(f"event: beat\ndata: {push.beat_data}\n\n")
        seen = now_seen
        if events:
            yield "".join(events)


def _messages(
    entries: list[tuple[int, str | None, str]] | None, stores: Mapping[str, str], seq: int
) -> Iterator[str]:
    """Yield the events of new messages for a screen: its views' differences, one refresh at most."""
    if entries is None:  # fell behind the backlog: what it holds is unknown, refresh
        yield f"event: views\ndata: {seq}\n\n"
        return
    refresh = False
    for entry_seq, view, body in entries:
        if view is REFRESH:
            refresh = True
        elif view in stores:
            yield f'event: patch\ndata: {{"store":"{stores[view]}",{body[1:]}\n\n'
            seq = entry_seq
    if refresh:
        yield f"event: views\ndata: {seq}\n\n"


def make_push_blueprint(
    push: ViewPush,
    who: Callable[[], Any],
    stores_for: Callable[[Any], Mapping[str, str]],
    again: Callable[[], Any] | None = None,
) -> Blueprint:
    """Return the blueprint serving `/live/stream` to signed-in accounts.

    `stores_for(principal)` maps each view the role is sent to the store it fills; `again()`
    loads the session's account afresh during a stream (None: signed out, end it).
    """
    blueprint = Blueprint("push", __name__)

    @blueprint.get("/live/stream")
    def stream() -> Response:
        """Stream what changed to a signed-in screen; 401 to anyone else."""
        principal = who()
        if principal is None:
            abort(401)
        push.start()

        def recheck() -> Mapping[str, str] | None:
            """Return what the screen's account is sent now, or None once it is signed out."""
            now = again() if again is not None else principal
            return stores_for(now) if now is not None else None

        return Response(
            stream_with_context(event_stream(push, stores_for(principal), recheck=recheck)),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return blueprint
