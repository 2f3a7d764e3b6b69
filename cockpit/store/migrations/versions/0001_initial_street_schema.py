"""initial street schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("condition_key", sa.String(length=120), nullable=False),
        sa.Column("object_type", sa.String(length=24), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alerts_condition_key"), ["condition_key"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_alerts_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_level"), ["level"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_raised_at"), ["raised_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_status"), ["status"], unique=False)

    op.create_table(
        "response_teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("base_lon", sa.Float(), nullable=False),
        sa.Column("base_lat", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_teams")),
        sa.UniqueConstraint("code", name=op.f("uq_response_teams_code")),
    )
    op.create_table(
        "streets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("scale", sa.String(length=16), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("area_km2", sa.Float(), nullable=False),
        sa.Column("center_lon", sa.Float(), nullable=False),
        sa.Column("center_lat", sa.Float(), nullable=False),
        sa.Column("boundary", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_streets")),
        sa.UniqueConstraint("code", name=op.f("uq_streets_code")),
    )
    op.create_table(
        "communities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("boundary", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["street_id"], ["streets.id"], name=op.f("fk_communities_street_id_streets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_communities")),
        sa.UniqueConstraint("code", name=op.f("uq_communities_code")),
    )
    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_communities_street_id"), ["street_id"], unique=False)

    op.create_table(
        "map_features",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=True),
        sa.Column("geometry", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["street_id"], ["streets.id"], name=op.f("fk_map_features_street_id_streets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_map_features")),
    )
    with op.batch_alter_table("map_features", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_map_features_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_map_features_street_id"), ["street_id"], unique=False)

    op.create_table(
        "compounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("boundary", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_compounds_community_id_communities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compounds")),
        sa.UniqueConstraint("code", name=op.f("uq_compounds_code")),
    )
    with op.batch_alter_table("compounds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compounds_community_id"), ["community_id"], unique=False
        )

    op.create_table(
        "grids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("boundary", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_grids_community_id_communities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grids")),
        sa.UniqueConstraint("code", name=op.f("uq_grids_code")),
    )
    with op.batch_alter_table("grids", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grids_community_id"), ["community_id"], unique=False)

    op.create_table(
        "buildings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("compound_id", sa.Integer(), nullable=True),
        sa.Column("use", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column("floors", sa.Integer(), nullable=False),
        sa.Column("height_m", sa.Float(), nullable=False),
        sa.Column("built_year", sa.Integer(), nullable=True),
        sa.Column("footprint", sa.JSON(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["compound_id"], ["compounds.id"], name=op.f("fk_buildings_compound_id_compounds")
        ),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_buildings_grid_id_grids")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buildings")),
        sa.UniqueConstraint("code", name=op.f("uq_buildings_code")),
    )
    with op.batch_alter_table("buildings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_buildings_compound_id"), ["compound_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_buildings_grid_id"), ["grid_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_buildings_use"), ["use"], unique=False)

    op.create_table(
        "grid_workers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["grids.id"], name=op.f("fk_grid_workers_grid_id_grids")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_workers")),
        sa.UniqueConstraint("code", name=op.f("uq_grid_workers_code")),
    )
    with op.batch_alter_table("grid_workers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_workers_grid_id"), ["grid_id"], unique=False)

    op.create_table(
        "addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("road", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("full_text", sa.String(length=200), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"], ["buildings.id"], name=op.f("fk_addresses_building_id_buildings")
        ),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_addresses_grid_id_grids")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_addresses")),
        sa.UniqueConstraint("code", name=op.f("uq_addresses_code")),
    )
    with op.batch_alter_table("addresses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_addresses_building_id"), ["building_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_addresses_full_text"), ["full_text"], unique=False)
        batch_op.create_index(batch_op.f("ix_addresses_grid_id"), ["grid_id"], unique=False)

    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=64), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("address_id", sa.Integer(), nullable=True),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("reporter_worker_id", sa.Integer(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("routing", sa.String(length=16), nullable=True),
        sa.Column("resolution_level", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["address_id"], ["addresses.id"], name=op.f("fk_cases_address_id_addresses")
        ),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name=op.f("fk_cases_alert_id_alerts")),
        sa.ForeignKeyConstraint(
            ["building_id"], ["buildings.id"], name=op.f("fk_cases_building_id_buildings")
        ),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_cases_grid_id_grids")),
        sa.ForeignKeyConstraint(
            ["reporter_worker_id"],
            ["grid_workers.id"],
            name=op.f("fk_cases_reporter_worker_id_grid_workers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("code", name=op.f("uq_cases_code")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_address_id"), ["address_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_building_id"), ["building_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_grid_id"), ["grid_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_reported_at"), ["reported_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_source"), ["source"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_state"), ["state"], unique=False)

    op.create_table(
        "enterprises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("industry", sa.String(length=32), nullable=False),
        sa.Column("prepaid", sa.Boolean(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("address_id", sa.Integer(), nullable=False),
        sa.Column("room", sa.String(length=16), nullable=True),
        sa.Column("tax_registered_here", sa.Boolean(), nullable=False),
        sa.Column("tax_region", sa.String(length=32), nullable=False),
        sa.Column("legal_representative", sa.String(length=32), nullable=False),
        sa.Column("managers", sa.JSON(), nullable=False),
        sa.Column("staff", sa.Integer(), nullable=False),
        sa.Column("annual_tax_wan", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("lease_ends_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["address_id"], ["addresses.id"], name=op.f("fk_enterprises_address_id_addresses")
        ),
        sa.ForeignKeyConstraint(
            ["building_id"], ["buildings.id"], name=op.f("fk_enterprises_building_id_buildings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprises")),
        sa.UniqueConstraint("uscc", name=op.f("uq_enterprises_uscc")),
    )
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enterprises_address_id"), ["address_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_enterprises_building_id"), ["building_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_enterprises_industry"), ["industry"], unique=False)
        batch_op.create_index(batch_op.f("ix_enterprises_prepaid"), ["prepaid"], unique=False)

    op.create_table(
        "households",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("room", sa.String(length=16), nullable=False),
        sa.Column("tenure", sa.String(length=16), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["address_id"], ["addresses.id"], name=op.f("fk_households_address_id_addresses")
        ),
        sa.ForeignKeyConstraint(
            ["building_id"], ["buildings.id"], name=op.f("fk_households_building_id_buildings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_households")),
        sa.UniqueConstraint("address_id", "room", name="uq_households_address_room"),
    )
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_households_address_id"), ["address_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_households_building_id"), ["building_id"], unique=False
        )

    op.create_table(
        "resident_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_code", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("address_text", sa.String(length=200), nullable=True),
        sa.Column("address_id", sa.Integer(), nullable=True),
        sa.Column("media_url", sa.String(length=400), nullable=True),
        sa.ForeignKeyConstraint(
            ["address_id"], ["addresses.id"], name=op.f("fk_resident_requests_address_id_addresses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident_requests")),
    )
    with op.batch_alter_table("resident_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resident_requests_address_id"), ["address_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_resident_requests_requested_at"), ["requested_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_resident_requests_service_code"), ["service_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_resident_requests_status"), ["status"], unique=False)

    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("address_text", sa.String(length=200), nullable=False),
        sa.Column("address_id", sa.Integer(), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["address_id"], ["addresses.id"], name=op.f("fk_complaints_address_id_addresses")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_complaints_enterprise_id_enterprises"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("source", "external_id", name="uq_complaints_source_ref"),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaints_address_id"), ["address_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_complaints_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_complaints_received_at"), ["received_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_complaints_source"), ["source"], unique=False)

    op.create_table(
        "residents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=True),
        sa.Column("gender", sa.String(length=1), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("registration", sa.String(length=16), nullable=False),
        sa.Column("lives_alone", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_residents_household_id_households")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_residents")),
        sa.UniqueConstraint("id_number", name=op.f("uq_residents_id_number")),
    )
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_residents_birth_alone", ["lives_alone", "birth_date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_residents_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_residents_registration"), ["registration"], unique=False
        )

    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("compound_id", sa.Integer(), nullable=True),
        sa.Column("floor", sa.Integer(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("report_interval_s", sa.Integer(), nullable=False),
        sa.Column("installed_on", sa.Date(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["building_id"], ["buildings.id"], name=op.f("fk_devices_building_id_buildings")
        ),
        sa.ForeignKeyConstraint(
            ["compound_id"], ["compounds.id"], name=op.f("fk_devices_compound_id_compounds")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_devices_resident_id_residents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("code", name=op.f("uq_devices_code")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devices_building_id"), ["building_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_devices_compound_id"), ["compound_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_devices_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_devices_resident_id"), ["resident_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""

    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_resident_id"))
        batch_op.drop_index(batch_op.f("ix_devices_kind"))
        batch_op.drop_index(batch_op.f("ix_devices_compound_id"))
        batch_op.drop_index(batch_op.f("ix_devices_building_id"))

    op.drop_table("devices")
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_residents_registration"))
        batch_op.drop_index(batch_op.f("ix_residents_household_id"))
        batch_op.drop_index("ix_residents_birth_alone")

    op.drop_table("residents")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaints_source"))
        batch_op.drop_index(batch_op.f("ix_complaints_received_at"))
        batch_op.drop_index(batch_op.f("ix_complaints_enterprise_id"))
        batch_op.drop_index(batch_op.f("ix_complaints_address_id"))

    op.drop_table("complaints")
    with op.batch_alter_table("resident_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resident_requests_status"))
        batch_op.drop_index(batch_op.f("ix_resident_requests_service_code"))
        batch_op.drop_index(batch_op.f("ix_resident_requests_requested_at"))
        batch_op.drop_index(batch_op.f("ix_resident_requests_address_id"))

    op.drop_table("resident_requests")
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_households_building_id"))
        batch_op.drop_index(batch_op.f("ix_households_address_id"))

    op.drop_table("households")
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enterprises_prepaid"))
        batch_op.drop_index(batch_op.f("ix_enterprises_industry"))
        batch_op.drop_index(batch_op.f("ix_enterprises_building_id"))
        batch_op.drop_index(batch_op.f("ix_enterprises_address_id"))

    op.drop_table("enterprises")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_state"))
        batch_op.drop_index(batch_op.f("ix_cases_source"))
        batch_op.drop_index(batch_op.f("ix_cases_reported_at"))
        batch_op.drop_index(batch_op.f("ix_cases_grid_id"))
        batch_op.drop_index(batch_op.f("ix_cases_category"))
        batch_op.drop_index(batch_op.f("ix_cases_building_id"))
        batch_op.drop_index(batch_op.f("ix_cases_alert_id"))
        batch_op.drop_index(batch_op.f("ix_cases_address_id"))

    op.drop_table("cases")
    with op.batch_alter_table("addresses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_addresses_grid_id"))
        batch_op.drop_index(batch_op.f("ix_addresses_full_text"))
        batch_op.drop_index(batch_op.f("ix_addresses_building_id"))

    op.drop_table("addresses")
    with op.batch_alter_table("grid_workers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_workers_grid_id"))

    op.drop_table("grid_workers")
    with op.batch_alter_table("buildings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_buildings_use"))
        batch_op.drop_index(batch_op.f("ix_buildings_grid_id"))
        batch_op.drop_index(batch_op.f("ix_buildings_compound_id"))

    op.drop_table("buildings")
    with op.batch_alter_table("grids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grids_community_id"))

    op.drop_table("grids")
    with op.batch_alter_table("compounds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compounds_community_id"))

    op.drop_table("compounds")
    with op.batch_alter_table("map_features", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_map_features_street_id"))
        batch_op.drop_index(batch_op.f("ix_map_features_kind"))

    op.drop_table("map_features")
    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_communities_street_id"))

    op.drop_table("communities")
    op.drop_table("streets")
    op.drop_table("response_teams")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_status"))
        batch_op.drop_index(batch_op.f("ix_alerts_raised_at"))
        batch_op.drop_index(batch_op.f("ix_alerts_level"))
        batch_op.drop_index(batch_op.f("ix_alerts_kind"))
        batch_op.drop_index(batch_op.f("ix_alerts_condition_key"))

    op.drop_table("alerts")
