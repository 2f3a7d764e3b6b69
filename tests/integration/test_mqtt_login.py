"""Log in to a private Mosquitto with a password file, an ACL and TLS, as production does."""

from __future__ import annotations

import logging
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cockpit.clock import ManualClock
from cockpit.ingest import DeviceMessage, Ingest
from cockpit.live import InProcessLiveStore
from cockpit.mqtt_bridge import MqttPublisher, broker_from_settings, from_broker
from cockpit.settings import Settings
from tests.devices import KnownDevices
from tests.private_servers import PrivateMosquitto
from tests.waiting import wait_until

pytestmark = pytest.mark.integration
START = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
NORTH, SOUTH = "330104005", "330104006"
USERS = {"north": "n0rth-pw", "south": "s0uth-pw"}
# Each street's account may read and write its own street's topics only.
ACL = "user north\ntopic readwrite cockpit/330104005/#\n\nuser south\ntopic readwrite cockpit/330104006/#\n"
DEVICES = range(1, 11)


def readings(seq: int = 1) -> list[DeviceMessage]:
    """Return one smoke-detector reading per test device."""
    return [
        DeviceMessage(
            device_id=device_id,
            device_type="smoke",
            kind="reading",
            ts=START + timedelta(seconds=seq),
            seq=seq,
            values={"alarm": False},
        )
        for device_id in DEVICES
    ]


def ingest_for(sqlite_engine) -> tuple[Ingest, InProcessLiveStore]:
    """Return an ingest that knows the test devices, and its live store."""
    live = InProcessLiveStore()
    devices = KnownDevices({device_id: "smoke" for device_id in DEVICES})
    return Ingest(sqlite_engine, live, ManualClock(START), devices=devices), live


def street_settings(url: str, user: str, password: str, street: str, **more) -> Settings:
    """Return the settings one street's cockpit would run with."""
    return Settings(
        mqtt_url=url, mqtt_username=user, mqtt_password=password, street_code=street, **more
    )


def test_a_street_logs_in_with_its_settings_and_ingests(sqlite_engine):
    ingest, live = ingest_for(sqlite_engine)
    with PrivateMosquitto(users=USERS, acl=ACL) as server:
        broker = broker_from_settings(street_settings(server.url, "north", "n0rth-pw", NORTH))
        bridge = from_broker(ingest, NORTH, broker, session_expiry_s=30)
        publisher = MqttPublisher.from_broker(broker, NORTH, counters=live.incr)
        try:
            bridge.start()
            assert bridge.wait_ready(10), bridge.health()
            assert bridge.health()["state"] == "ok"
            publisher.send(readings())
            assert publisher.flush(10), publisher.stats
            assert wait_until(lambda: bridge.stats.processed >= len(DEVICES)), bridge.stats
            assert live.counters()["readings_accepted"] == len(DEVICES)
        finally:
            publisher.close()
            bridge.stop()


def test_a_wrong_password_shows_in_health_and_logs_one_line(sqlite_engine, caplog):
    caplog.set_level(logging.INFO, logger="cockpit.mqtt_bridge")
    ingest, _ = ingest_for(sqlite_engine)
    with PrivateMosquitto(users=USERS, acl=ACL) as server:
        broker = broker_from_settings(street_settings(server.url, "north", "guessed", NORTH))
        bridge = from_broker(ingest, NORTH, broker, session_expiry_s=30)
        try:
            bridge.start()
            assert not bridge.wait_ready(3.5)  # paho retries after 1 s and 2 s: refused again
            health = bridge.health()
            assert health["state"] == "down"
            assert "refused the bridge" in health["error"]
            assert "Not authorized" in health["error"] or "password" in health["error"]
        finally:
            bridge.stop()
    mine = [r for r in caplog.records if r.name == "cockpit.mqtt_bridge"]
    refusals = [r for r in mine if "refused" in r.getMessage()]
    assert len(refusals) == 1, [r.getMessage() for r in mine]
    assert "\n" not in refusals[0].getMessage()
    assert not any(r.exc_info for r in caplog.records), "a stack trace was logged"
    assert not any("guessed" in r.getMessage() for r in caplog.records), "password logged"


def test_two_streets_on_one_broker_do_not_knock_each_other_off(sqlite_engine, caplog):
    caplog.set_level(logging.INFO, logger="cockpit.mqtt_bridge")
    north_ingest, north_live = ingest_for(sqlite_engine)
    south_ingest, south_live = ingest_for(sqlite_engine)
    with PrivateMosquitto(users=USERS, acl=ACL) as server:
        north = broker_from_settings(street_settings(server.url, "north", "n0rth-pw", NORTH))
        south = broker_from_settings(street_settings(server.url, "south", "s0uth-pw", SOUTH))
        bridges = [
            from_broker(north_ingest, NORTH, north, session_expiry_s=30),
            from_broker(south_ingest, SOUTH, south, session_expiry_s=30),
            # A second bridge of the north street (say a worker started twice): its own id.
            from_broker(north_ingest, NORTH, north, session_expiry_s=30),
        ]
        publishers = [
            MqttPublisher.from_broker(north, NORTH),
            MqttPublisher.from_broker(south, SOUTH),
        ]
        try:
            for bridge in bridges:
                bridge.start()
            assert all(bridge.wait_ready(10) for bridge in bridges)
            publishers[0].send(readings(1))
            publishers[1].send(readings(1) + readings(2))
            assert all(publisher.flush(10) for publisher in publishers)
            assert wait_until(lambda: bridges[1].stats.processed >= 2 * len(DEVICES))
            assert wait_until(lambda: bridges[2].stats.processed >= len(DEVICES))
            time.sleep(1.5)  # a knocked-off bridge would reconnect after paho's first second
            assert all(bridge.connected for bridge in bridges)
            # Each street got its own readings only; the north's two bridges got them both
            # (ingest tells the copy as a duplicate).
            assert [b.stats.received for b in bridges] == [10, 20, 10]
            assert north_live.counters() == {"readings_accepted": 10, "readings_duplicate": 10}
            assert south_live.counters() == {"readings_accepted": 20}
        finally:
            for publisher in publishers:
                publisher.close()
            for bridge in bridges:
                bridge.stop()
    lost = [r.getMessage() for r in caplog.records if "lost MQTT broker" in r.getMessage()]
    assert lost == [], lost


class TlsMosquitto(PrivateMosquitto):
    """A private broker that speaks only TLS, with a certificate signed by a CA of the test."""

    def __init__(self, ca: Path, cert: Path, key: Path, **options) -> None:
        self.tls_files = (ca, cert, key)
        super().__init__(**options)

    def _write_conf(self) -> None:
        super()._write_conf()
        ca, cert, key = self.tls_files
        lines = self.conf.read_text().splitlines()
        # Options after a listener line belong to that listener.
        lines[1:1] = [f"cafile {ca}", f"certfile {cert}", f"keyfile {key}"]
        self.conf.write_text("\n".join(lines) + "\n")


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """Make a CA and a server certificate for 127.0.0.1 signed by it, with openssl."""
    ca_key, ca, key, csr, cert = (
        folder / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem")
    )
    ext = folder / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca),
        "-days", "1", "-subj", "/CN=cockpit test CA")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
        "-subj", "/CN=127.0.0.1")  # fmt: skip
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", "1", "-extfile", str(ext))  # fmt: skip
    for path in (ca, cert, key):
        path.chmod(0o644)
    return ca, cert, key


def test_tls_with_the_ca_file_connects_and_without_it_does_not(sqlite_engine, tmp_path):
    ca, cert, key = make_certificates(tmp_path)
    ingest, live = ingest_for(sqlite_engine)
    with TlsMosquitto(ca, cert, key, users=USERS, acl=ACL) as server:
        url = f"mqtts://127.0.0.1:{server.port}"
        good = broker_from_settings(
            street_settings(url, "north", "n0rth-pw", NORTH, mqtt_ca_file=ca)
        )
        # Without the CA the system's trusted CAs are used, and they do not know this one.
        untrusted = broker_from_settings(street_settings(url, "north", "n0rth-pw", NORTH))
        assert good.tls and untrusted.tls
        bridge = from_broker(ingest, NORTH, good, session_expiry_s=30)
        stranger = from_broker(ingest, NORTH, untrusted, session_expiry_s=30)
        publisher = MqttPublisher.from_broker(good, NORTH)
        try:
            bridge.start()
            stranger.start()
            assert bridge.wait_ready(10), bridge.health()
            publisher.send(readings())
            assert publisher.flush(10), publisher.stats
            assert wait_until(lambda: bridge.stats.processed >= len(DEVICES)), bridge.stats
            assert live.counters()["readings_accepted"] == len(DEVICES)
            assert not stranger.wait_ready(1)
            assert stranger.health()["state"] == "down"
            assert str(good) in stranger.health()["error"]
        finally:
            publisher.close()
            stranger.stop()
            bridge.stop()
