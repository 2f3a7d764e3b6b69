"""Push to the screens that views changed: one reader per web process, a server-sent event stream each.

The worker appends one event per cycle that changed any view to the live store's VIEWS_STREAM
(cockpit.viewmodels.ViewModelPublisher.announce). Each web process reads that stream on one
thread (`ViewPush`) and wakes every screen's `/live/stream` (text/event-stream, signed-in
accounts only), whose page then runs its refresh at once (assets/push.js) instead of waiting
for the next poll: the refresh stays the one way views reach a page, with the same role checks,
and polling stays as the fallback whenever the stream is down or blocked.

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


class ViewPush:
    """Read the worker's view announcements on one thread; wake the screens' streams on each."""

    def __init__(self, live: LiveStore, watched: frozenset[str], stop: threading.Event) -> None:
        self.live = live
        self.watched = watched  # the views a screen's refresh reads: others wake nobody
        self.stop = stop
        self.seq = 0  # how many announcements of watched views this process has seen
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

    def wait(self, seen: int, timeout_s: float) -> int:
        """Block until an announcement newer than `seen` or the timeout; return the count."""
        with self._changed:
            self._changed.wait_for(lambda: self.seq != seen or self.stop.is_set(), timeout_s)
            return self.seq

    def _read(self) -> None:
        """Follow the views stream from its end; on a fault wait, say so once, and go on."""
        cursor: str | None = None
        failing = False
        while not self.stop.is_set():
            try:
                if cursor is None:
                    cursor = self.live.last_event_id(VIEWS_STREAM)
                self.reading = True
                if self.live.wait_events(VIEWS_STREAM, cursor, READ_WAIT_S):
                    events = self.live.read_events(VIEWS_STREAM, cursor, 100)
                    if events:
                        cursor = events[-1][0]
                        names = {n for _, e in events for n in e.get("views") or ()}
                        if names & self.watched:
                            self._wake()
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

    def _wake(self) -> None:
        """Count an announcement and wake every waiting stream."""
        with self._changed:
            self.seq += 1
            self._changed.notify_all()


def event_stream(push: ViewPush, clock: Callable[[], float] = time.monotonic) -> Iterator[str]:
    """Yield one screen's server-sent events: `views` on each change, keep-alives, then end."""
    seen = push.seq
    yield f"retry: {RETRY_MS}\nevent: hello\ndata: {seen}\n\n"
    ends = clock() + STREAM_S
    while clock() < ends and not push.stop.is_set():
        now_seen = push.wait(seen, min(KEEPALIVE_S, max(0.0, ends - clock())))
        if now_seen != seen:
            seen = now_seen
            yield f"event: views\ndata: {seen}\n\n"
        else:
            yield ": keep-alive\n\n"


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
