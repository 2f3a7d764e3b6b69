"""Check the MQTT settings: street code, login, TLS, client ids, and the publisher's loss count."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cockpit.ingest import DeviceMessage
from cockpit.live import InProcessLiveStore
from cockpit.mqtt_bridge import (
    LOST_PUBLISHER,
    PUBLISHED,
    BrokerAddress,
    MqttBridge,
    MqttPublisher,
    broker_from_settings,
    parse_mqtt_url,
    subscription,
    unique_client_id,
)
from cockpit.settings import Settings
from cockpit.simulator.generator import seed_street
from cockpit.simulator.tiers import TIERS, get_tier
from cockpit.store.stored_street import ignored_settings
from tests.private_servers import free_port
from tests.streets import tiny_tier

STREET = "330104005"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """Remove every COCKPIT_* variable, so only the test's settings count."""
    for name in list(os.environ):
        if name.startswith("COCKPIT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_two_bridges_of_one_street_never_share_a_client_id():
    first = MqttBridge(None, STREET, "127.0.0.1", 1)
    second = MqttBridge(None, STREET, "127.0.0.1", 1)
    assert first.client_id != second.client_id
    pattern = rf"cockpit-bridge-{STREET}-[A-Za-z0-9.-]+-{os.getpid()}-[0-9a-f]{{6}}"
    assert re.fullmatch(pattern, first.client_id), first.client_id
    publisher_id = unique_client_id("north", "pub", STREET)
    assert publisher_id.startswith(f"north-pub-{STREET}-")
    # A caller's own stable id is kept as given (it resumes its session across restarts).
    assert MqttBridge(None, STREET, "127.0.0.1", 1, client_id="fixed").client_id == "fixed"


@settings(max_examples=200, deadline=None)
@given(prefix=st.from_regex(r"[A-Za-z0-9._-]{1,40}", fullmatch=True))
def test_client_ids_from_any_allowed_prefix_are_distinct_and_printable(prefix):
    ids = {unique_client_id(prefix, "bridge", STREET) for _ in range(20)}
    assert len(ids) == 20
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", i) for i in ids)


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("mqtts://broker", BrokerAddress("broker", 8883, tls=True)),
        ("mqtts://broker:8884", BrokerAddress("broker", 8884, tls=True)),
        ("mqtt://broker", BrokerAddress("broker", 1883)),
        ("mqtts://u:p%40ss@broker", BrokerAddress("broker", 8883, "u", "p@ss", tls=True)),
    ],
)
def test_mqtts_urls_mean_tls_on_the_tls_port(url, address):
    assert parse_mqtt_url(url) == address


def test_a_password_never_shows_in_a_broker_address():
    at = parse_mqtt_url("mqtt://cockpit:hunter2@broker:1883")
    assert "hunter2" not in repr(at) and "hunter2" not in str(at)
    assert str(at) == "mqtt://broker:1883"
    s = Settings(mqtt_url="mqtt://broker", mqtt_username="u", mqtt_password="hunter2")
    assert "hunter2" not in repr(s) and "hunter2" not in str(s.model_dump())


def test_login_settings_win_over_the_url():
    s = Settings(
        mqtt_url="mqtt://url-user:url-pw@broker:1999",
        mqtt_username="cockpit",
        mqtt_password="s3cret",
        mqtt_client_id="north",
    )
    at = broker_from_settings(s)
    assert (at.host, at.port, at.username, at.password) == ("broker", 1999, "cockpit", "s3cret")
    assert (at.tls, at.client_id_prefix) == (False, "north")
    assert broker_from_settings(Settings(mqtt_url="mqtt://a:b@broker")).password == "b"


def test_tls_setting_moves_a_portless_url_to_the_tls_port(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("not read until connecting")
    at = broker_from_settings(Settings(mqtt_url="mqtt://broker", mqtt_tls=True))
    assert (at.tls, at.port, at.ca_file) == (True, 8883, None)
    at = broker_from_settings(Settings(mqtt_url="mqtt://broker:1883", mqtt_ca_file=ca))
    assert (at.tls, at.port, at.ca_file) == (True, 1883, ca)  # a CA file means TLS


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"mqtt_ca_file": "missing-ca.pem"}, "COCKPIT_MQTT_CA_FILE=missing-ca.pem: no such file"),
        ({"mqtt_cert_file": "c.pem", "mqtt_key_file": "k.pem"}, "COCKPIT_MQTT_CERT_FILE"),
        ({"mqtt_password": "pw"}, "no user name"),
        ({}, None),
    ],
)
def test_bad_mqtt_settings_stop_the_start_with_a_clear_error(fields, message):
    s = Settings(mqtt_url="mqtt://broker", **fields)
    if message is None:
        assert broker_from_settings(s).host == "broker"
        return
    with pytest.raises(ValueError, match=re.escape(message)):
        broker_from_settings(s)


def test_a_client_certificate_needs_its_key(tmp_path):
    cert = tmp_path / "client.pem"
    cert.write_text("x")
    with pytest.raises(ValueError, match="go together"):
        broker_from_settings(Settings(mqtt_url="mqtt://broker", mqtt_cert_file=cert))


@pytest.mark.parametrize("code", ["33010400", "3301040050", "33010400x", "a/b", "+"])
def test_a_street_code_setting_is_nine_digits(code):
    with pytest.raises(ValidationError):
        Settings(street_code=code)


def test_a_street_code_names_the_seeded_street_and_its_topics(sqlite_engine):
    assert get_tier("s-street").street_code == TIERS["s-street"].street_code
    tier = get_tier("s-street", "330104077")
    assert tier.street_code == "330104077" and tier.name == "s-street"
    seed_street(sqlite_engine, tiny_tier(street_code="330104077"), 3, (121.5, 31.3))
    assert subscription(tier.street_code) == "cockpit/330104077/+/+/+"
    # The store holds 330104077 now: another code in the settings is ignored, and said so.
    (sentence,) = ignored_settings(Settings(street_code="330104088"), sqlite_engine)
    assert sentence.startswith("COCKPIT_STREET_CODE=330104088 is ignored")
    assert "330104077" in sentence
    assert ignored_settings(Settings(street_code="330104077"), sqlite_engine) == []


def message(device_id: int) -> DeviceMessage:
    """Return a smoke detector's reading."""
    return DeviceMessage(
        device_id=device_id,
        device_type="smoke",
        kind="reading",
        ts=datetime(2026, 11, 21, tzinfo=UTC),
        seq=1,
        values={"alarm": False},
    )


def test_a_publisher_that_never_reaches_its_broker_counts_everything_as_lost():
    live = InProcessLiveStore()
    # Nothing listens on the port: paho keeps retrying while the publisher holds the messages.
    publisher = MqttPublisher("127.0.0.1", free_port(), STREET, counters=live.incr, max_queued=5)
    try:
        assert publisher.send([message(i) for i in range(1, 8)]) == 5  # two over the cap
        assert publisher.stats.pending == 5
    finally:
        publisher.close(timeout=0.2)
    stats = publisher.stats
    assert (stats.sent, stats.acked, stats.lost, stats.pending) == (5, 0, 7, 0)
    assert live.counters() == {PUBLISHED: 5, LOST_PUBLISHER: 7}
