"""Check the admin's audit page and CSV export: who may see them, filters, escaping, auditing."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from html.parser import HTMLParser

import flask
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cockpit.access.accounts import AccountStore
from cockpit.access.audit import AuditLog, AuditQuery
from cockpit.access.policy import Role
from cockpit.clock import ManualClock
from cockpit.settings import Settings
from cockpit.web.audit_pages import (
    PAGE_LIMIT,
    make_audit_blueprint,
    read_filters,
    render_audit_page,
)
from cockpit.web.identity import install_identity
from cockpit.web.limits import make_limiter

PASSWORD = "correct-horse-1"
EVIL = '<script>alert("x")</script>'
# 2026-12-01 23:30 in Beijing is still 1 December there, but 15:30 UTC.
LATE_EVENING = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
NEXT_MORNING = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)  # 2 December 00:30 in Beijing


@pytest.fixture
def site(sqlite_engine, tmp_path):
    """Return (client factory, audit log, kiosk token) of the identity gate plus the audit pages."""
    settings = Settings(data_dir=tmp_path, login_rate_limit="100 per minute")
    server = flask.Flask("audit-pages-test")
    server.config["SECRET_KEY"] = "test-secret-" + "x" * 32
    accounts = AccountStore(sqlite_engine)
    audit = AuditLog(sqlite_engine, ManualClock(LATE_EVENING))
    install_identity(server, accounts, audit, settings, make_limiter(server, settings))
    server.register_blueprint(make_audit_blueprint(audit, settings))
    for name, role in (
        ("root", Role.ADMIN),
        ("wang", Role.LEADER),
        ("li", Role.DISPATCHER),
        ("zhou", Role.VIEWER),
    ):
        accounts.add(name, role, password=PASSWORD)
    token = accounts.add("wall-1", Role.KIOSK)
    return server.test_client, audit, token


def signed_in(site, name: str):
    """Return a test client signed in as the account."""
    client = site[0]()
    answer = client.post("/login", data={"username": name, "password": PASSWORD})
    assert answer.status_code == 302
    return client


def rows_of(page: str) -> int:
    """Return how many entries a page's table shows."""
    return page.count("<tr class=")


def test_an_admin_sees_the_newest_entries_first_in_beijing_time(site):
    _, audit, _ = site
    audit.record("leader:wang", "reveal", role="leader", record=("case", 7), reason="回访核实")
    audit.clock.advance(3600)
    audit.record("dispatcher:li", "case_dispatch", role="dispatcher", record=("case", 7))
    page = signed_in(site, "root").get("/admin/audit?lang=zh")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert page.headers["Cache-Control"] == "no-store"
    text = page.text
    assert 'href="/assets/admin.css"' in text and "审计日志" in text
    assert text.index("case_dispatch") < text.index("回访核实")  # newest first
    assert "2026-12-01 23:30:00" in text and "2026-12-02 00:30:00" in text
    assert "15:30:00" not in text  # never UTC on the page


@pytest.mark.parametrize(
    "name,role", [("wang", "leader"), ("li", "dispatcher"), ("zhou", "viewer")]
)
def test_other_roles_get_403_with_a_plain_message_and_are_audited(site, name, role):
    client = signed_in(site, name)
    for path in ("/admin/audit", "/admin/audit.csv"):
        answer = client.get(path, query_string={"lang": "en"})
        assert answer.status_code == 403 and answer.mimetype == "text/plain"
        assert "may not read the audit log" in answer.text
    refused = site[1].search(AuditQuery(outcome="refused"))
    assert {row["action"] for row in refused} == {"audit_view", "audit_export"}
    assert {row["actor"] for row in refused} == {f"{role}:{name}"}
    assert not site[1].search(AuditQuery(action="audit_view", outcome="ok"))


def test_a_wall_gets_403_and_no_session_is_sent_to_sign_in_or_gets_401(site):
    factory, _, token = site
    wall = factory()
    assert wall.get(f"/kiosk?token={token}").status_code == 302
    assert wall.get("/admin/audit").status_code == 403
    assert wall.get("/admin/audit.csv").status_code == 403
    stranger = factory()
    page = stranger.get("/admin/audit?actor=x")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=")
    assert stranger.get("/admin/audit.csv").status_code == 401


def test_filters_select_by_actor_action_record_outcome_and_beijing_days(site):
    _, audit, _ = site
    audit.record("leader:wang", "reveal", role="leader", record=("case", 7), reason="回访核实")
    audit.record("leader:wang", "reveal", outcome="refused", record=("case", 8))
    audit.record("dispatcher:li", "case_void", record=("case", 7), reason="重复")
    audit.clock.advance(3600)  # into 2 December, Beijing time
    audit.record("dispatcher:li", "login")
    client = signed_in(site, "root")  # its own login is on 2 December too

    def shown(**filters) -> int:
        return rows_of(client.get("/admin/audit", query_string=filters).text)

    assert shown(actor="WANG") == 2
    assert shown(actor="wang", outcome="refused") == 1
    assert shown(action="reveal", record_type="case", record_id="7") == 1
    assert shown(**{"from": "2026-12-01", "to": "2026-12-01"}) == 3
    # 2 December holds li's login, root's login, and the audit_view entries of the calls above.
    assert shown(**{"from": "2026-12-02"}) >= 2
    assert shown(**{"from": "2026-12-02", "action": "login"}) == 2
    bad_day = {"actor": "wang", "from": "1.12.", "lang": "en"}
    page = client.get("/admin/audit", query_string=bad_day).text
    assert "is not understood" in page  # said, and that filter dropped
    assert rows_of(page) == 2
    assert 'value="wang"' in page  # the form shows the filters in use


def test_the_filters_in_use_are_kept_in_the_form_the_links_and_the_audit_entry(site):
    client = signed_in(site, "root")
    client.get("/admin/audit", query_string={"actor": "li", "action": "reveal", "lang": "en"})
    (view,) = site[1].search(AuditQuery(action="audit_view"))
    assert view["actor"] == "admin:root" and view["outcome"] == "ok"
    assert view["detail"] == {"actor": "li", "action": "reveal"}
    page = client.get("/admin/audit", query_string={"actor": "li", "lang": "en"}).text
    assert 'href="/admin/audit.csv?actor=li&amp;lang=en"' in page


def test_everything_people_typed_is_escaped(site):
    _, audit, _ = site
    audit.record(EVIL, "login", outcome="failed", reason=EVIL, detail={"note": EVIL})
    page = signed_in(site, "root").get("/admin/audit", query_string={"record_id": EVIL}).text
    assert "<script>" not in page
    assert "&lt;script&gt;" in page  # shown, as text
    page = signed_in(site, "root").get("/admin/audit").text
    assert "<script>" not in page and page.count("&lt;script&gt;") >= 3


class Tags(HTMLParser):
    """Collect the start tags of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)


def tags_of(page: str) -> list[str]:
    parser = Tags()
    parser.feed(page)
    return parser.tags


FILTER_TEXT = st.text(min_size=1, max_size=40).filter(lambda t: t.strip() == t != "")


@given(FILTER_TEXT, st.text(max_size=40))
def test_no_typed_value_adds_a_tag_to_the_page(typed, reason):
    def page_with(value: str, why: str) -> str:
        filters = read_filters({"actor": value, "action": value, "record_id": value}, 10)
        row = {
            "at": LATE_EVENING,
            "actor": value,
            "role": "leader",
            "action": value,
            "record_type": "case",
            "record_id": value,
            "reason": why,
            "outcome": "ok",
            "source_ip": value,
            "detail": {"note": why},
        }
        return render_audit_page(
            "en", filters, [row], more=False, actions=[value], retention_days=200
        )

    assert tags_of(page_with(typed, reason)) == tags_of(page_with("x", "y"))


def test_the_csv_opens_with_a_bom_a_header_and_the_same_filters(site):
    _, audit, _ = site
    audit.record("leader:wang", "reveal", role="leader", record=("case", 7), reason="回访核实")
    audit.record('=HYPERLINK("http://x")', "login", outcome="failed", reason="+1-1")
    client = signed_in(site, "root")
    answer = client.get("/admin/audit.csv", query_string={"action": "reveal"})
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.headers["Content-Disposition"].startswith('attachment; filename="audit-')
    assert answer.data.startswith(b"\xef\xbb\xbf")  # UTF-8's BOM: Excel reads the Chinese
    rows = list(csv.reader(io.StringIO(answer.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["id", "at", "actor"] and len(rows) == 2
    entry = dict(zip(rows[0], rows[1], strict=True))
    assert entry["reason"] == "回访核实" and entry["at"] == "2026-12-01T23:30:00+08:00"
    everything = list(csv.reader(io.StringIO(client.get("/admin/audit.csv").data.decode())))
    cells = [cell for row in everything for cell in row]
    assert '\'=HYPERLINK("http://x")' in cells and "'+1-1" in cells  # no formula runs
    (export, _) = audit.search(AuditQuery(action="audit_export"))
    assert export["actor"] == "admin:root" and export["detail"]["rows"] >= 3


def test_more_entries_than_the_page_holds_say_so(site):
    _, audit, _ = site
    for n in range(PAGE_LIMIT + 5):
        audit.record(f"viewer:v{n}", "login")
    page = signed_in(site, "root").get("/admin/audit", query_string={"lang": "en"}).text
    assert rows_of(page) == PAGE_LIMIT
    assert f"Only the newest {PAGE_LIMIT} are shown" in page
