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
