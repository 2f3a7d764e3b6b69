"""Run the alert-book checks on SQLite."""

from __future__ import annotations

import pytest

from cockpit.alerts import AlertBook, AlertError
from cockpit.live import InProcessLiveStore
from tests import alert_book_contract as contract


def test_one_open_alert_per_condition(sqlite_engine):
    contract.check_one_open_alert_per_condition(sqlite_engine)


def test_lifecycle_and_reopening(sqlite_engine):
    contract.check_lifecycle_and_reopening(sqlite_engine)


def test_escalation_of_unacknowledged(sqlite_engine):
    contract.check_escalation_of_unacknowledged(sqlite_engine)


def test_acknowledging_unknown_or_resolved_alert_is_refused(sqlite_engine):
    book = AlertBook(sqlite_engine, InProcessLiveStore())
    with pytest.raises(AlertError, match="no alert 5"):
        book.acknowledge(5, "x", contract.AT)
    raised = book.raise_candidate(contract.candidate(), contract.AT)
    book.resolve(contract.candidate().condition_key, contract.AT)
    with pytest.raises(AlertError, match="resolved"):
        book.acknowledge(raised.alert_id, "x", contract.AT)


def test_raise_many_opens_new_and_folds_when_one_is_open(sqlite_engine):
    contract.check_raise_many_opens_new_and_folds_when_one_is_open(sqlite_engine)
