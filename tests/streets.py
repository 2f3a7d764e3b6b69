"""Provide small streets for tests: the tier shape of Changbai at a few hundred residents."""

from __future__ import annotations

import dataclasses

from cockpit.simulator.tiers import TIERS, Tier


def tiny_tier(**overrides) -> Tier:
    """Return a tiny tier that seeds in well under a second."""
    base = dict(
        name="tiny",
        area_km2=0.6,
        communities=2,
        compounds=3,
        grids=4,
        households=300,
        residents=700,
        office_buildings=2,
        enterprises=40,
        fire_devices=60,
        grid_workers=6,
        taxi_kiosks=3,
        taxi_kiosk_areas=2,
    )
    base.update(overrides)
    return dataclasses.replace(TIERS["changbai"], **base)


def live_worker(engine, live, clock, **extra):
    """Return a view-model worker on the registry, device list and live state, and nothing more.

    The polls are the tests' usual (registry 10 s, devices 60 s, live state 1 s, stale after
    30 s); `extra` goes to ViewModelWorker (alerts=, ingest_health=, ...).
    """
    from datetime import timedelta

    from cockpit.worker import ViewModelWorker
    from data_adapters.live_state import LiveStateAdapter
    from data_adapters.registry import DeviceRegistryAdapter, RegistryAdapter

    return ViewModelWorker(
        RegistryAdapter(engine, clock, timedelta(seconds=10)),
        DeviceRegistryAdapter(engine, clock, timedelta(seconds=60)),
        LiveStateAdapter(live, clock, timedelta(seconds=1)),
        live,
        clock,
        timedelta(seconds=30),
        **extra,
    )
