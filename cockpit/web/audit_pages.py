"""Let an admin search, filter and export the audit log: `GET /admin/audit` and `/admin/audit.csv`.

    server.register_blueprint(make_audit_blueprint(runtime.audit, settings))

Both answer only a principal holding Permission.READ_AUDIT (403 with a plain message for other
roles; the gate in cockpit/web/identity.py has already sent an anonymous browser to sign in).
The filters are GET parameters, the same for the page and the CSV: actor (any part of it),
action, record_type, record_id, outcome, from and to (days in Asia/Shanghai, both included).
Every value on the page is HTML-escaped: actors and reasons are typed by people. Looking at the
log and exporting it are audited too ("audit_view", "audit_export").
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

import flask

from cockpit import timestamps
from cockpit.access.audit import (
    EXPORT_LIMIT,
    FAILED,
    OK,
    REFUSED,
    AuditLog,
    AuditQuery,
    shown_reason,
)
from cockpit.access.policy import Permission, Principal, may
from cockpit.clock import DISPLAY_ZONE
from cockpit.i18n import pick_language
from cockpit.settings import Settings
from cockpit.web.identity import client_address, current_principal

PAGE_LIMIT = 500
FIELD_CHARS = 64  # the longest actor the log keeps; longer filters are cut, never refused
DETAIL_CHARS = 300  # a detail cell on the page; the CSV has it whole
FILTERS = ("actor", "action", "record_type", "record_id", "outcome", "from", "to")
OUTCOMES = (OK, REFUSED, FAILED)
# The page's own words (like the sign-in page's): they never travel with the Dash pages' labels.
AUDIT_TEXT = {
    "zh": {
        "title": "审计日志 · 街道数字驾驶舱",
        "head": "审计日志",
        "back": "返回驾驶舱",
        "switch": "English",
        "actor": "操作人",
        "action": "操作",
        "record_type": "对象类型",
        "record_id": "对象编号",
        "outcome": "结果",
        "from": "起始日期",
        "to": "截止日期",
        "any": "全部",
        "search": "查询",
        "clear": "清除条件",
        "export": "导出 CSV",
        "at": "时间（北京时间）",
        "role": "角色",
        "record": "对象",
        "reason": "理由",
        "source_ip": "来源地址",
        "detail": "详情",
        "count": "共 {n} 条，最新的在前。",
        "more": "只显示最新的 {limit} 条；请缩小查询条件，或导出 CSV（最多 {export} 条）。",
        "none": "没有符合条件的记录。",
        "bad_date": "日期“{value}”无法识别，请用 年-月-日（例如 2026-12-01）；该条件未使用。",
        "outcome_ok": "成功",
        "outcome_refused": "拒绝",
        "outcome_failed": "失败",
        "retention": "日志保留 {days} 天，更早的记录每天自动清理。",
        "forbidden": "您的账号无权查看审计日志（仅管理员可以）。",
    },
    "en": {
        "title": "Audit log · Street digital cockpit",
        "head": "Audit log",
        "back": "Back to the cockpit",
        "switch": "中文",
        "actor": "Actor",
        "action": "Action",
        "record_type": "Record type",
        "record_id": "Record id",
        "outcome": "Outcome",
        "from": "From day",
        "to": "To day",
        "any": "Any",
        "search": "Search",
        "clear": "Clear filters",
        "export": "Export CSV",
        "at": "Time (Beijing)",
        "role": "Role",
        "record": "Record",
        "reason": "Reason",
        "source_ip": "From address",
        "detail": "Detail",
        "count": "{n} entries, newest first.",
        "more": "Only the newest {limit} are shown: narrow the filters, or export the CSV "
        "(up to {export}).",
        "none": "No entry matches these filters.",
        "bad_date": 'The day "{value}" is not understood; use year-month-day (e.g. 2026-12-01). '
        "That filter was not used.",
        "outcome_ok": "OK",
        "outcome_refused": "Refused",
        "outcome_failed": "Failed",
        "retention": "The log keeps {days} days; older entries are pruned daily.",
        "forbidden": "Your account may not read the audit log (admins only).",
    },
}


@dataclass
class Filters:
    """Hold the filters as typed (to show them again) and the query they make."""

    typed: dict[str, str]
    query: AuditQuery
    bad_dates: list[str] = field(default_factory=list)

    def as_detail(self) -> dict[str, str]:
        """Return the filters in use, for the audit entry of this view or export."""
        return {name: value for name, value in self.typed.items() if value}


def read_filters(args: Mapping[str, str], limit: int) -> Filters:
    """Return the filters of a request's GET parameters; a bad day is dropped and reported."""
    typed = {name: str(args.get(name) or "").strip()[:FIELD_CHARS] for name in FILTERS}
    bad: list[str] = []
    since = _local_day(typed["from"], bad)
    to_day = _local_day(typed["to"], bad)
    outcome = typed["outcome"] if typed["outcome"] in OUTCOMES else None
    query = AuditQuery(
        actor_like=typed["actor"] or None,
        action=typed["action"] or None,
        record_type=typed["record_type"] or None,
        record_id=typed["record_id"] or None,
        outcome=outcome,
        since=_start_of(since) if since else None,
        until=_start_of(to_day + timedelta(days=1)) if to_day else None,
        limit=limit,
    )
    return Filters(typed | {"outcome": outcome or ""}, query, bad)


def _local_day(text: str, bad: list[str]) -> date | None:
    """Return the day typed as YYYY-MM-DD, or None (a day not understood goes to `bad`)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        bad.append(text)
        return None


def _start_of(day: date) -> datetime:
    """Return the moment a Beijing-time day begins, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=DISPLAY_ZONE)


def make_audit_blueprint(audit: AuditLog, settings: Settings) -> flask.Blueprint:
    """Return the blueprint serving the audit log's page and its CSV export to admins."""
    blueprint = flask.Blueprint("audit_pages", __name__)

    def language() -> str:
        return pick_language(flask.request.args.get("lang"), settings.language)

    def refused(principal: Principal | None, action: str) -> flask.Response | None:
        """Return the 403 answer for a principal who may not read the log (audited), else None."""
        if may(principal, Permission.READ_AUDIT):
            return None
        audit.record(
            principal.actor if principal else "anonymous",
            action,
            role=principal.role.value if principal else None,
            outcome=REFUSED,
            source_ip=client_address(),
        )
        return flask.Response(
            AUDIT_TEXT[language()]["forbidden"], status=403, mimetype="text/plain"
        )

    @blueprint.get("/admin/audit")
    def audit_page():
        """Show the newest entries the filters select, with the filter form and an export link."""
        principal = current_principal()
        if (answer := refused(principal, "audit_view")) is not None:
            return answer
        lang = language()
        filters = read_filters(flask.request.args, PAGE_LIMIT + 1)
        rows = audit.search(filters.query)
        audit.record(
            principal.actor,
            "audit_view",
            role=principal.role.value,
            source_ip=client_address(),
            detail=filters.as_detail() or None,
        )
        page = render_audit_page(
            lang,
            filters,
            rows[:PAGE_LIMIT],
            more=len(rows) > PAGE_LIMIT,
            actions=audit.actions(),
            retention_days=settings.audit_retention_days,
        )
        return _private(flask.Response(page, mimetype="text/html"))

    @blueprint.get("/admin/audit.csv")
    def audit_csv():
        """Send the entries the filters select as a CSV download (UTF-8 with BOM, for Excel)."""
        principal = current_principal()
        if (answer := refused(principal, "audit_export")) is not None:
            return answer
        filters = read_filters(flask.request.args, EXPORT_LIMIT)
        text = audit.export_csv(filters.query, zone=DISPLAY_ZONE)
        audit.record(
            principal.actor,
            "audit_export",
            role=principal.role.value,
            source_ip=client_address(),
            detail=filters.as_detail()
            | {"rows": sum(1 for _ in csv.reader(io.StringIO(text))) - 1},
        )
        stamp = datetime.now(DISPLAY_ZONE).strftime("%Y%m%d-%H%M")
        answer = flask.Response(
            ("\ufeff" + text).encode("utf-8"), mimetype="text/csv; charset=utf-8"
        )
        answer.headers["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
        return _private(answer)

    return blueprint


def _private(answer: flask.Response) -> flask.Response:
    """Keep the answer out of every cache: it names people and their reasons."""
    answer.headers["Cache-Control"] = "no-store"
    return answer


def render_audit_page(
    lang: str,
    filters: Filters,
    rows: list[dict[str, Any]],
    *,
    more: bool,
    actions: list[str],
    retention_days: int,
) -> str:
    """Return the audit page's HTML: the filter form, a note, and the entries (all escaped)."""
    text = AUDIT_TEXT[lang]
    other = "en" if lang == "zh" else "zh"
    typed = filters.typed
    kept = {name: value for name, value in typed.items() if value}
    switch = _href("/admin/audit", kept | {"lang": other})
    export = _href("/admin/audit.csv", kept | {"lang": lang})
    notes = [
        f'<p class="audit-message" role="alert">{_e(text["bad_date"].format(value=value))}</p>'
        for value in filters.bad_dates
    ]
    if not rows:
        notes.append(f'<p class="audit-note">{_e(text["none"])}</p>')
    else:
        notes.append(f'<p class="audit-note">{_e(text["count"].format(n=len(rows)))}</p>')
    if more:
        notice = text["more"].format(limit=PAGE_LIMIT, export=EXPORT_LIMIT)
        notes.append(f'<p class="audit-message" role="status">{_e(notice)}</p>')
    return f"""<!DOCTYPE html>
<html lang="{"zh-CN" if lang == "zh" else "en"}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(text["title"])}</title><link rel="stylesheet" href="/assets/admin.css"></head>
<body class="admin-page">
<header class="admin-head">
<h1>{_e(text["head"])}</h1>
<nav>
<a href="{_href("/", {"mode": "tablet", "lang": lang})}">{_e(text["back"])}</a>
<a href="{switch}" lang="{"en" if other == "en" else "zh-CN"}">{_e(text["switch"])}</a>
</nav>
</header>
<main>
{_form(lang, typed, actions)}
<p class="audit-actions"><a class="audit-export" href="{export}">{_e(text["export"])}</a></p>
<p class="audit-note">{_e(text["retention"].format(days=retention_days))}</p>
{"".join(notes)}
{_table(lang, rows) if rows else ""}
</main>
</body></html>"""


def _form(lang: str, typed: Mapping[str, str], actions: list[str]) -> str:
    """Return the filter form, showing the filters in use."""
    text = AUDIT_TEXT[lang]

    def box(name: str, kind: str = "text") -> str:
        return (
            f'<label for="f-{name}">{_e(text[name])}</label>'
            f'<input id="f-{name}" name="{name}" type="{kind}" value="{_e(typed.get(name, ""))}"'
            f' maxlength="{FIELD_CHARS}">'
        )

    def choice(name: str, values: list[tuple[str, str]]) -> str:
        current = typed.get(name, "")
        options = "".join(
            f'<option value="{_e(value)}"{" selected" if value == current else ""}>'
            f"{_e(shown)}</option>"
            for value, shown in [("", text["any"]), *values]
        )
        return (
            f'<label for="f-{name}">{_e(text[name])}</label>'
            f'<select id="f-{name}" name="{name}">{options}</select>'
        )

    known = sorted(set(actions) | ({typed["action"]} if typed.get("action") else set()))
    fields = [
        box("actor"),
        choice("action", [(a, a) for a in known]),
        box("record_type"),
        box("record_id"),
        choice("outcome", [(o, text[f"outcome_{o}"]) for o in OUTCOMES]),
        box("from", "date"),
        box("to", "date"),
    ]
    cells = "".join(f'<div class="audit-field">{f}</div>' for f in fields)
    return f"""<form class="audit-filters" method="get" action="/admin/audit">
<input type="hidden" name="lang" value="{_e(lang)}">
{cells}
<div class="audit-buttons"><button type="submit">{_e(text["search"])}</button>
<a href="{_href("/admin/audit", {"lang": lang})}">{_e(text["clear"])}</a></div>
</form>"""


def _table(lang: str, rows: list[dict[str, Any]]) -> str:
    """Return the entries as a table: Beijing time, who, what, which record, why, from where."""
    text = AUDIT_TEXT[lang]
    heads = ("at", "actor", "role", "action", "record", "outcome", "reason", "source_ip", "detail")
    head = "".join(f'<th scope="col">{_e(text[h])}</th>' for h in heads)
    body = "".join(_row(lang, row) for row in rows)
    return f'<table class="audit-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _row(lang: str, row: Mapping[str, Any]) -> str:
    """Return one entry as a table row; a refused or failed one is marked in words, not colour."""
    text = AUDIT_TEXT[lang]
    outcome = str(row.get("outcome") or "")
    record = "" if row.get("record_type") is None else f"{row['record_type']} {row['record_id']}"
    cells = (
        shown_time(row.get("at")),
        row.get("actor"),
        row.get("role"),
        row.get("action"),
        record.strip(),
        text.get(f"outcome_{outcome}", outcome),
        shown_reason(row.get("reason")),
        row.get("source_ip"),
        _detail(row.get("detail")),
    )
    tds = "".join(f"<td>{_e(cell)}</td>" for cell in cells)
    return f'<tr class="audit-outcome-{_e(outcome)}">{tds}</tr>'


def shown_time(moment: Any) -> str:
    """Return a stored time in Beijing time, to the second."""
    if not isinstance(moment, datetime):
        return "" if moment is None else str(moment)
    return timestamps.stamp(moment, seconds=True)


def _detail(detail: Any) -> str:
    """Return an entry's detail as short JSON text."""
    if detail in (None, {}, []):
        return ""
    shown = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
    return shown if len(shown) <= DETAIL_CHARS else shown[: DETAIL_CHARS - 1] + "…"


def _href(path: str, query: Mapping[str, str]) -> str:
    """Return an escaped link to a path with a query string."""
    return _e(f"{path}?{urlencode(dict(query))}" if query else path)


def _e(value: Any) -> str:
    """Return a value as escaped HTML text (quotes too: it may land in an attribute)."""
    return html.escape("" if value is None else str(value), quote=True)
