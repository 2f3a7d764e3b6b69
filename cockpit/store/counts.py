"""Count the street's registries: the figures `cockpit stats` prints and the first page shows."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from cockpit.domain.kinds import FIRE_DEVICE_KINDS, BuildingUse
from cockpit.store import schema as s

STAT_NAMES = (
    "communities",
    "compounds",
    "grids",
    "buildings",
    "office_buildings",
    "households",
    "residents",
    "enterprises",
    "fire_devices",
    "devices",
    "grid_workers",
)


def registry_counts(engine: Engine) -> dict[str, int]:
    """Return the registry counts in STAT_NAMES order, in one round trip."""

    def count(model, *where):
        return select(func.count()).select_from(model).where(*where).scalar_subquery()

    query = select(
        count(s.Community).label("communities"),
        count(s.Compound).label("compounds"),
        count(s.Grid).label("grids"),
        count(s.Building).label("buildings"),
        count(s.Building, s.Building.use == BuildingUse.OFFICE.value).label("office_buildings"),
        count(s.Household).label("households"),
        count(s.Resident).label("residents"),
        count(s.Enterprise).label("enterprises"),
        count(s.Device, s.Device.kind.in_([k.value for k in FIRE_DEVICE_KINDS])).label(
            "fire_devices"
        ),
        count(s.Device).label("devices"),
        count(s.GridWorker).label("grid_workers"),
    )
    with engine.connect() as conn:
        row = conn.execute(query).one()
    return {name: int(row._mapping[name]) for name in STAT_NAMES}
