"""Record every response a wall, a viewer, a dispatcher and a grid worker receive; find no secret.

A resident's report holds her name, mobile, ID number, e-mail, bank card and plate. Pages are
opened as each role and every response body they are sent (page, callbacks, layers, scripts) is
kept; none may hold any of them unmasked, nor a full resident name from the register. Only a
leader who types a reason sees the report unmasked, for a limited time, and that reveal is in the
audit log.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

from tests.browser.conftest import REDIS_URL, CockpitServer, clear_redis_street, screenshot
from tests.browser.test_screens import wait_for_text

pytestmark = pytest.mark.browser

NAME = "王秀英"
SECRETS = {
    "name": NAME,
    "mobile": "13912345678",
    "id number": "330104199001010018",
    "e-mail": "wangxy@example.com",
    "bank card": "6222021234567890123",
    "plate": "沪A12345",
}
REPORT = (
    f"我叫{NAME}，楼道灯坏了三天，晚上很黑。电话{SECRETS['mobile']}，身份证{SECRETS['id number']}，"
    f"邮箱{SECRETS['e-mail']}，退款请打到银行卡{SECRETS['bank card']}，我的车{SECRETS['plate']}停在楼下。"
)


@pytest.fixture(scope="module")
def cockpit(tmp_path_factory) -> Iterator[CockpitServer]:
    """Run a cockpit whose reveals expire after a few seconds."""
    from tests.conftest import require_server

    require_server("Redis", "127.0.0.1", 6379)
    clear_redis_street()
    server = CockpitServer(
        tmp_path_factory.mktemp("privacy-cockpit"),
        COCKPIT_SCALE="changbai",
        COCKPIT_REFRESH_MS="500",
        COCKPIT_LIVE_POLL_SECONDS="0.5",
        COCKPIT_REDIS_URL=REDIS_URL,
        COCKPIT_REVEAL_SECONDS="6",
    )
    server.start()
    yield server
    server.stop()
    clear_redis_street()


def report_as_a_resident(server: CockpitServer) -> int:
    """Post the resident's report through Open311 and return its request id."""
    with urllib.request.urlopen(server.url + "open311/v2/services.json") as answer:
        service = json.load(answer)[0]["service_code"]
    body = urllib.parse.urlencode(
        {
            "service_code": service,
            "description": REPORT,
            "lat": "31.279",
            "long": "121.537",
            "first_name": "秀英",
            "last_name": "王",
            "email": SECRETS["e-mail"],
            "phone": SECRETS["mobile"],
        }
    ).encode()
    with urllib.request.urlopen(server.url + "open311/v2/requests.json", data=body) as answer:
        return int(json.load(answer)[0]["service_request_id"])


def case_of_request(server: CockpitServer, request_id: int, timeout: float = 30) -> int:
    """Wait until the worker has opened the request's case; return its id."""
    from sqlalchemy import select

    from cockpit.store import schema
    from cockpit.store.database import make_engine

    engine = make_engine(server.database_url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                case_id = conn.execute(
                    select(schema.CaseReport.case_id).where(
                        schema.CaseReport.source == "resident",
                        schema.CaseReport.source_id == request_id,
                    )
                ).scalar()
            if case_id is not None:
                return case_id
            time.sleep(0.25)
    finally:
        engine.dispose()
    raise AssertionError(f"request {request_id} opened no case within {timeout} s")


def dispatch_to_a_worker(server: CockpitServer, case_id: int) -> int:
    """Register the case and dispatch it to a grid worker of its grid (or the first); return them."""
    from sqlalchemy import select

    from cockpit.cases.deadlines import load_cases_config
    from cockpit.cases.desk import CaseDesk
    from cockpit.clock import SystemClock
    from cockpit.live import RedisLiveStore
    from cockpit.settings import Settings
    from cockpit.store import schema
    from cockpit.store.database import make_engine

    engine = make_engine(server.database_url)
    try:
        with engine.connect() as conn:
            street = conn.execute(select(schema.Street.code)).scalar_one()
            worker = conn.execute(
                select(schema.GridWorker.id).order_by(schema.GridWorker.id)
            ).scalar()
        desk = CaseDesk(
            engine,
            RedisLiveStore.from_url(REDIS_URL, street),
            SystemClock(),
            load_cases_config(Settings().cases_file),
        )
        desk.act("register", "setup:test", case_id=case_id)
        desk.act("dispatch", "setup:test", case_id=case_id, target=f"worker:{worker}")
        return worker
    finally:
        engine.dispose()


def registered_names(server: CockpitServer, limit: int = 2000) -> set[str]:
    """Return full names of residents and grid workers from the register (a sample)."""
    from sqlalchemy import select

    from cockpit.store import schema
    from cockpit.store.database import make_engine

    engine = make_engine(server.database_url)
    try:
        with engine.connect() as conn:
            people = conn.execute(select(schema.Resident.name).limit(limit)).scalars().all()
            workers = conn.execute(select(schema.GridWorker.name)).scalars().all()
    finally:
        engine.dispose()
    # Two-character names also occur inside ordinary words; three are specific enough to scan.
    return {name for name in [*people, *workers] if len(name) >= 3}


def recorded(page) -> list[str]:
    """Attach a recorder to the page: every text response body it receives is kept."""
    bodies: list[str] = []

    def keep(response) -> None:
        try:
            bodies.append(response.text())
        except Exception:  # a redirect or an aborted request has no body to scan
            return

    page.on("response", keep)
    return bodies


def spellings(secret: str) -> set[str]:
    """Return how a string can appear in a response: as written, or JSON-escaped to ASCII."""
    return {secret, json.dumps(secret)[1:-1]}


def leaks(bodies: list[str], names: set[str]) -> list[str]:
    """Return which secrets (and registered full names) appear in any recorded body."""
    text = "\n".join(bodies)
    found = [k for k, secret in SECRETS.items() if any(f in text for f in spellings(secret))]
    found += [f"register name {n}" for n in names if any(f in text for f in spellings(n))]
    return found


def test_no_role_receives_the_residents_personal_data(cockpit, browser):
    request_id = report_as_a_resident(cockpit)
    case_id = case_of_request(cockpit, request_id)
    worker = dispatch_to_a_worker(cockpit, case_id)
    names = registered_names(cockpit)
    screens = {
        "kiosk": (f"{cockpit.url}?mode=wall&lang=zh", 1920, 1080),
        "viewer": (f"{cockpit.url}?mode=tablet&lang=zh", 1024, 768),
        "dispatcher": (f"{cockpit.url}?mode=tablet&lang=en", 1024, 768),
        "grid_worker": (f"{cockpit.url}worker?lang=zh", 390, 844),
    }
    for role, (url, width, height) in screens.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        bodies = recorded(page)
        cockpit.accounts.sign_in(page, role, worker if role == "grid_worker" else None)
        page.goto(url)
        if role == "grid_worker":
            page.locator(f".worker-task[data-case='{case_id}']").wait_for(timeout=20000)
        else:
            wait_for_text(page, "#data-freshness", lambda t: "前" in t or "ago" in t, timeout=30)
        if role in ("viewer", "dispatcher"):
            page.evaluate(f"window.cockpitDraw.pick({{kind: 'case', id: {case_id}}})")
            card = page.locator(f".card-case[data-case='{case_id}']")
            card.wait_for(timeout=15000)
            # The report shows masked: the phone's last four digits, never the whole number.
            wait_for_text(page, ".card-case", lambda t: "139****5678" in t, timeout=15)
            screenshot(page, f"privacy-case-card-{role}")
        page.wait_for_timeout(2500)  # a few refreshes' worth of callbacks
        assert leaks(bodies, names) == [], role
        if role in ("viewer", "dispatcher"):
            # The scan read what the card was sent: the report, masked.
            assert any("139****5678" in body for body in bodies), role
        context.close()
    with urllib.request.urlopen(cockpit.url + f"open311/v2/requests/{request_id}.json") as answer:
        public = answer.read().decode()
    assert leaks([public], names) == []
    assert "139****5678" in json.loads(public)[0]["description"]
