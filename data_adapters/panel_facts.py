"""Poll the SQL store for the three panels' aggregates and the housing-risk inputs per building."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    String,
    and_,
    case,
    exists,
    func,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from cockpit.clock import DISPLAY_ZONE, Clock
from cockpit.domain.kinds import (
    OFFICE_UNITS_PROPERTY,
    AlertLevel,
    AlertStatus,
    BuildingUse,
    CaseSource,
    CaseState,
    DeviceKind,
    Registration,
    RequestStatus,
)
from cockpit.panels import LIST_ROWS
from cockpit.rules.housing import BuildingFacts
from cockpit.rules.results import RuleKind
from cockpit.store import schema as s
from data_adapters.base import Adapter, read_store
from data_adapters.registry import CLOSED_STATES

T = TypeVar("T")

WINDOW_DAYS = 30
ELDER_AGE = 60
ADULT_AGE = 18
# Where a closed case ended; anything else (or nothing) is reported as "unrecorded".
RESOLUTION_LEVELS = ("grid", "community", "street", "district")
# Closed for good: the loop completed (voided cases never reached a resolution level).
RESOLVED_STATES = (CaseState.CLOSED.value, CaseState.EVALUATED.value)
# Listed rather than "not closed", so the state index finds them without scanning every case.
OPEN_STATES = tuple(state.value for state in CaseState if state.value not in CLOSED_STATES)
FIRE_ALARM_KINDS = (RuleKind.SMOKE.value, RuleKind.GAS.value)
ENTERPRISE_ALERT_KINDS = (RuleKind.ENTERPRISE_SMOKE.value, RuleKind.ENTERPRISE_VISIT.value)
OBJECT_DEVICE = "device"
VISIT_EVENT = "visit"  # enterprise_events.kind of a visit paid
# Hot topics compare the last seven days of requests and complaints with the seven before.
TOPIC_DAYS = 7
OFFICE_USE = BuildingUse.OFFICE.value
OPERATING = "operating"


class DisplayDay(FunctionElement):
    """Render the Asia/Shanghai calendar day (YYYY-MM-DD) of a UTC timestamp column."""

    type = String()
    name = "display_day"
    inherit_cache = True


@compiles(DisplayDay)
def _display_day_sqlite(element: DisplayDay, compiler, **kw) -> str:
    """Shift by the zone's offset: SQLite has no zones; Shanghai has kept +08:00 since 1991."""
    (column,) = element.clauses
    offset = datetime.now(DISPLAY_ZONE).utcoffset() or timedelta(0)
    # A literal, not a bound parameter, so GROUP BY repeats the very same expression.
    minutes = int(offset.total_seconds() // 60)
    return f"date({compiler.process(column, **kw)}, '{minutes:+d} minutes')"


@compiles(DisplayDay, "postgresql")
def _display_day_postgresql(element: DisplayDay, compiler, **kw) -> str:
    """Convert with the zone's rules; the zone name is our constant, never input."""
    (column,) = element.clauses
    return (
        f"to_char(timezone('{DISPLAY_ZONE.key}', {compiler.process(column, **kw)}), 'YYYY-MM-DD')"
    )


def years_before(day: date, years: int) -> date:
    """Return the same calendar day `years` earlier (28 February for a 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def display_day_start(day: date) -> datetime:
    """Return the UTC instant a display-zone day begins."""
    return datetime.combine(day, time(), DISPLAY_ZONE).astimezone(UTC)


def office_units(properties: Any) -> int | None:
    """Return the lettable units a building's properties declare, or None when unknown."""
    value = properties.get(OFFICE_UNITS_PROPERTY) if isinstance(properties, dict) else None
    # Imported files may carry the count as text ("120") or as a whole float (120.0).
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


def red_alerts_unsettled():
    """Select the red alerts not yet settled: still open, or resolved while their case is open.

    A sensor that stops alarming resolves its alert, but the fire it reported is settled only
    when the case it opened (or joined) is closed: until then the wall counts it as 未处置.
    """
    a, report, c = s.Alert, s.CaseReport, s.Case
    red = a.level == AlertLevel.RED.value
    still_open = select(a.id).where(a.open_key.is_not(None), red)
    case_open = (
        select(a.id)
        .select_from(c)
        .join(report, report.case_id == c.id)
        .join(a, and_(report.source == CaseSource.ALERT.value, a.id == report.source_id))
        .where(c.state.in_(OPEN_STATES), red)
    )
    return union(still_open, case_open)


def _building_address(building_id) -> Any:
    """Return the scalar subquery of a building's first standard address (松花江路261号)."""
    first = aliased(s.Address)
    return (
        select(first.road + first.number)
        .where(first.building_id == building_id)
        .order_by(first.id)
        .limit(1)
        .scalar_subquery()
    )


def _case_address_building(case) -> Any:
    """Return the scalar subquery of the building a case's address belongs to."""
    return select(s.Address.building_id).where(s.Address.id == case.address_id).scalar_subquery()


def _iso(value: datetime | None) -> str | None:
    """Return a time as ISO text, or None."""
    return value.isoformat() if value is not None else None


def _listed(row: Any) -> dict[str, Any]:
    """Return one case of a KPI's list: what, where, its state and deadline."""
    return {
        "type": "case",
        "id": row["id"],
        "code": row["code"],
        "title_zh": row["title"],
        "title_en": row["title_en"] or row["title"],
        "category": row["category"],
        "state": row["state"],
        "priority": row["priority"],
        "deadline_at": _iso(row["deadline_at"]),
        "at": _iso(row["reported_at"]),
        "place": row["place"],
    }


def _listed_alert(row: Any) -> dict[str, Any]:
    """Return one alert of a KPI's list, with the case it opened or joined (if any)."""
    case_id = row["case_id"]
    return {
        "type": "alert",
        "id": row["id"],
        "kind": row["kind"],
        "level": row["level"],
        "status": row["status"],
        "title_zh": row["title"],
        "title_en": row["title_en"] or row["title"],
        "at": _iso(row["raised_at"]),
        "place": row["place"],
        "case": None
        if case_id is None
        else {
            "id": case_id,
            "code": row["case_code"],
            "state": row["case_state"],
            "open": row["case_state"] in OPEN_STATES,
            "deadline_at": _iso(row["case_deadline_at"]),
        },
    }


class PanelFactsAdapter(Adapter[dict[str, Any]]):
    """Read the governance, enterprise and livelihood aggregates in a dozen grouped queries."""

    name = "panel_facts"

    def __init__(self, engine: Engine, clock: Clock, interval: timedelta) -> None:
        super().__init__(clock, interval)
        self.engine = engine

    def _fetch(self) -> dict[str, Any]:
        """Return one dict of aggregates; `_aggregate` lists its keys."""
        now = self.clock.now()
        return read_store(self.engine, lambda conn: self._aggregate(conn, now))

    def _aggregate(self, conn: Connection, now: datetime) -> dict[str, Any]:
        """Compute the panels' facts at `now`."""
        # Keys: now, today, since, cases {by_state, open, overdue, closed_by_level, daily},
        # alerts {open_by_kind, open_objects, red_unsettled}, smoke_alerts, visit_alerts, requests_today,
        # request_satisfaction, topics, office_buildings, communities, building_community,
        # elders {living_alone}, devices {elevators, taxi_kiosks}, kpi_lists (see _kpi_lists).
        today = now.astimezone(DISPLAY_ZONE).date()
        first_day = today - timedelta(days=WINDOW_DAYS - 1)
        since = display_day_start(first_day)
        start_of_today = display_day_start(today)
        start_of_tomorrow = display_day_start(today + timedelta(days=1))
        elder_born_by = years_before(today, ELDER_AGE)

        by_state = dict(
            conn.execute(select(s.Case.state, func.count()).group_by(s.Case.state)).all()
        )

        def count(model, *where):
            return select(func.count()).select_from(model).where(*where).scalar_subquery()

        overdue, living_alone, elevators, kiosks = conn.execute(
            select(
                count(
                    s.Case,
                    s.Case.state.in_(OPEN_STATES),
                    s.Case.deadline_at.is_not(None),
                    s.Case.deadline_at < now,
                ),
                count(
                    s.Resident,
                    s.Resident.lives_alone.is_(True),
                    s.Resident.birth_date <= elder_born_by,
                ),
                count(s.Device, s.Device.kind == DeviceKind.ELEVATOR.value),
                count(s.Device, s.Device.kind == DeviceKind.TAXI_KIOSK.value),
            )
        ).one()

        closed_by_level = dict.fromkeys((*RESOLUTION_LEVELS, "unrecorded"), 0)
        for level, n in conn.execute(
            select(s.Case.resolution_level, func.count())
            .where(s.Case.state.in_(RESOLVED_STATES), s.Case.closed_at >= since)
            .group_by(s.Case.resolution_level)
        ):
            key = level if level in RESOLUTION_LEVELS else "unrecorded"
            closed_by_level[key] += n

        reported_day = DisplayDay(s.Case.reported_at)
        reported = dict(
            conn.execute(
                select(reported_day, func.count())
                .where(s.Case.reported_at >= since)
                .group_by(reported_day)
            ).all()
        )
        closed_day = DisplayDay(s.Case.closed_at)
        closed = dict(
            conn.execute(
                select(closed_day, func.count())
                .where(s.Case.state.in_(RESOLVED_STATES), s.Case.closed_at >= since)
                .group_by(closed_day)
            ).all()
        )
        days = [(first_day + timedelta(days=i)).isoformat() for i in range(WINDOW_DAYS)]
        daily = [
            {"day": day, "reported": reported.get(day, 0), "closed": closed.get(day, 0)}
            for day in days
        ]

        is_open = s.Alert.open_key.is_not(None)
        open_by_kind: dict[str, dict[str, int]] = {}
        for kind, level, n in conn.execute(
            select(s.Alert.kind, s.Alert.level, func.count())
            .where(is_open)
            .group_by(s.Alert.kind, s.Alert.level)
        ):
            open_by_kind.setdefault(kind, {})[level] = n
        red_unsettled = conn.execute(
            select(func.count()).select_from(red_alerts_unsettled().subquery())
        ).scalar_one()
        # One compact row per open alert (no reasons), bounded by what is open right now.
        open_objects = [
            dict(row._mapping)
            for row in conn.execute(
                select(s.Alert.kind, s.Alert.level, s.Alert.object_type, s.Alert.object_id).where(
                    is_open
                )
            )
        ]
        smoke_alerts: list[dict[str, Any]] = []
        visit_alerts: list[dict[str, Any]] = []
        for row in conn.execute(
            select(
                s.Alert.id,
                s.Alert.kind,
                s.Alert.level,
                s.Alert.object_id,
                s.Alert.title,
                s.Alert.title_en,
                s.Alert.routing,
                s.Alert.reasons,
                s.Alert.raised_at,
                s.Enterprise.industry,
            )
            .outerjoin(s.Enterprise, s.Enterprise.id == s.Alert.object_id)
            .where(is_open, s.Alert.kind.in_(ENTERPRISE_ALERT_KINDS))
        ):
            alert = {
                "id": row.id,
                "kind": row.kind,
                "level": row.level,
                "object_type": "enterprise",
                "object_id": row.object_id,
                "industry": row.industry,
                "title_zh": row.title,
                "title_en": row.title_en,
                "routing": row.routing,
                "raised_at": row.raised_at.isoformat(),
            }
            if row.kind == RuleKind.ENTERPRISE_SMOKE.value:
                smoke_alerts.append(dict(alert, reasons=row.reasons))
            else:
                visit_alerts.append(alert)
        # When each enterprise on a list was last visited: the tablet's enterprise card says so.
        event = s.EnterpriseEvent
        on_a_list = select(s.Alert.object_id).where(
            is_open, s.Alert.kind.in_(ENTERPRISE_ALERT_KINDS)
        )
        last_visits = dict(
            conn.execute(
                select(event.enterprise_id, func.max(event.happened_on))
                .where(event.kind == VISIT_EVENT, event.enterprise_id.in_(on_a_list))
                .group_by(event.enterprise_id)
            ).all()
        )
        for alert in (*smoke_alerts, *visit_alerts):
            visited = last_visits.get(alert["object_id"])
            alert["last_visit"] = visited.isoformat() if visited else None

        requests_today: dict[str, dict[str, int]] = {}
        for code, status, n in conn.execute(
            select(s.ResidentRequest.service_code, s.ResidentRequest.status, func.count())
            # Both bounds: a one-sided range leads SQLite's planner to scan by service code instead.
            .where(
                s.ResidentRequest.requested_at >= start_of_today,
                s.ResidentRequest.requested_at < start_of_tomorrow,
            )
            .group_by(s.ResidentRequest.service_code, s.ResidentRequest.status)
        ):
            counts = requests_today.setdefault(
                code, {RequestStatus.OPEN.value: 0, RequestStatus.CLOSED.value: 0}
            )
            counts[status] = counts.get(status, 0) + n

        kpi_lists = self._kpi_lists(conn, now, since, start_of_today)
        office_buildings = self._office_buildings(conn, today)
        request_satisfaction = self._request_satisfaction(conn, since, now)
        topics = self._topics(conn, now)

        communities = [
            {"id": row.id, "name": row.name}
            for row in conn.execute(
                select(s.Community.id, s.Community.name).order_by(s.Community.id)
            )
        ]
        building_community = dict(
            conn.execute(
                select(s.Building.id, s.Grid.community_id).join(
                    s.Grid, s.Grid.id == s.Building.grid_id
                )
            ).all()
        )

        return {
            "now": now.isoformat(),
            "today": today.isoformat(),
            "since": since.isoformat(),
            "cases": {
                "by_state": by_state,
                "open": sum(n for state, n in by_state.items() if state not in CLOSED_STATES),
                "overdue": overdue,
                "closed_by_level": closed_by_level,
                "daily": daily,
            },
            "alerts": {
                "open_by_kind": open_by_kind,
                "open_objects": open_objects,
                "red_unsettled": red_unsettled,
            },
            "smoke_alerts": smoke_alerts,
            "visit_alerts": visit_alerts,
            "requests_today": requests_today,
            "request_satisfaction": request_satisfaction,
            "topics": topics,
            "office_buildings": office_buildings,
            "communities": communities,
            "building_community": building_community,
            "elders": {"living_alone": living_alone},
            "devices": {"elevators": elevators, "taxi_kiosks": kiosks},
            "kpi_lists": kpi_lists,
        }

    @staticmethod
    def _kpi_lists(
        conn: Connection, now: datetime, since: datetime, start_of_today: datetime
    ) -> dict[str, list[dict[str, Any]]]:
        """Return the cases and alerts behind the wall's numbers, LIST_ROWS each, for the tablet.

        cases_today: reported today, newest first; closure_rate: registered in the window and
        not closed yet, oldest first; on_time_rate: closed in the window after their deadline;
        open_red_alerts: the red alerts not settled (red_alerts_unsettled), with their case.
        Each row carries where it is (its building's first address), never a person.
        """
        c, a, report = s.Case, s.Alert, s.CaseReport
        place = _building_address(func.coalesce(c.building_id, _case_address_building(c)))
        case_columns = (
            c.id,
            c.code,
            c.title,
            c.title_en,
            c.category,
            c.state,
            c.priority,
            c.deadline_at,
            c.reported_at,
            place.label("place"),
        )
        window = c.reported_at >= since
        cases = {
            "cases_today": select(*case_columns)
            .where(c.reported_at >= start_of_today, c.reported_at <= now)
            .order_by(c.reported_at.desc(), c.id.desc()),
            "closure_rate": select(*case_columns)
            .where(window, c.registered_at.is_not(None), c.state.in_(OPEN_STATES))
            .order_by(c.reported_at, c.id),
            "on_time_rate": select(*case_columns)
            .where(
                window,
                c.state.in_(RESOLVED_STATES),
                c.close_due_at.is_not(None),
                c.closed_at > c.close_due_at,
            )
            .order_by(c.closed_at.desc(), c.id.desc()),
        }
        lists = {
            name: [_listed(row) for row in conn.execute(query.limit(LIST_ROWS)).mappings()]
            for name, query in cases.items()
        }
        unsettled = red_alerts_unsettled().subquery()
        rows = conn.execute(
            select(
                a.id,
                a.kind,
                a.level,
                a.status,
                a.title,
                a.title_en,
                a.raised_at,
                _building_address(s.Device.building_id).label("place"),
                c.id.label("case_id"),
                c.code.label("case_code"),
                c.state.label("case_state"),
                c.deadline_at.label("case_deadline_at"),
            )
            .join(unsettled, unsettled.c.id == a.id)
            .outerjoin(s.Device, and_(a.object_type == OBJECT_DEVICE, s.Device.id == a.object_id))
            .outerjoin(
                report,
                and_(report.source == CaseSource.ALERT.value, report.source_id == a.id),
            )
            .outerjoin(c, c.id == report.case_id)
            .order_by(a.raised_at.desc(), a.id.desc())
            .limit(LIST_ROWS)
        ).mappings()
        lists["open_red_alerts"] = [_listed_alert(row) for row in rows]
        return lists

    @staticmethod
    def _office_buildings(conn: Connection, today: date) -> list[dict[str, Any]]:
        """Return each office building's enterprises, tax this year and last, and rooms in use."""
        e = s.Enterprise
        # Last year's tax is the latest snapshot before today, as the tax-drop visit rule reads it.
        snap = aliased(s.EnterpriseSnapshot)
        later = aliased(s.EnterpriseSnapshot)
        newer = exists().where(
            later.enterprise_id == snap.enterprise_id,
            later.taken_on < today,
            or_(
                later.taken_on > snap.taken_on,
                and_(later.taken_on == snap.taken_on, later.id > snap.id),
            ),
        )
        compared = snap.annual_tax_wan.is_not(None)
        per_building = (
            select(
                e.building_id.label("building_id"),
                func.count(e.id).label("enterprises"),
                func.sum(e.annual_tax_wan).label("tax_wan"),
                func.sum(case((e.prepaid, 1), else_=0)).label("prepaid"),
                # Rooms let to enterprises still operating; a room shared by two counts once.
                func.count(func.distinct(case((e.status == OPERATING, e.room), else_=None))).label(
                    "occupied"
                ),
                # Like for like: this year's tax of the enterprises with a figure for last year.
                func.sum(case((compared, e.annual_tax_wan), else_=None)).label("tax_compared"),
                func.sum(snap.annual_tax_wan).label("tax_last"),
            )
            .select_from(e)
            .outerjoin(
                snap,
                and_(snap.enterprise_id == e.id, snap.taken_on < today, ~newer),
            )
            .where(e.building_id.in_(select(s.Building.id).where(s.Building.use == OFFICE_USE)))
            .group_by(e.building_id)
            .subquery()
        )
        # An unnamed building is told by its first address (松花江路261号) rather than its code.
        first = aliased(s.Address)
        first_address = (
            select(first.road + first.number)
            .where(first.building_id == s.Building.id)
            .order_by(first.id)
            .limit(1)
            .scalar_subquery()
        )
        rows = conn.execute(
            select(
                s.Building.id,
                s.Building.code,
                s.Building.name,
                first_address.label("address"),
                s.Building.properties,
                per_building.c.enterprises,
                per_building.c.tax_wan,
                per_building.c.prepaid,
                per_building.c.occupied,
                per_building.c.tax_compared,
                per_building.c.tax_last,
            )
            .outerjoin(per_building, per_building.c.building_id == s.Building.id)
            .where(s.Building.use == OFFICE_USE)
            .order_by(s.Building.id)
        )
        return [
            {
                "building_id": row.id,
                "code": row.code,
                "label": row.name,
                "address": row.address,
                "enterprises": int(row.enterprises or 0),
                "tax_wan": round(float(row.tax_wan or 0.0), 1),
                "prepaid": int(row.prepaid or 0),
                "office_units": office_units(row.properties),
                "occupied_units": int(row.occupied or 0),
                # None when no enterprise of the building has last year's figure.
                "tax_compared_wan": None
                if row.tax_last is None
                else round(float(row.tax_compared or 0.0), 1),
                "tax_last_wan": None if row.tax_last is None else round(float(row.tax_last), 1),
            }
            for row in rows
        ]

    @staticmethod
    def _request_satisfaction(
        conn: Connection, since: datetime, now: datetime
    ) -> dict[str, dict[str, Any]]:
        """Return service code → revisit satisfaction of the cases the window's requests joined."""
        r, report, c = s.ResidentRequest, s.CaseReport, s.Case
        # One score per (category, case): a case several requests joined is revisited once.
        scored = (
            select(r.service_code.label("code"), c.id.label("case_id"), c.satisfaction)
            .join(
                report,
                and_(report.source == CaseSource.RESIDENT.value, report.source_id == r.id),
            )
            .join(c, c.id == report.case_id)
            .where(r.requested_at >= since, r.requested_at <= now, c.satisfaction.is_not(None))
            .distinct()
            .subquery()
        )
        # Sums, not means: the view model adds categories up into the street's figure.
        return {
            row.code: {
                "answered": int(row.answered),
                "score_sum": int(row.score_sum),
                "satisfied": int(row.satisfied),
            }
            for row in conn.execute(
                select(
                    scored.c.code,
                    func.count().label("answered"),
                    func.sum(scored.c.satisfaction).label("score_sum"),
                    func.sum(case((scored.c.satisfaction >= 4, 1), else_=0)).label("satisfied"),
                ).group_by(scored.c.code)
            )
        }

    @staticmethod
    def _topics(conn: Connection, now: datetime) -> list[dict[str, Any]]:
        """Count requests and complaints per category and community, this week and the one before."""
        week_start = now - timedelta(days=TOPIC_DAYS)
        first = now - timedelta(days=2 * TOPIC_DAYS)
        r, complaint = s.ResidentRequest, s.Complaint
        # Categories and places only: no text, no person, leaves the store.
        mentions = union_all(
            select(
                r.service_code.label("topic"),
                r.requested_at.label("at"),
                r.address_id.label("address_id"),
            ).where(r.requested_at >= first, r.requested_at <= now),
            select(complaint.category, complaint.received_at, complaint.address_id).where(
                complaint.received_at >= first, complaint.received_at <= now
            ),
        ).subquery()
        recent = mentions.c.at >= week_start
        return [
            {
                "topic": row.topic,
                "community_id": row.community_id,
                "recent": int(row.recent),
                "previous": int(row.previous),
            }
            for row in conn.execute(
                select(
                    mentions.c.topic,
                    s.Grid.community_id,
                    func.sum(case((recent, 1), else_=0)).label("recent"),
                    func.sum(case((recent, 0), else_=1)).label("previous"),
                )
                .select_from(mentions)
                .outerjoin(s.Address, s.Address.id == mentions.c.address_id)
                .outerjoin(s.Grid, s.Grid.id == s.Address.grid_id)
                .group_by(mentions.c.topic, s.Grid.community_id)
                .order_by(mentions.c.topic, s.Grid.community_id)
            )
        ]


class BuildingFactsAdapter(Adapter[dict[int, BuildingFacts]]):
    """Read every building's housing-risk inputs (cockpit.rules.housing) in four queries."""

    name = "building_facts"

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        interval: timedelta,
        window_days: int = WINDOW_DAYS,
    ) -> None:
        super().__init__(clock, interval)
        self.engine = engine
        # Pass cfg.housing.fire_alarm_window_days, so the counts match what the rule's reasons say.
        self.window_days = window_days

    def _fetch(self) -> dict[int, BuildingFacts]:
        """Return building id → BuildingFacts for every building of the street."""
        now = self.clock.now()
        return read_store(self.engine, lambda conn: self._facts(conn, now))

    def _facts(self, conn: Connection, now: datetime) -> dict[int, BuildingFacts]:
        """Compute the facts at `now`; ages count from today's display-zone date."""
        today = now.astimezone(DISPLAY_ZONE).date()
        adult_born_by = years_before(today, ADULT_AGE)
        elder_born_by = years_before(today, ELDER_AGE)
        since = now - timedelta(days=self.window_days)

        building_ids = conn.execute(select(s.Building.id)).scalars().all()

        # One pass over the residents: a row per household, then one per (building, adults) pair,
        # so a few rows per building, not one per household, cross the wire.
        per_household = (
            select(
                s.Household.building_id.label("building_id"),
                func.count(s.Resident.id).label("residents"),
                func.sum(
                    case((s.Resident.registration == Registration.FLOATING.value, 1), else_=0)
                ).label("floating"),
                func.sum(
                    case(
                        (
                            and_(
                                s.Resident.lives_alone.is_(True),
                                s.Resident.birth_date <= elder_born_by,
                            ),
                            1,
                        ),
                        else_=0,
                    )
                ).label("elders_alone"),
                func.sum(case((s.Resident.birth_date <= adult_born_by, 1), else_=0)).label(
                    "adults"
                ),
            )
            .join(s.Resident, s.Resident.household_id == s.Household.id)
            .group_by(s.Household.id, s.Household.building_id)
            .subquery()
        )
        people: dict[int, list[int]] = {}  # building → [residents, floating, elders alone]
        households: dict[int, list[tuple[int, int]]] = {}  # building → [(adults, households)]
        for building_id, adults, n, residents, floating, elders in conn.execute(
            select(
                per_household.c.building_id,
                per_household.c.adults,
                func.count(),
                func.sum(per_household.c.residents),
                func.sum(per_household.c.floating),
                func.sum(per_household.c.elders_alone),
            ).group_by(per_household.c.building_id, per_household.c.adults)
        ):
            totals = people.setdefault(building_id, [0, 0, 0])
            totals[0] += int(residents)
            totals[1] += int(floating)
            totals[2] += int(elders)
            if adults:
                households.setdefault(building_id, []).append((int(adults), n))

        open_cases = dict(
            conn.execute(
                select(s.Case.building_id, func.count())
                .where(s.Case.building_id.is_not(None), s.Case.state.in_(OPEN_STATES))
                .group_by(s.Case.building_id)
            ).all()
        )

        fire = {
            row.building_id: row
            for row in conn.execute(
                select(
                    s.Device.building_id,
                    func.sum(
                        case(
                            (or_(s.Alert.open_key.is_not(None), s.Alert.raised_at >= since), 1),
                            else_=0,
                        )
                    ).label("alarms"),
                    func.sum(
                        case((s.Alert.status == AlertStatus.RESOLVED.value, 1), else_=0)
                    ).label("incidents"),
                )
                .select_from(s.Alert)
                .join(
                    s.Device,
                    and_(s.Alert.object_type == OBJECT_DEVICE, s.Alert.object_id == s.Device.id),
                )
                .where(s.Alert.kind.in_(FIRE_ALARM_KINDS), s.Device.building_id.is_not(None))
                .group_by(s.Device.building_id)
            )
        }

        facts = {}
        for building_id in building_ids:
            residents, floating, elders = people.get(building_id, (0, 0, 0))
            alarm = fire.get(building_id)
            adults = sorted(households.get(building_id, ()), reverse=True)
            facts[building_id] = BuildingFacts(
                building_id=building_id,
                residents=residents,
                floating_residents=floating,
                adults_per_household=tuple(a for a, n in adults for _ in range(n)),
                elders_living_alone=elders,
                open_cases=open_cases.get(building_id, 0),
                fire_alarms=int(alarm.alarms or 0) if alarm else 0,
                past_incidents=int(alarm.incidents or 0) if alarm else 0,
            )
        return facts
