"""Name the SQL store being out of reach, so callers can tell an outage from a bug."""

from __future__ import annotations

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

# What SQLAlchemy raises when the database cannot be reached or drops the connection: a refused
# or broken connection, a server shutting down, a pool that cannot hand out a connection.
UNREACHABLE = (OperationalError, InterfaceError, PoolTimeoutError)


class StoreUnavailableError(RuntimeError):
    """Say the SQL store cannot be reached right now, so the write did not happen."""
