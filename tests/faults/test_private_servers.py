"""Prove the private servers start, die on kill() and come back on the same port with start()."""

from __future__ import annotations

import time

import paho.mqtt.client as mqtt
import psycopg
import pytest
import redis

from tests.private_servers import PrivateMosquitto, PrivatePostgres, PrivateRedis, port_answers

pytestmark = pytest.mark.integration


def test_private_redis_keeps_appendonly_writes_across_a_kill():
    with PrivateRedis(appendonly=True) as server:
        client = redis.Redis.from_url(server.url)
        client.set("k", "v")
        port = server.port
        server.kill()
        assert not port_answers(port)
        with pytest.raises(redis.ConnectionError):
            client.get("k")
        server.start()
        assert server.port == port
        assert client.get("k") == b"v"
        client.close()


def test_private_redis_without_persistence_forgets_on_a_kill():
    with PrivateRedis() as server:
        client = redis.Redis.from_url(server.url)
        client.set("k", "v")
        server.kill()
        server.start()
        assert client.get("k") is None
        client.close()


def test_private_postgres_restarts_with_its_data_after_a_kill():
    with PrivatePostgres() as server:
        conninfo = server.url.replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (x int)")
            conn.execute("INSERT INTO t VALUES (1)")
        server.kill()
        assert not port_answers(server.port)
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(conninfo, connect_timeout=2)
        server.start()
        with psycopg.connect(conninfo) as conn:
            assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]
        server.stop()
        assert not port_answers(server.port)


def test_private_mosquitto_requires_its_users_and_restarts():
    with PrivateMosquitto(
        users={"cockpit": "secret"}, acl="user cockpit\ntopic readwrite #\n"
    ) as server:

        def connect(password: str) -> int:
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
            client.username_pw_set("cockpit", password)
            client.connect(server.host, server.port)
            result = {}
            client.on_connect = lambda c, u, f, rc, p=None: result.setdefault("rc", rc)
            client.loop_start()
            deadline = time.monotonic() + 5
            while "rc" not in result and time.monotonic() < deadline:
                time.sleep(0.02)
            client.loop_stop()
            client.disconnect()
            return int(result["rc"].value if hasattr(result["rc"], "value") else result["rc"])

        assert connect("secret") == 0
        assert connect("wrong") != 0
        server.kill()
        assert not port_answers(server.port)
        server.start()
        assert connect("secret") == 0
