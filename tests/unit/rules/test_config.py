"""Test loading the rules' thresholds: shipped defaults, user overrides, unknown keys refused."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from cockpit.domain.kinds import ComplaintSource
from cockpit.rules import config as config_module
from cockpit.rules.config import (
    LeaseEnding,
    RulesConfig,
    RulesConfigError,
    load_rules_config,
    merge,
)

ROOT = Path(__file__).resolve().parents[3]


def write(tmp_path: Path, text: str) -> Path:
    """Write a user rules file and return its path."""
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_load_without_a_user_file() -> None:
    """The shipped defaults alone make a complete, frozen configuration."""
    cfg = load_rules_config(None)
    assert isinstance(cfg, RulesConfig)
    assert cfg.elevator.trapped_after_s == 90
    assert cfg.elders.no_water_hours == 12
    assert cfg.elders.running_hours == 3
    assert cfg.elders.no_door_hours == 24
    assert cfg.enterprise.smoke.window_days == 7
    assert set(cfg.enterprise.smoke.source_weights) == set(ComplaintSource)
    assert [t.code for t in cfg.enterprise.visits.optional] == [
        "lease_ending",
        "insurance_drop",
        "relocation",
        "lawsuits",
    ]
    with pytest.raises(ValueError):
        cfg.elevator.trapped_after_s = 10  # type: ignore[misc]


def test_defaults_file_is_shipped_as_package_data() -> None:
    """pyproject ships rules/*.toml, so an installed package finds its defaults."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "rules/*.toml" in pyproject["tool"]["setuptools"]["package-data"]["cockpit"]
    assert (ROOT / "cockpit" / "rules" / "defaults.toml").is_file()


def test_user_file_overrides_one_key_and_keeps_the_rest(tmp_path: Path) -> None:
    """A user file changes only what it names."""
    path = write(
        tmp_path, "[elevator]\ntrapped_after_s = 60\n[enterprise.smoke]\nwindow_days = 14\n"
    )
    cfg = load_rules_config(path)
    assert cfg.elevator.trapped_after_s == 60
    assert cfg.enterprise.smoke.window_days == 14
    assert (
        cfg.enterprise.smoke.prepaid_weight == load_rules_config().enterprise.smoke.prepaid_weight
    )


def test_user_file_merges_source_weights_key_by_key(tmp_path: Path) -> None:
    """An inline table merges with the default one, so one source can be reweighted alone."""
    cfg = load_rules_config(
        write(tmp_path, "[enterprise.smoke]\nsource_weights = { labour = 2.0 }\n")
    )
    assert cfg.enterprise.smoke.source_weights[ComplaintSource.LABOUR] == 2.0
    assert cfg.enterprise.smoke.source_weights[ComplaintSource.POLICE_110] == 1.0


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("typo_section = 1\n", "typo_section"),
        ("[fire.smoke]\nprealarm_obscuration = 2.0\n", "fire.smoke.prealarm_obscuration"),
        ("[elders]\nno_water_hour = 10\n", "elders.no_water_hour"),
        (
            '[enterprise.visits]\noptional = [{ code = "lawsuits", min_cases = 1, '
            "lookback_days = 30, extra = 1 }]\n",
            "enterprise.visits.optional[0].lawsuits.extra",
        ),
    ],
)
def test_unknown_key_is_an_error_naming_it(tmp_path: Path, text: str, key: str) -> None:
    """A misspelt key fails loudly instead of leaving the default silently in force."""
    with pytest.raises(RulesConfigError, match=re.escape(f"unknown key '{key}'")):
        load_rules_config(write(tmp_path, text))


def test_optional_triggers_are_a_replaceable_list(tmp_path: Path) -> None:
    """The four configurable triggers are a list: restating it replaces it, [] turns them off."""
    cfg = load_rules_config(
        write(
            tmp_path,
            '[enterprise.visits]\noptional = [{ code = "lease_ending", within_days = 30 }]\n',
        )
    )
    assert cfg.enterprise.visits.optional == [LeaseEnding(code="lease_ending", within_days=30)]
    assert cfg.enterprise.visits.trigger("lawsuits") is None
    off = load_rules_config(write(tmp_path, "[enterprise.visits]\noptional = []\n"))
    assert off.enterprise.visits.optional == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[enterprise.visits]\noptional = [{ code = "astrology" }]\n', "optional"),
        (
            '[enterprise.visits]\noptional = [{ code = "relocation", min_signals = 1 }, '
            '{ code = "relocation", min_signals = 2 }]\n',
            "repeat",
        ),
        ("[housing]\nyellow_score = 9.0\n", "yellow_score"),
        ("[fire.gas]\nalarm_lel_pct = 80.0\n", "alarm_lel_pct"),
        ("[enterprise.smoke]\nsource_weights = { fax = 1.0 }\n", "source_weights"),
        ("[elevator]\ntrapped_after_s = -5\n", "elevator.trapped_after_s"),
        (
            "[fire.water_pressure]\ntiers = [{ min_height_m = 24.0, min_static_kpa = 100.0 }]\n",
            "min_height_m = 0",
        ),
    ],
)
def test_invalid_values_are_refused(tmp_path: Path, text: str, message: str) -> None:
    """Wrong codes, repeated triggers, crossed thresholds and bad numbers are refused."""
    with pytest.raises(RulesConfigError, match=message):
        load_rules_config(write(tmp_path, text))


def test_unreadable_and_malformed_files_name_the_path(tmp_path: Path) -> None:
    """A missing file or bad TOML is a RulesConfigError naming the file."""
    missing = tmp_path / "nope.toml"
    with pytest.raises(RulesConfigError, match="nope.toml"):
        load_rules_config(missing)
    with pytest.raises(RulesConfigError, match="not valid TOML"):
        load_rules_config(write(tmp_path, "[elevator\n"))


def test_merge_replaces_lists_and_merges_tables() -> None:
    """merge() lays tables over tables and replaces everything else."""
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1}
    assert merge(base, {"a": {"y": [3]}, "c": 2}) == {"a": {"x": 1, "y": [3]}, "b": 1, "c": 2}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 1}


def test_shipped_defaults_must_be_complete(monkeypatch) -> None:
    """A default missing from defaults.toml is reported as a missing key, not guessed in code."""
    real = config_module._read_defaults()
    broken = {**real, "elevator": {}}
    monkeypatch.setattr(config_module, "_read_defaults", lambda: broken)
    with pytest.raises(RulesConfigError, match="missing key 'elevator.trapped_after_s'"):
        load_rules_config(None)
