"""Push to the screens that views changed: one reader per web process, a server-sent event stream each.

The worker appends one event per cycle that changed any view to the live store's VIEWS_STREAM
(cockpit.viewmodels.ViewModelPublisher.announce). Each web process reads that stream on one
thread (`ViewPush`) and wakes every screen's `/live/stream` (text/event-stream, signed-in
accounts only), whose page then runs its refresh at once (assets/push.js) instead of waiting
for the next poll: the refresh stays the one way views reach a page, with the same role checks,
and polling stays as the fallback whenever the stream is down or blocked.

The reader also works out, every BEAT_S, how fresh the views are (the same heartbeat a refresh
returns) and sends it down every stream as a `beat`: while beats come, a page polls only
rarely (a safety net), so a screen with nothing new costs a few bytes every BEAT_S instead of a
refresh through Dash every second; when they stop, the page polls as before.

Server-sent events rather than WebSockets: one direction is all a screen needs, EventSource
reconnects by itself (after a proxy timeout or a web worker restart) with no code of ours, and
it runs over plain HTTP through the same nginx location with buffering off.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from flask import Blueprint, Response, abort, stream_with_context

from cockpit.live import LiveStore, LiveStoreError
from cockpit.viewmodels import VIEWS_STREAM

log = logging.getLogger(__name__)

# A comment line this often keeps proxies and the browser from closing an idle stream.
KEEPALIVE_S = 15.0
# A stream ends after this long and EventSource reconnects: the session is checked again, and
# a web worker's threads are never held for good by screens that left.
STREAM_S = 300.0
RETRY_MS = 3_000  # EventSource's wait before reconnecting
READ_WAIT_S = 5.0  # the reader's blocking read on the views stream
# How often every stream hears how fresh the views are: well inside the page's "lost" limit
# (three polls and two seconds, layouts/shell.py), so a pushed page never looks lost.
BEAT_S = 2.0


class ViewPush:
    """Read the worker's view announcements on one thread; wake the screens' streams on each."""

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
        self.seq = 0  # how many announcements of watched views this process has seen
        self.beats = 0  # how many heartbeats it has worked out
        self.beat_data = ""  # the last one, as JSON
        self.reading = False  # whether the reader is reading the stream now
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
        """Block until an announcement or a beat newer than `seen` or the timeout; return both counts."""
        with self._changed:
            self._changed.wait_for(
                lambda: (self.seq, self.beats) != seen or self.stop.is_set(), timeout_s
            )
            return self.seq, self.beats

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
                self.reading = True
                if self.live.wait_events(VIEWS_STREAM, cursor, wait_s):
                    events = self.live.read_events(VIEWS_STREAM, cursor, 100)
                    if events:
                        cursor = events[-1][0]
                        names = {n for _, e in events for n in e.get("views") or ()}
                        if names & self.watched:
                            self._wake()
                if self.beat is not None and time.monotonic() >= beat_due:
                    beat_due = time.monotonic() + self.beat_s
                    self._wake(beat=orjson.dumps(self.beat()).decode())
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
        self._wake()

    def _wake(self, beat: str | None = None) -> None:
        """Count an announcement (or, given one, a heartbeat) and wake every waiting stream."""
        with self._changed:
            if beat is None:
                self.seq += 1
            else:
                self.beat_data = beat
                self.beats += 1
            self._changed.notify_all()


def event_stream(push: ViewPush, clock: Callable[[], float] = time.monotonic) -> Iterator[str]:
    """Yield one screen's server-sent events: `views` on each change, `beat`s, keep-alives, then end."""
    seen = (push.seq, push.beats)
    yield f"retry: {RETRY_MS}\nevent: hello\ndata: {seen[0]}\n\n"
    if push.beat_data:
        yield f"event: beat\ndata: {push.beat_data}\n\n"  # a new screen need not wait for one
    ends = clock() + STREAM_S
    while clock() < ends and not push.stop.is_set():
        now_seen = push.wait(seen, min(KEEPALIVE_S, max(0.0, ends - clock())))
        if now_seen == seen:
            yield ": keep-alive\n\n"
            continue
        if now_seen[0] != seen[0]:
            yield f"event: views\ndata: {now_seen[0]}\n\n"
        if now_seen[1] != seen[1]:
            yield f"event: beat\ndata: {push.beat_data}\n\n"
        seen = now_seen


def make_push_blueprint(push: ViewPush, who: Callable[[], Any]) -> Blueprint:
    """Return the blueprint serving `/live/stream` to signed-in accounts."""
    blueprint = Blueprint("push", __name__)

    @blueprint.get("/live/stream")
    def stream() -> Response:
        """Stream the view announcements to a signed-in screen; 401 to anyone else."""
        if who() is None:
            abort(401)
        push.start()
        return Response(
            stream_with_context(event_stream(push)),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return blueprint
