"""Poll the SQL registries: street, counts, device list, and today's feeds and open cases."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from cockpit.clock import DISPLAY_ZONE, Clock
from cockpit.domain.kinds import CaseState, in_maintenance
from cockpit.store import schema
from cockpit.store.counts import registry_counts
from data_adapters.base import Adapter, AdapterError, read_store

CLOSED_STATES = (CaseState.CLOSED.value, CaseState.EVALUATED.value, CaseState.VOIDED.value)


class RegistryAdapter(Adapter[dict[str, Any]]):
    """Read registry counts and today's activity from the SQL store."""

    name = "registry"

    def __init__(self, engine: Engine, clock: Clock, interval: timedelta) -> None:
        super().__init__(clock, interval)
        self.engine = engine

    def _fetch(self) -> dict[str, Any]:
        """Return counts, the street's name and today's complaints, requests and open cases."""
        start_of_day = datetime.combine(
            self.clock.now().astimezone(DISPLAY_ZONE).date(), time(), DISPLAY_ZONE
        )
        try:
            counts = registry_counts(self.engine)
            with self.engine.connect() as conn:
                street = conn.execute(select(schema.Street.name, schema.Street.code)).first()
                today = conn.execute(
                    select(
                        select(func.count())
                        .select_from(schema.Complaint)
                        .where(schema.Complaint.received_at >= start_of_day)
                        .scalar_subquery(),
                        select(func.count())
                        .select_from(schema.ResidentRequest)
                        .where(schema.ResidentRequest.requested_at >= start_of_day)
                        .scalar_subquery(),
                        select(func.count())
                        .select_from(schema.Case)
                        .where(schema.Case.reported_at >= start_of_day)
                        .scalar_subquery(),
                        select(func.count())
                        .select_from(schema.Case)
                        .where(schema.Case.state.not_in(CLOSED_STATES))
                        .scalar_subquery(),
                    )
                ).one()
        except SQLAlchemyError as exc:
            raise AdapterError(
                f"SQL store: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"
            ) from exc
        return {
            "street_name": street.name if street else None,
            "street_code": street.code if street else None,
            "counts": counts,
            "complaints_today": today[0],
            "requests_today": today[1],
            "cases_today": today[2],
            "open_cases": today[3],
        }


class DeviceRegistryAdapter(Adapter[dict[int, tuple[str, int, bool]]]):
    """Read every device's kind, reporting interval and maintenance, to judge which are online."""

    name = "devices"

    def __init__(self, engine: Engine, clock: Clock, interval: timedelta) -> None:
        super().__init__(clock, interval)
        self.engine = engine

    def _fetch(self) -> dict[int, tuple[str, int, bool]]:
        """Return device id → (kind, reporting interval in seconds, in maintenance)."""
        rows = read_store(
            self.engine,
            lambda conn: conn.execute(
                select(
                    schema.Device.id,
                    schema.Device.kind,
                    schema.Device.report_interval_s,
                    schema.Device.params,
                )
            ).all(),
        )
        return {
            device_id: (kind, interval, in_maintenance(params))
            for device_id, kind, interval, params in rows
        }
