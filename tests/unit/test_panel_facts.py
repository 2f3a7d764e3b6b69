"""Check the panel-facts adapters on a seeded tiny street in SQLite."""

from __future__ import annotations

from cockpit.store.database import make_engine
from tests import panel_facts_contract as contract


def test_panel_facts_match_recomputation(sqlite_engine):
    contract.check_panel_facts(sqlite_engine)


def test_building_facts_match_recomputation(sqlite_engine):
    contract.check_building_facts(sqlite_engine)


def test_panels_from_real_facts_carry_no_personal_data(sqlite_engine):
    contract.check_panels_carry_no_personal_data(sqlite_engine)


def test_sql_failure_is_an_adapter_error(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        contract.check_adapter_error(engine)
    finally:
        engine.dispose()
