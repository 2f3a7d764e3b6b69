"""Define the street sizes the simulator reproduces, taken from the field studies."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Tier:
    """Give the exact counts and the character of one simulated street."""

    name: str
    street_name: str
    street_code: str  # 6-digit district code + 3-digit street code
    area_km2: float
    communities: int
    compounds: int
    grids: int
    households: int
    residents: int
    office_buildings: int
    enterprises: int
    fire_devices: int
    grid_workers: int
    taxi_kiosks: int
    taxi_kiosk_areas: int
    households_per_building: int  # typical size of a residential building
    households_per_floor: int
    elder_share: float  # residents aged 60 and over
    floating_share: float  # residents not registered here (流动人口)
    group_rent_share: float  # households showing signs of group renting (群租)


TIERS: dict[str, Tier] = {
    # Changbai Xincun, Shanghai: 1950s workers' village, old walk-ups, many elders.
    "changbai": Tier(
        name="changbai",
        street_name="长白新村街道",
        street_code="310110012",
        area_km2=3.05,
        communities=16,
        compounds=45,
        grids=48,
        households=37_000,
        residents=70_000,
        office_buildings=12,
        enterprises=1_800,
        fire_devices=2_400,
        grid_workers=120,
        taxi_kiosks=11,
        taxi_kiosk_areas=9,
        households_per_building=42,
        households_per_floor=7,
        elder_share=0.36,
        floating_share=0.18,
        group_rent_share=0.012,
    ),
    # S street, Hangzhou: new-city core with office towers and high-rise housing.
    "s-street": Tier(
        name="s-street",
        street_name="S 街道",
        street_code="330104005",
        area_km2=9.0,
        communities=11,
        compounds=66,
        grids=88,
        households=38_500,
        residents=100_000,
        office_buildings=93,
        enterprises=9_971,
        fire_devices=6_037,
        grid_workers=366,
        taxi_kiosks=11,
        taxi_kiosk_areas=9,
        households_per_building=72,
        households_per_floor=4,
        elder_share=0.21,
        floating_share=0.38,
        group_rent_share=0.015,
    ),
    # A whole district: ten times S street.
    "district": Tier(
        name="district",
        street_name="示范区",
        street_code="330104000",
        area_km2=90.0,
        communities=110,
        compounds=660,
        grids=880,
        households=385_000,
        residents=1_000_000,
        office_buildings=930,
        enterprises=99_710,
        fire_devices=60_370,
        grid_workers=3_660,
        taxi_kiosks=110,
        taxi_kiosk_areas=90,
        households_per_building=72,
        households_per_floor=4,
        elder_share=0.21,
        floating_share=0.38,
        group_rent_share=0.015,
    ),
}


def get_tier(name: str, street_code: str | None = None, street_name: str | None = None) -> Tier:
    """Return the tier of that name, under another street code and name if given; ValueError if unknown."""
    try:
        tier = TIERS[name]
    except KeyError:
        raise ValueError(f"unknown scale {name!r}; choose one of {', '.join(TIERS)}") from None
    # Two cockpits of one tier on one broker need codes of their own: the code names the topics.
    if street_code:
        tier = replace(tier, street_code=street_code)
    # A street seeded under its own name carries it in the store and in every address.
    return (
        replace(tier, street_name=street_name.strip())
        if street_name and street_name.strip()
        else tier
    )
