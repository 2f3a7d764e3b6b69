"""Run the alert-book checks on the real PostgreSQL, including concurrent raises."""

from __future__ import annotations

import pytest

from tests import alert_book_contract as contract

pytestmark = pytest.mark.integration


def test_one_open_alert_per_condition(postgres_engine):
    contract.check_one_open_alert_per_condition(postgres_engine)


def test_lifecycle_and_reopening(postgres_engine):
    contract.check_lifecycle_and_reopening(postgres_engine)


def test_escalation_of_unacknowledged(postgres_engine):
    contract.check_escalation_of_unacknowledged(postgres_engine)


def test_concurrent_raises_make_one_alert(postgres_engine):
    contract.check_concurrent_raises_make_one_alert(postgres_engine)


def test_raise_many_opens_new_and_folds_when_one_is_open(postgres_engine):
    contract.check_raise_many_opens_new_and_folds_when_one_is_open(postgres_engine)
