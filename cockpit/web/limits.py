"""Make the one rate limiter of a web process (Flask-Limiter): Redis-backed when Redis is set."""

from __future__ import annotations

import flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from cockpit.settings import Settings


def make_limiter(server: flask.Flask, settings: Settings) -> Limiter:
    """Return a limiter on the server; counts live in Redis so every gunicorn worker shares them."""
    # In memory, each web worker would count on its own and a guesser would get n times the tries.
    storage = settings.redis_url or "memory://"
    return Limiter(
        get_remote_address,
        app=server,
        storage_uri=storage,
        key_prefix="cockpit-limits",
        headers_enabled=True,
        # A limiter whose Redis is gone must not lock everyone out: it counts in memory meanwhile.
        in_memory_fallback_enabled=True,
        swallow_errors=True,
    )
