"""Stand in for a demo session and its player, for the controller and rooms tests."""

from __future__ import annotations

from cockpit.demo.captions import PAUSED, PLAYING
from cockpit.live import InProcessLiveStore


class FakeSession:
    """Stand in for a DemoSession: a live store, a player-like switch, start and stop."""

    def __init__(self) -> None:
        self.live = InProcessLiveStore()
        self.live.set_view("overview", b'{"demo": true}')
        self.player = FakePlayer()
        self.timeline = type("T", (), {"extra": None})()
        self.started = self.stopped = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True


class FakePlayer:
    """Hold a state and a speed."""

    def __init__(self) -> None:
        self.state, self.speed = PLAYING, 60.0

    def status(self):
        return type("S", (), {"state": self.state})()

    def play(self) -> None:
        self.state = PLAYING

    def pause(self) -> None:
        self.state = PAUSED

    def set_speed(self, speed: float) -> None:
        self.speed = speed
