"""Keep the README true: every setting listed, two set-up commands, CI running the test one."""

from __future__ import annotations

import re
from pathlib import Path

from cockpit.settings import setting_variables

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_listed_in_the_readme():
    listed = set(re.findall(r"`(COCKPIT_[A-Z0-9_]+)`", README))
    missing = set(setting_variables()) - listed
    assert not missing, f"README lacks settings: {sorted(missing)}"
    unknown = listed - set(setting_variables()) - {"COCKPIT_CONFIG"}
    assert not unknown, f"README lists settings that do not exist: {sorted(unknown)}"


def setup_commands() -> list[str]:
    """Return the code blocks of the README's set-up section."""
    section = README.split("## Set up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```\n(.*?)```", section, flags=re.S)]


def test_readme_has_exactly_two_setup_commands():
    commands = setup_commands()
    assert len(commands) == 2
    assert "python app.py" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    lines = [line.strip() for line in ci.splitlines()]
    assert setup_commands()[1] in lines


def test_every_setting_has_help_text():
    assert all(help_text.strip() for help_text in setting_variables().values())
