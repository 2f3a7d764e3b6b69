"""Build the card that lists the cases, alerts or enterprises behind one of the tablet's KPIs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from dash import html

from cockpit.i18n import LABELS, address_name, label
from cockpit.panels import LIST_ROWS
from cockpit.timestamps import stamp

KPI_OPEN = "kpi-open"  # the pattern-matching id type of the tablet's KPI buttons


def kpi_open_button(name: str, lang: str) -> html.Button:
    """Return the button laid over a tablet KPI that opens the list behind it."""
    return html.Button(
        id={"type": KPI_OPEN, "name": name},
        className="kpi-open",
        n_clicks=0,
        title=label("kpi_open_list", lang),
        **{"aria-label": f"{label(name, lang)}: {label('kpi_open_list', lang)}"},
    )


def kpi_list_card(name: str, view: Mapping[str, Any] | None, lang: str) -> html.Div:
    """Return the list card of a KPI: each row what, where and its state; a tap opens its card."""
    rows = list(((view or {}).get("lists") or {}).get(name) or [])
    return html.Div(
        className="card card-kpi-list",
        id=f"kpi-list-{name}",
        children=[
            html.H2(label(name, lang), className="card-title"),
            html.P(label(f"kpi_window_{name}", lang), className="kpi-list-window"),
            html.P(label(f"kpi_help_{name}", lang), className="kpi-list-help"),
            html.P(label("kpi_list_first", lang).format(n=len(rows)), className="kpi-list-help")
            if len(rows) >= LIST_ROWS
            else None,
            html.Ul([html.Li(_row(row, lang)) for row in rows], className="kpi-list-rows")
            if rows
            else html.P(label("kpi_list_empty", lang), className="note"),
        ],
    )


def _row(row: Mapping[str, Any], lang: str) -> html.Button:
    """Return one tappable row; its data-pick opens the case, alert or enterprise card."""
    kind = row.get("type")
    case = row.get("case") or None
    # An alert with an open case opens the case: that is where it is acted on.
    if kind == "alert" and case and case.get("open"):
        pick = {"kind": "case", "id": case["id"]}
    else:
        pick = {"kind": kind, "id": row["id"] if kind == "case" else str(row["id"])}
    return html.Button(
        className=f"kpi-list-row kpi-list-{kind}",
        **{"data-pick": orjson.dumps(pick).decode()},
        children=[
            html.Span(_title(row, lang), className="kpi-list-title"),
            html.Span(_place(row, lang), className="kpi-list-place"),
            html.Span(_state(row, lang), className="kpi-list-state"),
            html.Span(stamp(row.get("at")), className="kpi-list-time"),
        ],
    )


def _title(row: Mapping[str, Any], lang: str) -> str:
    """Return what the row is: the case's or alert's title, or the enterprise's trade."""
    if row.get("type") == "enterprise":
        # Its trade and number (软件科技 #12), as the enterprise card names it: never a name.
        trade = _known(f"industry_{row.get('industry')}", lang)
        number = row.get("id")
        return f"{trade} #{number}" if trade else label("enterprise_no", lang).format(id=number)
    title = row.get("title_en" if lang == "en" else "title_zh") or row.get("title_zh") or "—"
    return f"{row['code']} · {title}" if row.get("code") else title


def _place(row: Mapping[str, Any], lang: str) -> str:
    """Return where the row is, to its building's address, in the screen's language."""
    place = row.get("place")
    if not place:
        return label("kpi_list_no_place", lang)
    return (address_name(place, "en") or place) if lang == "en" else place


def _state(row: Mapping[str, Any], lang: str) -> str:
    """Return the row's state: the case's, the alert's with its case's, or the alert level."""
    kind = row.get("type")
    if kind == "case":
        words = _known(f"state_{row.get('state')}", lang) or str(row.get("state"))
        due = row.get("deadline_at")
        return f"{words} · {label('alert_case_due', lang)} {stamp(due)}" if due else words
    if kind == "alert":
        case = row.get("case") or None
        if row.get("status") == "resolved" and case and case.get("open"):
            status = label("status_cleared_case_open", lang)
        else:
            status = _known(f"status_{row.get('status')}", lang) or str(row.get("status"))
        if case:
            state = _known(f"state_{case.get('state')}", lang) or str(case.get("state"))
            status += f" · {case.get('code')} {state}"
        return status
    return _known(f"level_{row.get('level')}", lang) or "—"


def _known(key: str, lang: str) -> str | None:
    """Return a label when there is one for the key (states and trades come from data)."""
    return label(key, lang) if key in LABELS else None
