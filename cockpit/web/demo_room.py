"""Name the demo room of the browser making the request: a random key kept in its session cookie.

The key is per browser session, not per account: two visitors signed in on one shared account get
two rooms, and signing in or out (which clears the session) leaves the old room behind to idle out.
"""

from __future__ import annotations

import re
import secrets

import flask

from cockpit.demo.controller import DemoController
from cockpit.demo.rooms import DemoRooms

SESSION_KEY = "demo_room"
KEY_BYTES = 16
KEY_FORM = re.compile(r"[0-9a-f]{32}")


def current_room_key() -> str | None:
    """Return the request's demo room key; None outside a request or when it holds none."""
    if not flask.has_request_context():
        return None
    key = flask.session.get(SESSION_KEY)
    # The cookie is signed, so this only guards against keys an older release might have left.
    return key if isinstance(key, str) and KEY_FORM.fullmatch(key) else None


def open_visitor_room(rooms: DemoRooms) -> DemoController | None:
    """Return the requesting visitor's room, opening one under a fresh key if this process holds
    none for them; None when every room is busy.

    A key the rooms do not hold (its room closed; without Redis, also one of another process) is
    replaced rather than revived, so one key names at most one room. With Redis the rooms hold
    every process's keys, so a visitor keeps their room whichever web worker answers.
    """
    key = current_room_key()
    if key is None or not rooms.holds(key):
        key = secrets.token_hex(KEY_BYTES)
        flask.session[SESSION_KEY] = key
    return rooms.open(key)
