"""Read every enterprise's facts and history for the eight mandatory visit triggers (八必访)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import Connection, Engine, select

from cockpit.clock import Clock, local_day
from cockpit.rules.enterprise import EnterpriseFacts, EnterpriseHistory, EnterpriseSnapshot
from cockpit.store import schema as s
from data_adapters.base import Adapter, read_store

# Lawsuits and relocation signs older than this never matter to a trigger; skip reading them.
EVENT_LOOKBACK_DAYS = 400


def _managers(rows) -> frozenset[tuple[str, str]]:
    """Return stored managers [{role, name}] as the rule's (role, name) set."""
    return frozenset((m.get("role", ""), m.get("name", "")) for m in rows or ())


class EnterpriseFactsAdapter(Adapter[dict[int, tuple[EnterpriseFacts, EnterpriseHistory]]]):
    """Read each enterprise with its latest earlier snapshot, signs, lawsuits and past visits."""

    name = "enterprise_facts"

    def __init__(self, engine: Engine, clock: Clock, interval: timedelta) -> None:
        super().__init__(clock, interval)
        self.engine = engine

    def _fetch(self) -> dict[int, tuple[EnterpriseFacts, EnterpriseHistory]]:
        """Return enterprise id → (today's facts, history) for every enterprise of the street."""
        today = local_day(self.clock.now())
        return read_store(self.engine, lambda conn: self._facts(conn, today))

    def _facts(
        self, conn: Connection, today: date
    ) -> dict[int, tuple[EnterpriseFacts, EnterpriseHistory]]:
        """Compute the facts as known on `today`; records dated later are not yet known."""
        e = s.Enterprise
        # A few snapshots per enterprise: keep the latest in Python, cheaper than a join on
        # a grouped subquery, which SQLite's planner turns into a scan per row.
        snapshots: dict[int, EnterpriseSnapshot] = {}
        for row in conn.execute(
            select(
                s.EnterpriseSnapshot.enterprise_id,
                s.EnterpriseSnapshot.taken_on,
                s.EnterpriseSnapshot.managers,
                s.EnterpriseSnapshot.annual_tax_wan,
                s.EnterpriseSnapshot.insured_staff,
            )
            .where(s.EnterpriseSnapshot.taken_on < today)
            .order_by(s.EnterpriseSnapshot.taken_on, s.EnterpriseSnapshot.id)
        ):
            snapshots[row.enterprise_id] = EnterpriseSnapshot(
                on=row.taken_on,
                managers=None if row.managers is None else _managers(row.managers),
                annual_tax_wan=row.annual_tax_wan,
                insured_staff=row.insured_staff,
            )
        relocation: dict[int, list[str]] = defaultdict(list)
        lawsuits: dict[int, list[date]] = defaultdict(list)
        visits: dict[int, dict[str, date]] = defaultdict(dict)
        events = conn.execute(
            select(
                s.EnterpriseEvent.enterprise_id,
                s.EnterpriseEvent.kind,
                s.EnterpriseEvent.happened_on,
                s.EnterpriseEvent.trigger,
                s.EnterpriseEvent.detail,
            )
            .where(s.EnterpriseEvent.happened_on <= today)
            .where(s.EnterpriseEvent.happened_on >= today - timedelta(days=EVENT_LOOKBACK_DAYS))
            .order_by(s.EnterpriseEvent.happened_on)
        )
        for row in events:
            if row.kind == "relocation":
                relocation[row.enterprise_id].append(row.detail or row.kind)
            elif row.kind == "lawsuit":
                lawsuits[row.enterprise_id].append(row.happened_on)
            elif row.kind == "visit" and row.trigger:
                visits[row.enterprise_id][row.trigger] = row.happened_on  # ordered: latest wins
        facts = {}
        for row in conn.execute(
            select(
                e.id,
                e.address_id,
                e.prepaid,
                e.tax_registered_here,
                e.tax_region,
                e.managers,
                e.annual_tax_wan,
                e.status,
                e.lease_ends_on,
                e.insured_staff,
            )
        ):
            facts[row.id] = (
                EnterpriseFacts(
                    id=row.id,
                    address_id=row.address_id,
                    prepaid=row.prepaid,
                    tax_registered_here=row.tax_registered_here,
                    tax_region=row.tax_region,
                    managers=_managers(row.managers),
                    annual_tax_wan=row.annual_tax_wan,
                    status=row.status,
                    lease_ends_on=row.lease_ends_on,
                    insured_staff=row.insured_staff,
                    relocation_signals=tuple(relocation.get(row.id, ())),
                    lawsuits=tuple(lawsuits.get(row.id, ())),
                ),
                EnterpriseHistory(snapshots.get(row.id), dict(visits.get(row.id, {}))),
            )
        return facts
