"""Check the overview view model and its content-based version."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cockpit.live import InProcessLiveStore
from cockpit.panels import join_device_states
from cockpit.viewmodels import ViewModelPublisher, build_overview, devices_online, read_view

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def test_device_silent_past_three_intervals_is_offline():
    devices = {1: ("smoke", 60), 2: ("smoke", 60), 3: ("water_meter", 3600), 4: ("camera", 60)}
    now = NOW.timestamp()
    seen = {1: now - 179, 2: now - 181, 3: now - 3000}
    assert devices_online(join_device_states(devices, seen), NOW, 3) == {
        "devices_online": 2,
        "devices_offline": 2,
        "devices_maintenance": 0,
        "fire_online": 1,
        "fire_total": 2,
        "devices_total": 4,
    }


def test_a_device_in_maintenance_is_counted_apart_and_never_online():
    devices = {1: ("smoke", 60, True), 2: ("smoke", 60, False), 3: ("camera", 60, True)}
    now = NOW.timestamp()
    seen = {1: now - 10, 2: now - 10}  # device 1 still reports while serviced: not "online"
    counts = devices_online(join_device_states(devices, seen), NOW, 3)
    assert counts["devices_online"] == 1 and counts["fire_online"] == 1
    assert counts["devices_maintenance"] == 2 and counts["devices_offline"] == 0
    assert counts["devices_total"] == 3


def overview(readings=10, state="ok", age=1.0, residents=5):
    """Return an overview built from fixed snapshots."""
    registry = {
        "street_name": "S 街道",
        "counts": {"residents": residents},
        "complaints_today": 1,
        "requests_today": 2,
        "cases_today": 3,
        "open_cases": 4,
    }
    live = {"counters": {"readings_accepted": readings, "rejected:ts:missing": 2}, "last_seen": {}}
    sources = [
        {"name": "live", "state": state, "age_s": age, "error": None, "fetched_at": NOW.isoformat()}
    ]
    return build_overview(registry, {}, live, 60.4, sources, NOW, None)


def test_overview_joins_registry_live_counts_and_source_health():
    model = overview()
    assert model["street"] == "S 街道"
    assert model["kpis"]["residents"] == 5 and model["kpis"]["open_cases"] == 4
    assert model["kpis"]["readings_total"] == 10 and model["kpis"]["rejected_total"] == 2
    assert model["kpis"]["readings_per_min"] == 60
    assert model["stale"] is False
    assert overview(state="stale")["stale"] is True


def test_version_ignores_ages_but_follows_content():
    publisher = ViewModelPublisher(InProcessLiveStore())
    first = publisher.publish("overview", overview(age=1.0), NOW)
    assert publisher.publish("overview", overview(age=7.0), NOW) == first
    # Readings are counted at every tick and drawn on no screen: no new version for them.
    assert publisher.publish("overview", overview(readings=11), NOW) == first
    assert publisher.publish("overview", overview(residents=6), NOW) != first
    assert publisher.publish("overview", overview(state="down"), NOW) != first


def test_published_model_reads_back():
    live = InProcessLiveStore()
    version = ViewModelPublisher(live).publish("overview", overview(), NOW)
    model = read_view(live, "overview")
    assert model["version"] == version and model["kpis"]["residents"] == 5
    assert read_view(live, "missing") is None


def test_configured_silence_limit_decides_online():
    devices = {1: ("smoke", 60)}
    seen = {1: NOW.timestamp() - 150}
    assert devices_online(join_device_states(devices, seen), NOW, 3)["devices_online"] == 1
    assert devices_online(join_device_states(devices, seen), NOW, 2)["devices_online"] == 0


@settings(max_examples=500, deadline=None)
@given(
    st.floats(1.7e9, 1.8e9),
    st.one_of(st.none(), st.floats(-1e6, 1e6)),
    st.integers(1, 86_400),
    st.floats(0.5, 10),
)
def test_a_devices_online_test_on_epoch_seconds_agrees_with_the_fire_rules(now, ago, interval, k):
    """DeviceState.online is device_state() without datetimes: the same verdict, away from the
    limit itself (where microsecond rounding of datetimes may tip either way)."""
    from cockpit.panels import DeviceState
    from cockpit.rules.fire import device_state

    seen = None if ago is None else now - ago
    assume(ago is None or abs(ago - k * interval) > 1e-3)
    as_dates = device_state(
        None if seen is None else datetime.fromtimestamp(seen, UTC),
        interval,
        datetime.fromtimestamp(now, UTC),
        k,
    )
    assert DeviceState("smoke", interval, seen).online(now, k) == (as_dates == "online")
