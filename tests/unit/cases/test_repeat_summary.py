"""Check that folding repeat reports into one summary row counts them and keeps first and last."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import reduce

from hypothesis import given
from hypothesis import strategies as st

from cockpit.cases.desk import fold_repeat
from layouts.cases import _step, fingerprint

T0 = datetime(2026, 11, 23, 0, 2, tzinfo=UTC)


def link(minutes: int, n: int) -> dict:
    """Return the history row one repeat report brings, as the case desk makes it."""
    at = T0 + timedelta(minutes=minutes)
    return {
        "case_id": 1,
        "action": "link",
        "from_state": "reported",
        "to_state": "reported",
        "actor": "resident",
        "at": at,
        "note": f"resident:{n} 设施报修",
        "target": None,
        "action_key": "link:repeats",
        "repeats": 1,
        "last_at": at,
    }


@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=300), st.randoms())
def test_any_order_of_repeats_gives_the_count_the_first_and_the_last(minutes, rng):
    links = [link(m, n) for n, m in enumerate(minutes)]
    rng.shuffle(links)
    summary = reduce(fold_repeat, links[1:], fold_repeat(None, links[0]))
    assert summary["repeats"] == len(minutes)
    assert summary["at"] == T0 + timedelta(minutes=min(minutes))
    assert summary["last_at"] == T0 + timedelta(minutes=max(minutes))
    latest = {link["note"] for link in links if link["at"] == summary["last_at"]}
    assert summary["note"] in latest  # the newest repeat's words, not an older one's
    assert set(summary) == set(links[0])  # the same row, never a growing one


@given(st.lists(st.integers(0, 10_000), min_size=2, max_size=60), st.integers(1, 59))
def test_summaries_fold_into_each_other_as_their_repeats_would(minutes, cut):
    cut = min(cut, len(minutes) - 1)
    links = [link(m, n) for n, m in enumerate(minutes)]
    left = reduce(fold_repeat, links[1:cut], fold_repeat(None, links[0]))
    right = reduce(fold_repeat, links[cut + 1 :], fold_repeat(None, links[cut]))
    whole = fold_repeat(left, right)
    assert (whole["repeats"], whole["at"], whole["last_at"]) == (
        len(minutes),
        T0 + timedelta(minutes=min(minutes)),
        T0 + timedelta(minutes=max(minutes)),
    )


def test_the_card_says_how_many_repeats_and_when_the_first_and_last_came():
    entry = {
        "action": "link",
        "from_state": "reported",
        "to_state": "reported",
        "at": "2026-11-23T00:02:00+00:00",
        "last_at": "2026-11-23T03:40:00+00:00",
        "repeats": 312,
    }
    assert _step(entry, "en") == "Repeated ×312, first 2026-11-23 08:02, last 2026-11-23 11:40"
    assert _step(entry, "zh") == "重复上报 ×312，首次 2026-11-23 08:02，最近 2026-11-23 11:40"


def test_a_new_repeat_redraws_an_open_card():
    case = {
        "state": "reported",
        "history": [{"action": "report"}, {"action": "link", "repeats": 3}],
    }
    more = {
        "state": "reported",
        "history": [{"action": "report"}, {"action": "link", "repeats": 4}],
    }
    assert fingerprint(case) != fingerprint(more)
