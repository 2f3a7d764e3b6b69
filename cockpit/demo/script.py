"""Read and check the demo's script of the day: timed steps, each with a short zh/en caption.

A script (cockpit/demo/day.toml) names the local start and end of the day and a list of steps:

    start = "08:00"
    end = "12:40"
    [[step]]
    at = "08:12"            # local time of day (Asia/Shanghai), HH:MM or HH:MM:SS
    story = "fire"          # a story's steps run in order; a wait holds back only its story
    do = "incident"         # see ACTIONS
    incident = "smoke_alarm"
    kind = "alarm"          # the caption's kind: see KINDS
    zh = "{place}烟感报警"
    en = "Smoke alarm at {place}"

Captions may use {place}, {team}, {level}, {title} and {minutes} (since the story's first step).
A bad script raises ScriptError naming the step and the field.
"""

from __future__ import annotations

import re
import string
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from cockpit.clock import DISPLAY_ZONE

DEFAULT_SCRIPT = Path(__file__).with_name("day.toml")

INCIDENTS = (
    "smoke_alarm",
    "trapped_elevator",
    "enterprise_110",
    "enterprise_12345",
    "enterprise_96315",
)
CASE_ACTIONS = ("acknowledge", "dispatch", "accept", "arrive", "handled", "verify", "close")
ACTIONS = ("caption", "incident", "await_alert", *CASE_ACTIONS, "revisit")
KINDS = ("info", "signal", "alarm", "dispatch", "arrival", "handling", "closure")
PLACEHOLDERS = frozenset({"place", "team", "level", "title", "minutes"})
LEVELS = ("blue", "yellow", "orange", "red")
_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?")


class ScriptError(ValueError):
    """Refuse a demo script that cannot be played, naming the step and the field."""


@dataclass(frozen=True, slots=True)
class Step:
    """Describe one timed step of the scripted day."""

    index: int
    at: time
    story: str
    do: str
    kind: str
    zh: str
    en: str
    incident: str | None = None
    alert_kind: str | None = None
    min_level: str = "blue"
    to: str | None = None
    satisfaction: int | None = None

    @property
    def captioned(self) -> bool:
        """Tell whether the step shows a caption."""
        return bool(self.zh)


@dataclass(frozen=True, slots=True)
class DayScript:
    """Hold the start, the end and the steps of a scripted day, in time order."""

    start: time
    end: time
    steps: tuple[Step, ...]

    def bounds(self, day: date) -> tuple[datetime, datetime]:
        """Return the day's start and end as aware datetimes in the street's zone."""
        return (
            datetime.combine(day, self.start, DISPLAY_ZONE),
            datetime.combine(day, self.end, DISPLAY_ZONE),
        )

    def when(self, step: Step, day: date) -> datetime:
        """Return when a step is due on the day."""
        return datetime.combine(day, step.at, DISPLAY_ZONE)

    def stories(self) -> dict[str, list[Step]]:
        """Return the steps of each story, in order."""
        stories: dict[str, list[Step]] = {}
        for step in self.steps:
            stories.setdefault(step.story, []).append(step)
        return stories


def parse_time(value: object, where: str) -> time:
    """Return a local time of day from "HH:MM" or "HH:MM:SS"."""
    match = _TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ScriptError(f"{where}: expected a time of day like 08:15 or 08:15:30, got {value!r}")
    hours, minutes, seconds = match.groups()
    return time(int(hours), int(minutes), int(seconds or 0))


def load_script(path: Path | None = None) -> DayScript:
    """Read a script file (default: the shipped day.toml) and check it."""
    path = path or DEFAULT_SCRIPT
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScriptError(f"{path}: {exc}") from exc
    return parse_script(raw, str(path))


def parse_script(raw: dict[str, Any], source: str = "script") -> DayScript:
    """Return the checked script from its TOML table."""
    unknown = set(raw) - {"start", "end", "step"}
    if unknown:
        raise ScriptError(f"{source}: unknown keys {sorted(unknown)}")
    start = parse_time(raw.get("start"), f"{source}: start")
    end = parse_time(raw.get("end"), f"{source}: end")
    if end <= start:
        raise ScriptError(f"{source}: end {end} must come after start {start}")
    items = raw.get("step", [])
    if not isinstance(items, list) or not items:
        raise ScriptError(f"{source}: needs at least one [[step]]")
    steps = tuple(_step(i, item, f"{source}: step {i + 1}") for i, item in enumerate(items))
    for before, after in zip(steps, steps[1:], strict=False):
        if after.at < before.at:
            raise ScriptError(
                f"{source}: step {after.index + 1} at {after.at} comes before step "
                f"{before.index + 1} at {before.at}; list steps in time order"
            )
    for step in steps:
        if not start <= step.at <= end:
            raise ScriptError(
                f"{source}: step {step.index + 1} at {step.at} is outside {start}–{end}"
            )
    for story, story_steps in DayScript(start, end, steps).stories().items():
        needs_alert = [s for s in story_steps if s.do in (*CASE_ACTIONS, "revisit")]
        waits = [s for s in story_steps if s.do == "await_alert"]
        if needs_alert and (not waits or waits[0].index > needs_alert[0].index):
            raise ScriptError(
                f"{source}: story {story!r} acts on a case (step {needs_alert[0].index + 1}) "
                "before any await_alert step found its alert"
            )
        if waits and not any(s.do == "incident" for s in story_steps):
            raise ScriptError(f"{source}: story {story!r} waits for an alert but has no incident")
    return DayScript(start, end, steps)


def _step(index: int, item: object, where: str) -> Step:
    """Return one checked step."""
    if not isinstance(item, dict):
        raise ScriptError(f"{where}: must be a table")
    allowed = {
        "at",
        "story",
        "do",
        "kind",
        "zh",
        "en",
        "incident",
        "alert_kind",
        "min_level",
        "to",
        "satisfaction",
    }
    unknown = set(item) - allowed
    if unknown:
        raise ScriptError(f"{where}: unknown keys {sorted(unknown)}")
    do = item.get("do")
    if do not in ACTIONS:
        raise ScriptError(f"{where}: do must be one of {', '.join(ACTIONS)}, got {do!r}")
    story = item.get("story")
    if not isinstance(story, str) or not story.strip():
        raise ScriptError(f"{where}: story must be a non-empty name")
    kind = item.get("kind", "info")
    if kind not in KINDS:
        raise ScriptError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    zh, en = item.get("zh", ""), item.get("en", "")
    if not isinstance(zh, str) or not isinstance(en, str) or bool(zh) != bool(en):
        raise ScriptError(f"{where}: give both zh and en captions, or neither")
    if do == "caption" and not zh:
        raise ScriptError(f"{where}: a caption step needs zh and en text")
    for lang, text in (("zh", zh), ("en", en)):
        _check_placeholders(text, f"{where}: {lang}")
    incident = item.get("incident")
    if do == "incident" and incident not in INCIDENTS:
        raise ScriptError(f"{where}: incident must be one of {', '.join(INCIDENTS)}")
    alert_kind = item.get("alert_kind")
    if do == "await_alert" and not (isinstance(alert_kind, str) and alert_kind):
        raise ScriptError(f"{where}: await_alert needs alert_kind, e.g. fire.smoke")
    min_level = item.get("min_level", "blue")
    if min_level not in LEVELS:
        raise ScriptError(f"{where}: min_level must be one of {', '.join(LEVELS)}")
    to = item.get("to")
    if do == "dispatch" and not (
        isinstance(to, str) and (to == "grid_worker" or to.startswith("team:"))
    ):
        raise ScriptError(f'{where}: dispatch needs to = "team:<kind>" or "grid_worker"')
    satisfaction = item.get("satisfaction")
    if do == "revisit" and satisfaction not in range(1, 6):
        raise ScriptError(f"{where}: revisit needs a satisfaction from 1 to 5")
    return Step(
        index=index,
        at=parse_time(item.get("at"), f"{where}: at"),
        story=story,
        do=do,
        kind=kind,
        zh=zh,
        en=en,
        incident=incident,
        alert_kind=alert_kind,
        min_level=min_level,
        to=to,
        satisfaction=satisfaction,
    )


def _check_placeholders(text: str, where: str) -> None:
    """Refuse a caption with an unknown {placeholder} or a stray brace."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise ScriptError(f"{where}: {exc} in {text!r}") from exc
    unknown = names - PLACEHOLDERS
    if unknown:
        raise ScriptError(
            f"{where}: unknown placeholders {sorted(unknown)}; known: {sorted(PLACEHOLDERS)}"
        )


def fill(text: str, values: dict[str, str]) -> str:
    """Return a caption with its placeholders filled; a missing value shows as a dash."""
    return string.Formatter().vformat(text, (), _Defaults(values))


class _Defaults(dict):
    """Give "—" for a placeholder the step has no value for yet."""

    def __missing__(self, key: str) -> str:
        return "—"
