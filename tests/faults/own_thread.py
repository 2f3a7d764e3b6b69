"""Run a fault test's browser part on a thread of its own, as Playwright's sync API needs."""

from __future__ import annotations

import threading
from collections.abc import Callable


def on_own_thread(body: Callable[[], None], timeout: float = 300) -> None:
    """Run body on a thread of its own and raise what it raised.

    Playwright's sync API refuses to start where another one runs (the browser tests' session
    Chromium, when the whole suite runs in one process); a fresh thread has no event loop yet.
    """
    raised: list[BaseException] = []

    def run() -> None:
        try:
            body()
        except BaseException as exc:  # handed to the test's own thread below
            raised.append(exc)

    thread = threading.Thread(target=run, name="fault-browser", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise AssertionError(f"the browser part did not finish within {timeout} s")
    if raised:
        raise raised[0]
