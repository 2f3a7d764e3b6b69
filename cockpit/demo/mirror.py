"""Mirror the view models a demo room shows into a store other web processes read.

A room's demo session (and a replay) keeps its live state in process, as in the embedded
default; only its published view models are copied out, and only those of the store the room
shows now: a street being prepared by a restart, or the one just replaced, never overwrites what
the visitor sees.

    mirror = RoomMirror(sink)           # sink: the room's namespace in Redis (cockpit/demo/shared.py)
    live = mirror.store()               # a session's live store; its set_view also reaches the sink
    mirror.show(live, "scripted")       # from now on this store's views are the room's
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from cockpit.live import InProcessLiveStore, LiveStoreError

log = logging.getLogger(__name__)


class ViewSink(Protocol):
    """Take a room's views, its mode, or clear them all (the room's namespace in Redis)."""

    def put(self, views: dict[str, bytes], mode: str) -> None:
        """Write the views (and the room's mode) in one go."""
        ...

    def clear(self) -> None:
        """Remove every view of the room."""
        ...


class MirroredLiveStore(InProcessLiveStore):
    """Hold a demo's live state in process and hand each published view to its mirror."""

    def __init__(self, mirror: RoomMirror) -> None:
        super().__init__()
        self._mirror = mirror

    def set_view(self, name: str, payload: bytes) -> None:
        """Publish a view here and, when this store is the one shown, to the mirror's sink."""
        super().set_view(name, payload)
        self._mirror.write(self, name, payload)

    def views(self) -> dict[str, bytes]:
        """Return every view published here."""
        with self._lock:
            return dict(self._views)


class RoomMirror:
    """Copy the shown store's views to the sink; a store not shown writes nothing there."""

    def __init__(self, sink: ViewSink) -> None:
        self.sink = sink
        self._lock = threading.Lock()
        self._shown: InProcessLiveStore | None = None
        self._mode = ""
        self._failing = False

    def store(self) -> MirroredLiveStore:
        """Return a fresh live store whose views reach the sink once it is shown."""
        return MirroredLiveStore(self)

    def show(self, store: InProcessLiveStore | None, mode: str) -> None:
        """Make the store's views the room's (copying what it already holds); None clears them."""
        with self._lock:
            self._shown, self._mode = store, mode
            views = store.views() if isinstance(store, MirroredLiveStore) else {}
            self._guard(lambda: self.sink.put(views, mode) if store else self.sink.clear())

    def detach(self) -> None:
        """Stop copying anything (the room stopped); what the sink holds stays for its owner."""
        with self._lock:
            self._shown = None

    def write(self, store: InProcessLiveStore, name: str, payload: bytes) -> None:
        """Write one view when it comes from the store shown."""
        with self._lock:  # held across the write: a swap never lets an old store's view land late
            if store is self._shown:
                # After a failure the sink missed views published once (the map): copy them all.
                views = store.views() if self._failing else {name: payload}  # type: ignore[attr-defined]
                self._guard(lambda: self.sink.put(views, self._mode))

    def _guard(self, write) -> None:
        """Run a write to the sink; a failing sink is logged once, the demo plays on in process."""
        try:
            write()
        except LiveStoreError as exc:
            if not self._failing:
                log.warning(
                    "demo room views cannot be shared (%s); other web workers see none", exc
                )
            self._failing = True
            return
        if self._failing:
            log.info("demo room views are shared again")
        self._failing = False
