"""Test the room mirror with a fake sink: only the shown store's views leave the process, a swap
copies the new store's views at once, and a failing sink is caught up after it recovers."""

from __future__ import annotations

from cockpit.demo.mirror import RoomMirror
from cockpit.live import LiveStoreError


class Sink:
    """Collect what reaches the room's namespace; fail while told to."""

    def __init__(self) -> None:
        self.views: dict[str, bytes] = {}
        self.mode = ""
        self.failing = False

    def put(self, views: dict[str, bytes], mode: str) -> None:
        if self.failing:
            raise LiveStoreError("Redis: down")
        self.views.update(views)
        self.mode = mode

    def clear(self) -> None:
        self.views.clear()


def test_only_the_shown_store_reaches_the_sink_and_a_swap_copies_everything() -> None:
    """A street being prepared writes nothing out; once shown its views (the map published
    once included) are copied; the replaced street's late writes never land."""
    sink = Sink()
    mirror = RoomMirror(sink)
    old, new = mirror.store(), mirror.store()
    mirror.show(old, "scripted")
    old.set_view("overview", b"old")
    new.set_view("map_geometry", b"new map")  # published while preparing, not shown yet
    new.set_view("overview", b"new")
    assert sink.views == {"overview": b"old"} and sink.mode == "scripted"
    mirror.show(new, "scripted")
    assert sink.views == {"overview": b"new", "map_geometry": b"new map"}
    old.set_view("overview", b"old again")  # the replaced street's worker, before it stops
    assert sink.views["overview"] == b"new"
    replay = mirror.store()
    mirror.show(replay, "replay")
    replay.set_view("demo", b"replay")
    assert sink.views["demo"] == b"replay" and sink.mode == "replay"
    mirror.show(None, "scripted")
    assert sink.views == {}


def test_a_failing_sink_is_caught_up_after_it_recovers() -> None:
    """Writes while the sink fails are not raised to the demo; the first write after it answers
    again copies every view, so a view published once is not missing for good."""
    sink = Sink()
    mirror = RoomMirror(sink)
    live = mirror.store()
    mirror.show(live, "scripted")
    sink.failing = True
    live.set_view("map_geometry", b"map")
    live.set_view("overview", b"one")
    assert sink.views == {} and live.get_view("overview") == b"one"  # plays on in process
    sink.failing = False
    live.set_view("overview", b"two")
    assert sink.views == {"map_geometry": b"map", "overview": b"two"}
