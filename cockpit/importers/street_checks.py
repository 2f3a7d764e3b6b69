"""Check, before anything is written, where an import leaves buildings, people and uses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import shapely

from cockpit.domain.kinds import BuildingUse
from cockpit.geo import METRES_PER_DEGREE_LAT, LocalFrame
from cockpit.importers.errors import ImportRefusedError

# A street boundary runs along road centre lines and an OSM export is cut by a box, so a
# building just across the line is normal; one further out than this is not the street's.
OUTSIDE_MARGIN_M = 50.0
ALLOW_OUTSIDE = "pass --allow-outside"
ALLOW_MISSING_USES = "pass --allow-missing-uses"
ENTERPRISE_USES = (BuildingUse.OFFICE.value, BuildingUse.COMMERCIAL.value)


def in_metres(geometry: shapely.Geometry, frame: LocalFrame) -> shapely.Geometry:
    """Return a lon/lat shapely geometry in the frame's metres east and north."""
    per_lon = METRES_PER_DEGREE_LAT * np.cos(np.radians(frame.lat0))

    def move(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(
            ((xy[:, 0] - frame.lon0) * per_lon, (xy[:, 1] - frame.lat0) * METRES_PER_DEGREE_LAT)
        )

    return shapely.transform(geometry, move)


def outside_boundary(
    boundary: Mapping[str, Any], points: Sequence[tuple[float, float]], frame: LocalFrame
) -> np.ndarray:
    """Return for each lon/lat point whether it lies further than the margin outside the boundary."""
    if not points:
        return np.zeros(0, dtype=bool)
    outline = in_metres(shapely.geometry.shape(boundary), frame)
    xy = in_metres(shapely.points(np.asarray(points, dtype=float)), frame)
    return shapely.distance(outline, xy) > OUTSIDE_MARGIN_M


def refuse_outside(
    what: str,
    buildings_outside: int,
    buildings: int,
    households_outside: int,
    households: int,
    allow: bool,
) -> None:
    """Refuse an import leaving buildings, and so people, outside the street's boundary.

    `what` names the cause: "the new buildings" or "the new boundary".
    """
    # Most, not any: an export's edge or a boundary redrawn by a few metres leaves a few
    # buildings out, which the report counts; most of them out means the wrong place.
    if allow or (buildings_outside * 2 <= buildings and households_outside * 2 <= households):
        return
    raise ImportRefusedError(
        f"{what} would leave most buildings or households more than {OUTSIDE_MARGIN_M:.0f} m "
        "outside the street's boundary",
        {
            "buildings_outside": buildings_outside,
            "of_buildings": buildings,
            "households_outside": households_outside,
            "of_households": households,
        },
        ALLOW_OUTSIDE,
    )


def check_uses(
    before: Mapping[str, int],
    after: Mapping[str, int],
    households: int,
    enterprises: int,
    allow: bool,
) -> list[str]:
    """Refuse buildings that leave households or enterprises no building of their use; warn of uses gone."""
    homes = after.get(BuildingUse.RESIDENTIAL.value, 0)
    workplaces = sum(after.get(use, 0) for use in ENTERPRISE_USES)
    if not allow and households and not homes:
        raise ImportRefusedError(
            "the new buildings have no residential building for the street's households",
            {"households": households, "residential_buildings": 0},
            ALLOW_MISSING_USES,
        )
    if not allow and enterprises and not workplaces:
        raise ImportRefusedError(
            "the new buildings have no office or commercial building for the street's enterprises",
            {"enterprises": enterprises, "office_and_commercial_buildings": 0},
            ALLOW_MISSING_USES,
        )
    return [
        f"{use} buildings drop from {count} to 0"
        + (
            f": the street's {enterprises} enterprises move into "
            f"{workplaces or sum(after.values())} other buildings"
            if use in ENTERPRISE_USES and enterprises
            else ""
        )
        for use, count in sorted(before.items())
        if count and not after.get(use)
    ]
