"""Build the grid worker's phone page: the worker's tasks to accept, report handled and revisit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from dash import dcc, html

from cockpit import places
from cockpit.i18n import label
from layouts.cases import (
    action_key,
    action_word,
    category_word,
    new_nonce,
    state_word,
    title_of,
    when,
)

WORKER_CONTEXT = "worker-context"
WORKER_INTERVAL = "worker-interval"
WORKER_TASKS = "worker-tasks"
WORKER_MESSAGE = "worker-message"
WORKER_FRESHNESS = "worker-freshness"
WORKER_ACT = "worker-act"  # {"type", "case", "action", "key"}
WORKER_NOTE = "worker-note"  # {"type", "case"}
WORKER_SAT = "worker-sat"  # {"type", "case"}
# What a grid worker does on the phone; the tablet does the rest (dispatch, verify, close, ...).
HANDLE_ACTIONS = ("accept", "arrive", "handled")
SATISFACTION = (1, 2, 3, 4, 5)


def worker_id(requested: Any) -> str | None:
    """Return the worker id from the page address when it is a number, else None."""
    text = str(requested or "").strip()
    return text if text.isdigit() else None


def tasks_of(view: Mapping[str, Any] | None, worker: str | None) -> list[dict[str, Any]]:
    """Return the worker's tasks from their `tasks:<id>` view: to handle first, then to revisit."""
    # A view published for another worker is nobody's list here.
    if not view or worker is None or str(view.get("worker")) != str(worker):
        return []
    tasks = list(view.get("tasks") or [])
    return sorted(tasks, key=lambda t: (t.get("task") != "handle", not t.get("overdue"), t["id"]))


def with_drafts(
    tasks: list[dict[str, Any]], notes: Mapping[int, Any], satisfaction: Mapping[int, Any]
) -> list[dict[str, Any]]:
    """Return the tasks carrying what the worker already typed or chose, to survive a redraw."""
    return [
        dict(task, draft_note=notes.get(task["id"]), draft_sat=satisfaction.get(task["id"]))
        for task in tasks
    ]


def tasks_fingerprint(tasks: list[Mapping[str, Any]]) -> str:
    """Return what says the worker's list changed: each task's id, kind, state and overdue flag."""
    return ";".join(
        f"{t['id']}:{t.get('task')}:{t.get('state')}:{1 if t.get('overdue') else 0}" for t in tasks
    )


def worker_page(
    worker: str | None,
    tasks: list[dict[str, Any]],
    lang: str,
    refresh_ms: int,
    version: str | None = None,
    nonce: str | None = None,
    read_only: bool = False,
    fresh: Mapping[str, Any] | None = None,
) -> html.Div:
    """Return the whole phone page for one grid worker (read-only: no buttons, for staff)."""
    nonce = nonce or new_nonce()
    other = "en" if lang == "zh" else "zh"
    switch = "?" + urlencode({"worker": worker or "", "lang": other})
    return html.Div(
        className="worker-page",
        lang="zh-CN" if lang == "zh" else "en",
        children=[
            dcc.Store(
                id=WORKER_CONTEXT,
                data={
                    "worker": worker,
                    "lang": lang,
                    "version": version,
                    "fp": tasks_fingerprint(tasks),
                    "nonce": nonce,
                },
            ),
            dcc.Interval(id=WORKER_INTERVAL, interval=refresh_ms, disabled=worker is None),
            html.Header(
                className="worker-header",
                children=[
                    html.Div(
                        className="worker-title-box",
                        children=[
                            html.H1(label("worker_title", lang), title=label("worker_title", lang)),
                            html.Div(
                                label("worker_who", lang).format(id=worker) if worker else "",
                                className="worker-who",
                            ),
                        ],
                    ),
                    html.A(
                        label("language_switch", lang),
                        href=switch,
                        className="language-switch worker-language",
                        lang="en" if other == "en" else "zh-CN",
                    ),
                ],
            ),
            html.Div(
                freshness_text(fresh, lang),
                id=WORKER_FRESHNESS,
                className=freshness_class(fresh),
                role="status",
            ),
            html.Div(
                id=WORKER_MESSAGE,
                className="worker-message",
                role="status",
                **{"aria-live": "polite"},
            ),
            html.Main(
                id=WORKER_TASKS,
                className="worker-tasks",
                children=task_list(worker, tasks, lang, nonce, read_only=read_only),
            ),
        ],
    )


def freshness_text(fresh: Mapping[str, Any] | None, lang: str) -> str:
    """Return the line that says how live the task list is (cockpit.heartbeat.worker_freshness)."""
    if not fresh:
        return ""
    age = fresh.get("age_s")
    if age is None:
        return label("worker_fresh_none", lang)
    return label("fresh_stale" if fresh.get("stale") else "fresh", lang).format(age=f"{age:.0f}")


def freshness_class(fresh: Mapping[str, Any] | None) -> str:
    """Return the freshness line's classes: stale is drawn white on red, read at arm's length."""
    return "worker-freshness" + (" is-stale" if fresh and fresh.get("stale") else "")


def task_list(
    worker: str | None,
    tasks: list[Mapping[str, Any]],
    lang: str,
    nonce: str,
    *,
    read_only: bool = False,
) -> list[Any]:
    """Return one card per task, or a line saying there is none (or no worker was named)."""
    if worker is None:
        return [html.Div(label("worker_missing", lang), className="note worker-empty")]
    if not tasks:
        return [html.Div(label("worker_no_tasks", lang), className="note worker-empty")]
    return [task_card(task, lang, nonce, read_only=read_only) for task in tasks]


def task_card(
    task: Mapping[str, Any], lang: str, nonce: str, *, read_only: bool = False
) -> html.Article:
    """Return one task: what and where, due when, and the buttons its state allows (if any)."""
    case_id = task["id"]
    title, category = title_of(task, lang), category_word(task.get("category"), lang)
    # Keys follow the published state (`drawn_state` while a tap's result is not yet published).
    drawn = f"{case_id}:{task.get('drawn_state') or task.get('state')}"
    kind = task.get("task") or "handle"
    overdue = bool(task.get("overdue"))
    actions = task.get("actions") or []
    if read_only:
        allowed = []  # someone else's list, shown to staff: the worker acts, not the reader
    elif kind == "revisit":
        allowed = ["revisit"] if "revisit" in actions else []
    else:
        allowed = [a for a in HANDLE_ACTIONS if a in actions]
        # Arriving adds nothing on a phone once the worker has accepted; keep the list short.
        if "accept" in allowed and "arrive" in allowed:
            allowed.remove("arrive")
        if task.get("state") == "handling" and "arrive" in allowed:
            allowed.remove("arrive")
    buttons = [
        html.Button(
            action_word(action, lang),
            id={
                "type": WORKER_ACT,
                "case": case_id,
                "action": action,
                "key": action_key(nonce, drawn, action),
            },
            className=f"worker-button worker-button-{action}",
            n_clicks=0,
        )
        for action in allowed
    ]
    inputs: list[Any] = []
    if "handled" in allowed:
        inputs.append(
            dcc.Textarea(
                id={"type": WORKER_NOTE, "case": case_id},
                value=task.get("draft_note") or "",
                placeholder=label("case_note", lang),
                className="worker-note",
                rows=2,
            )
        )
    if "revisit" in allowed:
        inputs.append(
            html.Div(
                className="worker-sat-box",
                # The 1-5 choice's name for screen readers (assets/options_a11y.js applies it).
                **{"data-options-name": label("case_satisfaction", lang)},
                children=[
                    html.Span(label("case_satisfaction", lang), className="worker-key"),
                    dcc.RadioItems(
                        id={"type": WORKER_SAT, "case": case_id},
                        options=[{"label": f"{n} ★", "value": n} for n in SATISFACTION],
                        value=task.get("draft_sat"),
                        inline=True,
                        className="worker-sat",
                    ),
                ],
            )
        )
    return html.Article(
        className=f"worker-task task-{kind}"
        + (" is-overdue" if overdue else "")
        # Just tapped: the buttons wait a moment, so a double tap's second half hits nothing new.
        + (" just-acted" if task.get("just_acted") else ""),
        **{"data-case": str(case_id), "data-state": str(task.get("state"))},
        children=[
            html.Div(
                className="worker-task-head",
                children=[
                    html.Span(
                        label(f"case_task_{kind}", lang), className=f"worker-kind kind-{kind}"
                    ),
                    html.Span("⚠ " + label("case_overdue", lang), className="case-overdue-flag")
                    if overdue
                    else None,
                    html.Span(task.get("code") or "", className="worker-code"),
                ],
            ),
            # Where to go comes first, read at arm's length: then what it is.
            where_to_go(task.get("where"), lang),
            html.H2(title, className="worker-task-title"),
            html.Div(
                className="worker-facts",
                children=[
                    html.Span(state_word(task.get("state"), lang), className="case-chip"),
                    html.Span(category) if category != title else None,
                    html.Span(
                        f"{label('case_deadline', lang)} {when(task.get('deadline_at'), lang)}"
                    )
                    if kind == "handle"
                    else None,
                ],
            ),
            *inputs,
            html.Div(buttons, className="worker-buttons") if buttons else None,
        ],
    )


def where_to_go(where: Mapping[str, Any] | None, lang: str) -> html.Div:
    """Return a task's place, big: the address and floor, the building and area, a map link.

    The link is a geo: URI (RFC 5870): the phone's own map app opens at the building.
    """
    said = places.words(where, lang)
    details = [said["building"], places.area(where, lang)]
    link = places.geo_uri(where)
    return html.Div(
        className="worker-where",
        children=[
            html.Div(
                [
                    html.Span(label("where_go", lang), className="worker-where-key"),
                    " ",
                    html.Span(places.headline(where, lang), className="worker-where-address"),
                ],
                className="worker-where-line",
            ),
            html.Div(
                places.SEPARATOR.join(p for p in details if p) or None,
                className="worker-where-area",
            ),
            html.A(
                "◎ " + label("where_open_in_maps", lang),
                href=link,
                className="worker-map-link",
            )
            if link
            else None,
        ],
    )
