"""Serve the grid worker's phone page: the worker's tasks from the `cases` view, taps to the desk."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from dash import ALL, Dash, Input, Output, State, ctx, html, no_update

from callbacks.cases import moved, outcome, refused, tapped
from callbacks.shell import peek
from cockpit.cases.desk import CaseActionError, CaseDesk
from cockpit.cases.panel import CASES
from cockpit.i18n import pick_language
from layouts.grid_worker import (
    WORKER_ACT,
    WORKER_CONTEXT,
    WORKER_INTERVAL,
    WORKER_MESSAGE,
    WORKER_NOTE,
    WORKER_SAT,
    WORKER_TASKS,
    task_list,
    tasks_fingerprint,
    tasks_of,
    with_drafts,
    worker_id,
    worker_page,
)

log = logging.getLogger(__name__)

ReadView = Callable[[str], dict[str, Any] | None]
ReadRaw = Callable[[str], bytes | None]


def make_layout(read_view: ReadView, default_lang: str, refresh_ms: int) -> Callable[..., html.Div]:
    """Return the /worker page's layout function (Dash pages hand it the query)."""

    def serve_worker(worker: str | None = None, lang: str | None = None, **_query: Any):
        """Build the page for ?worker=<id>&lang=zh|en from one read of the `cases` view."""
        chosen = pick_language(lang, default_lang)
        who = worker_id(worker)
        view = read_view(CASES)
        return worker_page(
            who, tasks_of(view, who), chosen, refresh_ms, (view or {}).get("version")
        )

    return serve_worker


def refreshed(
    raw: bytes | None,
    context: Mapping[str, Any],
    notes: Mapping[int, Any] | None = None,
    satisfaction: Mapping[int, Any] | None = None,
) -> tuple[list[Any] | None, dict[str, Any] | None]:
    """Return (new task cards, new context) when the worker's tasks changed, else Nones.

    What the worker has typed or chosen (notes, satisfaction by case id) is carried over.
    """
    if not raw or not context.get("worker"):
        return None, None
    stamps = peek(raw)
    if stamps is not None and stamps[0] == context.get("version"):
        return None, None  # the view is the one already drawn: nothing to parse
    view = orjson.loads(raw)
    tasks = tasks_of(view, context["worker"])
    fp = tasks_fingerprint(tasks)
    version = view.get("version")
    if fp == context.get("fp"):
        return None, {**context, "version": version}
    drafted = with_drafts(tasks, notes or {}, satisfaction or {})
    return (
        task_list(context["worker"], drafted, context.get("lang", "zh"), context.get("nonce", "")),
        {**context, "version": version, "fp": fp},
    )


def register(app: Dash, read_raw: ReadRaw, read_view: ReadView, desk: CaseDesk | None) -> None:
    """Attach the worker page's refresh and action callbacks to the app."""

    @app.callback(
        Output(WORKER_TASKS, "children"),
        Output(WORKER_CONTEXT, "data"),
        Input(WORKER_INTERVAL, "n_intervals"),
        State(WORKER_CONTEXT, "data"),
        State({"type": WORKER_NOTE, "case": ALL}, "value"),
        State({"type": WORKER_SAT, "case": ALL}, "value"),
        prevent_initial_call=True,
    )
    def refresh(_tick: int, context: dict[str, Any] | None, _notes: list, _sats: list):
        """Redraw the task list only when this worker's tasks changed, keeping what was typed."""
        notes, sats = (_by_case(states) for states in ctx.states_list[1:3])
        cards, new_context = refreshed(read_raw(CASES), context or {}, notes, sats)
        return (
            no_update if cards is None else cards,
            no_update if new_context is None else new_context,
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
        """Apply the tapped action as this worker; show the outcome and the task as it is now."""
        tap = tapped(ctx.triggered)
        context = context or {}
        worker, lang = context.get("worker"), context.get("lang", "zh")
        if tap is None or desk is None or not worker or not isinstance(tap.get("case"), int):
            return no_update, no_update
        case_id, action = tap["case"], str(tap.get("action"))
        note = _value_for(ctx.states_list[0], case_id)
        note = (note or "").strip() or None
        satisfaction = _value_for(ctx.states_list[1], case_id) if action == "revisit" else None
        actor = f"worker:{worker}"
        try:
            result = desk.act(
                action,
                actor,
                case_id=case_id,
                note=note,
                satisfaction=satisfaction,
                action_key=str(tap.get("key") or "") or None,
            )
        except Exception as exc:  # the worker sees why; the log keeps anything unexpected
            if not isinstance(exc, CaseActionError):
                log.exception("worker %s: %s on case %s failed", worker, action, case_id)
            return _message(refused(exc, lang)), no_update
        notes, sats = (_by_case(states) for states in ctx.states_list[0:2])
        tasks = with_drafts(tasks_of(read_view(CASES), worker), notes, sats)
        now = desk.clock.now()
        shown = [
            moved(
                task,
                result,
                action=action,
                actor=actor,
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
