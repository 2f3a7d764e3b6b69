"""Fill a case card's "what was reported" section, and unmask it for a while after a reason.

The section appears masked for everyone who may read records. A principal holding
Permission.REVEAL (COCKPIT_REVEAL_ROLES) may type a reason and see the words unmasked for
COCKPIT_REVEAL_SECONDS; then a dcc.Interval asks once more and gets them masked. Nothing about a
reveal is kept on the server: unmasked words leave it only in the answer to a reveal with a
reason, and every reveal, refused ones too, goes to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dash import MATCH, Dash, Input, Output, State, ctx, html, no_update

from callbacks.cases import LOCATION, profile, tapped
from cockpit.access.audit import OK, REFUSED, AuditLog
from cockpit.access.policy import Permission, Principal, may
from cockpit.cases.texts import REPORTS_LIMIT, CaseTexts
from cockpit.i18n import label
from layouts.reveal import (
    CASE_TEXTS,
    REASON_MAX,
    REASON_MIN,
    REVEAL_GO,
    REVEAL_REASON,
    REVEAL_TIMER,
    TEXTS_BODY,
    texts_list,
    texts_section,
)

WhoIsIt = Callable[[], Principal | None]
# The command room's tablet: a wall shows no free text, a demo page plays another street's cases.
TEXT_MODES = ("tablet",)
# One nudge of the timer's interval, so a second reveal restarts dcc.Interval's countdown.
RESTART_MS = 1


class Refused(Exception):  # noqa: N818 (a verdict, read as one)
    """Say why a reveal was not done, in the reader's language."""


class RevealScreens:
    """Draw the reported texts for one principal and unmask them after a reason, audited."""

    def __init__(
        self,
        texts: CaseTexts,
        default_lang: str,
        *,
        reveal_seconds: float,
        audit: AuditLog | None = None,
        source_ip: Callable[[], str | None] = lambda: None,
        shown: int = REPORTS_LIMIT,
    ) -> None:
        self.texts = texts
        self.default_lang = default_lang
        self.reveal_seconds = reveal_seconds
        self.audit = audit
        self.source_ip = source_ip
        self.shown = shown

    @property
    def reveal_ms(self) -> int:
        """Return how long a reveal shows, in milliseconds (for the card's timer)."""
        return int(self.reveal_seconds * 1000)

    def read(self, case_id: int) -> tuple[list, bool]:
        """Return the texts to draw and whether more exist than are drawn."""
        texts = self.texts.reports(case_id, self.shown + 1)
        return texts[: self.shown], len(texts) > self.shown

    def section(self, principal: Principal | None, case_id: Any, search: str | None) -> Any:
        """Return the section's children as the card appears: masked texts, and the form."""
        lang, mode = profile(search, self.default_lang)
        if not _is_id(case_id) or not may(principal, Permission.VIEW_RECORDS):
            return None  # a wall, a grid worker or a stranger is sent no case text at all
        if mode not in TEXT_MODES:
            return texts_section(case_id, [], lang)[:1] + [
                _plain(label("case_texts_not_here", lang))
            ]
        texts, more = self.read(case_id)
        return texts_section(
            case_id,
            texts,
            lang,
            more=more,
            revealable=principal.may(Permission.REVEAL),
            reveal_seconds=self.reveal_seconds,
        )

    def masked(self, principal: Principal | None, case_id: Any, search: str | None) -> Any:
        """Return the texts masked again once the reveal's time is up."""
        lang, mode = profile(search, self.default_lang)
        if not _is_id(case_id) or not may(principal, Permission.VIEW_RECORDS):
            return []
        if mode not in TEXT_MODES:
            return [_plain(label("case_texts_not_here", lang))]
        texts, more = self.read(case_id)
        expired = ("repeat", label("case_reveal_expired", lang))
        return texts_list(texts, lang, more=more, message=expired)

    def reveal(
        self,
        principal: Principal | None,
        case_id: Any,
        reason: str | None,
        search: str | None,
    ) -> tuple[Any, bool]:
        """Return (the texts, whether the timer stays off): unmasked after a valid reason.

        A refusal (role, screen, no reason, nothing to show) returns the texts masked with why,
        and is audited as refused; an accepted reveal is audited with its reason.
        """
        lang, mode = profile(search, self.default_lang)
        if not _is_id(case_id):
            return no_update, True
        typed = (reason or "").strip()[:REASON_MAX]
        try:
            if not may(principal, Permission.VIEW_RECORDS) or not principal.may(Permission.REVEAL):
                raise Refused(label("case_reveal_not_allowed", lang))
            if mode not in TEXT_MODES:
                raise Refused(label("case_reveal_not_here", lang))
            if len(typed) < REASON_MIN:
                raise Refused(label("case_reveal_need_reason", lang).format(n=REASON_MIN))
            texts, more = self.read(case_id)
            if not texts:
                raise Refused(label("case_reveal_nothing", lang))
        except Refused as why:
            self._audit(principal, case_id, typed, REFUSED, {"refused": str(why), "mode": mode})
            if not may(principal, Permission.VIEW_RECORDS):
                return [], True
            message = ("error", label("case_reveal_refused", lang).format(reason=str(why)))
            if mode not in TEXT_MODES:
                return [_plain(message[1], "case-message case-message-error")], True
            texts, more = self.read(case_id)
            return texts_list(texts, lang, more=more, message=message), True
        self._audit(
            principal,
            case_id,
            typed,
            OK,
            {"texts": len(texts), "seconds": self.reveal_seconds, "mode": mode},
        )
        shown = ("ok", label("case_reveal_shown", lang).format(seconds=round(self.reveal_seconds)))
        return texts_list(texts, lang, revealed=True, more=more, message=shown), False

    def _audit(
        self,
        principal: Principal | None,
        case_id: int,
        reason: str,
        outcome: str,
        detail: dict[str, Any],
    ) -> None:
        """Write one reveal, done or refused, with its reason, to the audit log."""
        if self.audit is None:
            return
        self.audit.record(
            principal.actor if principal else "anonymous",
            "reveal",
            role=principal.role.value if principal else None,
            record=("case", case_id),
            reason=reason or None,
            outcome=outcome,
            source_ip=self.source_ip(),
            detail=detail,
        )


def _is_id(value: Any) -> bool:
    """Tell whether a value from the page is a case id (an int, not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _plain(text: str, class_name: str = "note") -> html.Div:
    """Return one line of text."""
    return html.Div(text, className=class_name)


def fired(triggered: list[dict[str, Any]] | None) -> tuple[str, int] | None:
    """Return (component type, case id) of the button tapped or timer run, else None.

    A component merely drawn (n_clicks 0, n_intervals 0) fires nothing.
    """
    component = tapped(triggered)
    if component is not None and _is_id(component.get("case")):
        return str(component.get("type")), component["case"]
    return None


def register(
    app: Dash,
    texts: CaseTexts,
    default_lang: str,
    *,
    reveal_seconds: float,
    who: WhoIsIt,
    audit: AuditLog | None = None,
    source_ip: Callable[[], str | None] = lambda: None,
) -> None:
    """Attach the fill and the reveal/re-mask callbacks of the case card's texts."""
    screens = RevealScreens(
        texts, default_lang, reveal_seconds=reveal_seconds, audit=audit, source_ip=source_ip
    )

    @app.callback(
        Output({"type": CASE_TEXTS, "case": MATCH}, "children"),
        Input({"type": CASE_TEXTS, "case": MATCH}, "id"),
        State(LOCATION, "search"),
    )
    def fill(component_id: dict[str, Any], search: str | None):
        """Fill the section of a card just drawn (or redrawn): masked, whoever asks."""
        return screens.section(who(), (component_id or {}).get("case"), search)

    @app.callback(
        Output({"type": TEXTS_BODY, "case": MATCH}, "children"),
        Output({"type": REVEAL_TIMER, "case": MATCH}, "disabled"),
        Output({"type": REVEAL_TIMER, "case": MATCH}, "interval"),
        Output({"type": REVEAL_REASON, "case": MATCH}, "value"),
        Input({"type": REVEAL_GO, "case": MATCH}, "n_clicks"),
        Input({"type": REVEAL_TIMER, "case": MATCH}, "n_intervals"),
        State({"type": REVEAL_REASON, "case": MATCH}, "value"),
        State(LOCATION, "search"),
        prevent_initial_call=True,
    )
    def reveal_or_mask(clicks: int | None, _ticks: int | None, reason: str | None, search):
        """Unmask after a tap with a reason; mask again (and empty the reason) when time is up."""
        hit = fired(ctx.triggered)
        if hit is None:
            return no_update, no_update, no_update, no_update
        kind, case_id = hit
        if kind == REVEAL_TIMER:
            return screens.masked(who(), case_id, search), True, no_update, ""
        body, stay_off = screens.reveal(who(), case_id, reason, search)
        if stay_off:
            return body, True, no_update, no_update
        # A changed interval restarts the countdown: a second reveal gets its full time.
        return body, False, screens.reveal_ms + RESTART_MS * ((clicks or 0) % 2), no_update
