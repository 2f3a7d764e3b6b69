"""Draw a case card's "what was reported" section: the texts masked, and the reveal form.

The card holds only an empty `CASE_TEXTS` section; callbacks/reveal.py fills it when the card
appears, for the signed-in principal: masked texts for everyone who may read records, and for
those who may reveal, a reason box and a button that shows the words unmasked for a while.
Every text is a Dash component's text (escaped by React), never HTML.
"""

from __future__ import annotations

from collections.abc import Sequence

from dash import dcc, html

from cockpit.cases.texts import ReportText
from cockpit.i18n import LABELS, label
from cockpit.privacy import mask_text
from layouts.cases import CASE_TEXTS, message_line, when

__all__ = ["CASE_TEXTS", "texts_list", "texts_section", "reveal_form"]
TEXTS_BODY = "case-texts-body"  # {"type", "case"}: the texts themselves, masked or revealed
REVEAL_REASON = "case-reveal-reason"  # {"type", "case"}: the reason typed
REVEAL_GO = "case-reveal-go"  # {"type", "case"}: "show unmasked"
REVEAL_TIMER = "case-reveal-timer"  # {"type", "case"}: fires once to mask the texts again
REASON_MIN = 4  # characters: "核实" alone is not a reason; "回访核实" is
REASON_MAX = 500


def texts_section(
    case_id: int,
    texts: Sequence[ReportText],
    lang: str,
    *,
    more: bool = False,
    revealable: bool = False,
    reveal_seconds: float = 120.0,
) -> list:
    """Return the section's children: the heading, the masked texts and, if allowed, the form."""
    children: list = [
        html.H3(label("case_texts_title", lang)),
        html.Div(
            texts_list(texts, lang, more=more),
            id={"type": TEXTS_BODY, "case": case_id},
            className="case-texts-body",
        ),
    ]
    if revealable and texts:
        children.append(reveal_form(case_id, lang, reveal_seconds))
    return children


def texts_list(
    texts: Sequence[ReportText],
    lang: str,
    *,
    revealed: bool = False,
    more: bool = False,
    message: tuple[str, str] | None = None,
) -> list:
    """Return the texts, newest linked ones after the case's own; masked unless `revealed`."""
    items = [
        html.Li(
            className="case-text" + (" is-revealed" if revealed else ""),
            children=[
                html.Div(
                    className="case-text-meta",
                    children=[
                        html.Span(_source_word(text, lang), className="case-text-source"),
                        " · ",
                        html.Span(when(text.at, lang), className="case-text-at"),
                    ],
                ),
                html.P(
                    text.text if revealed else mask_text(text.text), className="case-text-words"
                ),
            ],
        )
        for text in texts
    ]
    return [
        message_line(message),
        html.Ul(items, className="case-text-list")
        if items
        else html.Div(label("case_texts_none", lang), className="note"),
        html.Div(label("case_texts_more", lang), className="note") if more else None,
        html.Div(
            label("case_texts_revealed" if revealed else "case_texts_masked", lang),
            className="note case-texts-state",
        )
        if items
        else None,
    ]


def reveal_form(case_id: int, lang: str, reveal_seconds: float) -> html.Div:
    """Return the reason box, the button and the (still) timer that masks the texts again."""
    return html.Div(
        className="case-reveal",
        children=[
            html.Label(
                className="case-input",
                children=[
                    html.Span(label("case_reveal_reason", lang), className="card-key"),
                    dcc.Input(
                        id={"type": REVEAL_REASON, "case": case_id},
                        type="text",
                        value="",
                        maxLength=REASON_MAX,
                        placeholder=label("case_reveal_placeholder", lang),
                        className="case-reveal-reason",
                        debounce=False,
                    ),
                ],
            ),
            html.Div(
                label("case_reveal_hint", lang).format(n=REASON_MIN, seconds=round(reveal_seconds)),
                className="note",
            ),
            html.Button(
                label("case_reveal_button", lang),
                id={"type": REVEAL_GO, "case": case_id},
                className="case-button case-reveal-go",
                n_clicks=0,
            ),
            dcc.Interval(
                id={"type": REVEAL_TIMER, "case": case_id},
                interval=int(reveal_seconds * 1000),
                n_intervals=0,
                disabled=True,
            ),
        ],
    )


def _source_word(text: ReportText, lang: str) -> str:
    """Return where a text came from, and whether it repeated an earlier report."""
    key = f"case_text_source_{text.source}"
    word = label(key, lang) if key in LABELS else str(text.source)
    return f"{word} ({label('case_text_linked', lang)})" if text.linked else word
