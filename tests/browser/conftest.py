"""Start the real cockpit in a subprocess and drive Debian's Chromium against it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"


def free_port() -> int:
    """Return a TCP port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CockpitServer:
    """Run `python app.py` with test settings and know its URL."""

    def __init__(self, data_dir: Path, **settings: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.env = {
            **os.environ,
            "COCKPIT_DATA_DIR": str(data_dir),
            "COCKPIT_PORT": str(self.port),
            "COCKPIT_DATABASE_URL": "",
            "COCKPIT_REDIS_URL": "",
            **settings,
        }
        self.log = data_dir / "server.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> None:
        """Start the server and wait until it answers."""
        self.process = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"cockpit exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url, timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(
            f"cockpit did not answer within {timeout} s: {self.log.read_text()[-2000:]}"
        )

    def stop(self) -> None:
        """Stop the server."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture(scope="module")
def cockpit(tmp_path_factory) -> Iterator[CockpitServer]:
    """Run a cockpit on the Changbai street with a fast refresh, for the module's tests."""
    server = CockpitServer(
        tmp_path_factory.mktemp("cockpit"),
        COCKPIT_SCALE="changbai",
        COCKPIT_REFRESH_MS="500",
        COCKPIT_LIVE_POLL_SECONDS="0.5",
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """Launch Debian's Chromium headless through Playwright; fail loudly when it is missing."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: apt-get install -y chromium (browser tests need it)",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser):
    """Return a function opening a page at a viewport size that records console errors."""
    pages = []

    def _open(url: str, width: int = 1920, height: int = 1080):
        page = browser.new_page(viewport={"width": width, "height": height})
        page.console_errors = []
        page.on(
            "console",
            lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
        page.goto(url)
        pages.append(page)
        return page

    yield _open
    for page in pages:
        page.close()


def screenshot(page, name: str) -> Path:
    """Save a screenshot for people to look at (artifacts/ is ignored by git)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
