"""Name the settings a store already seeded overrides, so a start can say they are ignored."""

from __future__ import annotations

from sqlalchemy import Engine, select

from cockpit.settings import Settings
from cockpit.store import schema

# Setting → the stored street's column that decided it when the street was seeded.
SEEDED_BY = {
    "scale": "scale",
    "seed": "seed",
    "map_center_lat": "center_lat",
    "map_center_lon": "center_lon",
    "street_code": "code",  # the store's code names the topics; a setting cannot rename it
}


def ignored_settings(settings: Settings, engine: Engine) -> list[str]:
    """Return one sentence per explicitly set seeding setting the stored street contradicts."""
    chosen = settings.model_fields_set & SEEDED_BY.keys()
    if not chosen:
        return []
    with engine.connect() as conn:
        street = conn.execute(select(schema.Street.__table__)).first()
    if street is None:
        return []
    ignored = []
    for name in sorted(chosen):
        wanted, stored = getattr(settings, name), getattr(street, SEEDED_BY[name])
        if isinstance(stored, float) and isinstance(wanted, float):
            same = abs(stored - wanted) < 1e-9
        else:
            same = stored == wanted
        if not same:
            ignored.append(
                f"COCKPIT_{name.upper()}={wanted} is ignored: the store already holds the "
                f"{street.scale} street {street.code} seeded with {name}={stored} "
                "(`cockpit seed --reset` reseeds it)"
            )
    return ignored
