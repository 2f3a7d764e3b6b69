"""Run the live store contract against the Redis store on the real Redis server."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.live import LiveReading, LiveStoreError, RedisLiveStore, make_live_store
from tests import live_store_contract as contract

pytestmark = pytest.mark.integration

SMALL_MAXLEN = 20
CLOSED_PORT_URL = "redis://127.0.0.1:6390/0"


@pytest.fixture
def store(redis_client, street_code) -> Iterator[RedisLiveStore]:
    """Return a Redis store under a street code of its own, cleared afterwards."""
    live = RedisLiveStore(redis_client, street_code)
    yield live
    live.clear()


@pytest.fixture
def small_store(redis_client, street_code) -> Iterator[RedisLiveStore]:
    """Return a Redis store with a small stream cap, cleared afterwards."""
    live = RedisLiveStore(redis_client, f"{street_code}s", stream_maxlen=SMALL_MAXLEN)
    yield live
    live.clear()


@pytest.fixture
def dead_store(street_code) -> Iterator[RedisLiveStore]:
    """Return a Redis store whose client points at a port nothing listens on."""
    client = redis.Redis.from_url(CLOSED_PORT_URL, socket_connect_timeout=1, socket_timeout=1)
    yield RedisLiveStore(client, street_code)
    client.close()


@pytest.mark.parametrize("check", contract.CONTRACT, ids=lambda check: check.__name__)
def test_contract(store, check) -> None:
    """The Redis store passes each contract check."""
    check(store)


def test_latest_is_a_copy(store) -> None:
    """Changing a returned reading leaves the Redis state alone."""
    contract.check_latest_is_a_copy(store)


def test_stream_does_not_grow_unbounded(small_store) -> None:
    """Approximate trimming keeps a stream near its cap, far below what was appended."""
    contract.check_stream_bounded(small_store, SMALL_MAXLEN, appended=2_000)


def test_read_events_limit_zero(store) -> None:
    """The Redis store returns no events for limit 0, like the in-process one."""
    contract.check_read_events_limit_zero(store)


def test_keys_stay_under_the_street_prefix(store, redis_client, street_code) -> None:
    """All keys live under cockpit:<street>:, and clear() leaves other streets alone."""
    other = RedisLiveStore(redis_client, f"{street_code}other")
    try:
        store.put_readings([contract.reading(1, contract.T0, level=1)])
        store.append_event("alerts", {"n": 1})
        store.incr("readings")
        store.set_view("wall", b"x")
        other.set_view("wall", b"kept")
        keys = {k.decode() for k in redis_client.scan_iter(match=f"cockpit:{street_code}:*")}
        assert keys and all(k.startswith(f"cockpit:{street_code}:") for k in keys)
        store.clear()
        assert list(redis_client.scan_iter(match=f"cockpit:{street_code}:*")) == []
        assert other.get_view("wall") == b"kept"
    finally:
        other.clear()


def test_two_stores_share_state_through_redis(redis_client, street_code, store) -> None:
    """A second store object on the same street sees and respects the first one's state."""
    kwargs = redis_client.connection_pool.connection_kwargs
    other_client = redis.Redis(host=kwargs["host"], port=kwargs["port"], db=kwargs.get("db", 0))
    second = RedisLiveStore(other_client, street_code)
    try:
        store.put_readings([contract.reading(1, contract.T0 + 10, level=1)])
        assert second.put_readings([contract.reading(1, contract.T0 + 5, level=2)]) == [False]
        assert second.latest([1])[1]["values"] == {"level": 1}
        assert second.put_readings([contract.reading(1, contract.T0 + 11, level=3)]) == [True]
        assert store.latest([1])[1]["values"] == {"level": 3}
    finally:
        other_client.close()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(
        st.lists(
            st.tuples(
                st.integers(min_value=1, max_value=4),
                st.builds(lambda n: contract.T0 + n / 8, st.integers(min_value=0, max_value=40)),
            ),
            max_size=8,
        ),
        max_size=6,
    )
)
def test_latest_ts_is_the_maximum_seen(store, batches) -> None:
    """For any readings, Redis keeps each device's largest time, like the in-process store."""
    store.clear()
    contract.check_matches_model(store, batches)


def test_make_live_store_with_url_is_redis(street_code) -> None:
    """A Redis URL gives the Redis store, which answers ping."""
    live = make_live_store("redis://127.0.0.1:6379/0", street_code)
    assert isinstance(live, RedisLiveStore)
    assert live.ping() is True


def test_closed_port_ping_is_false(dead_store) -> None:
    """ping() says False, without raising, when Redis is unreachable."""
    assert dead_store.ping() is False


DEAD_OPERATIONS: dict[str, Callable[[RedisLiveStore], object]] = {
    "put_readings": lambda s: s.put_readings([LiveReading(1, "smoke", contract.T0, 1, {})]),
    "latest": lambda s: s.latest([1]),
    "last_seen": lambda s: s.last_seen(),
    "append_event": lambda s: s.append_event("alerts", {"n": 1}),
    "read_events": lambda s: s.read_events("alerts"),
    "incr": lambda s: s.incr("readings"),
    "counters": lambda s: s.counters(),
    "set_view": lambda s: s.set_view("wall", b"x"),
    "get_view": lambda s: s.get_view("wall"),
}


@pytest.mark.parametrize("operation", DEAD_OPERATIONS.values(), ids=DEAD_OPERATIONS.keys())
def test_closed_port_operations_raise_live_store_error(dead_store, operation) -> None:
    """Every operation turns an unreachable Redis into LiveStoreError."""
    with pytest.raises(LiveStoreError):
        operation(dead_store)


def test_closed_port_clear_raises_live_store_error(dead_store) -> None:
    """clear() also turns an unreachable Redis into LiveStoreError."""
    with pytest.raises(LiveStoreError):
        dead_store.clear()
