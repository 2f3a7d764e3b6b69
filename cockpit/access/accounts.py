"""Keep the accounts: argon2 password hashes, kiosk tokens, roles, and grid worker bindings.

store = AccountStore(engine, clock)
password = store.add("li", Role.DISPATCHER)           # a generated password, shown once
token = store.issue_token("wall-1")                    # a kiosk's token; the old one stops
store.authenticate("li", password)                     # -> Account, or None
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, func, select, update

from cockpit.access.policy import Role
from cockpit.clock import Clock, SystemClock
from cockpit.store import schema as s

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
# A wrong name costs as much as a wrong password: nobody learns which names exist by timing.
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not a password anyone has")


class AccountError(ValueError):
    """Refuse an account change: bad name, unknown role or account, or a weak password."""


@dataclass(frozen=True, slots=True)
class Account:
    """Describe one account as the web layer needs it."""

    id: int
    username: str
    role: Role
    worker_id: int | None
    session_epoch: int
    active: bool


def token_digest(token: str) -> str:
    """Return the SHA-256 hex digest under which a kiosk token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_password() -> str:
    """Return a generated password a person can type: 16 characters, ~95 bits."""
    return secrets.token_urlsafe(12)


class AccountStore:
    """Create, change, check and remove accounts in the SQL store."""

    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self.engine = engine
        self.clock = clock or SystemClock()

    def add(
        self,
        username: str,
        role: Role | str,
        *,
        password: str | None = None,
        worker_id: int | None = None,
    ) -> str:
        """Create an account and return its secret: a password, or a kiosk's token."""
        role = _role(role)
        name = _username(username)
        if role is Role.GRID_WORKER:
            worker_id = self._check_worker(worker_id)
        elif worker_id is not None:
            raise AccountError("only a grid_worker account is bound to a grid worker record")
        secret = password if password is not None else new_password()
        if role is Role.KIOSK:
            secret = secrets.token_urlsafe(32)
            hashes = {"password_hash": None, "token_hash": token_digest(secret)}
        else:
            hashes = {"password_hash": _hash(secret), "token_hash": None}
        with self.engine.begin() as conn:
            if conn.execute(select(s.Account.id).where(s.Account.username == name)).first():
                raise AccountError(f"account {name} exists already")
            conn.execute(
                s.Account.__table__.insert().values(
                    username=name,
                    role=role.value,
                    worker_id=worker_id,
                    active=True,
                    session_epoch=0,
                    created_at=self.clock.now(),
                    **hashes,
                )
            )
        return secret

    def remove(self, username: str) -> None:
        """Delete an account; its sessions end with it."""
        with self.engine.begin() as conn:
            done = conn.execute(delete(s.Account).where(s.Account.username == _username(username)))
        if done.rowcount != 1:
            raise AccountError(f"no account {username}")

    def set_role(self, username: str, role: Role | str, *, worker_id: int | None = None) -> None:
        """Change an account's role (a grid_worker names its record); its sessions end."""
        role = _role(role)
        account = self.get(username)
        if account is None:
            raise AccountError(f"no account {username}")
        if (role is Role.KIOSK) != (account.role is Role.KIOSK):
            raise AccountError("a kiosk stays a kiosk: remove it and add a person's account")
        if role is Role.GRID_WORKER:
            worker_id = self._check_worker(
                worker_id if worker_id is not None else account.worker_id
            )
        else:
            worker_id = None
        self._change(account.username, role=role.value, worker_id=worker_id)

    def set_password(self, username: str, password: str | None = None) -> str:
        """Set (or generate) a person's password and return it; their sessions end."""
        account = self.get(username)
        if account is None or account.role is Role.KIOSK:
            raise AccountError(f"no person's account {username}")
        secret = password if password is not None else new_password()
        self._change(account.username, password_hash=_hash(secret))
        return secret

    def issue_token(self, username: str) -> str:
        """Give a kiosk a new token and return it; the old token and its walls stop at once."""
        account = self.get(username)
        if account is None or account.role is not Role.KIOSK:
            raise AccountError(f"no kiosk account {username}")
        token = secrets.token_urlsafe(32)
        self._change(account.username, token_hash=token_digest(token))
        return token

    def revoke_token(self, username: str) -> None:
        """Stop a kiosk's token without issuing a new one."""
        account = self.get(username)
        if account is None or account.role is not Role.KIOSK:
            raise AccountError(f"no kiosk account {username}")
        self._change(account.username, token_hash=None)

    def authenticate(self, username: str, password: str) -> Account | None:
        """Return the active person's account the password opens, else None."""
        name = (username or "").strip().lower()
        row = self._one(s.Account.username == name, s.Account.active)
        stored = row["password_hash"] if row else None
        try:
            _HASHER.verify(stored or _DUMMY_HASH, password or "")
        except (VerificationError, InvalidHashError):
            return None
        if row is None or stored is None:
            return None
        if _HASHER.check_needs_rehash(stored):
            self._change(row["username"], password_hash=_hash(password), bump=False)
        self._touch(row["id"])
        return _account(row)

    def by_token(self, token: str) -> Account | None:
        """Return the active kiosk whose current token this is, else None."""
        if not token or len(token) > 200:
            return None
        row = self._one(
            s.Account.token_hash == token_digest(token),
            s.Account.role == Role.KIOSK.value,
            s.Account.active,
        )
        if row is None:
            return None
        self._touch(row["id"])
        return _account(row)

    def by_id(self, account_id: int) -> Account | None:
        """Return the account with this id (active or not), else None."""
        row = self._one(s.Account.id == account_id)
        return _account(row) if row else None

    def get(self, username: str) -> Account | None:
        """Return the account with this name, else None."""
        row = self._one(s.Account.username == (username or "").strip().lower())
        return _account(row) if row else None

    def list(self) -> list[Account]:
        """Return every account by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(s.Account.__table__).order_by(s.Account.username)).mappings()
            return [_account(row) for row in rows]

    def has_role(self, role: Role) -> bool:
        """Tell whether any active account has the role."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(func.count())
                .select_from(s.Account)
                .where(s.Account.role == role.value, s.Account.active)
            ).scalar_one()
        return found > 0

    def _one(self, *where: Any) -> Mapping[str, Any] | None:
        """Return the one account row the conditions select, else None."""
        with self.engine.connect() as conn:
            return conn.execute(select(s.Account.__table__).where(*where)).mappings().first()

    def _change(self, username: str, *, bump: bool = True, **values: object) -> None:
        """Update one account; a change of secret or role ends its sessions (epoch + 1)."""
        if bump:
            values["session_epoch"] = s.Account.session_epoch + 1
        with self.engine.begin() as conn:
            conn.execute(update(s.Account).where(s.Account.username == username).values(**values))

    def _touch(self, account_id: int) -> None:
        """Note when an account last signed in."""
        now: datetime = self.clock.now()
        with self.engine.begin() as conn:
            conn.execute(
                update(s.Account).where(s.Account.id == account_id).values(last_login_at=now)
            )

    def _check_worker(self, worker_id: int | None) -> int:
        """Return the grid worker id after checking the record exists."""
        if worker_id is None:
            raise AccountError("a grid_worker account needs --worker <grid worker id>")
        with self.engine.connect() as conn:
            found = conn.execute(
                select(s.GridWorker.id).where(s.GridWorker.id == int(worker_id))
            ).first()
        if found is None:
            raise AccountError(f"no grid worker {worker_id}")
        return int(worker_id)


def _role(role: Role | str) -> Role:
    """Return a known role or refuse, listing the known ones."""
    try:
        return Role(role)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise AccountError(f"unknown role {role!r}; roles: {known}") from None


def _username(username: str) -> str:
    """Return a valid account name (lower case) or refuse, saying what is allowed."""
    name = (username or "").strip().lower()
    if not USERNAME.match(name):
        raise AccountError(
            f"account name {username!r}: 2-64 of a-z, 0-9, '.', '_' or '-', starting with a "
            "letter or digit"
        )
    return name


def _hash(password: str) -> str:
    """Return the argon2 hash of a password long enough to resist guessing."""
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def _account(row: Mapping[str, Any]) -> Account:
    """Return the web layer's view of an account row."""
    return Account(
        id=row["id"],
        username=row["username"],
        role=Role(row["role"]),
        worker_id=row["worker_id"],
        session_epoch=row["session_epoch"],
        active=bool(row["active"]),
    )
