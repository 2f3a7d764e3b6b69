"""Open case cards and act on cases from the tablet: read the `cases` view, act through the desk."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from dash import ALL, ClientsideFunction, Dash, Input, Output, State, ctx, no_update

from callbacks.shell import reader_for
from cockpit.access.audit import OK, REFUSED, AuditLog
from cockpit.access.policy import AccessDenied, Permission, Principal, case_guard, may, require
from cockpit.cases.desk import CODE_PREFIX, ActResult, CaseActionError, CaseDesk
from cockpit.cases.panel import CASE_TARGETS, CASES, case_summary
from cockpit.cases.workflow import CaseRecord, allowed
from cockpit.domain.kinds import CaseSource, CaseState
from cockpit.i18n import label, pick_language
from cockpit.store.outage import StoreUnavailableError
from data_adapters.base import AdapterError
from layouts.cases import (
    ALERT_ACK,
    CASE_ACT,
    CASE_CARD,
    CASE_INPUT,
    CASE_STALE,
    CASES_PANEL,
    action_word,
    case_card,
    dispatch_targets,
    find_case,
    fingerprint,
    new_nonce,
    state_word,
)
from layouts.map import CASE_PICK_ID

log = logging.getLogger(__name__)

ReadView = Callable[[str], dict[str, Any] | None]
ReadCase = Callable[[int], dict[str, Any] | None]  # a case's row by id (data_adapters.case_facts)
WhoIsIt = Callable[[], Principal | None]
LOCATION = "_pages_location"  # Dash pages' own location: its query names the profile and language
# The demo plays its own street through its own desk: a visitor watches its cases, acts on none.
INTERACTIVE_MODES = ("tablet",)
SOURCE_BY_PREFIX = {prefix: source for source, prefix in CODE_PREFIX.items()}


def profile(search: str | None, default_lang: str) -> tuple[str, str]:
    """Return (language, mode) from the page's query string; the wall when no mode is named."""
    query = parse_qs((search or "").lstrip("?"))
    lang = pick_language((query.get("lang") or [None])[0], default_lang)
    mode = (query.get("mode") or ["wall"])[0]
    return lang, mode


def tapped(triggered: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """Return the pattern id of the button really tapped, or None when buttons were only drawn."""
    for hit in triggered or []:
        prop_id = hit.get("prop_id")
        if not hit.get("value") or not isinstance(prop_id, str) or not prop_id.startswith("{"):
            continue
        try:
            component = json.loads(prop_id.rsplit(".", 1)[0])
        except ValueError:
            continue
        if isinstance(component, dict):
            return component
    return None


def inputs_of(states: list[dict[str, Any]], case_id: int) -> dict[str, Any]:
    """Return the card's input values (note, target, satisfaction) for one case."""
    return {
        state["id"]["name"]: state.get("value")
        for state in states or []
        if isinstance(state.get("id"), dict) and state["id"].get("case") == case_id
    }


def card_memory(states: list[dict[str, Any]], case_id: Any) -> dict[str, Any]:
    """Return what the open card of the case remembers: fingerprint, nonce, last message."""
    for state in states or []:
        if isinstance(state.get("id"), dict) and state["id"].get("id") == case_id:
            return state.get("value") or {}
    return {}


def moved(
    case: Mapping[str, Any] | None,
    result: ActResult,
    *,
    action: str,
    actor: str,
    note: str | None,
    target: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Return the case as it is after the action, until the published view catches up."""
    base = dict(case or {"id": result.case_id, "code": "", "history": []})
    source = SOURCE_BY_PREFIX.get(str(base.get("code") or "")[:2], CaseSource.ALERT)
    state = CaseState(result.state)
    deadline = result.deadline_at
    if deadline is not None and deadline.tzinfo is None:
        deadline = deadline.replace(tzinfo=UTC)  # SQLite hands times back without their zone
    history = list(base.get("history") or [])
    if result.applied:
        history.append(
            {
                "action": action,
                "from_state": base.get("state"),
                "to_state": state.value,
                "actor": actor,
                "at": now.isoformat(),
                "note": note,
            }
        )
    base.update(
        state=state.value,
        actions=[a.value for a in allowed(CaseRecord(state=state, source=source))],
        deadline_at=deadline.isoformat() if deadline else None,
        overdue=bool(deadline and state is not CaseState.PARKED and deadline < now),
        history=history,
    )
    if result.applied and action == "dispatch" and target:
        base["assignee"] = target
    return base


def outcome(result: ActResult, action: str, lang: str) -> tuple[str, str]:
    """Return the message of an accepted tap: done, or already done by an earlier tap."""
    state = state_word(result.state, lang)
    if result.applied:
        return "ok", label("case_done", lang).format(action=action_word(action, lang), state=state)
    return "repeat", label("case_repeat", lang).format(state=state)


def refused(exc: Exception, lang: str) -> tuple[str, str]:
    """Return the message of a refused tap: the desk's or the policy's reason, never a trace."""
    if isinstance(exc, CaseActionError | AccessDenied):
        return "error", label("case_refused", lang).format(reason=str(exc))
    if isinstance(exc, StoreUnavailableError):
        return "error", label("case_store_down", lang)
    return "error", label("case_failed", lang)


def audit_action(
    audit: AuditLog | None,
    principal: Principal | None,
    action: str,
    record: tuple[str, Any],
    *,
    note: str | None = None,
    exc: Exception | None = None,
    detail: dict[str, Any] | None = None,
    source_ip: str | None = None,
) -> None:
    """Write a case or alert action, done or refused, to the audit log."""
    if audit is None:
        return
    audit.record(
        principal.actor if principal else "anonymous",
        action,
        role=principal.role.value if principal else None,
        record=record,
        reason=note,
        outcome=OK if exc is None else REFUSED,
        source_ip=source_ip,
        detail=(detail or {}) | ({"refused": str(exc)[:200]} if exc is not None else {}),
    )


def act_audited(
    desk: CaseDesk,
    audit: AuditLog | None,
    principal: Principal | None,
    permission: Permission,
    action: str,
    record: tuple[str, Any],
    *,
    audit_name: str | None = None,
    screen_refusal: str | None = None,
    note: str | None = None,
    detail: dict[str, Any] | None = None,
    source_ip: str | None = None,
    **desk_args: Any,
) -> ActResult:
    """Run one desk action as the signed-in principal and audit it, done or refused.

    Raises AccessDenied (the role, or `screen_refusal`: a screen that only shows) or
    CaseActionError (the desk's reason) after writing the refusal to the audit log.
    """
    name = (audit_name or f"case_{action}")[:40]
    try:
        if screen_refusal:
            raise AccessDenied(screen_refusal)
        require(principal, permission)
        result = desk.act(
            action, principal.actor, note=note, authorize=case_guard(principal), **desk_args
        )
    except Exception as exc:  # the screen shows why; the log keeps anything unexpected
        if isinstance(exc, StoreUnavailableError):
            # An expected fault: one line, no trace; the desk changed nothing.
            who = principal.actor if principal else "anonymous"
            log.warning("%s: %s on %s %s not done: %s", who, action, *record, exc)
        elif not isinstance(exc, CaseActionError | AccessDenied):
            log.exception("%s: %s on %s %s failed", principal, action, *record)
        audit_action(audit, principal, name, record, note=note, exc=exc, source_ip=source_ip)
        raise
    if result.applied:
        audit_action(
            audit,
            principal,
            name,
            record,
            note=note,
            detail=(detail or {}) | {"state": result.state},
            source_ip=source_ip,
        )
    return result


class CaseScreens:
    """Draw case cards from the published `cases` view and apply taps through the case desk.

    Who is asking comes from the server's session (`principal`), never from the page: the
    page's mode only narrows (a demo page acts on nothing), it never grants.
    """

    def __init__(
        self,
        read_view: ReadView,
        desk: CaseDesk | None,
        default_lang: str,
        read_demo: ReadView | None = None,
        audit: AuditLog | None = None,
        source_ip: Callable[[], str | None] = lambda: None,
        read_case: ReadCase | None = None,
    ) -> None:
        self.read_view = read_view
        self.read_case = read_case
        self.desk = desk
        self.default_lang = default_lang
        self.read_demo = read_demo
        self.audit = audit
        self.source_ip = source_ip

    def team_kind(self, case: Mapping[str, Any]) -> str | None:
        """Return the kind of team that usually handles the case's category (the desk's routing)."""
        if self.desk is None:
            return None
        return self.desk.config.routing.team_kind(case.get("category"))

    def read_cases(self, mode: str) -> dict[str, Any] | None:
        """Return the `cases` view the page's profile shows: a demo page never sees production's.

        With the dispatch targets, which are published apart (never sent to a screen).
        """
        read = reader_for(mode, self.read_view, self.read_demo)
        view = read(CASES)
        if view is None:
            return None
        targets = read(CASE_TARGETS)
        return dict(view, targets=(targets or {}).get("targets") or {})

    def lookup(self, view: Mapping[str, Any] | None, case_id: int, mode: str) -> Any:
        """Return the case as published, else (a production page) as stored, else None.

        The published lists hold the hundred most pressing open cases; the map marks every open
        case, and a KPI list names closed ones too: those are read by id from the store.
        """
        found = find_case(view, case_id)
        return found if found is not None else self.stored(case_id, mode)

    def stored(self, case_id: int, mode: str) -> Any:
        """Return the case as stored now (a production page), else None."""
        if self.read_case is None or self.desk is None or mode == "demo":
            return None
        try:
            row = self.read_case(case_id)
        except (AdapterError, StoreUnavailableError) as exc:
            log.warning("case %s: could not read it for its card: %s", case_id, exc)
            return None
        return case_summary(row, self.desk.clock.now()) if row else None

    def interactive(self, principal: Principal | None, mode: str) -> bool:
        """Tell whether the card offers actions: a role that may act, on an acting page."""
        return (
            self.desk is not None
            and mode in INTERACTIVE_MODES
            and may(principal, Permission.ACT_CASES)
        )

    def card(
        self,
        principal: Principal | None,
        case_id: int,
        search: str | None,
        *,
        nonce: str,
        shown: Mapping[str, Any] | None = None,
        message: tuple[str, str] | None = None,
    ) -> Any:
        """Return the card of a case from one read of the view (or as just moved by a tap)."""
        lang, mode = profile(search, self.default_lang)
        if not may(principal, Permission.VIEW_RECORDS):
            return no_update  # a wall or a stranger reads no case
        view = self.read_cases(mode)
        published = self.lookup(view, case_id, mode)
        case = shown if shown is not None else published
        return case_card(
            case,
            lang,
            nonce=nonce,
            drawn_from=fingerprint(published),
            targets=dispatch_targets(case, view, lang, self.team_kind(case)) if case else [],
            interactive=self.interactive(principal, mode),
            message=message,
            just_acted=shown is not None,
        )

    def act(
        self,
        principal: Principal | None,
        tap: Mapping[str, Any],
        values: Mapping[str, Any],
        search: str | None,
        nonce: str,
    ) -> Any:
        """Apply the tapped action once (per key) as the signed-in account; return the card."""
        lang, mode = profile(search, self.default_lang)
        case_id, action = tap.get("case"), str(tap.get("action"))
        if self.desk is None or not isinstance(case_id, int) or isinstance(case_id, bool):
            return no_update
        note = (values.get("note") or "").strip() or None
        target = values.get("target") if action == "dispatch" else None
        satisfaction = values.get("satisfaction") if action == "revisit" else None
        try:
            result = act_audited(
                self.desk,
                self.audit,
                principal,
                Permission.ACT_CASES,
                action,
                ("case", case_id),
                screen_refusal=None
                if mode in INTERACTIVE_MODES
                else "this screen only shows cases",
                note=note,
                detail={"target": target},
                source_ip=self.source_ip(),
                case_id=case_id,
                target=target,
                satisfaction=satisfaction,
                action_key=str(tap.get("key") or "") or None,
            )
        except Exception as exc:
            if not may(principal, Permission.VIEW_RECORDS):
                return no_update
            return self.card(principal, case_id, search, nonce=nonce, message=refused(exc, lang))
        case = self.lookup(self.read_cases(mode), case_id, mode)
        if not result.applied:
            # Done before (a double tap's second half): the store has it, with its history,
            # while the published view may not yet; a card drawn from that would lack the step.
            case = self.stored(case_id, mode) or case
        shown = moved(
            case,
            result,
            action=action,
            actor=principal.actor,
            note=note,
            target=target,
            now=self.desk.clock.now(),
        )
        return self.card(
            principal,
            case_id,
            search,
            nonce=nonce,
            shown=shown,
            message=outcome(result, action, lang),
        )

    def acknowledge(
        self, principal: Principal | None, tap: Mapping[str, Any], search: str | None
    ) -> Any:
        """Acknowledge an alert (registering its case) as the signed-in account; show the case."""
        lang, mode = profile(search, self.default_lang)
        alert_id = tap.get("id")
        if self.desk is None or not isinstance(alert_id, int) or isinstance(alert_id, bool):
            return no_update
        try:
            result = act_audited(
                self.desk,
                self.audit,
                principal,
                Permission.ACT_CASES,
                "acknowledge",
                ("alert", alert_id),
                audit_name="alert_acknowledge",
                screen_refusal=None
                if mode in INTERACTIVE_MODES
                else "this screen only shows alerts",
                source_ip=self.source_ip(),
                alert_id=alert_id,
                action_key=str(tap.get("key") or "") or None,
            )
        except Exception as exc:
            if not may(principal, Permission.VIEW_RECORDS):
                return no_update
            return case_card(None, lang, message=refused(exc, lang))
        case = self.lookup(self.read_cases(mode), result.case_id, mode)
        shown = moved(
            case,
            result,
            action="register",
            actor=principal.actor,
            note=None,
            target=None,
            now=self.desk.clock.now(),
        )
        return self.card(
            principal,
            result.case_id,
            search,
            nonce=new_nonce(),
            shown=shown,
            message=outcome(result, "acknowledge", lang),
        )


def register(
    app: Dash,
    read_view: ReadView,
    desk: CaseDesk | None,
    default_lang: str = "zh",
    read_demo: ReadView | None = None,
    *,
    who: WhoIsIt,
    audit: AuditLog | None = None,
    source_ip: Callable[[], str | None] = lambda: None,
    read_case: ReadCase | None = None,
) -> None:
    """Attach the case card, action, acknowledge and cases-panel callbacks to the app.

    `who()` returns the signed-in principal of the current request (cockpit.web.identity).
    """
    screens = CaseScreens(read_view, desk, default_lang, read_demo, audit, source_ip, read_case)
    overlay = Output("card-overlay", "children", allow_duplicate=True)

    @app.callback(
        overlay,
        Input(CASE_PICK_ID, "data"),
        State(LOCATION, "search"),
        prevent_initial_call=True,
    )
    def open_case(picked: Any, search: str | None):
        """Return the card of the case tapped in a list or on the map."""
        if not isinstance(picked, dict) or picked.get("kind") != "case":
            return no_update
        case_id = picked.get("id")
        if not isinstance(case_id, int) or isinstance(case_id, bool):
            return no_update
        return screens.card(who(), case_id, search, nonce=new_nonce())

    @app.callback(
        overlay,
        Input({"type": CASE_ACT, "case": ALL, "action": ALL, "key": ALL}, "n_clicks"),
        State({"type": CASE_INPUT, "case": ALL, "name": ALL}, "value"),
        State({"type": CASE_CARD, "id": ALL}, "data"),
        State(LOCATION, "search"),
        prevent_initial_call=True,
    )
    def act(_clicks: list[Any], _values: list[Any], _cards: list[Any], search: str | None):
        """Apply the tapped action through the desk and return the card with the outcome."""
        tap = tapped(ctx.triggered)
        if tap is None:
            return no_update
        card = card_memory(ctx.states_list[1], tap.get("case"))
        values = inputs_of(ctx.states_list[0], tap.get("case"))
        return screens.act(who(), tap, values, search, card.get("nonce") or new_nonce())

    @app.callback(
        overlay,
        Input({"type": ALERT_ACK, "id": ALL, "key": ALL}, "n_clicks"),
        State(LOCATION, "search"),
        prevent_initial_call=True,
    )
    def acknowledge(_clicks: list[Any], search: str | None):
        """Acknowledge the alert whose card's button was tapped and show its case."""
        tap = tapped(ctx.triggered)
        if tap is None:
            return no_update
        return screens.acknowledge(who(), tap, search)

    @app.callback(
        overlay,
        Input({"type": CASE_STALE, "id": ALL}, "data"),
        State({"type": CASE_CARD, "id": ALL}, "data"),
        State(LOCATION, "search"),
        prevent_initial_call=True,
    )
    def redraw(_stale: list[Any], _cards: list[Any], search: str | None):
        """Redraw the open card once the published case has moved on (any screen's action)."""
        tap = tapped(ctx.triggered)
        if tap is None or not isinstance(tap.get("id"), int):
            return no_update
        kept = card_memory(ctx.states_list[0], tap["id"])
        message = kept.get("message")
        return screens.card(
            who(),
            tap["id"],
            search,
            nonce=kept.get("nonce") or new_nonce(),
            message=tuple(message) if message else None,
        )

    def clientside(function: str, *args: Any, **kwargs: Any) -> None:
        """Register one function of assets/cases.js."""
        app.clientside_callback(
            ClientsideFunction(namespace="cockpitCases", function_name=function), *args, **kwargs
        )

    clientside(
        "staleCard",
        Output({"type": CASE_STALE, "id": ALL}, "data"),
        Input("view-cases", "data"),
        Input({"type": CASE_CARD, "id": ALL}, "data"),
        prevent_initial_call=True,
    )
    clientside(
        "fillPanel",
        Output(f"{CASES_PANEL}-body", "data-drawn"),
        Input("view-cases", "data"),
        State("labels-store", "data"),
    )
