"""Build the case screens' parts: the case card, the tablet's cases panel, dispatch targets."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from dash import dcc, html

from cockpit import places
from cockpit.cases.titles import category_name
from cockpit.i18n import LABELS, label, place_name
from cockpit.privacy import mask_text
from cockpit.timestamps import stamp

CASE_ACT = "case-act"  # {"type", "case", "action", "key"}: the key makes one tap act once
CASE_INPUT = "case-input"  # {"type", "case", "name"}: note, target, satisfaction
CASE_CARD = "case-card"  # the card's memory: which case, as drawn from which published state
CASE_STALE = "case-card-stale"  # set by assets/cases.js when the published case moved on
ALERT_ACK = "alert-ack"  # {"type", "id": alert id, "key"}: the alert card's acknowledge button
# {"type", "case"}: "what was reported", filled by callbacks/reveal.py when the card appears
CASE_TEXTS = "case-texts"
CASES_PANEL = "panel-cases"
HISTORY_SHOWN = 12
SATISFACTION = (1, 2, 3, 4, 5)
CJK = re.compile(r"[\u3400-\u9fff]")
# Actions whose note the desk requires; the card says so next to the note box.
NOTE_ACTIONS = frozenset({"park", "void", "supervise", "reject", "escalate"})
# Taken by the handler on the spot (the grid worker's page), not by the command room's tablet.
HANDLER_ONLY = frozenset({"accept", "arrive", "self_handle"})


def new_nonce() -> str:
    """Return a fresh id for one opened card or one loaded page."""
    return uuid.uuid4().hex[:16]


def action_key(nonce: str, drawn_from: str, action: str) -> str:
    """Return a button's action key: the same for the same card, published case and action.

    A double tap, even one landing on the card redrawn after the first tap, sends the same key,
    and the desk acts once; once the published case has moved on, the keys are new.
    """
    digest = hashlib.blake2s(drawn_from.encode(), digest_size=6).hexdigest()
    return f"{nonce}-{digest}-{action}"


def fingerprint(case: Mapping[str, Any] | None) -> str:
    """Return what says a published case changed: state, overdue, history length, assignee."""
    # assets/cases.js computes the same string from the view to know when to redraw the card.
    if not case:
        return ""
    overdue = 1 if case.get("overdue") else 0
    # A case's repeats are one entry counting them (CaseHistory.repeats): count each repeat.
    history = sum(entry.get("repeats") or 1 for entry in case.get("history") or [])
    return f"{case.get('state')}|{overdue}|{history}|{case.get('assignee') or ''}"


def find_case(view: Mapping[str, Any] | None, case_id: int) -> dict[str, Any] | None:
    """Return the published summary of a case: open list first, then overdue and task lists."""
    if not view:
        return None
    for item in view.get("open") or []:
        if item.get("id") == case_id:
            return item
    for item in view.get("overdue") or []:
        if item.get("id") == case_id:
            return item
    for tasks in (view.get("tasks_by_worker") or {}).values():
        for item in tasks:
            if item.get("id") == case_id:
                return item
    return None


def when(value: Any, lang: str) -> str:
    """Return a time as 2026-12-02 05:31 in the street's zone, the same in both languages."""
    return stamp(value)


def say(key: str, lang: str, fallback: Any = None) -> str:
    """Return the label for the key, else the fallback (or the key's tail) as text."""
    if key in LABELS:
        return label(key, lang)
    return str(fallback) if fallback not in (None, "") else "—"


def state_word(state: Any, lang: str) -> str:
    """Return a case state in words."""
    return say(f"state_{state}", lang, state)


def action_word(action: Any, lang: str) -> str:
    """Return a case action in words."""
    return say(f"case_action_{action}", lang, action)


def assignee_word(assignee: Any, lang: str, names: Mapping[str, str] | None = None) -> str:
    """Return who a case is dispatched to: a known name, else kind and number."""
    if not assignee:
        return "—"
    if names and assignee in names:
        return names[assignee]
    kind, _, ident = str(assignee).partition(":")
    return f"{say(f'case_target_{kind}', lang, kind)} {ident}".strip()


def category_word(category: Any, lang: str) -> str:
    """Return a case category: a service's name, a labelled category, else the code as stored."""
    # The same words the store's titles are built from (cockpit.cases.titles).
    return category_name(None if category is None else str(category), lang)


def title_of(case: Mapping[str, Any], lang: str) -> str:
    """Return the case title in the language; English never shows Chinese (the category instead)."""
    # Titles are built from category and place; masked again here in case one still carries data.
    if lang != "en":
        return mask_text(case.get("title_zh") or case.get("title_en")) or case.get("code") or "—"
    title = mask_text(case.get("title_en"))
    if title and not CJK.search(title):
        return title
    category = category_word(case.get("category"), "en")
    return category if not CJK.search(category) else str(case.get("code") or "—")


# -- dispatch targets ----------------------------------------------------------------------------


def dispatch_targets(
    case: Mapping[str, Any],
    view: Mapping[str, Any] | None,
    lang: str,
    team_kind: str | None = None,
) -> list[dict[str, str]]:
    """Return dropdown options for dispatching the case, the likeliest first.

    Reads `targets` from the cases view model when it is published ({"workers": [{id, grid_id,
    name}], "teams": [{id, kind, name}], "communities": [{id, name}]}); until then the
    communities ranked in the indicators and the grid workers holding tasks are all it knows.
    Order: the workers of the case's grid, teams of its department or of `team_kind` (the kind
    that usually handles its category), other teams, communities, then the workers of other grids.
    """
    view = view or {}
    targets = view.get("targets") or {}
    grid_id = case.get("grid_id")
    options: list[tuple[int, dict[str, str]]] = []
    seen: set[str] = set()

    def add(order: int, value: str, text: str) -> None:
        if value not in seen:
            seen.add(value)
            options.append((order, {"label": text, "value": value}))

    worker_word = label("case_target_worker", lang)
    for worker in targets.get("workers") or []:
        near = 0 if grid_id is not None and worker.get("grid_id") == grid_id else 5
        add(near, f"worker:{worker['id']}", _worker_named(worker_word, worker, lang))
    for team in targets.get("teams") or []:
        kind = say(f"case_department_{team.get('kind')}", lang, team.get("kind"))
        likely = {case.get("department"), team_kind} - {None}
        same = 1 if team.get("kind") in likely else 2
        add(same, f"team:{team['id']}", _named(kind, team, lang))
    communities = targets.get("communities") or [
        {"id": row.get("key"), "name": row.get("name")}
        for row in (view.get("indicators") or {}).get("community") or []
    ]
    community_word = label("case_target_community", lang)
    for community in communities:
        if community.get("id") is not None:
            # A community's name says what it is; a number needs the word.
            name = _named("", community, lang).lstrip(" ·")
            text = name if not name.isdigit() else f"{community_word} {name}"
            add(4, f"community:{community['id']}", text)
    if not targets.get("workers"):
        for worker_id in sorted(view.get("tasks_by_worker") or {}, key=_numeric):
            add(6, f"worker:{worker_id}", f"{worker_word} {worker_id}")
    options.sort(key=lambda pair: pair[0])
    return [option for _, option in options]


def _named(word: str, target: Mapping[str, Any], lang: str) -> str:
    """Return 'word · name' in the language; a name English cannot spell becomes the number."""
    name = target.get("name")
    shown = place_name(str(name), lang) if name else ""
    if not shown:
        return f"{word} {target.get('id')}"
    return f"{word} · {shown}"


def _worker_named(word: str, worker: Mapping[str, Any], lang: str) -> str:
    """Return 'Grid worker 5 · Grid 3', with the masked name (王**) in Chinese only."""
    # A masked name cannot be spelled in English (and a surname's reading is not a place's):
    # the number and the grid tell workers apart there.
    grid_id = worker.get("grid_id")
    grid = "" if grid_id is None else f" · {label('case_department_grid', lang)} {grid_id}"
    name = worker.get("name")
    if lang == "en" or not name:
        return f"{word} {worker.get('id')}{grid}"
    return f"{word} · {name}{grid}"


def _numeric(text: str) -> tuple[int, str]:
    """Sort numbers as numbers and anything else after them."""
    return (int(text), "") if str(text).isdigit() else (1 << 62, str(text))


# -- the case card ---------------------------------------------------------------------------------


def case_card(
    case: Mapping[str, Any] | None,
    lang: str,
    *,
    nonce: str = "",
    drawn_from: str = "",
    targets: list[dict[str, str]] | None = None,
    interactive: bool = True,
    message: tuple[str, str] | None = None,
    just_acted: bool = False,
) -> html.Div:
    """Return a case's card: state, category, deadline with overdue flag, history, actions.

    `drawn_from` is the fingerprint of the published case the card stands for: when the published
    case moves on, assets/cases.js asks for the card again; with the card's `nonce` it makes the
    buttons' action keys. `message` is (ok|repeat|error, text).
    """
    if not case:
        return html.Div(
            className="card card-case",
            children=[message_line(message), html.Div(label("case_gone", lang), className="note")],
        )
    case_id = case["id"]
    overdue = bool(case.get("overdue"))
    state = case.get("state")
    classes = ["card", "card-case", f"case-state-{state}"]
    if overdue:
        classes.append("is-overdue")
    if just_acted:
        # The buttons wait a moment, so a double tap's second half hits nothing new.
        classes.append("just-acted")
    return html.Div(
        className=" ".join(classes),
        **{"data-case": str(case_id), "data-state": str(state)},
        children=[
            dcc.Store(
                id={"type": CASE_CARD, "id": case_id},
                data={
                    "fp": drawn_from,
                    "nonce": nonce,
                    "message": list(message) if message else None,
                },
            ),
            dcc.Store(id={"type": CASE_STALE, "id": case_id}),
            html.H2(
                className="card-title",
                children=[
                    _overdue_flag(lang) if overdue else None,
                    _priority_badge(case.get("priority"), lang),
                    " ",
                    title_of(case, lang),
                ],
            ),
            message_line(message),
            where_block(case.get("where"), lang),
            html.Div(
                className="case-facts",
                children=[
                    _field(label("status", lang), _state_chip(state, lang), "case-state"),
                    _field(label("map_code", lang), case.get("code")),
                    _field(label("case_category", lang), category_word(case.get("category"), lang)),
                    _field(
                        label("case_centre", lang),
                        say(f"case_centre_{case.get('centre')}", lang, case.get("centre")),
                    ),
                    _field(
                        label("case_assignee", lang),
                        assignee_word(
                            case.get("assignee"),
                            lang,
                            {o["value"]: o["label"] for o in targets or []},
                        ),
                    ),
                    _field(label("case_reported", lang), when(case.get("reported_at"), lang)),
                    _field(label("case_deadline", lang), _deadline(case, lang), "case-deadline"),
                ],
            ),
            # The reported words, masked (and a reveal form for who may unmask): the callback
            # reads them for the signed-in principal; the published view never carries them.
            html.Div(id={"type": CASE_TEXTS, "case": case_id}, className="case-texts"),
            _actions(case, lang, targets or [], lambda a: action_key(nonce, drawn_from, a))
            if interactive
            else None,
            html.H3(label("case_history", lang)),
            _history(case.get("history") or [], lang),
        ],
    )


def where_block(where: Mapping[str, Any] | None, lang: str, *, map_button: bool = True) -> html.Div:
    """Return where a case is: the address (to the building) first, building, community, grid.

    `map_button` adds "show on map": the live map flies to the place (assets/cases.js reads
    data-focus) and opens the building's card (assets/draw.js reads data-pick).
    """
    said = places.words(where, lang)
    at = places.coordinates(where)
    building_id = (where or {}).get("building_id")
    button = None
    if map_button and at is not None and building_id:
        button = html.Button(
            "◎ " + label("where_show_on_map", lang),
            className="where-show-on-map",
            **{
                "data-pick": json.dumps({"kind": "building", "id": building_id}),
                "data-focus": json.dumps({"building": building_id, "at": list(at)}),
            },
        )
    return html.Div(
        className="card-where",
        children=[
            # The address (and floor) first and large; a place without one says its building.
            _field(label("where_address", lang), places.headline(where, lang), "where-address"),
            _field(label("where_building", lang), said["building"], "where-building"),
            _field(label("where_community", lang), said["community"], "where-community"),
            _field(label("where_grid", lang), said["grid"], "where-grid"),
            button,
        ],
    )


def _field(name: str, value: Any, class_name: str = "") -> html.Div:
    """Return one labelled line of a card."""
    shown = "—" if value is None or value == "" else value
    return html.Div(
        [html.Span(name, className="card-key"), html.Span(shown, className="card-val")],
        className=f"card-field {class_name}".strip(),
    )


def message_line(message: tuple[str, str] | None) -> html.Div | None:
    """Return the outcome of the last tap: done, already done, or refused with the reason."""
    if not message:
        return None
    kind, text = message
    return html.Div(
        text,
        className=f"case-message case-message-{kind}",
        role="status",
        **{"aria-live": "polite"},
    )


def _overdue_flag(lang: str) -> html.Span:
    """Return the overdue flag: a shape and a word, never colour alone."""
    return html.Span("⚠ " + label("case_overdue", lang) + " ", className="case-overdue-flag")


def _priority_badge(priority: Any, lang: str) -> html.Span | None:
    """Return the urgent badge; routine cases carry none."""
    if priority != "urgent":
        return None
    return html.Span("▲ " + label("case_priority_urgent", lang), className="case-urgent")


def _state_chip(state: Any, lang: str) -> html.Span:
    """Return a case state as a chip."""
    return html.Span(state_word(state, lang), className=f"case-chip case-chip-{state}")


def _deadline(case: Mapping[str, Any], lang: str) -> Any:
    """Return the current due time, flagged when overdue and marked when its clock is paused."""
    if case.get("paused_remaining_s") is not None or case.get("state") == "parked":
        return label("case_paused", lang)
    due = when(case.get("deadline_at"), lang)
    if case.get("overdue"):
        return [due, " ", _overdue_flag(lang)]
    return due


def _actions(
    case: Mapping[str, Any],
    lang: str,
    targets: list[dict[str, str]],
    key: Callable[[str], str],
) -> html.Div:
    """Return the inputs the allowed actions need and one button per allowed action."""
    case_id = case["id"]
    actions = [a for a in case.get("actions") or [] if a not in HANDLER_ONLY]
    if not actions:
        return html.Div(label("case_no_actions", lang), className="note case-no-actions")
    inputs: list[Any] = []
    if "dispatch" in actions:
        inputs.append(
            html.Label(
                className="case-input",
                children=[
                    html.Span(label("case_target", lang), className="card-key"),
                    dcc.Dropdown(
                        id={"type": CASE_INPUT, "case": case_id, "name": "target"},
                        options=targets,
                        value=targets[0]["value"] if targets else None,
                        clearable=False,
                        searchable=False,
                        placeholder=label("case_no_targets", lang),
                        className="case-target",
                    ),
                ],
            )
        )
    if "revisit" in actions:
        inputs.append(_satisfaction({"type": CASE_INPUT, "case": case_id, "name": "satisfaction"}))
    inputs.append(
        html.Label(
            className="case-input",
            children=[
                html.Span(label("case_note", lang), className="card-key"),
                dcc.Textarea(
                    id={"type": CASE_INPUT, "case": case_id, "name": "note"},
                    value="",
                    placeholder=label("case_note_hint", lang)
                    if NOTE_ACTIONS.intersection(actions)
                    else "",
                    className="case-note",
                    rows=2,
                ),
            ],
        )
    )
    buttons = [
        html.Button(
            action_word(action, lang),
            id={"type": CASE_ACT, "case": case_id, "action": action, "key": key(action)},
            className=f"case-button case-button-{action}",
            n_clicks=0,
        )
        for action in actions
    ]
    return html.Div(
        className="case-actions",
        children=[
            html.H3(label("case_actions", lang)),
            *inputs,
            html.Div(buttons, className="case-buttons"),
        ],
    )


def _satisfaction(component_id: dict[str, Any]) -> dcc.RadioItems:
    """Return the 1-5 satisfaction choice as large touch targets."""
    return dcc.RadioItems(
        id=component_id,
        options=[{"label": f"{n} ★", "value": n} for n in SATISFACTION],
        value=None,
        inline=True,
        className="case-satisfaction",
    )


def _history(history: list[Mapping[str, Any]], lang: str) -> Any:
    """Return the case's history, newest first: when, who, from → to, why."""
    if not history:
        return html.Div("—", className="note")
    shown = list(reversed(history))[:HISTORY_SHOWN]
    hidden = len(history) - len(shown)
    rows = [
        html.Tr(
            [
                html.Td(when(entry.get("at"), lang)),
                html.Td(entry.get("actor") or "—"),
                html.Td(_step(entry, lang)),
                # Notes are free text: masked here too, whatever the view did.
                html.Td(mask_text(entry.get("note"))),
            ]
        )
        for entry in shown
    ]
    return html.Div(
        [
            html.Table(
                className="table case-history",
                children=[
                    html.Thead(
                        html.Tr(
                            [
                                html.Th(label("case_history_when", lang)),
                                html.Th(label("case_history_who", lang)),
                                html.Th(label("case_history_step", lang)),
                                html.Th(label("case_history_why", lang)),
                            ]
                        )
                    ),
                    html.Tbody(rows),
                ],
            ),
            html.Div(label("case_history_more", lang).format(n=hidden), className="note")
            if hidden
            else None,
        ]
    )


def _step(entry: Mapping[str, Any], lang: str) -> str:
    """Return one history step as 'action: from → to'."""
    action = entry.get("action")
    if entry.get("repeats"):
        # A case's repeat reports are one entry: how many, the first and the last.
        return label("case_repeats", lang).format(
            n=entry["repeats"],
            first=when(entry.get("at"), lang),
            last=when(entry.get("last_at") or entry.get("at"), lang),
        )
    word = action_word(action, lang) if f"case_action_{action}" in LABELS else None
    to_state = state_word(entry.get("to_state"), lang)
    if entry.get("from_state") in (None, entry.get("to_state")):
        move = to_state
    else:
        move = f"{state_word(entry.get('from_state'), lang)} → {to_state}"
    return f"{word}: {move}" if word else move


# -- the tablet's cases panel (assets/cases.js fills it from the `cases` view) ---------------------


def cases_panel(lang: str) -> html.Section:
    """Return the tablet's cases panel: open cases to tap, indicators and rankings."""
    return html.Section(
        id=CASES_PANEL,
        className="panel panel-cases",
        **{"aria-labelledby": f"{CASES_PANEL}-title"},
        children=[
            html.H2(label("panel_cases", lang), id=f"{CASES_PANEL}-title", className="panel-title"),
            html.Div(
                label("waiting", lang), id=f"{CASES_PANEL}-body", className="panel-body cases-body"
            ),
        ],
    )
