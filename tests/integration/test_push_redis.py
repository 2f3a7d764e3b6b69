"""Push across processes through the real Redis: a worker's announcement wakes another client's reader."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import orjson
import pytest

from cockpit.live import RedisLiveStore
from cockpit.viewmodels import VIEWS_STREAM, VIEWS_STREAM_MAXLEN, ViewModelPublisher
from cockpit.web.push import ViewPush
from tests.conftest import REDIS_URL
from tests.waiting import wait_until

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def test_the_workers_announcement_reaches_a_web_process_reader_as_a_difference(
    redis_client, street_code
):
    worker_side = RedisLiveStore.from_url(REDIS_URL, street_code)
    web_side = RedisLiveStore.from_url(REDIS_URL, street_code)  # its own connections
    stop = threading.Event()
    push = ViewPush(web_side, frozenset({"ticker"}), stop)
    push.start()
    try:
        assert wait_until(lambda: push.reading, 5.0)
        publisher = ViewModelPublisher(worker_side, patched=frozenset({"ticker"}))
        publisher.publish("ticker", {"items": [1]}, NOW)  # a first publication: refresh
        publisher.announce()
        assert push.wait((0, 0), 10.0) == (1, 0)
        assert push.since(0) == [(1, None, "")]
        before = publisher.publish("ticker", {"items": [1]}, NOW)
        after = publisher.publish("ticker", {"items": [2, 1]}, NOW)
        publisher.announce()
        assert push.wait((1, 0), 10.0) == (2, 0)
        [(_seq, view, body)] = push.since(1)  # the chain read back through Redis, once
        assert view == "ticker"
        assert orjson.loads(body) == {
            "from": before,
            "to": after,
            "at": NOW.isoformat(),
            "ops": [["ins", ["items"], 0, 2]],
        }
        # The stream stays short: about VIEWS_STREAM_MAXLEN entries, not the store's 100,000.
        for _ in range(VIEWS_STREAM_MAXLEN + 300):
            worker_side.append_event(VIEWS_STREAM, {"views": ["x"]}, maxlen=VIEWS_STREAM_MAXLEN)
        length = redis_client.xlen(f"cockpit:{street_code}:stream:{VIEWS_STREAM}")
        assert VIEWS_STREAM_MAXLEN <= length < VIEWS_STREAM_MAXLEN + 300
    finally:
        stop.set()
        redis_client.delete(*redis_client.keys(f"cockpit:{street_code}:*"))
