"""restarts and repeats: the scenario's scripted incidents, and one summary row per case's repeats

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

`scenario_incidents` keeps when each scripted incident of the live scenario is due and when it
was played, so a restarted cockpit neither plays one again nor moves the ones still to come.
`case_history.repeats` and `case_history.last_at` let a case's repeat reports share one "link"
row (how many, first at `at`, last at `last_at`). Cases that already hold one link row per
repeat are folded into that one row here, in Python with bound parameters, alike on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

REPEATS_KEY = "link:repeats"
history = sa.table(
    "case_history",
    sa.column("id", sa.Integer),
    sa.column("case_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("action_key", sa.String),
    sa.column("repeats", sa.Integer),
    sa.column("last_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "scenario_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("played_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_incidents")),
        sa.UniqueConstraint("name", name=op.f("uq_scenario_incidents_name")),
    )
    with op.batch_alter_table("case_history", schema=None) as batch_op:
        batch_op.add_column(sa.Column("repeats", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_at", sa.DateTime(timezone=True), nullable=True))
    _fold_links(op.get_bind())


def _fold_links(conn) -> None:
    """Keep each case's last link row as its summary of all its links; delete the others."""
    rows = conn.execute(
        sa.select(history.c.id, history.c.case_id, history.c.at)
        .where(history.c.action == "link")
        .order_by(history.c.case_id, history.c.at, history.c.id)
    ).all()
    by_case: dict[int, list] = {}
    for row in rows:
        by_case.setdefault(row.case_id, []).append(row)
    for links in by_case.values():
        keep = links[-1]
        conn.execute(
            sa.update(history)
            .where(history.c.id == keep.id)
            .values(at=links[0].at, last_at=keep.at, repeats=len(links), action_key=REPEATS_KEY)
        )
        others = [row.id for row in links[:-1]]
        for start in range(0, len(others), 1000):
            conn.execute(sa.delete(history).where(history.c.id.in_(others[start : start + 1000])))


def downgrade() -> None:
    """Revert this revision (folded repeats stay one row each)."""
    with op.batch_alter_table("case_history", schema=None) as batch_op:
        batch_op.drop_column("last_at")
        batch_op.drop_column("repeats")
    op.drop_table("scenario_incidents")
