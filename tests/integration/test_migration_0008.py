"""Migration 0008 folds the link rows a case already has into one row that counts them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import insert, select

from cockpit.store import schema
from cockpit.store.database import alembic_config, make_engine

pytestmark = pytest.mark.integration

MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def row(n: int, case_id: int, action: str, minutes: int, key: str) -> dict:
    """Return a case_history row as revision 0007 stored it."""
    return {
        "id": n,
        "case_id": case_id,
        "action": action,
        "from_state": "reported",
        "to_state": "reported",
        "actor": "resident",
        "at": MONDAY_10 + timedelta(minutes=minutes),
        "note": f"resident:{n} 设施报修",
        "action_key": key,
    }


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0008_folds_each_cases_links_into_one_counting_row(backend, tmp_path, request):
    url = (
        f"sqlite:///{tmp_path / 'old.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    engine = make_engine(url)
    try:
        config = alembic_config(engine)
        command.upgrade(config, "0007")
        case = {
            "code": "RQ00000001",
            "source": "resident",
            "category": "repair",
            "title": "设施报修",
            "description": "楼道灯不亮",
            "state": "reported",
            "reported_at": MONDAY_10,
            "priority": "normal",
            "centre": "street",
            "dispatch_count": 0,
            "rework_count": 0,
            "self_handled": False,
        }
        history = schema.CaseHistory.__table__
        with engine.begin() as conn:
            conn.execute(
                insert(schema.Case.__table__),
                [case | {"id": 1}, case | {"id": 2, "code": "RQ00000002"}],
            )
            conn.execute(
                insert(history),
                [
                    row(1, 1, "report", 0, "report"),
                    row(2, 1, "link", 30, "link:resident:2"),
                    row(3, 1, "link", 10, "link:resident:3"),
                    row(4, 1, "link", 50, "link:resident:4"),
                    row(5, 2, "report", 0, "report"),
                    row(6, 2, "link", 5, "link:resident:6"),
                ],
            )
        command.upgrade(config, "head")
        h = schema.CaseHistory
        with engine.connect() as conn:
            rows = conn.execute(
                select(h.case_id, h.action, h.repeats, h.at, h.last_at, h.action_key).order_by(
                    h.case_id, h.at
                )
            ).all()
        assert [tuple(r) for r in rows] == [
            (1, "report", None, MONDAY_10, None, "report"),
            (1, "link", 3, MONDAY_10 + timedelta(minutes=10), MONDAY_10 + timedelta(minutes=50),
             "link:repeats"),
            (2, "report", None, MONDAY_10, None, "report"),
            (2, "link", 1, MONDAY_10 + timedelta(minutes=5), MONDAY_10 + timedelta(minutes=5),
             "link:repeats"),
        ]  # fmt: skip
    finally:
        engine.dispose()
