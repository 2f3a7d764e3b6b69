"""Build the demo screen's parts: the caption bar with its controls, and the "preparing" page."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from cockpit.i18n import label

SPEED_OPTIONS = (1, 10, 60, 300)
KIND_ICONS = {
    "info": "ℹ",
    "signal": "◆",
    "alarm": "▲",
    "dispatch": "➜",
    "arrival": "●",
    "handling": "◆",
    "closure": "✓",
}


def demo_page(shell: Any, view: dict[str, Any] | None, lang: str) -> html.Div:
    """Return the wall with the demo's caption bar and controls under it."""
    return html.Div(className="demo-root", children=[shell, demo_bar(view, lang)])


def demo_bar(view: dict[str, Any] | None, lang: str) -> html.Section:
    """Return the caption bar: the current highlight, the last few, the clock and the controls."""
    view = view or {}
    current = view.get("current")
    return html.Section(
        id="demo-bar",
        className="demo-bar",
        **{"aria-label": label("demo_title", lang)},
        children=[
            html.Div(
                className="demo-clock-box",
                children=[
                    html.Div(
                        _source_note(view, lang), id="demo-source-note", className="demo-note"
                    ),
                    html.Div(view.get("time", "—"), id="demo-clock", className="demo-clock"),
                    html.Div(
                        [
                            html.Span(label("demo_sim_time", lang) + " · "),
                            html.Span(
                                label(f"demo_state_{view.get('state', 'preparing')}", lang),
                                id="demo-state",
                            ),
                        ],
                        className="demo-state",
                    ),
                    html.Div(
                        html.Div(
                            id="demo-progress",
                            className="demo-progress-fill",
                            style={"width": f"{100 * (view.get('progress') or 0):.1f}%"},
                        ),
                        className="demo-progress",
                        role="progressbar",
                    ),
                ],
            ),
            html.Div(
                className="demo-captions",
                children=[
                    html.Div(
                        caption_line(current, lang)
                        if current
                        else label("demo_waiting_caption", lang),
                        id="demo-caption",
                        className="demo-caption" + (f" kind-{current['kind']}" if current else ""),
                        role="status",
                        **{"aria-live": "polite"},
                    ),
                    html.Ol(id="demo-history", className="demo-history", reversed=True),
                ],
            ),
            _controls(view, lang),
            # Why a control was refused (not allowed, no room of yours here); empty otherwise.
            html.Div(id="demo-message", className="demo-message", role="alert"),
            dcc.Store(id="demo-ack"),
            dcc.Store(id="demo-reload"),
        ],
    )


def caption_line(caption: dict[str, Any], lang: str) -> list[Any]:
    """Return one caption as a time, an icon with its kind, and the text in the language."""
    kind = caption.get("kind", "info")
    text = caption.get(lang) or caption.get("zh", "")
    return [
        html.Span(caption.get("time", ""), className="demo-caption-time"),
        html.Span(
            f"{KIND_ICONS.get(kind, '•')} {label('demo_kind_' + kind, lang)}",
            className=f"demo-kind kind-{kind}",
        ),
        # Two lines at most on the wall; the title keeps the whole caption.
        html.Span(text, className="demo-caption-text", title=text),
    ]


def _source_note(view: dict[str, Any], lang: str) -> str:
    """Say what is playing: the simulated street, or which recorded day."""
    if view.get("mode") == "replay":
        return f"{label('demo_replay_of', lang)} {view.get('replay_day', '')}"
    return label("demo_synthetic", lang)


def _controls(view: dict[str, Any], lang: str) -> html.Div:
    """Return play/pause, restart, the speed, and the choice of a scripted or recorded day."""
    days = view.get("replay_days") or []
    mode = view.get("mode", "scripted")
    playing = view.get("state") == "playing"
    return html.Div(
        className="demo-controls",
        children=[
            html.Div(
                className="demo-buttons",
                children=[
                    html.Button(
                        label("demo_pause" if playing else "demo_play", lang),
                        id="demo-play",
                        className="demo-button",
                        n_clicks=0,
                    ),
                    html.Button(
                        label("demo_restart", lang),
                        id="demo-restart",
                        className="demo-button",
                        n_clicks=0,
                    ),
                ],
            ),
            html.Label(
                className="demo-field",
                children=[
                    html.Span(label("demo_speed", lang)),
                    dcc.RadioItems(
                        id="demo-speed",
                        className="demo-speed",
                        options=[{"label": f"{s}×", "value": s} for s in SPEED_OPTIONS],
                        value=int(view.get("speed") or 60),
                        inline=True,
                    ),
                ],
            ),
            html.Div(
                className="demo-field",
                children=[
                    dcc.RadioItems(
                        id="demo-source",
                        className="demo-source",
                        options=[
                            {"label": label("demo_scripted", lang), "value": "scripted"},
                            {
                                "label": label("demo_replay", lang),
                                "value": "replay",
                                "disabled": not days,
                            },
                        ],
                        value=mode,
                        inline=True,
                    ),
                    dcc.Dropdown(
                        id="demo-day",
                        className="demo-day",
                        options=[{"label": d, "value": d} for d in days],
                        value=view.get("replay_day") or (days[0] if days else None),
                        placeholder=label("demo_day" if days else "demo_no_days", lang),
                        clearable=False,
                        searchable=False,
                        disabled=not days,
                    ),
                ],
            ),
        ],
    )


def preparing_page(
    lang: str,
    failure: str | None = None,
    *,
    text: str | None = None,
    retry_ms: int = 2000,
    progress: tuple[float, str] | None = None,
) -> html.Div:
    """Return the page shown while the demo street is made.

    While the street is made (no `text`, no failure) it shows a bar and the step under way
    (`progress`: share done, step label key), which callbacks/demo.py moves every second until
    the street is ready, then loads the demo once. Otherwise `text` replaces the "preparing" line (e.g. "all demo rooms are in use"), and the
    page loads itself again every `retry_ms` (0: never).
    """
    if text is None:
        text = label("demo_failed", lang) + failure if failure else label("demo_preparing", lang)
        progress = progress or (0.0, "demo_step_street")
    children: list[Any] = [
        html.H1(label("demo_title", lang)),
        html.P(text, id="demo-preparing", role="status"),
    ]
    if progress is not None and not failure:
        share, step = progress
        children += [
            html.Div(
                html.Div(
                    id="demo-prep-fill",
                    className="demo-prep-fill",
                    style={"width": f"{100 * share:.0f}%"},
                ),
                id="demo-prep-bar",
                className="demo-prep-bar",
                role="progressbar",
                **{"aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": round(100 * share)},
                **{"aria-label": label("demo_preparing", lang)},
            ),
            html.P(preparing_step(share, step, lang), id="demo-prep-step", className="demo-note"),
            dcc.Store(id="demo-prep-lang", data=lang),
            dcc.Store(id="demo-prep-ready"),
            dcc.Interval(id="demo-prep-poll", interval=1000),
        ]
    else:
        children.append(
            dcc.Interval(
                id="demo-wait", interval=max(retry_ms, 1000), disabled=bool(failure) or not retry_ms
            )
        )
    return html.Div(
        className="demo-preparing", lang="zh-CN" if lang == "zh" else "en", children=children
    )


def preparing_step(share: float, step: str, lang: str) -> str:
    """Return the line under the bar: the step under way and how far along, "绘制第一屏 · 90%"."""
    return f"{label(step, lang)} · {100 * share:.0f}%"


def rooms_full_page(lang: str) -> html.Div:
    """Return the page a visitor gets when every demo room is busy; it asks again each minute."""
    return preparing_page(lang, text=label("demo_rooms_full", lang), retry_ms=60_000)
