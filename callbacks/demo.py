"""Wire the demo screen: controls act on the visitor's own room; the caption bar fills clientside.

Every control (play/pause, restart, speed, scripted/replay) needs a signed-in role holding
Permission.RUN_DEMO and acts only on the room named by the requester's session; anything else is
refused, changes no room, says why on the bar, and is audited like a control that was done.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from dash import ClientsideFunction, Dash, Input, Output, State, ctx, no_update

from cockpit.access.audit import OK, REFUSED, AuditLog
from cockpit.access.policy import Permission, Principal, may
from cockpit.demo.captions import DEMO_VIEW, PREPARING
from cockpit.demo.controller import DemoController, DemoError
from cockpit.demo.rooms import CLOSED, DemoRooms
from cockpit.i18n import label, pick_language
from layouts.demo import preparing_step

log = logging.getLogger(__name__)

# A command acts on one controller and returns the command done ("pause" for a toggle that
# paused), or None when nothing played to act on.
Command = Callable[[DemoController], str | None]


class DemoControls:
    """Check, apply and audit one visitor's demo command against their own room only."""

    def __init__(
        self,
        rooms: DemoRooms,
        who: Callable[[], Principal | None],
        audit: AuditLog | None = None,
        source_ip: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.rooms = rooms
        self.who = who
        self.audit = audit
        self.source_ip = source_ip

    def run(
        self, name: str, command: Command, lang: str, detail: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], str]:
        """Apply the command to the requester's room; return the acknowledgement and the
        message the bar shows (empty when it was done)."""
        principal = self.who()
        key = self.rooms.key_of()
        done, reason, message = name, None, ""
        if not may(principal, Permission.RUN_DEMO):
            reason, message = "not allowed", label("demo_not_allowed", lang)
        else:
            controller = self.rooms.get(key)
            if controller is None:
                absent = self.rooms.absence(key)
                reason = "no room" if key is None else f"room {absent}"
                message = label(
                    "demo_room_closed" if absent == CLOSED else "demo_room_elsewhere", lang
                )
            else:
                try:
                    done = command(controller) or name
                except (DemoError, ValueError) as exc:
                    reason = str(exc)[:200]
                    message = label("demo_refused", lang).format(reason=reason)
        self._audit(principal, done, key, reason, detail)
        if reason is not None:
            log.info("demo %s refused: %s", name, reason)
            return {"error": reason, "at": time.time()}, message
        return {"done": done, "at": time.time()}, ""

    def _audit(
        self,
        principal: Principal | None,
        command: str,
        key: str | None,
        reason: str | None,
        detail: dict[str, Any] | None,
    ) -> None:
        """Write the command, done or refused, to the audit log."""
        if self.audit is None:
            return
        self.audit.record(
            principal.actor if principal else "anonymous",
            f"demo_{command}",
            role=principal.role.value if principal else None,
            record=("demo_room", key[:8]) if key else None,
            outcome=OK if reason is None else REFUSED,
            source_ip=self.source_ip(),
            detail=(detail or {}) | ({"refused": reason} if reason is not None else {}),
        )


def register(
    app: Dash,
    rooms: DemoRooms,
    *,
    who: Callable[[], Principal | None],
    audit: AuditLog | None = None,
    source_ip: Callable[[], str | None] = lambda: None,
) -> None:
    """Attach the demo's control callbacks (server) and caption drawing (clientside) to the app.

    `who()` returns the request's signed-in principal; `rooms.key_of()` its demo room key.
    """
    controls = DemoControls(rooms, who, audit, source_ip)

    @app.callback(
        Output("demo-ack", "data"),
        Output("demo-message", "children"),
        Input("demo-play", "n_clicks"),
        Input("demo-restart", "n_clicks"),
        Input("demo-speed", "value"),
        State("labels-store", "data"),
        prevent_initial_call=True,
    )
    def control(_play: int, _restart: int, speed: int | None, config: dict[str, Any] | None):
        """Pause or play, restart, or change the speed of the visitor's own demo."""
        lang = language(config)
        trigger = ctx.triggered_id
        if trigger == "demo-play":
            ack, message = controls.run("toggle", lambda demo: demo.toggle(), lang)
        elif trigger == "demo-restart":
            ack, message = controls.run("restart", lambda demo: demo.restart(), lang)
        elif trigger == "demo-speed" and speed is not None:
            ack, message = controls.run(
                "speed", lambda demo: demo.set_speed(speed), lang, {"speed": speed}
            )
        else:
            return no_update, no_update
        return ack, message

    @app.callback(
        Output("demo-reload", "data"),
        Output("demo-message", "children", allow_duplicate=True),
        Input("demo-source", "value"),
        Input("demo-day", "value"),
        State("labels-store", "data"),
        prevent_initial_call=True,
    )
    def switch(source: str | None, day: str | None, config: dict[str, Any] | None):
        """Switch the visitor's demo between the scripted day and a recorded one; the page
        reloads for its map."""
        lang = language(config)
        if source == "replay" and day:
            ack, message = controls.run(
                "replay", lambda demo: demo.replay(date.fromisoformat(day)), lang, {"day": day}
            )
        elif source == "scripted" and ctx.triggered_id == "demo-source":
            ack, message = controls.run("scripted", lambda demo: demo.scripted(), lang)
        else:
            return no_update, no_update  # a day chosen while the script plays waits for "replay"
        return ({"reload": True, "at": ack["at"]} if "done" in ack else ack), message

    def clientside(function: str, *args, **kwargs) -> None:
        """Register one function of assets/demo.js."""
        app.clientside_callback(
            ClientsideFunction(namespace="demo", function_name=function), *args, **kwargs
        )

    clientside(
        "fillBar",
        Output("demo-caption", "children"),
        Output("demo-caption", "className"),
        Output("demo-history", "children"),
        Output("demo-clock", "children"),
        Output("demo-state", "children"),
        Output("demo-progress", "style"),
        Output("demo-play", "children"),
        Input("view-demo", "data"),
        State("labels-store", "data"),
    )
    # Switching the source reloads the page: the map of a recorded street is not the demo's.
    clientside(
        "reload",
        Output("demo-ack", "data", allow_duplicate=True),
        Input("demo-reload", "data"),
        prevent_initial_call=True,
    )
    # The "rooms full" page asks again now and then; the "preparing" page loads once, when ready.
    clientside(
        "reload",
        Output("demo-wait", "disabled"),
        Input("demo-wait", "n_intervals"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output("demo-prep-fill", "style"),
        Output("demo-prep-bar", "aria-valuenow"),
        Output("demo-prep-step", "children"),
        Output("demo-prep-ready", "data"),
        Input("demo-prep-poll", "n_intervals"),
        State("demo-prep-lang", "data"),
        prevent_initial_call=True,
    )
    def preparing(_n: int, lang: str | None):
        """Move the "preparing" bar to the room's step; say when its street is ready."""
        share, step, ready = preparation(rooms)
        lang = pick_language(lang, "zh")
        return (
            {"width": f"{100 * share:.0f}%"},
            round(100 * share),
            preparing_step(share, step, lang),
            {"ready": True} if ready else no_update,
        )

    clientside(
        "reload",
        Output("demo-prep-poll", "disabled"),
        Input("demo-prep-ready", "data"),
        prevent_initial_call=True,
    )


def preparation(rooms: DemoRooms) -> tuple[float, str, bool]:
    """Return how far the requester's room is (share, step label key) and whether it plays."""
    controller = rooms.current()
    if controller is not None:
        ready = controller.ensure_started() or controller.failure is not None
        share, step = controller.progress()
        return share, step, ready
    # Another web worker prepares the room (cockpit/demo/shared.py): its demo view says when.
    view = rooms.read_view_current(DEMO_VIEW) or {}
    ready = bool(view) and not view.get("preparing") and view.get("state") != PREPARING
    return 0.0, "demo_step_elsewhere", ready


def language(config: dict[str, Any] | None) -> str:
    """Return the page's language from its client config (Chinese when it names none)."""
    return pick_language((config or {}).get("lang"), "zh")
