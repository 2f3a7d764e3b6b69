"""Test that a fresh worker's ticker comes back from the alert book as the old one had it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.alerts import ALERT_STREAM, AlertBook
from cockpit.domain.kinds import AlertLevel
from cockpit.live import InProcessLiveStore
from cockpit.rules.results import AlertCandidate, Reason
from cockpit.ticker_restore import restore_ticker
from cockpit.worker import TickerFeed

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
LEVELS = list(AlertLevel)


def candidate(n: int, level: AlertLevel, kind: str = "fire.smoke", otype: str = "device"):
    """Return an alert candidate on object n."""
    return AlertCandidate.build(
        kind,
        level,
        otype,
        n,
        "独居老人连续 14 小时无用水" if otype == "resident" else "烟感报警",
        "No water for 14 h" if otype == "resident" else "Smoke alarm",
        [Reason("flow", "用水 0 升", "0 litres used", 0.0, 12)],
        "street",
    )


def live_ticker(live) -> TickerFeed:
    """Return a ticker that read the whole live stream, as the worker before the restart did."""
    feed = TickerFeed()
    while events := live.read_events(ALERT_STREAM, feed.cursor, limit=500):
        feed.absorb(events)
    return feed


def test_a_restarted_ticker_shows_the_same_alerts_with_the_same_status(sqlite_engine):
    live = InProcessLiveStore()
    book = AlertBook(sqlite_engine, live)
    smoke = book.raise_candidate(candidate(1, AlertLevel.RED), T0).alert_id
    elder = book.raise_candidate(candidate(2, AlertLevel.ORANGE, "elder.no_water", "resident"), T0)
    gone = book.raise_candidate(candidate(3, AlertLevel.YELLOW), T0 + timedelta(minutes=1))
    book.raise_candidate(candidate(4, AlertLevel.BLUE, "enterprise.visit", "enterprise"), T0)
    book.raise_candidate(candidate(5, AlertLevel.BLUE), T0 + timedelta(minutes=2))
    book.raise_candidate(candidate(6, AlertLevel.YELLOW), T0 + timedelta(minutes=3))
    book.escalate_unacknowledged(T0 + timedelta(minutes=9), timedelta(minutes=5))
    book.acknowledge(smoke, "duty:li", T0 + timedelta(minutes=10))
    book.resolve(candidate(3, AlertLevel.YELLOW).condition_key, T0 + timedelta(minutes=11))
    book.raise_candidate(candidate(5, AlertLevel.ORANGE), T0 + timedelta(minutes=12))  # regraded
    before = live_ticker(live).model()

    # The embedded cockpit restarts: its in-process stream is gone, the database is not.
    fresh_live = InProcessLiveStore()
    feed = TickerFeed()
    assert restore_ticker(feed, sqlite_engine, fresh_live)
    after = feed.model()

    assert after == before
    assert orjson.dumps(after) == orjson.dumps(before)  # same bytes, so the same version
    items = {i["id"]: i for i in after["items"]}
    assert items[smoke]["status"] == "acknowledged" and items[smoke]["level"] == "red"
    assert items[gone.alert_id]["status"] == "resolved"
    assert items[elder.alert_id]["title_en"] == "Elder living alone: visit needed"
    assert "No water" not in orjson.dumps(items[elder.alert_id]).decode()
    assert all(i["kind"] != "enterprise.visit" for i in after["items"])


def test_a_surviving_stream_is_not_applied_twice_and_new_events_follow(sqlite_engine):
    live = InProcessLiveStore()  # stands for Redis: the stream outlives the worker
    book = AlertBook(sqlite_engine, live)
    first = book.raise_candidate(candidate(1, AlertLevel.RED), T0).alert_id
    book.acknowledge(first, "duty:li", T0 + timedelta(minutes=1))
    feed = TickerFeed()
    restore_ticker(feed, sqlite_engine, live)
    assert feed.cursor == live.last_event_id(ALERT_STREAM)
    assert feed.absorb(live.read_events(ALERT_STREAM, feed.cursor)) is False  # nothing again
    second = book.raise_candidate(candidate(2, AlertLevel.ORANGE), T0 + timedelta(minutes=2))
    feed.absorb(live.read_events(ALERT_STREAM, feed.cursor))
    items = {i["id"]: i for i in feed.model()["items"]}
    assert items[first]["status"] == "acknowledged" and second.alert_id in items


def test_a_ticker_that_already_read_the_stream_keeps_its_cursor(sqlite_engine):
    live = InProcessLiveStore()
    book = AlertBook(sqlite_engine, live)
    book.raise_candidate(candidate(1, AlertLevel.RED), T0)
    feed = live_ticker(live)
    cursor = feed.cursor
    book.raise_candidate(candidate(2, AlertLevel.RED), T0)  # not read yet: the stream brings it
    restore_ticker(feed, sqlite_engine, live)
    assert feed.cursor == cursor
    feed.absorb(live.read_events(ALERT_STREAM, feed.cursor))
    assert len(feed.model()["items"]) == 2


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(LEVELS),
            st.sampled_from(["open", "ack", "resolved"]),
            st.sampled_from(["fire.smoke", "device.offline"]),  # the second is grouped
        ),
        min_size=1,
        max_size=45,
    )
)
def test_the_restored_ticker_picks_what_a_ticker_reading_everything_at_once_keeps(
    sqlite_engine, alerts
):
    # More alerts than the ticker holds: the table's picks match the ticker's own rule.
    from sqlalchemy import delete

    from cockpit.store import schema

    with sqlite_engine.begin() as conn:
        conn.execute(delete(schema.Alert))
    live = InProcessLiveStore()
    book = AlertBook(sqlite_engine, live)
    for n, (level, fate, kind) in enumerate(alerts):
        raised = book.raise_candidate(candidate(n, level, kind), T0 + timedelta(seconds=n))
        if fate == "ack":
            book.acknowledge(raised.alert_id, "duty:li", T0 + timedelta(hours=1))
        elif fate == "resolved":
            book.resolve(candidate(n, level, kind).condition_key, T0 + timedelta(hours=1))
    everything = TickerFeed()
    everything.absorb(live.read_events(ALERT_STREAM, limit=10_000))
    feed = TickerFeed()
    restore_ticker(feed, sqlite_engine, InProcessLiveStore())
    assert feed.model() == everything.model()
    assert feed.items() == everything.items()  # each alert, as the map places them


def test_a_fresh_worker_publishes_the_restored_ticker_at_its_first_tick(sqlite_engine):
    from cockpit.clock import ManualClock
    from cockpit.simulator.generator import seed_street
    from cockpit.viewmodels import TICKER, read_view
    from tests.streets import live_worker, tiny_tier

    seed_street(sqlite_engine, tiny_tier(), 5, (121.5, 31.3))
    clock = ManualClock(T0 + timedelta(minutes=3))

    def worker(live):
        return live_worker(sqlite_engine, live, clock, alerts=AlertBook(sqlite_engine, live))

    live = InProcessLiveStore()
    before_restart = worker(live)
    before_restart.tick()
    AlertBook(sqlite_engine, live).raise_candidate(candidate(1, AlertLevel.RED), T0)
    before_restart.publish_ticker()
    before = read_view(live, TICKER)
    assert [i["level"] for i in before["items"]] == ["red"]

    fresh = InProcessLiveStore()
    worker(fresh).tick()
    after = read_view(fresh, TICKER)
    assert after["items"] == before["items"] and after["version"] == before["version"]
