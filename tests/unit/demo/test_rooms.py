"""Test demo rooms with fake sessions: one room per visitor, idle expiry, LRU, busy refusal, stop;
and the demo controls: only a role with RUN_DEMO, only on the requester's own room, audited."""

from __future__ import annotations

import threading

import flask
import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from callbacks.demo import DemoControls, preparation
from cockpit.access.audit import AuditLog, AuditQuery
from cockpit.access.policy import Permission, Principal, Role
from cockpit.demo.captions import PAUSED, PLAYING
from cockpit.demo.controller import DemoController
from cockpit.demo.rooms import CLOSED, ELSEWHERE, DemoRooms
from cockpit.live import InProcessLiveStore
from cockpit.settings import Settings
from cockpit.web.demo_room import SESSION_KEY, current_room_key, open_visitor_room
from layouts.demo import preparing_page, rooms_full_page
from tests.unit.demo.fakes import FakeSession
from tests.waiting import wait_until

A, B, C = "a" * 32, "b" * 32, "c" * 32


class Street:
    """Make demo rooms over fake sessions, with a hand-moved clock and a settable visitor."""

    def __init__(self, engine, capacity: int = 3) -> None:
        self.sessions: list[FakeSession] = []
        self.stop_event = threading.Event()
        self.t = 1000.0
        self.visitor: str | None = None
        self.production = InProcessLiveStore()
        self.production.set_view("overview", b'{"production": true}')

        def open_session(settings, **kw) -> FakeSession:
            session = FakeSession()
            session.live.set_view("overview", orjson.dumps({"room": len(self.sessions)}))
            self.sessions.append(session)
            return session

        self.rooms = DemoRooms(
            lambda: DemoController(Settings(), engine, self.production, open_session=open_session),
            self.stop_event,
            capacity=capacity,
            key_of=lambda: self.visitor,
            now=lambda: self.t,
            sweep_every_s=3600,
        )

    def ready(self, key: str) -> DemoController:
        """Open the key's room and wait until its fake street is swapped in."""
        demo = self.rooms.open(key)
        assert demo is not None
        assert wait_until(demo.ensure_started, timeout=30), "the room never became ready"
        return demo

    def watching(self, key: str | None) -> dict | None:
        """Return the overview the visitor with this key sees."""
        self.visitor = key
        return self.rooms.read_view_current("overview")


@pytest.fixture
def street(sqlite_engine):
    """Return rooms for three visitors at most; stop them afterwards."""
    made = Street(sqlite_engine)
    yield made
    made.rooms.stop()


def wait_for(check) -> None:
    """Wait until check() holds (background stops and preparations)."""
    assert wait_until(check, timeout=30), "never happened"


def test_two_visitors_get_two_rooms(street) -> None:
    """Two keys get two controllers with two streets; each reads its own, never production's."""
    first, second = street.ready(A), street.ready(B)
    assert first is not second and len(street.sessions) == 2
    assert street.rooms.open(A) is first  # the same visitor comes back to the same room
    assert street.watching(A) == {"room": 0}
    assert street.watching(B) == {"room": 1}
    assert street.watching(None) is None  # no key: nothing, not someone's room
    assert street.watching(C) is None  # a key with no room here opens none by reading
    assert street.rooms.keys() == [A, B] and len(street.sessions) == 2


def test_commands_on_one_room_leave_the_other_alone(street) -> None:
    """Pausing, speeding up and restarting A changes nothing of B's."""
    first, _ = street.ready(A), street.ready(B)
    a_player, b_player = street.sessions[0].player, street.sessions[1].player
    assert first.toggle() == "pause"
    first.set_speed(300)
    assert (a_player.state, a_player.speed) == (PAUSED, 300)
    assert (b_player.state, b_player.speed) == (PLAYING, 60.0)
    first.restart()
    wait_for(lambda: street.sessions[0].stopped)
    assert len(street.sessions) == 3 and not street.sessions[1].stopped
    assert street.watching(B) == {"room": 1}


def test_a_room_idle_for_fifteen_minutes_closes(street) -> None:
    """A room neither read nor commanded for 15 minutes closes; a watched one stays."""
    street.ready(A), street.ready(B)
    street.t += 14 * 60
    assert street.watching(B) == {"room": 1}  # B's page keeps refreshing
    assert street.rooms.close_idle() == 0
    street.t += 60
    assert street.rooms.close_idle() == 1
    wait_for(lambda: street.sessions[0].stopped)
    assert street.rooms.keys() == [B] and not street.sessions[1].stopped
    assert street.rooms.absence(A) == CLOSED and street.rooms.absence(C) == ELSEWHERE
    assert street.watching(A) is None
    street.visitor = A
    closed = street.rooms.read_view_current("demo")
    assert closed["state"] == CLOSED and "Reload the page" in closed["current"]["en"]


def test_a_new_visitor_takes_the_least_recently_used_idle_room(street) -> None:
    """With every room taken, the one unused the longest (over a minute) goes to the newcomer."""
    street.ready(A)
    street.t += 10
    street.ready(B)
    street.t += 10
    street.ready(C)
    street.t += 30
    street.watching(A)  # A was opened first but watched since: B is the least recently used
    street.t += 61
    assert street.rooms.open("d" * 32) is not None
    wait_for(lambda: street.sessions[1].stopped)
    assert sorted(street.rooms.keys()) == sorted([A, C, "d" * 32])
    assert not street.sessions[0].stopped and not street.sessions[2].stopped


def test_when_every_room_is_busy_the_newcomer_is_refused(street) -> None:
    """Rooms used within the last minute are never taken; the newcomer gets None until one idles."""
    for key in (A, B, C):
        street.ready(key)
    street.t += 59
    street.watching(C)
    street.t += 1
    street.watching(A)
    street.watching(B)
    street.t += 58  # C unused for 59 s, A and B for 58 s: all busy
    assert street.rooms.open("d" * 32) is None
    assert street.rooms.keys() == [C, A, B] and not any(s.stopped for s in street.sessions)
    assert street.rooms.open(B) is not None  # a room's own visitor always gets back in
    street.t += 1  # C unused for 60 s now, A and B less: C goes to the newcomer
    assert street.rooms.open("d" * 32) is not None
    assert street.rooms.keys() == [A, B, "d" * 32]
    wait_for(lambda: street.sessions[2].stopped)
    assert not street.sessions[0].stopped and not street.sessions[1].stopped


def test_stopping_the_runtime_stops_every_room(street) -> None:
    """The runtime's stop event stops every room's session, and no room opens afterwards."""
    for key in (A, B):
        street.ready(key)
    street.stop_event.set()
    wait_for(lambda: all(s.stopped for s in street.sessions))
    wait_for(lambda: street.rooms.stopped)
    assert street.rooms.open(C) is None and street.rooms.keys() == []


def test_rooms_need_a_place() -> None:
    """A capacity under one is refused at once."""
    with pytest.raises(ValueError, match="at least one room"):
        DemoRooms(lambda: None, threading.Event(), capacity=0)


# -- the controls ------------------------------------------------------------------------------


def principal(role: Role) -> Principal:
    """Return a signed-in principal of the role."""
    return Principal(account_id=7, username="li", role=role, worker_id=3)


COMMANDS = {
    "toggle": lambda demo: demo.toggle(),
    "speed": lambda demo: demo.set_speed(300),
    "restart": lambda demo: demo.restart(),
}


def snapshot(street: Street) -> list[tuple[str, float, bool]]:
    """Return every fake session's player state, speed and whether it stopped."""
    return [(s.player.state, s.player.speed, s.stopped) for s in street.sessions]


@hsettings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    role=st.sampled_from([None, *Role]),
    command=st.sampled_from(sorted(COMMANDS)),
    key=st.sampled_from([A, None, C]),
)
def test_controls_act_only_for_run_demo_on_ones_own_room(street, role, command, key) -> None:
    """Only a role with RUN_DEMO acting on a room of its own changes a room; B's never changes;
    every command, done or refused, is audited with the actor the server knows."""
    street.ready(A), street.ready(B)
    who = principal(role) if role else None
    entries: list[tuple] = []

    class Audit:
        def record(self, actor, action, **kw) -> None:
            entries.append((actor, action, kw))

    controls = DemoControls(street.rooms, lambda: who, Audit(), lambda: "10.0.0.9")
    street.visitor = key
    others = snapshot(street)[1]
    ack, message = controls.run(command, COMMANDS[command], "en")
    allowed = who is not None and who.may(Permission.RUN_DEMO) and key == A
    assert ("done" in ack) is allowed and (message == "") is allowed
    assert snapshot(street)[1] == others  # the other visitor's room never moves
    if not allowed:
        assert "error" in ack
    (actor, action, kw) = entries[-1]
    assert actor == (who.actor if who else "anonymous")
    assert action.startswith("demo_") and kw["source_ip"] == "10.0.0.9"
    assert kw["outcome"] == ("ok" if allowed else "refused")
    assert kw["record"] == (("demo_room", key[:8]) if key else None)
    street.rooms.get(A).set_speed(60)  # undo for the next example
    if street.sessions[0].player.state == PAUSED:
        street.rooms.get(A).toggle()


def test_a_refused_control_changes_nothing_and_says_why(street, sqlite_engine) -> None:
    """A kiosk, a stranger, a closed room and a bad speed are refused on the bar and in the
    audit log; a viewer's pause is done and written as demo_pause."""
    street.ready(A)
    audit = AuditLog(sqlite_engine)
    street.visitor = A
    kiosk = DemoControls(street.rooms, lambda: principal(Role.KIOSK), audit)
    ack, message = kiosk.run("toggle", COMMANDS["toggle"], "zh")
    assert ack["error"] == "not allowed" and message == "您的账号无权操作演示。"
    assert street.sessions[0].player.state == PLAYING
    viewer = DemoControls(street.rooms, lambda: principal(Role.VIEWER), audit)
    ack, message = viewer.run("speed", lambda demo: demo.set_speed(42), "en")
    assert message.startswith("Refused: speed must be one of")
    ack, message = viewer.run("toggle", COMMANDS["toggle"], "en")
    assert ack["done"] == "pause" and message == ""
    street.visitor = C
    ack, message = viewer.run("restart", COMMANDS["restart"], "en")
    assert ack["error"] == "room elsewhere" and "another web worker" in message
    assert len(street.sessions) == 1
    rows = audit.search(AuditQuery())
    assert [(r["action"], r["outcome"]) for r in reversed(rows)] == [
        ("demo_toggle", "refused"),
        ("demo_speed", "refused"),
        ("demo_pause", "ok"),
        ("demo_restart", "refused"),
    ]
    assert rows[1]["actor"] == "viewer:li" and rows[1]["record_id"] == A[:8]
    street.t += 15 * 60  # A idles out: its visitor is told so, and nothing else opens
    assert street.rooms.close_idle() == 1
    street.visitor = A
    ack, message = viewer.run("toggle", COMMANDS["toggle"], "en")
    assert ack["error"] == "room closed" and message.startswith("Your demo room was closed")
    assert street.rooms.keys() == [] and len(street.sessions) == 1


# -- the visitor's key -------------------------------------------------------------------------


def test_the_visitor_key_lives_in_the_session_and_names_one_room_here(street) -> None:
    """A first demo page sets a random key in the session; the same session comes back to its
    room; a key this process does not hold, or a malformed one, is replaced, never revived."""
    server = flask.Flask(__name__)
    server.secret_key = "test"
    street.rooms.key_of = current_room_key
    assert current_room_key() is None  # outside a request
    with server.test_request_context("/"):
        assert current_room_key() is None
        first = open_visitor_room(street.rooms)
        key = flask.session[SESSION_KEY]
        assert first is not None and current_room_key() == key and len(key) == 32
        assert open_visitor_room(street.rooms) is first and flask.session[SESSION_KEY] == key
        assert street.rooms.current() is first
    with server.test_request_context("/"):
        flask.session[SESSION_KEY] = "f" * 32  # a room on another worker, or long closed
        other = open_visitor_room(street.rooms)
        assert other is not first and flask.session[SESSION_KEY] not in ("f" * 32, key)
    with server.test_request_context("/"):
        flask.session[SESSION_KEY] = key.upper()  # not a key this code makes
        assert current_room_key() is None
        assert street.rooms.current() is None
    assert len(street.rooms.keys()) == 2


def test_the_busy_page_says_so_in_both_languages_and_asks_again_each_minute() -> None:
    """The all-busy page names the wait in zh and en and reloads once a minute; a page told never
    to retry does not reload."""
    for lang, words in (("zh", "所有演示房间都在使用中"), ("en", "All demo rooms are in use")):
        busy = rooms_full_page(lang)
        text, wait = busy.children[1], busy.children[2]
        assert words in text.children and wait.interval == 60_000 and not wait.disabled
    assert preparing_page("en", text="no", retry_ms=0).children[2].disabled


def test_the_preparing_bar_reports_only_the_requesters_own_room(street) -> None:
    """The "preparing" poll opens no room and tells a stranger nothing of anyone's street: only
    the requester's own room's progress, and "ready" once it plays."""
    street.visitor = None
    assert preparation(street.rooms) == (0.0, "demo_step_elsewhere", False)
    assert street.rooms.keys() == []  # asking opened nothing
    street.ready(A)
    street.visitor = B  # someone else, with no room here, learns nothing of A's
    assert preparation(street.rooms) == (0.0, "demo_step_elsewhere", False)
    street.visitor = A
    share, _step, ready = preparation(street.rooms)
    assert ready and 0.0 <= share <= 1.0
    assert street.rooms.keys() == [A]
