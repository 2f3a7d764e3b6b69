"""Check the push of view changes: the worker's announcements, the web's reader and each stream."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import flask
import orjson
import pytest

from cockpit.live import InProcessLiveStore, LiveStoreError
from cockpit.viewmodels import VIEWS_STREAM, ViewModelPublisher, patch_view
from cockpit.web import push as push_module
from cockpit.web.push import (
    BACKLOG,
    KEEPALIVE_S,
    RECHECK_S,
    STREAM_S,
    ViewPush,
    event_stream,
    make_push_blueprint,
)
from tests.waiting import wait_until

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
WATCHED = frozenset({"overview", "ticker"})


def test_the_publisher_announces_only_views_whose_content_changed_once_per_call():
    live = InProcessLiveStore()
    publisher = ViewModelPublisher(live)
    publisher.publish("overview", {"kpis": {"open": 1}}, NOW)
    publisher.publish("ticker", {"items": []}, NOW)
    first = publisher.announce()
    assert first is not None
    assert live.read_events(VIEWS_STREAM) == [(first, {"views": ["overview", "ticker"]})]
    publisher.publish("overview", {"kpis": {"open": 1}}, NOW)  # the same content, a new tick
    assert publisher.announce() is None
    publisher.publish("overview", {"kpis": {"open": 2}}, NOW)
    second = publisher.announce()
    assert live.read_events(VIEWS_STREAM, first) == [(second, {"views": ["overview"]})]


def test_ingest_counters_no_screen_draws_change_no_version():
    """Readings counted every tick change the overview's bytes, not its version: no screen
    redraws, and no push wakes them, for a counter none of them shows."""
    base = {"kpis": {"open_cases": 3, "readings_total": 10, "readings_per_min": 60}}
    counted = {"kpis": {"open_cases": 3, "readings_total": 11, "readings_per_min": 61}}
    drawn = {"kpis": {"open_cases": 4, "readings_total": 11, "readings_per_min": 61}}
    version = ViewModelPublisher.version_of
    assert version(base) == version(counted) != version(drawn)
    live = InProcessLiveStore()
    publisher = ViewModelPublisher(live)
    publisher.publish("overview", base, NOW)
    publisher.announce()
    publisher.publish("overview", counted, NOW)
    assert publisher.announce() is None


def test_an_announcement_kept_while_the_store_is_down_is_made_once_it_is_back():
    class Flaky(InProcessLiveStore):
        down = True

        def append_event(self, stream, event, maxlen=None):
            if self.down:
                raise LiveStoreError("Redis: down")
            return super().append_event(stream, event, maxlen)

    live = Flaky()
    publisher = ViewModelPublisher(live)
    publisher.publish("ticker", {"items": [1]}, NOW)
    with pytest.raises(LiveStoreError):
        publisher.announce()
    live.down = False
    assert publisher.announce() is not None
    assert live.read_events(VIEWS_STREAM)[0][1] == {"views": ["ticker"]}


@pytest.fixture
def reader():
    """Return (live store, publisher, push) with the push's reader running; stop it after."""
    live = InProcessLiveStore()
    stop = threading.Event()
    push = ViewPush(live, WATCHED, stop)
    push.start()
    assert wait_until(lambda: push.reading)
    yield live, ViewModelPublisher(live), push
    stop.set()


def test_the_reader_wakes_the_streams_on_watched_views_only(reader):
    """Views published without a chain of differences: each change is a refresh for all."""
    _live, publisher, push = reader
    publisher.publish("kpi_lists", {"lists": {}}, NOW)  # no screen's refresh reads it
    publisher.announce()
    assert push.wait((0, 0), 0.3) == (0, 0)
    publisher.publish("ticker", {"items": [1]}, NOW)
    publisher.announce()
    assert push.wait((0, 0), 5.0) == (1, 0)
    push.start()  # a second start keeps the one reader
    publisher.publish("overview", {"kpis": {"a": 1}}, NOW)
    publisher.announce()
    assert push.wait((1, 0), 5.0) == (2, 0)


def test_a_reader_that_loses_the_store_says_so_and_reads_again_when_it_is_back():
    class Outage(InProcessLiveStore):
        down = threading.Event()

        def wait_events(self, stream, after, timeout_s):
            if self.down.is_set():
                raise LiveStoreError("Redis: gone")
            return super().wait_events(stream, after, min(timeout_s, 0.1))

    live = Outage()
    stop = threading.Event()
    push = ViewPush(live, WATCHED, stop)
    live.down.set()
    push.start()
    try:
        assert wait_until(lambda: not push.reading, 2.0)
        live.down.clear()
        assert wait_until(lambda: push.reading, 5.0)
        publisher = ViewModelPublisher(live)
        publisher.publish("ticker", {"items": [2]}, NOW)
        publisher.announce()
        assert push.wait((0, 0), 5.0) == (1, 0)
    finally:
        stop.set()


class StillPush:
    """Stand in for ViewPush: messages and beats counted by hand, each wait a keep-alive long.

    Every message is a refresh unless `backlog` says otherwise (seq -> (view, body)).
    """

    def __init__(
        self, changes: list[tuple[int, int]], beat_data: str = "", backlog: dict | None = None
    ) -> None:
        self.stop = threading.Event()
        self.seq = self.beats = 0
        self.beat_data = beat_data
        self.backlog = backlog or {}
        self.changes = iter(changes)
        self.now = 0.0  # the clock the stream reads: time passes while it waits

    def wait(self, seen: tuple[int, int], timeout_s: float) -> tuple[int, int]:
        self.now += timeout_s
        self.seq, self.beats = next(self.changes, (self.seq, self.beats))
        return self.seq, self.beats

    def since(self, seen: int):
        return [(n, *self.backlog.get(n, (None, ""))) for n in range(seen + 1, self.seq + 1)]


def test_a_stream_says_hello_sends_each_change_keeps_alive_and_ends_to_be_reopened():
    push = StillPush([(1, 0), (1, 0), (3, 0)])
    events = list(event_stream(push, {}, clock=lambda: push.now))
    assert events[0].startswith("retry: ") and "event: hello" in events[0]
    assert events[1:4] == [
        "event: views\ndata: 1\n\n",
        ": keep-alive\n\n",
        "event: views\ndata: 3\n\n",
    ]
    assert set(events[4:]) == {": keep-alive\n\n"}
    # It ends after STREAM_S, and EventSource opens a new one (the session checked again).
    assert push.now == STREAM_S and len(events) == 1 + int(STREAM_S / KEEPALIVE_S)


def test_a_stream_sends_the_last_beat_at_once_then_each_new_one_with_the_changes():
    push = StillPush([(0, 1), (2, 2), (2, 2)], beat_data='{"age_s":0.4}')
    events = list(event_stream(push, {}, clock=lambda: push.now))
    beat = 'event: beat\ndata: {"age_s":0.4}\n\n'
    assert events[1:5] == [
        beat,  # a new screen hears how fresh at once
        beat,
        "event: views\ndata: 2\n\n" + beat,  # what one wake brings goes in one write
        ": keep-alive\n\n",
    ]


def test_the_reader_beats_the_heartbeat_it_is_given_and_stops_beating_when_it_fails():
    live = InProcessLiveStore()
    stop = threading.Event()
    beats = iter([{"age_s": 0.3, "stale": False}, {"age_s": 0.5, "stale": False}])

    def beat() -> dict:
        value = next(beats, None)
        if value is None:
            raise LiveStoreError("Redis: gone")
        return value

    push = ViewPush(live, WATCHED, stop, beat=beat, beat_s=0.05)
    push.start()
    try:
        assert push.wait((0, 0), 5.0) == (0, 1)
        assert push.beat_data == '{"age_s":0.3,"stale":false}'
        assert push.wait((0, 1), 5.0) == (0, 2)
        assert wait_until(lambda: not push.reading, 5.0)  # the third fails: no beat
        assert push.beats == 2
    finally:
        stop.set()


def test_the_stream_is_for_signed_in_screens_only(monkeypatch):
    monkeypatch.setattr(push_module, "STREAM_S", 0.0)  # the stream ends after its hello
    server = flask.Flask(__name__)
    push = StillPush([])
    push.start = lambda: None
    signed_in = {"who": None}
    server.register_blueprint(make_push_blueprint(push, lambda: signed_in["who"], lambda _p: {}))
    client = server.test_client()
    assert client.get("/live/stream").status_code == 401
    signed_in["who"] = object()
    answer = client.get("/live/stream")
    assert answer.status_code == 200 and answer.mimetype == "text/event-stream"
    assert answer.headers["Cache-Control"] == "no-cache"
    assert answer.headers["X-Accel-Buffering"] == "no"  # nginx passes it on unbuffered
    assert b"event: hello" in answer.data


def test_a_stream_passes_on_its_roles_differences_under_its_store_and_one_refresh():
    backlog = {
        1: ("cases_wall", '{"from":"a","to":"b","ops":[]}'),
        2: ("cases", '{"from":"c","to":"d","ops":[]}'),  # a dispatcher's: not the wall's
        3: (None, ""),
        4: (None, ""),
    }
    push = StillPush([(4, 0)], backlog=backlog)
    events = list(event_stream(push, {"cases_wall": "cases"}, clock=lambda: push.now))
    assert events[1] == (
        'event: patch\ndata: {"store":"cases","from":"a","to":"b","ops":[]}\n\n'
        "event: views\ndata: 1\n\n"  # the refreshes of 3 and 4, once
    )


@pytest.fixture
def patched():
    """Return (live, publisher of patched views, push reading them); stop the reader after."""
    live = InProcessLiveStore()
    publisher = ViewModelPublisher(live, patched=frozenset({"ticker", "overview"}))
    publisher.publish("ticker", {"items": [{"id": 1}]}, NOW)
    publisher.announce()
    stop = threading.Event()
    push = ViewPush(live, WATCHED, stop)
    push.start()
    assert wait_until(lambda: push.reading)
    yield live, publisher, push
    stop.set()


def test_a_changed_view_with_a_chain_is_one_difference_from_the_version_screens_hold(patched):
    live, publisher, push = patched
    before = publisher.publish("ticker", {"items": [{"id": 1}]}, NOW)
    after = publisher.publish("ticker", {"items": [{"id": 2}, {"id": 1}]}, NOW)
    publisher.announce()
    assert push.wait((0, 0), 5.0) == (1, 0)
    [(seq, view, body)] = push.since(0)
    assert (seq, view) == (1, "ticker")
    message = orjson.loads(body)
    assert (message["from"], message["to"]) == (before, after)
    assert message["ops"] == [["ins", ["items"], 0, {"id": 2}]]


def test_a_first_publication_or_a_lost_step_is_a_refresh_not_a_difference(patched):
    live, publisher, push = patched
    publisher.publish("overview", {"kpis": {"a": 1}}, NOW)  # no version to start from
    publisher.announce()
    assert push.wait((0, 0), 5.0) == (1, 0)
    assert push.since(0) == [(1, None, "")]
    assert push.since(1) == []


def test_a_stream_that_fell_behind_the_backlog_is_told_to_refresh(patched):
    live, publisher, push = patched
    for n in range(BACKLOG + 5):
        publisher.publish("ticker", {"items": [{"id": 1}, {"id": n + 10}]}, NOW)
        publisher.announce()
        assert push.wait((n, 0), 5.0)[0] == n + 1
    assert push.since(0) is None
    assert len(push.since(10)) == BACKLOG - 5


def test_a_stream_ends_when_its_screen_is_signed_out_and_follows_a_new_role():
    """Asked again every RECHECK_S: a new mapping is used from then on; None ends the stream."""
    backlog = {n: ("cases", '{"from":"a","to":"b","ops":[]}') for n in range(1, 100)}
    push = StillPush([(n, 0) for n in range(1, 100)], backlog=backlog)
    answers = iter([{"cases": "cases"}, None])  # first a dispatcher now, then signed out
    asked = []

    def recheck():
        asked.append(push.now)
        return next(answers)

    events = list(event_stream(push, {}, clock=lambda: push.now, recheck=recheck))
    patches = [e for e in events if e.startswith("event: patch")]
    # Nothing of "cases" while the role was not sent it; then each one; then the end.
    assert asked == [
        pytest.approx(RECHECK_S, abs=KEEPALIVE_S),
        pytest.approx(2 * RECHECK_S, abs=2 * KEEPALIVE_S),
    ]
    assert patches and all('"store":"cases"' in e for e in patches)
    assert len(events) < 1 + int(STREAM_S / KEEPALIVE_S)  # it ended long before STREAM_S


def test_a_difference_larger_than_a_message_goes_as_a_refresh(patched):
    live, publisher, push = patched
    kept = [{"id": n, "text": "x" * 400} for n in range(300)]  # 125 KB
    publisher.publish("ticker", {"items": kept}, NOW)
    added = [{"id": n, "text": "y" * 400} for n in range(300, 450)]  # 62 KB more
    publisher.publish("ticker", {"items": kept + added}, NOW)
    publisher.announce()
    chain = orjson.loads(live.get_view(patch_view("ticker")))
    assert len(chain["steps"]) == 1  # within the chain's share of the view...
    assert push.wait((0, 0), 5.0) == (1, 0)
    assert push.since(0) == [(1, None, "")]  # ...but over a message: screens refresh
