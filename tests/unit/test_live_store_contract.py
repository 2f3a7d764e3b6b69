"""Run the live store contract against the in-process store."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.live import InProcessLiveStore, LiveReading, make_live_store
from tests import live_store_contract as contract

SMALL_MAXLEN = 5

# Device times on a coarse grid, so equal times (which must be refused) come up often.
device_times = st.builds(lambda n: contract.T0 + n / 4, st.integers(min_value=0, max_value=40))
readings_batches = st.lists(
    st.lists(st.tuples(st.integers(min_value=1, max_value=4), device_times), max_size=8),
    max_size=8,
)


@pytest.fixture
def store() -> InProcessLiveStore:
    """Return an empty in-process store."""
    return InProcessLiveStore()


@pytest.mark.parametrize("check", contract.CONTRACT, ids=lambda check: check.__name__)
def test_contract(store, check) -> None:
    """The in-process store passes each contract check."""
    check(store)


def test_stream_is_capped() -> None:
    """The in-process store keeps exactly the newest stream_maxlen events."""
    contract.check_stream_capped_exactly(
        InProcessLiveStore(stream_maxlen=SMALL_MAXLEN), SMALL_MAXLEN
    )


def test_read_events_limit_zero(store) -> None:
    """The in-process store returns no events for limit 0."""
    contract.check_read_events_limit_zero(store)


def test_latest_is_a_copy(store) -> None:
    """Changing a returned reading leaves the in-process state alone."""
    contract.check_latest_is_a_copy(store)


@settings(max_examples=200)
@given(batches=readings_batches)
def test_latest_ts_is_the_maximum_seen(batches) -> None:
    """For any readings, each device's latest time is the largest it sent; live state never moves back."""
    store = InProcessLiveStore()
    contract.check_matches_model(store, batches)
    for device, ts in store.last_seen().items():
        assert ts == max(t for batch in batches for d, t in batch if d == device)


@given(batches=readings_batches)
def test_last_seen_never_decreases(batches) -> None:
    """After each batch, no device's last-seen time is lower than before."""
    store = InProcessLiveStore()
    previous: dict[int, float] = {}
    for seq, batch in enumerate(batches):
        store.put_readings([LiveReading(d, "smoke", ts, seq, {}) for d, ts in batch])
        now = store.last_seen()
        assert all(now[d] >= ts for d, ts in previous.items())
        previous = now


def test_make_live_store_without_url_is_in_process() -> None:
    """No Redis URL means the in-process store."""
    assert isinstance(make_live_store(None, "x"), InProcessLiveStore)
    assert isinstance(make_live_store("", "x"), InProcessLiveStore)
