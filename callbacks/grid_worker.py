"""Serve the grid worker's phone page: the worker's own `tasks:<id>` view, taps to the desk."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from dash import ALL, Dash, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.cases import act_audited, moved, outcome, refused, tapped
from cockpit.access.audit import AuditLog
from cockpit.access.policy import Permission, Principal
from cockpit.access.views import TASKS_STORE, view_for
from cockpit.cases.desk import CaseDesk
from cockpit.cases.panel import TASKS_PREFIX, tasks_view
from cockpit.i18n import pick_language
from cockpit.viewmodels import peek
from cockpit.web.identity import current_principal
from layouts.grid_worker import (
    WORKER_ACT,
    WORKER_CONTEXT,
    WORKER_FRESHNESS,
    WORKER_INTERVAL,
    WORKER_MESSAGE,
    WORKER_NOTE,
    WORKER_SAT,
    WORKER_TASKS,
    freshness_class,
    freshness_text,
    task_list,
    tasks_fingerprint,
    tasks_of,
    with_drafts,
    worker_page,
)

log = logging.getLogger(__name__)

ReadView = Callable[[str], dict[str, Any] | None]
ReadRaw = Callable[[str], bytes | None]
# How live the data is, judged on the server (cockpit.heartbeat.worker_freshness, bound).
Freshness = Callable[[], dict[str, Any]]


def make_layout(
    read_view: ReadView,
    default_lang: str,
    refresh_ms: int,
    who: Callable[[], Principal | None] = current_principal,
    freshness: Freshness | None = None,
) -> Callable[..., html.Div]:
    """Return the /worker page's layout function (Dash pages hand it the query)."""

    def serve_worker(worker: str | None = None, lang: str | None = None, **_query: Any):
        """Build the page of the signed-in worker's own tasks (?worker= only for staff, read-only)."""
        chosen = pick_language(lang, default_lang)
        principal = who()
        shown, name = shown_worker(principal, worker)
        view = read_view(name) if name else None
        return worker_page(
            shown,
            tasks_of(view, shown),
            chosen,
            refresh_ms,
            (view or {}).get("version"),
            read_only=read_only(principal),
            fresh=freshness() if freshness and shown else None,
        )

    return serve_worker


def shown_worker(principal: Principal | None, requested: Any) -> tuple[str | None, str | None]:
    """Return (worker id, tasks view) the principal sees: a grid worker always their own."""
    name = view_for(principal, TASKS_STORE, requested)
    return (name.removeprefix(TASKS_PREFIX), name) if name else (None, None)


def read_only(principal: Principal | None) -> bool:
    """Tell whether the page shows no buttons: anyone but the grid worker whose list it is."""
    return (
        principal is None
        or principal.worker_id is None
        or not principal.may(Permission.ACT_OWN_TASKS)
    )


def refreshed(
    raw: bytes | None,
    context: Mapping[str, Any],
    notes: Mapping[int, Any] | None = None,
    satisfaction: Mapping[int, Any] | None = None,
    *,
    worker: str | None,
    read_only: bool = False,
) -> tuple[list[Any] | None, dict[str, Any] | None]:
    """Return (new task cards, new context) when the worker's tasks changed, else Nones.

    `worker` is whose tasks view `raw` is, as the server decided (never the page's context).
    What the worker has typed or chosen (notes, satisfaction by case id) is carried over.
    """
    if not raw or worker is None:
        return None, None
    stamps = peek(raw)
    if (
        stamps is not None
        and stamps[0] == context.get("version")
        and (context.get("worker") == worker)
    ):
        return None, None  # the view is the one already drawn: nothing to parse
    view = orjson.loads(raw)
    tasks = tasks_of(view, worker)
    fp = tasks_fingerprint(tasks)
    version = view.get("version")
    if fp == context.get("fp") and context.get("worker") == worker:
        return None, {**context, "version": version}
    drafted = with_drafts(tasks, notes or {}, satisfaction or {})
    lang, nonce = context.get("lang", "zh"), context.get("nonce", "")
    return (
        task_list(worker, drafted, lang, nonce, read_only=read_only),
        {**context, "worker": worker, "version": version, "fp": fp},
    )


def register(
    app: Dash,
    read_raw: ReadRaw,
    read_view: ReadView,
    desk: CaseDesk | None,
    *,
    who: Callable[[], Principal | None],
    audit: AuditLog | None = None,
    source_ip: Callable[[], str | None] = lambda: None,
    freshness: Freshness | None = None,
) -> None:
    """Attach the worker page's refresh and action callbacks to the app.

    `who()` returns the signed-in principal of the current request (cockpit.web.identity).
    """
    tasks = WorkerTasks(read_view, desk, audit, source_ip) if desk is not None else None

    @app.callback(
        Output(WORKER_TASKS, "children"),
        Output(WORKER_CONTEXT, "data"),
        Output(WORKER_FRESHNESS, "children"),
        Output(WORKER_FRESHNESS, "className"),
        Input(WORKER_INTERVAL, "n_intervals"),
        State(WORKER_CONTEXT, "data"),
        State({"type": WORKER_NOTE, "case": ALL}, "value"),
        State({"type": WORKER_SAT, "case": ALL}, "value"),
        prevent_initial_call=True,
    )
    def refresh(_tick: int, context: dict[str, Any] | None, _notes: list, _sats: list):
        """Redraw the task list only when this worker's tasks changed, keeping what was typed."""
        # The session decides whose list: a grid worker's own; the context only names the one a
        # staff reader opened (?worker=), which view_for allows a record viewer alone.
        principal = who()
        context = context or {}
        worker, name = shown_worker(principal, context.get("worker"))
        if name is None:
            raise PreventUpdate
        fresh = freshness() if freshness else None
        lang = context.get("lang", "zh")
        line = (freshness_text(fresh, lang), freshness_class(fresh))
        if fresh and fresh.get("lost"):
            return no_update, no_update, *line  # the view cache is down: keep the list drawn
        notes, sats = (_by_case(states) for states in ctx.states_list[1:3])
        cards, new_context = refreshed(
            read_raw(name), context, notes, sats, worker=worker, read_only=read_only(principal)
        )
        return (
            no_update if cards is None else cards,
            no_update if new_context is None else new_context,
            *line,
        )

    @app.callback(
        Output(WORKER_MESSAGE, "children"),
        Output(WORKER_TASKS, "children", allow_duplicate=True),
        Input({"type": WORKER_ACT, "case": ALL, "action": ALL, "key": ALL}, "n_clicks"),
        State({"type": WORKER_NOTE, "case": ALL}, "value"),
        State({"type": WORKER_SAT, "case": ALL}, "value"),
        State(WORKER_CONTEXT, "data"),
        prevent_initial_call=True,
    )
    def act(_clicks: list[Any], _notes: list[Any], _sats: list[Any], context: dict | None):
        """Apply the tapped action as the signed-in worker; show the outcome and the task now."""
        tap = tapped(ctx.triggered)
        context = context or {}
        lang = context.get("lang", "zh")
        if tap is None or tasks is None or not isinstance(tap.get("case"), int):
            return no_update, no_update
        return tasks.act(who(), tap, ctx.states_list[0], ctx.states_list[1], context, lang)


class WorkerTasks:
    """Apply a grid worker's taps through the case desk, as the account signed in on the server."""

    def __init__(
        self,
        read_view: ReadView,
        desk: CaseDesk,
        audit: AuditLog | None = None,
        source_ip: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.read_view = read_view
        self.desk = desk
        self.audit = audit
        self.source_ip = source_ip

    def act(
        self,
        principal: Principal | None,
        tap: Mapping[str, Any],
        note_states: list[dict[str, Any]],
        sat_states: list[dict[str, Any]],
        context: Mapping[str, Any],
        lang: str,
    ) -> tuple[Any, Any]:
        """Return (outcome line, task list) after acting on one of the worker's own cases."""
        case_id, action = tap["case"], str(tap.get("action"))
        note = (_value_for(note_states, case_id) or "").strip() or None
        satisfaction = _value_for(sat_states, case_id) if action == "revisit" else None
        try:
            result = act_audited(
                self.desk,
                self.audit,
                principal,
                Permission.ACT_OWN_TASKS,
                action,
                ("case", case_id),
                note=note,
                source_ip=self.source_ip(),
                case_id=case_id,
                satisfaction=satisfaction,
                action_key=str(tap.get("key") or "") or None,
            )
        except Exception as exc:
            return _message(refused(exc, lang)), no_update
        worker = str(principal.worker_id)
        notes, sats = _by_case(note_states), _by_case(sat_states)
        tasks = with_drafts(tasks_of(self.read_view(tasks_view(worker)), worker), notes, sats)
        now = self.desk.clock.now()
        shown = [
            moved(
                task,
                result,
                action=action,
                actor=principal.actor,
                note=note,
                target=None,
                now=now,
            )
            | {"task": task.get("task"), "drawn_state": task.get("state"), "just_acted": True}
            if task["id"] == case_id
            else task
            for task in tasks
        ]
        nonce = context.get("nonce", "")
        return _message(outcome(result, action, lang)), task_list(worker, shown, lang, nonce)


def _by_case(states: list[dict[str, Any]]) -> dict[int, Any]:
    """Return the inputs' values by the case they belong to."""
    return {
        state["id"]["case"]: state.get("value")
        for state in states or []
        if isinstance(state.get("id"), dict) and state.get("value") not in (None, "")
    }


def _value_for(states: list[dict[str, Any]], case_id: int) -> Any:
    """Return the value of the input that belongs to the case."""
    for state in states or []:
        if isinstance(state.get("id"), dict) and state["id"].get("case") == case_id:
            return state.get("value")
    return None


def _message(message: tuple[str, str]) -> html.Div:
    """Return the outcome line under the header."""
    kind, text = message
    return html.Div(text, className=f"case-message case-message-{kind}")
