"""Share demo rooms between two web processes through the real Redis, with fake demo streets:
one visitor's room is one room whichever process answers, capacity holds across processes, and
a room whose process died is reopened fresh by the next request, never given to someone else."""

from __future__ import annotations

import threading
import time

import orjson
import pytest

from cockpit.demo.captions import PAUSED, PLAYING
from cockpit.demo.controller import DemoController, DemoError
from cockpit.demo.rooms import CLOSED
from cockpit.demo.shared import RedisRoomBoard, RemoteRoom, SharedDemoRooms
from cockpit.live import InProcessLiveStore
from cockpit.settings import Settings
from tests.unit.demo.fakes import FakeSession

pytestmark = pytest.mark.integration
K1, K2, K3 = "1" * 32, "2" * 32, "3" * 32


class Process:
    """Stand for one web process: its own demo rooms (owner id, threads) on the shared Redis."""

    def __init__(self, name, redis_client, street, engine, clock, **board) -> None:
        self.name = name
        self.sessions: list[FakeSession] = []
        self.stop_event = threading.Event()
        heartbeat_s = board.pop("heartbeat_s", 0.2)

        def open_session(settings, live=None, **kw) -> FakeSession:
            session = FakeSession()
            session.live = live if live is not None else session.live
            number = len(self.sessions)
            session.live.set_view("overview", orjson.dumps({"process": name, "room": number}))
            self.sessions.append(session)
            return session

        self.rooms = SharedDemoRooms(
            lambda mirror: DemoController(
                Settings(), engine, InProcessLiveStore(), open_session=open_session, mirror=mirror
            ),
            self.stop_event,
            board=RedisRoomBoard(redis_client, street, now=lambda: clock[0], **board),
            recorded_live=InProcessLiveStore(),
            owner=f"process-{name}",
            heartbeat_s=heartbeat_s,
            sweep_every_s=3600,
        )

    def ready(self, key: str):
        """Open the key's room here (or find it elsewhere) and wait until it plays."""
        room = self.rooms.open(key)
        assert room is not None
        wait_for(room.ensure_started)
        return room

    def read(self, key: str, name: str = "overview") -> dict | None:
        """Return what the visitor with the key sees, read through this process."""
        raw = self.rooms.read_raw_of(key, name)
        return orjson.loads(raw) if raw else None


def wait_for(check, timeout: float = 10.0):
    """Wait until check() returns something truthy; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("never happened")


@pytest.fixture
def processes(redis_client, street_code, sqlite_engine):
    """Return a function making 'processes' on one street's Redis namespace; stop them after."""
    made: list[Process] = []
    clock = [1_000_000.0]

    def make(name: str, **board) -> Process:
        made.append(Process(name, redis_client, street_code, sqlite_engine, clock, **board))
        return made[-1]

    make.clock = clock
    yield make
    for process in made:
        process.stop_event.set()
    for process in made:
        wait_for(lambda p=process: p.rooms.stopped)
    keys = list(redis_client.scan_iter(f"cockpit:{street_code}:*"))
    if keys:
        redis_client.delete(*keys)


def test_one_visitor_has_one_room_whichever_process_answers(processes) -> None:
    """Opened on A, the room is B's RemoteRoom: B reads A's views, and B's pause, speed and
    restart act on A's one room; a bad speed is refused with A's reason."""
    a, b = processes("a"), processes("b")
    local = a.ready(K1)
    remote = b.rooms.open(K1)
    assert isinstance(remote, RemoteRoom) and remote.owner == "process-a"
    assert remote.ensure_started() and len(b.sessions) == 0
    assert b.read(K1) == {"process": "a", "room": 0} == a.read(K1)
    assert remote.toggle() == "pause"
    assert a.sessions[0].player.state == PAUSED and local.status() == PAUSED
    assert b.rooms.get(K1).toggle() == "play" and a.sessions[0].player.state == PLAYING
    b.rooms.get(K1).set_speed(300)
    assert a.sessions[0].player.speed == 300
    with pytest.raises(DemoError, match="speed must be one of"):
        remote.set_speed(42)
    remote.restart()
    wait_for(lambda: b.read(K1) == {"process": "a", "room": 1})
    assert a.sessions[0].stopped and len(a.sessions) == 2 and b.sessions == []
    assert b.read(K2) is None and b.rooms.get(K2) is None  # another key reads nothing of K1's


def test_capacity_holds_across_processes_and_the_least_recently_used_goes(processes) -> None:
    """Two places for both processes together: a third visitor is refused on either while both
    rooms are busy; once one idles for a minute it goes to the newcomer, and its process stops
    it and its visitor is told it closed."""
    a, b = processes("a", capacity=2), processes("b", capacity=2)
    a.ready(K1)
    processes.clock[0] += 10
    b.ready(K2)
    assert a.rooms.open(K3) is None and b.rooms.open(K3) is None
    processes.clock[0] += 55
    b.read(K2)  # K2's visitor keeps watching (through B); K1's last use is 65 s ago
    opened = b.rooms.open(K3)
    assert opened is not None and not isinstance(opened, RemoteRoom)
    wait_for(lambda: a.sessions[0].stopped)  # A learns from its claim that K1 is gone
    assert a.rooms.keys() == [] and sorted(b.rooms.keys()) == [K2, K3]
    assert a.read(K1, "demo")["state"] == CLOSED == b.read(K1, "demo")["state"]
    assert a.read(K1) is None and a.rooms.get(K1) is None and a.rooms.absence(K1) == CLOSED
    assert a.rooms.board.keys() == [K2, K3]


def test_stopping_a_process_hands_its_rooms_to_the_next_request(processes) -> None:
    """A stopping web process gives up its claims at once (not closed): B reopens the room on
    the visitor's next request instead of saying it closed."""
    a, b = processes("a"), processes("b")
    a.ready(K1)
    a.stop_event.set()
    wait_for(lambda: a.sessions[0].stopped)
    assert b.read(K1, "demo")["state"] == "preparing"
    wait_for(lambda: b.read(K1) == {"process": "b", "room": 0})
    assert b.rooms.holds(K1) and not b.rooms.holds(K2)


def test_idle_rooms_close_in_every_process_and_their_views_go(
    processes, redis_client, street_code
) -> None:
    """A room unused for 15 minutes closes (a read through another process counts as use): its
    process stops it, its views leave Redis, its visitor is told it closed, on any process."""
    a, b = processes("a"), processes("b")
    a.ready(K1)
    b.ready(K2)
    assert list(redis_client.scan_iter(f"cockpit:{street_code}:demo:room:{K1}:*"))
    processes.clock[0] += 14 * 60
    assert a.read(K2) == {"process": "b", "room": 0}  # K2 watched through A
    processes.clock[0] += 60
    assert b.rooms.close_idle() == 0 and a.rooms.close_idle() == 1
    assert a.sessions[0].stopped and not b.sessions[0].stopped
    assert b.read(K1, "demo")["state"] == CLOSED and b.rooms.board.keys() == [K2]
    assert not list(redis_client.scan_iter(f"cockpit:{street_code}:demo:room:{K1}:*"))
    assert b.rooms.open(K1) is not None  # the same key comes back to a fresh room
