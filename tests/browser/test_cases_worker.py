"""Work a case on the grid worker's phone page: accept it, report it handled, revisit another."""

from __future__ import annotations

import pytest

from tests.browser.conftest import REDIS_URL, CockpitServer, screenshot
from tests.browser.test_cases_tablet import case_state
from tests.browser.test_screens import CJK, wait_for_text

pytestmark = pytest.mark.browser


def dispatch_to_a_worker(server: CockpitServer) -> tuple[int, int]:
    """Dispatch an open case to a grid worker who also has a revisit due; return (case, worker)."""
    from sqlalchemy import func, select

    from cockpit.cases.deadlines import load_cases_config
    from cockpit.cases.desk import CaseDesk
    from cockpit.clock import SystemClock
    from cockpit.live import RedisLiveStore
    from cockpit.settings import Settings
    from cockpit.store import schema
    from cockpit.store.database import make_engine

    engine = make_engine(server.database_url)
    try:
        c = schema.Case
        with engine.connect() as conn:
            street = conn.execute(select(schema.Street.code)).scalar_one()
            # A worker with a closed case to revisit, so the page has both kinds of task.
            worker = conn.execute(
                select(func.min(c.assignee)).where(c.state == "closed", c.assignee.like("worker:%"))
            ).scalar_one()
            case_id, state = conn.execute(
                select(c.id, c.state)
                .where(c.state.in_(("reported", "registered")))
                .order_by(c.id.desc())
                .limit(1)
            ).one()
        desk = CaseDesk(
            engine,
            RedisLiveStore.from_url(REDIS_URL, street),
            SystemClock(),
            load_cases_config(Settings().cases_file),
        )
        if state == "reported":
            desk.act("register", "test", case_id=case_id)
        desk.act("dispatch", "test", case_id=case_id, target=worker)
        return case_id, int(worker.split(":")[1])
    finally:
        engine.dispose()


def test_a_grid_worker_accepts_reports_handled_and_revisits_on_the_phone(cockpit, open_page):
    case_id, worker = dispatch_to_a_worker(cockpit)
    page = open_page(f"{cockpit.url}worker?worker={worker}&lang=en", 390, 844)
    task = page.locator(f".worker-task[data-case='{case_id}']")
    task.wait_for(timeout=15000)
    assert page.locator(".worker-task.task-revisit").count() >= 1
    assert page.locator(".worker-task").first.get_attribute("data-case") == str(case_id)
    # Phone-sized: nothing wider than the screen, buttons large enough for a thumb.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert task.locator(".worker-button-accept").bounding_box()["height"] >= 44
    # The phone says how live its list is, as the wall does: the worker beats, so fresh.
    fresh = wait_for_text(page, "#worker-freshness", lambda t: "Data updated" in t, timeout=10)
    assert "STALE" not in fresh
    screenshot(page, "worker-page-390x844", docs=True)

    task.locator(".worker-button-accept").dblclick()  # a double tap acts once
    wait_for_text(page, ".worker-message", lambda t: "Handling" in t, timeout=10)
    task.locator(".worker-note").fill("Rubbish cleared, photo taken")
    # Redrawn from the republished view (no longer marked just acted), the note is still there.
    page.locator(
        f".worker-task[data-case='{case_id}'][data-state='handling']:not(.just-acted)"
    ).wait_for(timeout=15000)
    assert task.locator(".worker-note").input_value() == "Rubbish cleared, photo taken"
    task.locator(".worker-button-handled").click()
    wait_for_text(page, ".worker-message", lambda t: "Done: Report handled" in t, timeout=10)
    # Handled leaves the worker's list at the next publication.
    page.locator(f".worker-task[data-case='{case_id}']").wait_for(state="detached", timeout=15000)
    state, history = case_state(cockpit, case_id)
    assert state == "handled"
    # The actor is the signed-in account (grid_worker:w<id>), never what the page says.
    actor = f"grid_worker:w{worker}"
    mine = [row[:2] for row in history if row[1] == actor]
    assert mine == [("accept", actor), ("handled", actor)]

    revisit = page.locator(".worker-task.task-revisit").first
    revisit_id = int(revisit.get_attribute("data-case"))
    revisit.locator(".worker-sat label", has_text="5").click()
    revisit.locator(".worker-button-revisit").click()
    wait_for_text(page, ".worker-message", lambda t: "Evaluated" in t, timeout=10)
    assert case_state(cockpit, revisit_id)[0] == "evaluated"
    assert not CJK.search(page.inner_text(".worker-page").replace("中文", ""))
    assert page.console_errors == []


def test_a_refused_revisit_says_why(cockpit, open_page):
    case_id, worker = dispatch_to_a_worker(cockpit)
    page = open_page(f"{cockpit.url}worker?worker={worker}&lang=zh", 390, 844)
    # Once the dispatched case shows, the list is drawn from the view that holds it.
    page.locator(f".worker-task[data-case='{case_id}']").wait_for(timeout=15000)
    revisit = page.locator(".worker-task.task-revisit").first
    revisit.locator(".worker-button-revisit").click()  # no satisfaction chosen
    message = wait_for_text(page, ".worker-message", lambda t: "无法办理" in t, timeout=10)
    assert "satisfaction score from 1 to 5" in message
    assert "数据更新于" in page.inner_text("#worker-freshness")
    assert page.console_errors == []


def test_the_worker_page_without_a_worker_says_what_to_add(cockpit, open_page):
    # A grid worker always sees their own list; a member of staff must name whose list to read.
    page = open_page(f"{cockpit.url}worker?lang=en", 390, 844, role="viewer")
    wait_for_text(page, ".worker-tasks", lambda t: "/worker?worker=" in t, timeout=15)
    assert page.console_errors == []
