"""Check accounts: argon2 hashes, kiosk tokens, roles, and that every change ends old sessions."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cockpit.access.accounts import AccountError, AccountStore, token_digest
from cockpit.access.policy import Role
from cockpit.store import schema


@pytest.fixture
def accounts(sqlite_engine) -> AccountStore:
    return AccountStore(sqlite_engine)


def test_a_password_is_stored_as_an_argon2_hash_and_opens_its_account(accounts, sqlite_engine):
    password = accounts.add("li", Role.DISPATCHER)
    with sqlite_engine.connect() as conn:
        stored = conn.execute(select(schema.Account.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and password not in stored
    account = accounts.authenticate("LI ", password)
    assert account is not None and account.role is Role.DISPATCHER
    assert accounts.authenticate("li", password + "x") is None
    assert accounts.authenticate("nobody", password) is None


def test_a_kiosk_has_a_token_no_password_and_a_new_token_stops_the_old(accounts, sqlite_engine):
    token = accounts.add("wall-1", Role.KIOSK)
    with sqlite_engine.connect() as conn:
        row = conn.execute(select(schema.Account.password_hash, schema.Account.token_hash)).one()
    assert row == (None, token_digest(token))
    assert accounts.by_token(token).username == "wall-1"
    assert accounts.authenticate("wall-1", token) is None  # a token is no password
    new = accounts.issue_token("wall-1")
    assert accounts.by_token(token) is None and accounts.by_token(new) is not None
    accounts.revoke_token("wall-1")
    assert accounts.by_token(new) is None


def test_every_change_of_secret_or_role_moves_the_session_epoch(accounts):
    accounts.add("wang", Role.LEADER, password="a-long-password")
    epochs = [accounts.get("wang").session_epoch]
    accounts.set_password("wang", "another-long-one")
    epochs.append(accounts.get("wang").session_epoch)
    accounts.set_role("wang", Role.VIEWER)
    epochs.append(accounts.get("wang").session_epoch)
    assert epochs == sorted(set(epochs)) and len(epochs) == 3


@pytest.mark.parametrize(
    ("name", "role", "kw", "says"),
    [
        ("x", "viewer", {}, "account name"),
        ("ok-name", "boss", {}, "unknown role"),
        ("short", "viewer", {"password": "short"}, "at least 10"),
        ("w1", "grid_worker", {}, "needs --worker"),
        ("w1", "grid_worker", {"worker_id": 999999}, "no grid worker 999999"),
        ("v1", "viewer", {"worker_id": 1}, "only a grid_worker"),
    ],
)
def test_a_bad_account_is_refused_with_a_reason(accounts, name, role, kw, says):
    with pytest.raises(AccountError, match=says):
        accounts.add(name, role, **kw)
    assert accounts.list() == []


def test_a_name_is_taken_once_and_a_kiosk_stays_a_kiosk(accounts):
    accounts.add("zhao", Role.VIEWER, password="0123456789")
    with pytest.raises(AccountError, match="exists"):
        accounts.add("Zhao", Role.LEADER)
    accounts.add("wall", Role.KIOSK)
    with pytest.raises(AccountError, match="kiosk stays a kiosk"):
        accounts.set_role("wall", Role.ADMIN)
    accounts.remove("zhao")
    assert [a.username for a in accounts.list()] == ["wall"]
    with pytest.raises(AccountError):
        accounts.remove("zhao")
