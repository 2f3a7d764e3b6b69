"""case titles from place: retitle residents' and complainants' cases by category and building

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

Titles of resident and complaint cases used to copy the first 200 characters of what was
typed, phone and ID numbers included, and they reach every page. They become the category and
the building-level address (设施报修 · 长白路12号), as new cases are titled; the words as received
stay in the case's description. The link notes in their history that copied the same title
are rewritten the same way. Computed in Python with bound parameters, so it runs alike on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cockpit.cases.titles import case_title, place_of

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SOURCES = ("resident", "complaint")
BATCH = 1000
NOTE_MAX = 500

cases = sa.table(
    "cases",
    sa.column("id", sa.Integer),
    sa.column("source", sa.String),
    sa.column("category", sa.String),
    sa.column("address_id", sa.Integer),
    sa.column("title", sa.String),
    sa.column("title_en", sa.String),
)
addresses = sa.table(
    "addresses",
    sa.column("id", sa.Integer),
    sa.column("road", sa.String),
    sa.column("number", sa.String),
)
history = sa.table(
    "case_history",
    sa.column("id", sa.Integer),
    sa.column("case_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("actor", sa.String),
    sa.column("note", sa.String),
)


def upgrade() -> None:
    """Apply this revision."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(
            cases.c.id, cases.c.source, cases.c.category, addresses.c.road, addresses.c.number
        )
        .select_from(cases.outerjoin(addresses, addresses.c.id == cases.c.address_id))
        .order_by(cases.c.id)
    ).all()
    titles: dict[int, tuple[str, str]] = {
        row.id: case_title(row.category, place_of(row.road, row.number)) for row in rows
    }
    retitled = [
        {"case_id": row.id, "new_title": titles[row.id][0], "new_title_en": titles[row.id][1]}
        for row in rows
        if row.source in SOURCES
    ]
    update_case = (
        sa.update(cases)
        .where(cases.c.id == sa.bindparam("case_id"))
        .values(title=sa.bindparam("new_title"), title_en=sa.bindparam("new_title_en"))
    )
    for start in range(0, len(retitled), BATCH):
        conn.execute(update_case, retitled[start : start + BATCH])
    # A link note reads "<source>:<ref> <title>": keep the reference, retitle the rest.
    links = conn.execute(
        sa.select(history.c.id, history.c.case_id, history.c.note).where(
            history.c.action == "link", history.c.actor.in_(SOURCES)
        )
    ).all()
    notes = [
        {
            "history_id": row.id,
            "new_note": f"{(row.note or '').split(' ', 1)[0]} {titles[row.case_id][0]}"[:NOTE_MAX],
        }
        for row in links
        if row.case_id in titles
    ]
    update_note = (
        sa.update(history)
        .where(history.c.id == sa.bindparam("history_id"))
        .values(note=sa.bindparam("new_note"))
    )
    for start in range(0, len(notes), BATCH):
        conn.execute(update_note, notes[start : start + BATCH])


def downgrade() -> None:
    """Revert this revision: nothing to undo; the old titles held personal data, and are gone."""
