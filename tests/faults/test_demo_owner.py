"""Kill (in effect) the web process playing a visitor's demo room: the room comes back fresh on
another process at the visitor's next request, never someone else's, with the real Redis."""

from __future__ import annotations

import pytest

from tests.integration import test_demo_shared as shared

pytestmark = pytest.mark.integration
K1, wait_for = shared.K1, shared.wait_for
processes = shared.processes  # the fixture: "processes" on one street's Redis namespace


def test_a_room_whose_process_died_is_reopened_fresh_by_the_next_request(processes, fault) -> None:
    """A stops refreshing its claim (as a killed process does): after the claim's TTL, B's next
    read of the room reopens it in B, says "preparing", then shows B's fresh street."""
    fault(
        "web worker playing a demo room dies",
        "its visitor's next request reopens a fresh demo of their own on another worker",
    )
    # A claim long enough for A to open its room and B to read it on a busy machine.
    a = processes("a", claim_ttl_s=4.0, heartbeat_s=3600)  # never refreshes: dies at once
    b = processes("b", claim_ttl_s=4.0)
    a.ready(K1)
    assert b.read(K1) == {"process": "a", "room": 0}
    # The first read after the claim expires reopens the room in B, and says so.
    wait_for(lambda: (b.read(K1, "demo") or {}).get("state") == "preparing", timeout=20)
    assert b.rooms.keys() == [K1]
    wait_for(lambda: b.read(K1) == {"process": "b", "room": 0})
    assert b.rooms.board.keys() == [K1]  # still one room for the visitor, now B's
