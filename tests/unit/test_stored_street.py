"""Check that settings a seeded store overrides are named as ignored, and only those."""

from __future__ import annotations

import logging

from cockpit.runtime import Runtime
from cockpit.settings import Settings
from cockpit.simulator.generator import seed_street
from cockpit.store.stored_street import ignored_settings
from tests.streets import tiny_tier


def seeded(engine, seed: int = 7) -> None:
    seed_street(engine, tiny_tier(), seed, (121.537, 31.279))


def test_nothing_is_ignored_when_nothing_was_set(sqlite_engine):
    seeded(sqlite_engine)
    assert ignored_settings(Settings(), sqlite_engine) == []


def test_a_set_scale_and_seed_the_store_contradicts_are_named(sqlite_engine):
    seeded(sqlite_engine, seed=7)
    said = ignored_settings(Settings(scale="changbai", seed=7), sqlite_engine)
    assert len(said) == 1  # the seed agrees with the store: not named
    assert said[0].startswith("COCKPIT_SCALE=changbai is ignored")
    assert "tiny street" in said[0] and "scale=tiny" in said[0]
    said = ignored_settings(Settings(seed=8, map_center_lat=31.279), sqlite_engine)
    assert [s.split("=")[0] for s in said] == ["COCKPIT_SEED"]


def test_an_empty_store_ignores_nothing(sqlite_engine):
    assert ignored_settings(Settings(scale="changbai"), sqlite_engine) == []


def test_a_start_on_a_seeded_store_logs_the_ignored_scale(tmp_path, caplog):
    first = Settings(data_dir=tmp_path, scale="changbai", auto_seed=False)
    runtime = Runtime.open(first)
    seeded(runtime.engine)
    runtime.stop()
    with caplog.at_level(logging.WARNING, logger="cockpit.runtime"):
        Runtime.open(first).stop()
    assert any("COCKPIT_SCALE=changbai is ignored" in r.getMessage() for r in caplog.records)
