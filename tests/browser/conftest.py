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
DOC_SCREENSHOTS = ROOT / "docs" / "screenshots"
# A Redis database of its own: the browser tests' street never meets another test's keys, and
# under pytest-xdist each test process has its own (gw0 → 9, gw1 → 10, ...), since a module's
# cockpit clears its street's keys when it starts and stops.
REDIS_URL = f"redis://127.0.0.1:6379/{9 + int(os.environ.get('PYTEST_XDIST_WORKER', 'gw0')[2:])}"


def free_port() -> int:
    """Return a TCP port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The test's password for every person's account it creates (at least 10 characters).
PASSWORD = "browser-test-pass"


class SignInAccounts:
    """Make accounts in a cockpit's store and sign browser pages in with them."""

    # base url -> accounts of the cockpit serving it, so open_page signs a page in on its server.
    running: dict[str, SignInAccounts] = {}

    def __init__(self, url: str, database_url: str) -> None:
        self.url = url
        self.database_url = database_url
        self.tokens: dict[str, str] = {}

    def account(self, role: str, worker_id: int | None = None) -> tuple[str, str]:
        """Return (name, password or kiosk token) of an account of the role, made once."""
        from cockpit.access.accounts import AccountStore
        from cockpit.store.database import make_engine

        name = f"w{worker_id}" if role == "grid_worker" else f"test-{role}"
        if name in self.tokens:
            return name, self.tokens[name]
        engine = make_engine(self.database_url)
        try:
            secret = AccountStore(engine).add(
                name, role, password=None if role == "kiosk" else PASSWORD, worker_id=worker_id
            )
        finally:
            engine.dispose()
        self.tokens[name] = secret
        return name, secret

    def sign_in(self, page, role: str, worker_id: int | None = None) -> None:
        """Sign the page's browser context in as an account of the role."""
        name, secret = self.account(role, worker_id)
        if role == "kiosk":
            page.goto(f"{self.url}kiosk?token={secret}")
            return
        answer = page.request.post(
            f"{self.url}login", form={"username": name, "password": secret}, max_redirects=0
        )
        assert answer.status == 302, f"sign-in as {role} failed: {answer.status}"


class CockpitServer:
    """Run `python app.py` with test settings, know its URL, and make accounts to sign in with."""

    def __init__(self, data_dir: Path, **settings: str) -> None:
        self.data_dir = data_dir
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
                with urllib.request.urlopen(self.url + "healthz", timeout=2):
                    self.accounts = SignInAccounts(self.url, self.database_url)
                    SignInAccounts.running[self.url] = self.accounts
                    return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(
            f"cockpit did not answer within {timeout} s: {self.log.read_text()[-2000:]}"
        )

    def account(self, role: str, worker_id: int | None = None) -> tuple[str, str]:
        """Return (name, secret) of a test account of the role on this server."""
        return self.accounts.account(role, worker_id)

    @property
    def database_url(self) -> str:
        """Return the URL of the server's SQLite store."""
        return f"sqlite:///{self.data_dir / 'cockpit.db'}"

    def stop(self) -> None:
        """Stop the server."""
        SignInAccounts.running.pop(self.url, None)
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def clear_redis_street(url: str = REDIS_URL) -> None:
    """Drop every key the browser tests' cockpits left in their Redis database."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter("cockpit:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="module")
def cockpit(tmp_path_factory) -> Iterator[CockpitServer]:
    """Run a cockpit on the Changbai street with a fast refresh and live state in the real Redis."""
    from tests.conftest import require_server

    require_server("Redis", "127.0.0.1", 6379)
    clear_redis_street()
    server = CockpitServer(
        tmp_path_factory.mktemp("cockpit"),
        COCKPIT_SCALE="changbai",
        COCKPIT_REFRESH_MS="500",
        COCKPIT_LIVE_POLL_SECONDS="0.5",
        COCKPIT_REDIS_URL=REDIS_URL,
    )
    server.start()
    yield server
    server.stop()
    clear_redis_street()


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

    def _open(
        url: str, width: int = 1920, height: int = 1080, *, role: str | None = None, **options
    ):
        """Open the URL signed in as `role` (default: what the URL's screen is for).

        `options` go to Playwright's new_page (bypass_csp=True lets a test inject axe-core).
        """
        page = browser.new_page(viewport={"width": width, "height": height}, **options)
        page.console_errors = []
        page.on(
            "console",
            lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
        accounts = next(
            (a for base, a in SignInAccounts.running.items() if url.startswith(base)), None
        )
        if accounts is not None and role != "anonymous":
            role, worker = role_for(url, role)
            accounts.sign_in(page, role, worker)
        page.goto(url)
        pages.append(page)
        return page

    yield _open
    for page in pages:
        page.close()


def role_for(url: str, role: str | None) -> tuple[str, int | None]:
    """Return the role (and grid worker) a test page signs in as: what its screen is for."""
    from urllib.parse import parse_qs, urlparse

    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    worker = (query.get("worker") or [None])[0]
    if parsed.path.endswith("/worker"):
        return role or "grid_worker", int(worker) if worker and worker.isdigit() else None
    mode = (query.get("mode") or ["wall"])[0]
    return role or {"tablet": "dispatcher", "demo": "viewer"}.get(mode, "kiosk"), None


def wait_for_js(page, script: str, timeout: float = 60.0):
    """Poll a JavaScript expression in the page until it is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = page.evaluate(script)
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"never true within {timeout} s: {script}")


def screenshot(page, name: str, *, docs: bool = False) -> Path:
    """Save a screenshot for people to look at (artifacts/ is ignored by git).

    With DOC_SCREENSHOTS=1 in the environment, the ones marked `docs` also replace the README's
    pictures in docs/screenshots/.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    if docs and os.environ.get("DOC_SCREENSHOTS") == "1":
        DOC_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOC_SCREENSHOTS / f"{name}.png"))
    return path


# Every text of the page a person reads from across the room: all but the map's drawing.
READABLE = ".cockpit *:not(.leaflet-container, .leaflet-container *)"


def font_sizes(page, selector: str) -> list[float]:
    """Return the computed font sizes of the visible elements with text under the selector."""
    return page.eval_on_selector_all(
        selector,
        """els => els.filter(e => e.offsetParent !== null && e.innerText && e.innerText.trim()
              && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
            .map(e => parseFloat(getComputedStyle(e).fontSize))""",
    )


# WCAG's contrast ratio of each visible text against the first opaque background behind it.
LOW_CONTRAST = """
(selector) => {
  const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(",").map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92
    : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const behind = (el) => { for (let e = el; e; e = e.parentElement) {
    const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a > 0.5) return c; }
    return parse(getComputedStyle(document.body).backgroundColor); };
  const low = [];
  for (const el of document.querySelectorAll(selector)) {
    if (el.offsetParent === null || ![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    const fg = parse(getComputedStyle(el).color), bg = behind(el);
    if (!fg || !bg) continue;
    const [hi, lo] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (hi + 0.05) / (lo + 0.05);
    if (ratio < 4.5) low.push([String(el.className || el.nodeName), el.textContent.trim().slice(0, 30), ratio.toFixed(2)]);
  }
  return low;
}
"""


def low_contrast(page, selector: str = READABLE) -> list[list[str]]:
    """Return [class, text, ratio] of every visible text under 4.5:1 against its background."""
    return page.evaluate(LOW_CONTRAST, selector)
