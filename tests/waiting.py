"""Wait for a condition in tests that talk to real servers, without asserting any time."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, every: float = 0.02) -> bool:
    """Poll a condition until it holds or the timeout passes; return whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()
