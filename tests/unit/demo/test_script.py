"""Test the demo script reader: the shipped day loads, bad scripts are refused by name."""

from __future__ import annotations

import copy
from datetime import date, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cockpit.demo.script import (
    CASE_ACTIONS,
    DayScript,
    ScriptError,
    fill,
    load_script,
    parse_script,
    parse_time,
)

GOOD = {
    "start": "08:00",
    "end": "09:00",
    "step": [
        {"at": "08:00", "story": "a", "do": "caption", "zh": "开始", "en": "Start"},
        {"at": "08:10", "story": "b", "do": "incident", "incident": "smoke_alarm"},
        {
            "at": "08:10",
            "story": "b",
            "do": "await_alert",
            "alert_kind": "fire.smoke",
            "kind": "alarm",
            "zh": "{level}预警：{title}",
            "en": "{level} alert: {title}",
        },
        {"at": "08:12", "story": "b", "do": "acknowledge"},
        {
            "at": "08:13",
            "story": "b",
            "do": "dispatch",
            "to": "team:fire",
            "kind": "dispatch",
            "zh": "派遣至{team}",
            "en": "Dispatched to {team}",
        },
        {
            "at": "08:40",
            "story": "b",
            "do": "close",
            "kind": "closure",
            "zh": "{minutes} 分钟结案",
            "en": "Closed after {minutes} minutes",
        },
    ],
}


def broken(**changes) -> dict:
    """Return the good script with one step's fields changed (index "i", None deletes a key)."""
    raw = copy.deepcopy(GOOD)
    index = changes.pop("i")
    for key, value in changes.items():
        if value is None:
            raw["step"][index].pop(key, None)
        else:
            raw["step"][index][key] = value
    return raw


def test_the_shipped_day_loads_with_every_highlight_kind() -> None:
    """The shipped script has an alarm, a dispatch, an arrival and a closure for each incident."""
    script = load_script()
    stories = script.stories()
    for story in ("fire", "elevator", "enterprise"):
        kinds = [step.kind for step in stories[story]]
        for kind in ("alarm", "dispatch", "arrival", "closure"):
            assert kind in kinds, (story, kind)
    assert all(step.zh and step.en for step in script.steps if step.do in CASE_ACTIONS)


def test_a_good_script_parses_in_order() -> None:
    """Steps keep their order, times and bounds; the day's bounds are in Shanghai time."""
    script = parse_script(GOOD)
    assert [s.do for s in script.steps][:3] == ["caption", "incident", "await_alert"]
    start, end = script.bounds(date(2026, 5, 20))
    assert (start.hour, end.hour, start.utcoffset().total_seconds()) == (8, 9, 8 * 3600)
    assert [s.story for s in script.stories()["b"]] == ["b"] * 5


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (broken(i=1, at="8:10"), "step 2: at"),
        (broken(i=1, do="explode"), "do must be one of"),
        (broken(i=1, incident="flood"), "incident must be one of"),
        (broken(i=0, en=None), "both zh and en"),
        (broken(i=4, to="everyone"), "dispatch needs to"),
        (broken(i=4, zh="派遣至{who}"), "unknown placeholders"),
        (broken(i=4, zh="派遣至{team"), "step 5: zh"),
        (broken(i=2, alert_kind=None), "needs alert_kind"),
        (broken(i=2, min_level="purple"), "min_level"),
        (broken(i=3, at="08:05"), "comes before"),
        (broken(i=5, at="09:30"), "outside"),
        (broken(i=2, do="caption"), "acts on a case"),
        (broken(i=0, colour="red"), "unknown keys"),
        ({**GOOD, "end": "07:00"}, "must come after start"),
        ({**GOOD, "step": []}, "at least one"),
        ({**GOOD, "speed": 3}, "unknown keys"),
    ],
)
def test_bad_scripts_are_refused_with_the_step_and_field(raw: dict, message: str) -> None:
    """Each mistake raises ScriptError naming what is wrong."""
    with pytest.raises(ScriptError, match=message):
        parse_script(raw)


def test_a_missing_or_broken_file_is_a_script_error(tmp_path) -> None:
    """A file that is not there, or not TOML, gets a ScriptError naming the file."""
    with pytest.raises(ScriptError, match="nope.toml"):
        load_script(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("start = [", encoding="utf-8")
    with pytest.raises(ScriptError, match="bad.toml"):
        load_script(bad)


@given(st.integers(0, 23), st.integers(0, 59), st.none() | st.integers(0, 59))
def test_parse_time_reads_every_valid_time(hours: int, minutes: int, seconds: int | None) -> None:
    """Any HH:MM or HH:MM:SS reads back as the same time of day."""
    text = f"{hours:02d}:{minutes:02d}" + ("" if seconds is None else f":{seconds:02d}")
    assert parse_time(text, "t") == time(hours, minutes, seconds or 0)


@given(st.text(max_size=12))
def test_parse_time_refuses_anything_else(text: str) -> None:
    """Text that is not a valid time of day raises ScriptError, never anything else."""
    try:
        parsed = parse_time(text, "t")
    except ScriptError:
        return
    assert parsed.strftime("%H:%M") == text[:5]


@given(
    st.dictionaries(
        st.sampled_from(["place", "team", "level", "title"]),
        st.text(st.characters(blacklist_characters="|"), max_size=8),
    )
)
def test_fill_never_fails_on_known_placeholders(values: dict[str, str]) -> None:
    """A caption fills whatever values a story has; missing ones show as a dash."""
    text = fill("{place}|{team}|{level}|{title}|{minutes}", values)
    parts = text.split("|")
    assert parts[-1] == "—"
    assert parts[0] == values.get("place", "—")


def test_stories_group_steps_in_order() -> None:
    """A script's stories list each story's steps in the script's order."""
    script: DayScript = parse_script(GOOD)
    assert [s.index for s in script.stories()["b"]] == [1, 2, 3, 4, 5]
