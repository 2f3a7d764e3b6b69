"""Test the rule results: no alert without a reason, stable condition keys, JSON-ready reasons."""

from __future__ import annotations

import json
import math

import pytest

from cockpit.domain.kinds import AlertLevel
from cockpit.rules.results import (
    AlertCandidate,
    Reason,
    Routing,
    RuleKind,
    condition_key,
    is_number,
    level_rank,
)

REASON = Reason("test", "测试", "test", 1, 2)


def candidate(**changes) -> AlertCandidate:
    """Return a valid candidate with some fields changed."""
    fields = {
        "kind": "fire.smoke",
        "level": AlertLevel.RED,
        "object_type": "device",
        "object_id": 7,
        "condition_key": "fire.smoke:device:7",
        "title_zh": "烟感报警",
        "title_en": "Smoke alarm",
        "reasons": (REASON,),
    }
    return AlertCandidate(**{**fields, **changes})


def test_a_candidate_without_reasons_is_impossible() -> None:
    """Empty reasons, a list instead of a tuple, or non-Reason items raise."""
    with pytest.raises(ValueError, match="reason"):
        candidate(reasons=())
    with pytest.raises(ValueError):
        candidate(reasons=[REASON])
    with pytest.raises(TypeError):
        candidate(reasons=("a reason as text",))


def test_a_candidate_must_fit_the_alert_table() -> None:
    """Kind, key and titles are checked against the Alert columns; level must be an AlertLevel."""
    with pytest.raises(ValueError):
        candidate(kind="k" * 33)
    with pytest.raises(ValueError):
        candidate(condition_key="")
    with pytest.raises(ValueError):
        candidate(title_en="")
    with pytest.raises(TypeError):
        candidate(level="red")
    with pytest.raises(ValueError):
        candidate(routing="r" * 25)


def test_build_derives_a_stable_key_per_kind_and_object() -> None:
    """The same kind and object always give the same key; another kind or object another key."""
    a = AlertCandidate.build(RuleKind.SMOKE, AlertLevel.RED, "device", 7, "z", "e", (REASON,))
    b = AlertCandidate.build(RuleKind.SMOKE, AlertLevel.YELLOW, "device", 7, "z", "e", (REASON,))
    assert a.condition_key == b.condition_key == "fire.smoke:device:7"
    assert a.kind == "fire.smoke"
    keys = {
        condition_key(RuleKind.SMOKE, "device", 8),
        condition_key(RuleKind.GAS, "device", 7),
        condition_key(RuleKind.SMOKE, "resident", 7),
        a.condition_key,
    }
    assert len(keys) == 4
    assert condition_key(RuleKind.ENTERPRISE_VISIT, "enterprise", 3, "lawsuits").endswith(
        ":lawsuits"
    )


def test_every_kind_and_routing_fits_its_column() -> None:
    """Every rule kind fits Alert.kind (32 characters), every routing Alert.routing (24)."""
    assert all(len(kind.value) <= 32 for kind in RuleKind)
    assert all(len(route.value) <= 24 for route in Routing)


def test_reasons_are_json_ready() -> None:
    """reasons_json() round-trips through JSON as the Alert.reasons column stores it."""
    c = candidate()
    assert json.loads(json.dumps(c.reasons_json())) == [
        {"code": "test", "text_zh": "测试", "text_en": "test", "value": 1, "threshold": 2}
    ]


def test_reasons_refuse_empty_texts_and_non_finite_values() -> None:
    """A reason needs texts; NaN and infinity cannot be stored as JSON facts."""
    with pytest.raises(ValueError):
        Reason("x", "", "x")
    with pytest.raises(ValueError):
        Reason("x", "x", "x", math.nan)
    with pytest.raises(ValueError):
        Reason("x", "x", "x", 1, math.inf)


def test_helpers() -> None:
    """Levels order blue < yellow < orange < red; booleans and NaN are not numbers."""
    ranks = [level_rank(level) for level in (None, *reversed(AlertLevel))]
    assert ranks == sorted(ranks) and len(set(ranks)) == 5
    assert is_number(3) and is_number(2.5)
    assert not is_number(True) and not is_number(math.nan) and not is_number("3")
