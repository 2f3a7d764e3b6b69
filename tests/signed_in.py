"""Sign one Flask test client in per role (and keep one with no session) on a cockpit app."""

from __future__ import annotations

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
