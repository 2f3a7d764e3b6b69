"""Declare the SQL tables of the street: registries joined on the standard address, feeds, alerts, cases."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names let Alembic's batch mode rebuild SQLite tables and match PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator):
    """Store aware datetimes in UTC and read them back aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        """Refuse naive times, so no local time sneaks into the store."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store times with a time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        """Attach UTC to the naive values SQLite returns."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Share one metadata with naming conventions across all tables."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UtcDateTime()}


class Street(Base):
    """Hold the one street (街道) this store serves, with its boundary and centre."""

    __tablename__ = "streets"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    scale: Mapped[str] = mapped_column(String(16))
    seed: Mapped[int | None]
    area_km2: Mapped[float] = mapped_column(Float)
    center_lon: Mapped[float] = mapped_column(Float)
    center_lat: Mapped[float] = mapped_column(Float)
    boundary: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class Community(Base):
    """Hold a community or residential area (社区/居民区) of the street."""

    __tablename__ = "communities"
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("streets.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    boundary: Mapped[dict[str, Any]]


class Grid(Base):
    """Hold a management grid (网格) with its hierarchical district-street-community-grid code."""

    __tablename__ = "grids"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    boundary: Mapped[dict[str, Any]]


class Compound(Base):
    """Hold a residential compound (小区) inside a community."""

    __tablename__ = "compounds"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    boundary: Mapped[dict[str, Any]]


class MapFeature(Base):
    """Hold a basemap layer feature: road, water or block outline, drawn without tiles."""

    __tablename__ = "map_features"
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("streets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str | None] = mapped_column(String(64))
    geometry: Mapped[dict[str, Any]]


class Building(Base):
    """Hold a building footprint with its use, height and place in a grid."""

    __tablename__ = "buildings"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), index=True)
    compound_id: Mapped[int | None] = mapped_column(ForeignKey("compounds.id"), index=True)
    use: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str | None] = mapped_column(String(128))
    floors: Mapped[int] = mapped_column(Integer)
    height_m: Mapped[float] = mapped_column(Float)
    built_year: Mapped[int | None]
    footprint: Mapped[dict[str, Any]]
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16), default="simulated")
    external_id: Mapped[str | None] = mapped_column(String(64))
    properties: Mapped[dict[str, Any] | None]


class Address(Base):
    """Hold a standard address (标准地址), the join key of people, places and organisations."""

    __tablename__ = "addresses"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"), index=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), index=True)
    road: Mapped[str] = mapped_column(String(64))
    number: Mapped[str] = mapped_column(String(32))
    full_text: Mapped[str] = mapped_column(String(200), index=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)


class Household(Base):
    """Hold an actual house (实有房屋) at a room of a standard address."""

    __tablename__ = "households"
    __table_args__ = (UniqueConstraint("address_id", "room", name="uq_households_address_room"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("addresses.id"), index=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"), index=True)
    room: Mapped[str] = mapped_column(String(16))
    tenure: Mapped[str] = mapped_column(String(16))  # owner, tenant, public
    area_m2: Mapped[float | None] = mapped_column(Float)


class Resident(Base):
    """Hold an actual resident (实有人口); personal fields are read only through the privacy layer."""

    __tablename__ = "residents"
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    phone: Mapped[str | None] = mapped_column(String(16))
    gender: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    registration: Mapped[str] = mapped_column(String(16), index=True)
    lives_alone: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(16), default="simulated")


class Enterprise(Base):
    """Hold an enterprise or organisation (实有单位) at a standard address."""

    __tablename__ = "enterprises"
    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    name: Mapped[str] = mapped_column(String(128))
    industry: Mapped[str] = mapped_column(String(32), index=True)
    prepaid: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"), index=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("addresses.id"), index=True)
    room: Mapped[str | None] = mapped_column(String(16))
    tax_registered_here: Mapped[bool] = mapped_column(Boolean, default=True)
    tax_region: Mapped[str] = mapped_column(String(32))
    legal_representative: Mapped[str] = mapped_column(String(32))
    managers: Mapped[list[Any]]
    staff: Mapped[int] = mapped_column(Integer)
    annual_tax_wan: Mapped[float] = mapped_column(Float)  # 万元
    status: Mapped[str] = mapped_column(String(16), default="operating")
    registered_on: Mapped[date] = mapped_column(Date)
    lease_ends_on: Mapped[date | None] = mapped_column(Date)
    insured_staff: Mapped[int | None] = mapped_column(Integer)  # staff with social insurance here


class Device(Base):
    """Hold an IoT device: fire terminals, livelihood sensors, elevators, kiosks, cameras."""

    __tablename__ = "devices"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(24), index=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    compound_id: Mapped[int | None] = mapped_column(ForeignKey("compounds.id"), index=True)
    floor: Mapped[int | None]
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    report_interval_s: Mapped[int] = mapped_column(Integer)
    installed_on: Mapped[date] = mapped_column(Date)
    params: Mapped[dict[str, Any] | None]


class GridWorker(Base):
    """Hold a grid worker (网格员) assigned to one grid."""

    __tablename__ = "grid_workers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(32))
    phone: Mapped[str] = mapped_column(String(16))
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), index=True)


class ResponseTeam(Base):
    """Hold a response team cases are dispatched to (fire, property, city management, police)."""

    __tablename__ = "response_teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24))
    members: Mapped[int] = mapped_column(Integer)
    base_lon: Mapped[float] = mapped_column(Float)
    base_lat: Mapped[float] = mapped_column(Float)


class Complaint(Base):
    """Hold a complaint from 110, 12345, 96315 or labour inspection, matched to an address."""

    __tablename__ = "complaints"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_complaints_source_ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16), index=True)
    external_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    category: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    address_text: Mapped[str] = mapped_column(String(200))
    address_id: Mapped[int | None] = mapped_column(ForeignKey("addresses.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)


class ResidentRequest(Base):
    """Hold a resident request (随手拍, repair, feedback) in Open311 GeoReport terms."""

    __tablename__ = "resident_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    service_code: Mapped[str] = mapped_column(String(32), index=True)
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    updated_at: Mapped[datetime]
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    address_text: Mapped[str | None] = mapped_column(String(200))
    address_id: Mapped[int | None] = mapped_column(ForeignKey("addresses.id"), index=True)
    media_url: Mapped[str | None] = mapped_column(String(400))


class Alert(Base):
    """Hold a graded alert with the reasons that raised it."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    level: Mapped[str] = mapped_column(String(8), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    condition_key: Mapped[str] = mapped_column(String(120), index=True)
    object_type: Mapped[str] = mapped_column(String(24))
    object_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(200))
    routing: Mapped[str | None] = mapped_column(String(24))
    reasons: Mapped[list[Any]]
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    # Equal to condition_key while the alert is open, NULL once resolved: the unique index keeps
    # one open alert per condition and object even when several processes raise at once.
    open_key: Mapped[str | None] = mapped_column(String(120), unique=True, index=True)
    resolved_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]


class Case(Base):
    """Hold a case of the closed loop; the workflow that moves it lives in cockpit.cases."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    source: Mapped[str] = mapped_column(String(16), index=True)
    source_ref: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32), index=True)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), index=True)
    address_id: Mapped[int | None] = mapped_column(ForeignKey("addresses.id"), index=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    reporter_worker_id: Mapped[int | None] = mapped_column(ForeignKey("grid_workers.id"))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    deadline_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    routing: Mapped[str | None] = mapped_column(String(24))
    resolution_level: Mapped[str | None] = mapped_column(String(16))
    # The closed loop (cockpit.cases): priority picks the clock, centre the command room (双脑联动).
    priority: Mapped[str] = mapped_column(String(8), default="normal", server_default="normal")
    centre: Mapped[str] = mapped_column(String(16), default="street", server_default="street")
    department: Mapped[str | None] = mapped_column(String(32), index=True)
    assignee: Mapped[str | None] = mapped_column(String(40), index=True)  # "team:3", "worker:12"
    parked_from: Mapped[str | None] = mapped_column(String(16))
    parked_at: Mapped[datetime | None]
    paused_remaining_s: Mapped[float | None] = mapped_column(Float)
    dispatch_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rework_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    self_handled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    # When each stage happened, and when it was due: the indicators compare the two.
    registered_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]
    handled_at: Mapped[datetime | None]
    verified_at: Mapped[datetime | None]
    evaluated_at: Mapped[datetime | None]
    supervised_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    register_due_at: Mapped[datetime | None]
    dispatch_due_at: Mapped[datetime | None]
    arrive_due_at: Mapped[datetime | None]
    handle_due_at: Mapped[datetime | None]
    verify_due_at: Mapped[datetime | None]
    close_due_at: Mapped[datetime | None]


class CaseReport(Base):
    """Link each report (alert, request, complaint, grid report) to the one case it opened or joined."""

    __tablename__ = "case_reports"
    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_case_reports_source_ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[int | None] = mapped_column(Integer)
    reported_at: Mapped[datetime]
    linked: Mapped[bool] = mapped_column(Boolean, default=False)  # joined an existing case


class CaseHistory(Base):
    """Record one action on a case: who, when, from, to, why; the action key makes it idempotent."""

    __tablename__ = "case_history"
    __table_args__ = (UniqueConstraint("case_id", "action_key", name="uq_case_history_action_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    target: Mapped[str | None] = mapped_column(String(40))
    action_key: Mapped[str] = mapped_column(String(64))
    # A case's repeat reports share one "link" row, updated in place: how many, the first at
    # `at`, the last at `last_at`. A flood of repeats never grows the history (migration 0008).
    repeats: Mapped[int | None] = mapped_column(Integer)
    last_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ScenarioIncident(Base):
    """Schedule one scripted incident of the live scenario and mark when it was played."""

    __tablename__ = "scenario_incidents"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Set when the scenario claims the incident: a restarted scenario never plays it again.
    played_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


Index("ix_residents_birth_alone", Resident.lives_alone, Resident.birth_date)


class EnterpriseSnapshot(Base):
    """Hold an enterprise's managers, tax and insured staff as partner departments had them."""

    __tablename__ = "enterprise_snapshots"
    # "Each enterprise's latest snapshot before a day" (the tax-drop trigger, the tax trend).
    __table_args__ = (Index("ix_enterprise_snapshots_enterprise_day", "enterprise_id", "taken_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    taken_on: Mapped[date] = mapped_column(Date, index=True)
    managers: Mapped[list[Any] | None] = mapped_column(JSON)
    annual_tax_wan: Mapped[float | None] = mapped_column(Float)
    insured_staff: Mapped[int | None] = mapped_column(Integer)


class EnterpriseEvent(Base):
    """Hold a dated fact about an enterprise: a relocation sign, a lawsuit or a visit paid."""

    __tablename__ = "enterprise_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    happened_on: Mapped[date] = mapped_column(Date, index=True)
    trigger: Mapped[str | None] = mapped_column(String(24))  # for a visit: the trigger it answered
    detail: Mapped[str | None] = mapped_column(String(200))


class Account(Base):
    """Hold a person's or a wall's sign-in: role, secret's hash, and for a grid worker the record."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    # argon2 hash of a person's password; None for a kiosk, which signs in with its token.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # SHA-256 of a kiosk's token (a long random secret, so a fast digest is enough).
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The grid worker record a grid_worker account acts as (no foreign key: a street re-seed
    # replaces the workers, and the account must survive it to be re-bound).
    worker_id: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # Bumped by a password change, a token re-issue, a role change or a removal: every session
    # signed with an older epoch is no longer valid.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AuditEntry(Base):
    """Record one sign-in, reveal or write: who, when, what, which record, why, from where."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(40), index=True)
    record_type: Mapped[str | None] = mapped_column(String(24))
    record_id: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))  # ok, refused, failed
    source_ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
