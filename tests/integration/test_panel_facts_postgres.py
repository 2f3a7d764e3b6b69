"""Check the panel-facts adapters on the real PostgreSQL: its day arithmetic and grouping."""

from __future__ import annotations

import pytest

from cockpit.store.database import make_engine
from tests import panel_facts_contract as contract

pytestmark = pytest.mark.integration


def test_panel_facts_match_recomputation(postgres_engine):
    contract.check_panel_facts(postgres_engine)


def test_building_facts_match_recomputation(postgres_engine):
    contract.check_building_facts(postgres_engine)


def test_panels_from_real_facts_carry_no_personal_data(postgres_engine):
    contract.check_panels_carry_no_personal_data(postgres_engine)


def test_sql_failure_is_an_adapter_error(postgres_url):
    engine = make_engine(postgres_url)  # an empty schema: no tables to read
    try:
        contract.check_adapter_error(engine)
    finally:
        engine.dispose()
