"""Provide the shared test fixtures: stores on SQLite, the real PostgreSQL and the real Redis."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import settings
from sqlalchemy import Engine, text

from cockpit.store.database import make_engine, migrate

POSTGRES_URL = os.environ.get(
    "COCKPIT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("COCKPIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883

# Speed is measured by benchmarks, never asserted: no per-example deadline, so a loaded CI
# machine cannot fail a property that holds.
settings.register_profile("cockpit", deadline=None)
settings.load_profile("cockpit")


def server_answers(host: str, port: int) -> bool:
    """Tell whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_server(name: str, host: str, port: int) -> None:
    """Fail, never skip, when an integration server is missing, naming the one that is."""
    if not server_answers(host, port):
        pytest.fail(
            f"{name} is not answering on {host}:{port}; integration tests need it running",
            pytrace=False,
        )


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:
    """Return a migrated SQLite store in a temporary folder."""
    engine = make_engine(f"sqlite:///{tmp_path / 'cockpit.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """Return a URL into a fresh PostgreSQL schema of its own, dropped afterwards."""
    require_server("PostgreSQL", "127.0.0.1", 5432)
    schema_name = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema_name}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema_name}"
    finally:
        with admin.begin() as conn:
            # A connection a test left open in a transaction would block the drop for good:
            # fail that test's teardown after a while instead of hanging the suite.
            conn.execute(text("SET LOCAL lock_timeout = '30s'"))
            conn.execute(text(f'DROP SCHEMA "{schema_name}" CASCADE'))
        admin.dispose()


@pytest.fixture
def postgres_engine(postgres_url) -> Iterator[Engine]:
    """Return a migrated PostgreSQL store in a schema of its own."""
    engine = make_engine(postgres_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_engine(request) -> Engine:
    """Return a migrated store, once on SQLite and once on the real PostgreSQL."""
    return request.getfixturevalue(
        "sqlite_engine" if request.param == "sqlite" else "postgres_engine"
    )


@pytest.fixture
def redis_client():
    """Return a client of the real Redis server."""
    require_server("Redis", "127.0.0.1", 6379)
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def street_code() -> str:
    """Return a street code no other test uses, so live keys never collide."""
    return f"test{uuid.uuid4().hex[:10]}"


@pytest.fixture
def mqtt_broker() -> tuple[str, int]:
    """Return the real Mosquitto broker's address, failing when it is down."""
    require_server("Mosquitto", MQTT_HOST, MQTT_PORT)
    return MQTT_HOST, MQTT_PORT
