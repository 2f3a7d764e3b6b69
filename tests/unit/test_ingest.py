"""Check device-message validation, de-duplication, ordering and the feed entry points."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select

from cockpit.clock import ManualClock
from cockpit.domain.kinds import ComplaintSource
from cockpit.ingest import FUTURE_TOLERANCE, DeviceMessage, DeviceRegistry, Ingest
from cockpit.live import InProcessLiveStore
from cockpit.store import schema
from tests.devices import KnownDevices

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def message(device_id=1, seq=1, ts=NOW, **values):
    """Return a valid smoke reading as a raw dict, as it arrives from MQTT."""
    return {
        "device_id": device_id,
        "device_type": "smoke",
        "kind": "reading",
        "ts": ts.isoformat(),
        "seq": seq,
        "values": values or {"alarm": False},
    }


# Devices 1..9 are registered smoke detectors; any other id is unknown.
SMOKE_DETECTORS = KnownDevices({device_id: "smoke" for device_id in range(1, 10)})


@pytest.fixture
def ingest(sqlite_engine):
    """Return ingest over an empty SQLite store, nine smoke detectors and a live store."""
    return Ingest(sqlite_engine, InProcessLiveStore(), ManualClock(NOW), devices=SMOKE_DETECTORS)


def test_valid_messages_reach_live_state(ingest):
    result = ingest.device_messages([message(1, 1), message(2, 1)])
    assert result.accepted == 2
    assert ingest.live.latest([1, 2])[2]["values"] == {"alarm": False}
    assert ingest.live.counters()["readings_accepted"] == 2


def test_redelivered_message_is_dropped_as_duplicate(ingest):
    ingest.device_messages([message(1, 5)])
    result = ingest.device_messages([message(1, 5)])
    assert (result.accepted, result.duplicates, result.stale) == (0, 1, 0)


def test_older_reading_does_not_move_state_backwards(ingest):
    ingest.device_messages([message(1, 2, NOW, obscuration=0.3)])
    result = ingest.device_messages([message(1, 1, NOW - timedelta(seconds=30), obscuration=9.9)])
    assert result.stale == 1
    assert ingest.live.latest([1])[1]["values"] == {"obscuration": 0.3}


def test_future_dated_reading_is_rejected_counted_and_never_stored(ingest):
    result = ingest.device_messages([message(1, 1, NOW + timedelta(days=3650))])
    assert (result.accepted, result.future, result.rejected) == (0, 1, {"ts:future": 1})
    assert ingest.live.latest([1]) == {}
    assert ingest.live.counters() == {"rejected:ts:future": 1}


def test_reading_within_the_clock_tolerance_is_accepted(ingest):
    result = ingest.device_messages([message(1, 1, NOW + FUTURE_TOLERANCE)])
    assert result.accepted == 1


def test_unknown_device_and_wrong_type_are_rejected_and_counted(ingest):
    wrong_type = {**message(3, 1), "device_type": "gas"}
    result = ingest.device_messages([message(42, 1), wrong_type, message(2, 1)])
    assert result.accepted == 1
    assert result.rejected == {"device:unknown": 1, "device:type_mismatch": 1}
    assert set(ingest.live.latest([2, 3, 42])) == {2}
    counters = ingest.live.counters()
    assert (counters["rejected:device:unknown"], counters["rejected:device:type_mismatch"]) == (
        1,
        1,
    )


def test_a_batch_of_refusals_only_is_still_counted(ingest):
    ingest.device_messages([message(42, 1)])
    assert ingest.live.counters() == {"rejected:device:unknown": 1}


class Ticking:
    """Be a monotonic clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def register(engine, device_id: int, kind: str) -> None:
    """Register one device in SQL, as an importer or the registry screen would."""
    with engine.begin() as conn:
        conn.execute(
            insert(schema.Device),
            {
                "id": device_id,
                "code": f"D{device_id}",
                "kind": kind,
                "lon": 121.5,
                "lat": 31.3,
                "report_interval_s": 60,
                "installed_on": date(2026, 1, 1),
            },
        )


def test_registry_is_read_once_and_again_only_for_an_unknown_id_after_a_while(sqlite_engine):
    ticks = Ticking()
    registry = DeviceRegistry(sqlite_engine, refresh_after_s=30, monotonic=ticks)
    ingest = Ingest(sqlite_engine, InProcessLiveStore(), ManualClock(NOW), devices=registry)
    register(sqlite_engine, 1, "smoke")
    assert ingest.device_messages([message(1, 1)]).accepted == 1
    register(sqlite_engine, 2, "smoke")
    # Known ids never query; an unknown one within the refresh interval stays unknown.
    assert ingest.device_messages([message(2, 1)]).rejected == {"device:unknown": 1}
    ticks.now = 31
    assert ingest.device_messages([message(2, 2)]).accepted == 1


def test_registry_is_not_read_per_reading(sqlite_engine, monkeypatch):
    register(sqlite_engine, 1, "smoke")
    registry = DeviceRegistry(sqlite_engine)
    loads = []
    original = registry.load
    monkeypatch.setattr(registry, "load", lambda: loads.append(1) or original())
    ingest = Ingest(sqlite_engine, InProcessLiveStore(), ManualClock(NOW), devices=registry)
    for seq in range(1, 50):
        ingest.device_messages([message(1, seq, NOW + timedelta(seconds=seq)), message(7, seq)])
    assert len(loads) == 1


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({**message(), "ts": "2026-11-21T08:00:00"}, "ts:timezone_aware"),
        ({k: v for k, v in message().items() if k != "seq"}, "seq:missing"),
        ({**message(), "device_type": "toaster"}, "device_type:enum"),
        ({**message(), "device_id": -3}, "device_id:greater_than"),
        ({**message(), "extra": 1}, "extra:extra_forbidden"),
    ],
)
def test_malformed_message_is_rejected_and_counted_by_reason(ingest, raw, reason):
    result = ingest.device_messages([raw, message(9, 1)])
    assert result.rejected == {reason: 1}
    assert result.accepted == 1
    assert ingest.live.counters()[f"rejected:{reason}"] == 1


def test_each_reason_is_logged_once(ingest, caplog):
    bad = {**message(), "seq": "x"}
    ingest.device_messages([bad, bad, bad])
    assert sum("rejected device message" in r.message for r in caplog.records) == 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)
raw_messages = st.dictionaries(
    st.sampled_from(["device_id", "device_type", "kind", "ts", "seq", "values", "other"]),
    json_values,
    max_size=7,
) | st.builds(
    message,
    device_id=st.integers(-5, 5),
    seq=st.integers(-2, 4),
    ts=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)


@settings(
    max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(batch=st.lists(raw_messages, max_size=8))
def test_any_input_is_accepted_or_rejected_never_crashes(ingest, batch):
    result = ingest.device_messages(batch)
    assert result.accepted + result.duplicates + result.stale + sum(
        result.rejected.values()
    ) == len(batch)
    for reading in ingest.live.latest(range(-5, 6)).values():
        DeviceMessage.model_validate(
            {
                "device_id": reading["device_id"],
                "device_type": reading["kind"],
                "kind": "reading",
                "ts": datetime.fromtimestamp(reading["ts"], UTC),
                "seq": reading["seq"],
                "values": reading["values"],
            }
        )


def test_feeds_land_in_the_store(ingest, sqlite_engine):
    from cockpit.simulator.generator import seed_street
    from tests.streets import tiny_tier

    seed_street(sqlite_engine, tiny_tier(), 3, (121.5, 31.3))
    complaint = ingest.complaint(
        ComplaintSource.HOTLINE_12345, "A1", NOW, "noise", "夜间噪音", "某路1号", 1
    )
    request = ingest.resident_request("repair", "楼道灯坏了", NOW, "app", 121.5, 31.3, "某路1号", 1)
    case = ingest.grid_report(
        1, 1, "exposed_rubbish", "暴露垃圾", "路口有垃圾", NOW, building_id=1, address_id=1
    )
    with sqlite_engine.connect() as conn:
        assert (
            conn.execute(
                select(schema.Complaint.address_id).where(schema.Complaint.id == complaint)
            ).scalar()
            == 1
        )
        assert (
            conn.execute(
                select(schema.ResidentRequest.status).where(schema.ResidentRequest.id == request)
            ).scalar()
            == "open"
        )
        assert (
            conn.execute(select(schema.Case.state).where(schema.Case.id == case)).scalar()
            == "reported"
        )
        assert conn.execute(select(func.count()).select_from(schema.Complaint)).scalar() == 1
    counters = ingest.live.counters()
    assert (
        counters["complaints_received"]
        == counters["requests_received"]
        == counters["grid_reports_received"]
        == 1
    )
