"""Sign one Flask test client in per role (and keep one with no session) on a cockpit app."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cockpit.access.accounts import AccountStore
from cockpit.access.policy import Role

PASSWORD = "matrix-password-1"


def clients_per_role(
    server: Any, accounts: AccountStore, prefix: str, worker: int
) -> dict[str | None, Any]:
    """Return a test client signed in as each role (by name), and None's with no session.

    Accounts are named `<prefix>-<role>`; the grid worker's is bound to `worker`.
    """
    clients: dict[str | None, Any] = {None: server.test_client()}
    for role in Role:
        client = server.test_client()
        name = f"{prefix}-{role.value}"
        if role is Role.KIOSK:
            token = accounts.add(name, role)
            assert client.get("/kiosk", query_string={"token": token}).status_code == 302
        else:
            bound = worker if role is Role.GRID_WORKER else None
            accounts.add(name, role, password=PASSWORD, worker_id=bound)
            answer = client.post("/login", data={"username": name, "password": PASSWORD})
            assert answer.status_code == 302, role
        clients[role.value] = client
    return clients


def tiny_cockpit(data: Path) -> tuple[Any, Any, Any]:
    """Seed a tiny street with three days of past in `data`; return (app, runtime, engine).

    The cockpit app runs on it with no simulation and no worker thread: a test ticks it.
    """
    from app import create_app
    from cockpit.clock import local_day
    from cockpit.runtime import Runtime
    from cockpit.settings import Settings
    from cockpit.simulator.generator import seed_street
    from cockpit.simulator.history import seed_history
    from cockpit.store.database import make_engine, migrate
    from tests.streets import tiny_tier

    engine = make_engine(f"sqlite:///{data / 'cockpit.db'}")
    migrate(engine)
    now = datetime.now(UTC)
    seed_street(engine, tiny_tier(), 11, (121.5, 31.28), as_of=local_day(now))
    seed_history(engine, now, 3, 11)
    settings = Settings(
        data_dir=data, simulate=False, embedded_worker=False, auto_seed=False, scale="changbai"
    )
    runtime = Runtime.open(settings)
    return create_app(settings, runtime), runtime, engine
