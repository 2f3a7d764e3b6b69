"""Define the live store contract once, as checks any LiveStore implementation must pass."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cockpit.live import LiveReading, LiveStore

T0 = 1_790_000_000.0  # a device time in epoch seconds (late 2026)


def reading(device_id: int, ts: float, seq: int = 0, kind: str = "smoke", **values) -> LiveReading:
    """Return a reading of one device at a device time, with the given values."""
    return LiveReading(device_id=device_id, kind=kind, ts=ts, seq=seq, values=values)


def check_ping(store: LiveStore) -> None:
    """A reachable store answers ping with True."""
    assert store.ping() is True


def check_put_readings_applies_newer_and_refuses_older(store: LiveStore) -> None:
    """Newer readings replace the live state; older and equal-time readings are refused."""
    assert store.put_readings([reading(1, T0, 1, level=10)]) == [True]
    assert store.put_readings([reading(1, T0 + 5, 2, level=20)]) == [True]
    assert store.put_readings([reading(1, T0 + 5, 3, level=30)]) == [False]  # same time
    assert store.put_readings([reading(1, T0 + 1, 4, level=40)]) == [False]  # older
    latest = store.latest([1])[1]
    assert latest["ts"] == T0 + 5
    assert latest["seq"] == 2
    assert latest["values"] == {"level": 20}
    assert store.last_seen() == {1: T0 + 5}


def check_put_readings_within_one_batch(store: LiveStore) -> None:
    """Readings of one batch are applied in order, each against the state the previous left."""
    batch = [
        reading(7, T0 + 10, 1, level=1),
        reading(8, T0 + 3, 1, level=2),
        reading(7, T0 + 10, 2, level=3),  # same time as the first: refused
        reading(7, T0 + 9, 3, level=4),  # older: refused
        reading(7, T0 + 11, 4, level=5),  # newer: applied
        reading(8, T0 + 2, 2, level=6),  # older: refused
    ]
    assert store.put_readings(batch) == [True, True, False, False, True, False]
    latest = store.latest([7, 8])
    assert latest[7]["values"] == {"level": 5}
    assert latest[8]["values"] == {"level": 2}
    assert store.put_readings([]) == []


def check_latest_returns_newest_values(store: LiveStore) -> None:
    """latest() returns each known device's newest reading in full and omits unknown devices."""
    store.put_readings(
        [
            reading(1, T0, 1, kind="smoke", smoke=0.1, alarm=False),
            reading(2, T0 + 1, 9, kind="electricity", amps=12.5, phases=[1, 2, 3]),
            reading(1, T0 + 2, 2, kind="smoke", smoke=0.7, alarm=True),
        ]
    )
    latest = store.latest([1, 2, 3])
    assert set(latest) == {1, 2}
    assert latest[1] == {
        "device_id": 1,
        "kind": "smoke",
        "ts": T0 + 2,
        "seq": 2,
        "values": {"smoke": 0.7, "alarm": True},
    }
    assert latest[2] == {
        "device_id": 2,
        "kind": "electricity",
        "ts": T0 + 1,
        "seq": 9,
        "values": {"amps": 12.5, "phases": [1, 2, 3]},
    }
    assert store.latest([2]) == {2: latest[2]}
    assert store.latest([]) == {}
    assert store.latest([99]) == {}


def check_last_seen_maps_device_to_time(store: LiveStore) -> None:
    """last_seen() maps every reporting device to its newest device time, and only those."""
    assert store.last_seen() == {}
    store.put_readings([reading(3, T0 + 0.25), reading(4, T0 + 7.5), reading(3, T0 + 1.125)])
    store.put_readings([reading(4, T0 + 2.0)])  # older than stored, so no effect
    assert store.last_seen() == {3: T0 + 1.125, 4: T0 + 7.5}


def check_latest_is_a_copy(store: LiveStore) -> None:
    """Changing what latest() returned does not change the stored live state."""
    store.put_readings([reading(5, T0, 1, level=1, nested={"a": 1})])
    first = store.latest([5])[5]
    first["values"]["level"] = 999
    first["values"]["nested"]["a"] = 999
    first["ts"] = 0
    again = store.latest([5])[5]
    assert again["ts"] == T0
    assert again["values"] == {"level": 1, "nested": {"a": 1}}


def check_events_order_after_and_limit(store: LiveStore) -> None:
    """Events read back oldest first; `after` is exclusive and `limit` caps the batch."""
    ids = [store.append_event("alerts", {"n": i, "text": f"事件{i}"}) for i in range(7)]
    assert len(set(ids)) == 7
    assert all(isinstance(i, str) for i in ids)
    everything = store.read_events("alerts")
    assert [i for i, _ in everything] == ids
    assert [e for _, e in everything] == [{"n": i, "text": f"事件{i}"} for i in range(7)]
    assert store.read_events("alerts", after="0") == everything
    assert store.read_events("alerts", after=ids[2]) == everything[3:]
    assert store.read_events("alerts", after=ids[2], limit=2) == everything[3:5]
    assert store.read_events("alerts", limit=3) == everything[:3]
    assert store.read_events("alerts", after=ids[-1]) == []
    # Paging with the last id seen visits every event exactly once.
    seen, cursor = [], "0"
    while batch := store.read_events("alerts", after=cursor, limit=3):
        seen += batch
        cursor = batch[-1][0]
    assert seen == everything


def check_streams_are_separate(store: LiveStore) -> None:
    """Each named stream holds only its own events; an unknown stream reads empty."""
    store.append_event("a", {"x": 1})
    store.append_event("b", {"y": 2})
    store.append_event("a", {"x": 3})
    assert [e for _, e in store.read_events("a")] == [{"x": 1}, {"x": 3}]
    assert [e for _, e in store.read_events("b")] == [{"y": 2}]
    assert store.read_events("never-written") == []


def check_read_events_limit_zero(store: LiveStore) -> None:
    """Asking for up to zero events returns none rather than failing."""
    store.append_event("z", {"n": 1})
    assert store.read_events("z", limit=0) == []


def check_stream_capped_exactly(store: LiveStore, maxlen: int) -> None:
    """A store with exact trimming keeps only the newest `maxlen` events of a stream."""
    ids = [store.append_event("capped", {"n": i}) for i in range(maxlen * 3 + 1)]
    kept = store.read_events("capped", limit=maxlen * 10)
    assert [i for i, _ in kept] == ids[-maxlen:]
    assert [e["n"] for _, e in kept] == list(range(maxlen * 2 + 1, maxlen * 3 + 1))


def check_stream_bounded(store: LiveStore, maxlen: int, appended: int) -> None:
    """A store with approximate trimming keeps the newest events and does not grow unbounded."""
    ids = [store.append_event("capped", {"n": i}) for i in range(appended)]
    kept = store.read_events("capped", limit=appended * 2)
    assert len(kept) >= maxlen
    assert len(kept) <= appended // 4, f"stream kept {len(kept)} of {appended} with maxlen {maxlen}"
    assert [i for i, _ in kept] == ids[-len(kept) :]


def check_counters(store: LiveStore) -> None:
    """incr() adds and returns the new value; counters() lists every counter."""
    assert store.counters() == {}
    assert store.incr("readings") == 1
    assert store.incr("readings", 41) == 42
    assert store.incr("alerts", 3) == 3
    assert store.incr("alerts", -1) == 2
    assert store.counters() == {"readings": 42, "alerts": 2}


def check_views_round_trip(store: LiveStore) -> None:
    """A published view comes back byte for byte; a new one replaces it; an unknown one is None."""
    assert store.get_view("wall") is None
    payload = b'{"title":"\xe8\xa1\x97\xe9\x81\x93"}\x00\xff binary tail'
    store.set_view("wall", payload)
    assert store.get_view("wall") == payload
    store.set_view("wall", b"second")
    assert store.get_view("wall") == b"second"
    store.set_view("tablet", b"")
    assert store.get_view("tablet") == b""
    assert store.get_view("wall") == b"second"


def check_view_tails_are_each_views_last_bytes_in_order(store: LiveStore) -> None:
    """Tails come in the order asked, each the view's last n bytes (all of a shorter one); a
    view never published, or published empty, has none."""
    store.set_view("long", b"0123456789" * 20)
    store.set_view("short", b'{"v":1}')
    store.set_view("empty", b"")
    assert store.get_view_tails(["short", "missing", "long", "empty"], 15) == [
        b'{"v":1}',
        None,
        b"567890123456789",
        None,
    ]
    assert store.get_view_tails([], 15) == []


def check_rule_memory_round_trip(store: LiveStore) -> None:
    """A rule's memory comes back per object; saving again replaces one; forgetting drops some."""
    assert store.load_rule_memory("elevator") == {}
    store.save_rule_memory("elevator", {7: b'{"since": 1.5}', 8: b"\x00raw"})
    store.save_rule_memory("elevator", {8: b"second"})
    store.save_rule_memory("elder", {7: b"water"})
    store.save_rule_memory("elder", {})
    assert store.load_rule_memory("elevator") == {7: b'{"since": 1.5}', 8: b"second"}
    assert store.load_rule_memory("elder") == {7: b"water"}
    store.forget_rule_memory("elevator", [8, 99])
    store.forget_rule_memory("elder", [])
    assert store.load_rule_memory("elevator") == {7: b'{"since": 1.5}'}
    assert store.load_rule_memory("elder") == {7: b"water"}


def check_clear(store: LiveStore) -> None:
    """clear() forgets readings, events, counters and views, and the store works afterwards."""
    store.put_readings([reading(1, T0 + 100, level=1)])
    store.append_event("alerts", {"n": 1})
    store.incr("readings")
    store.set_view("wall", b"x")
    store.save_rule_memory("elevator", {1: b"x"})
    store.clear()
    assert store.latest([1]) == {}
    assert store.last_seen() == {}
    assert store.read_events("alerts") == []
    assert store.counters() == {}
    assert store.get_view("wall") is None
    assert store.load_rule_memory("elevator") == {}
    # After clearing, an older time than before is accepted again: the state is gone.
    assert store.put_readings([reading(1, T0, level=2)]) == [True]
    assert store.latest([1])[1]["values"] == {"level": 2}


def check_matches_model(store: LiveStore, batches: Sequence[Sequence[tuple[int, float]]]) -> None:
    """Applied flags, last_seen and latest agree with a model keeping the maximum time per device."""
    best: dict[int, tuple[float, int]] = {}  # device -> (max ts, seq of the first reading at it)
    seq = 0
    for batch in batches:
        readings = []
        expected = []
        for device, ts in batch:
            seq += 1
            readings.append(reading(device, ts, seq, n=seq))
            newer = device not in best or ts > best[device][0]
            expected.append(newer)
            if newer:
                best[device] = (ts, seq)
        assert store.put_readings(readings) == expected
    assert store.last_seen() == {d: ts for d, (ts, _) in best.items()}
    latest = store.latest(list(best) + [10_000])
    assert {d: (r["ts"], r["seq"], r["values"]["n"]) for d, r in latest.items()} == {
        d: (ts, s, s) for d, (ts, s) in best.items()
    }


# The checks every live store must pass, each given a fresh, empty store.
def check_wait_events_wakes_on_append(store: LiveStore) -> None:
    """Waiting returns False on timeout and True as soon as another thread appends."""
    import threading
    import time

    first = store.append_event("alerts", {"n": 1})
    assert store.wait_events("alerts", "0", 0.01) is True
    assert store.wait_events("alerts", first, 0.05) is False
    timer = threading.Timer(0.05, lambda: store.append_event("alerts", {"n": 2}))
    timer.start()
    begun = time.monotonic()
    woke = store.wait_events("alerts", first, 3.0)
    timer.join()
    assert woke is True
    assert time.monotonic() - begun < 2.5, "the wait ended on the append, not on the timeout"


def check_last_event_id(store: LiveStore) -> None:
    """The newest event's id is "0" on an empty stream, then the id append_event returned."""
    assert store.last_event_id("alerts") == "0"
    store.append_event("alerts", {"n": 1})
    newest = store.append_event("alerts", {"n": 2})
    store.append_event("cases", {"n": 3})
    assert store.last_event_id("alerts") == newest
    assert store.read_events("alerts", newest) == []


CONTRACT: tuple[Callable[[LiveStore], None], ...] = (
    check_ping,
    check_put_readings_applies_newer_and_refuses_older,
    check_put_readings_within_one_batch,
    check_latest_returns_newest_values,
    check_last_seen_maps_device_to_time,
    check_events_order_after_and_limit,
    check_streams_are_separate,
    check_counters,
    check_views_round_trip,
    check_view_tails_are_each_views_last_bytes_in_order,
    check_rule_memory_round_trip,
    check_clear,
    check_wait_events_wakes_on_append,
    check_last_event_id,
)
