"""Run the complaint feeds against the real PostgreSQL: a watched folder and an external table."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
    update,
)

from cockpit.clock import ManualClock
from cockpit.complaint_feeds import FolderFeed, SqlTableFeed
from cockpit.ingest import Ingest
from cockpit.live import InProcessLiveStore
from cockpit.simulator.generator import seed_street
from cockpit.store import schema
from tests.streets import tiny_tier

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)
SHANGHAI = timezone(timedelta(hours=8))
COLUMNS = {
    "source": "channel",
    "external_id": "ticket_no",
    "received_at": "created",
    "category": "kind",
    "text": "body",
    "address": "addr",
    "enterprise_name": "firm",
}


@pytest.fixture
def street(postgres_engine):
    """Return the PostgreSQL store holding the tiny street with one firm renamed."""
    seed_street(postgres_engine, tiny_tier(), 8, (121.5, 31.3))
    e = schema.Enterprise
    with postgres_engine.begin() as conn:
        first = conn.execute(select(e.id).where(e.address_id == 1).order_by(e.id)).scalars().first()
        conn.execute(update(e).where(e.id == first).values(name="元气健身有限公司"))
    return postgres_engine


def stored(engine) -> list:
    """Return every stored complaint, in id order."""
    c = schema.Complaint
    with engine.connect() as conn:
        return conn.execute(
            select(c.source, c.external_id, c.address_id, c.enterprise_id).order_by(c.id)
        ).all()


def address_id(engine, text: str) -> int:
    """Return the id of the standard address with this full text."""
    a = schema.Address
    with engine.connect() as conn:
        return conn.execute(select(a.id).where(a.full_text == text)).scalar_one()


def drop(folder, name: str, text: str) -> None:
    """Write a finished feed file, dated ten seconds ago."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    then = time.time() - 10
    os.utime(path, (then, then))


def test_folder_feed_into_postgres(street, tmp_path):
    live = InProcessLiveStore()
    ingest = Ingest(street, live, ManualClock(NOW))
    folder = tmp_path / "inbox"
    good = (
        "来源,编号,时间,类别,内容,地址,企业名称\n"
        "110,P-1,2026-11-20T09:30:00+08:00,dispute,退卡纠纷,上海市杨浦区延吉东路1号1203室,元气健身\n"
        "劳动监察,L-1,2026-11-20T10:00:00+08:00,unpaid_wages,欠薪,开鲁路107弄2号楼,\n"
    )
    drop(folder, "day1.csv", good)
    drop(folder, "bad.json", json.dumps([{"source": "110", "external_id": "X"}]))
    feed = FolderFeed(ingest, street, folder)
    report = feed.poll()
    assert (report.files, report.rejected_files, report.ingested) == (1, 1, 2)
    rows = stored(street)
    assert [(r.source, r.external_id, r.address_id) for r in rows] == [
        ("110", "P-1", address_id(street, "长白新村街道延吉东路1号")),
        ("labour", "L-1", address_id(street, "长白新村街道开鲁路107弄2号")),
    ]
    assert rows[0].enterprise_id is not None
    error = (folder / "rejected" / "bad.json.error.txt").read_text(encoding="utf-8")
    assert error.startswith("records[0], received_at: is missing")

    drop(folder, "day1.csv", good)  # delivered again
    again = FolderFeed(Ingest(street, live, ManualClock(NOW)), street, folder).poll()
    assert (again.files, again.ingested, again.duplicates) == (1, 0, 2)
    assert len(stored(street)) == 2
    assert live.counters()["feed:folder:files"] == 2


def test_table_feed_from_a_postgres_table(street, postgres_url):
    metadata = MetaData()
    tickets = Table(
        "external_hotline_tickets",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("channel", String(16)),
        Column("ticket_no", String(80)),
        Column("created", DateTime(timezone=True)),
        Column("kind", String(40)),
        Column("body", String(400)),
        Column("addr", String(200)),
        Column("firm", String(128)),
    )
    metadata.create_all(street)  # in the test's own schema, next to the cockpit's tables
    at = datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI)
    rows = [
        {
            "id": i,
            "channel": "12345",
            "ticket_no": f"T-{i}",
            "created": at + timedelta(minutes=i),
            "kind": "prepaid_refund",
            "body": "办卡后门店停业" if i != 3 else "",
            "addr": "长白新村街道延吉东路1号",
            "firm": "元气健身" if i == 2 else None,
        }
        for i in range(1, 6)
    ]
    with street.begin() as conn:
        conn.execute(insert(tickets), rows)
    live = InProcessLiveStore()
    ingest = Ingest(street, live, ManualClock(NOW))
    feed = SqlTableFeed(
        ingest, street, postgres_url, "external_hotline_tickets", COLUMNS, batch_size=2
    )
    report = feed.poll()
    assert (report.rows, report.ingested, report.rejected_rows) == (5, 4, 1)
    assert report.reasons == {"text:string_too_short": 1}
    assert feed.watermark == 5
    feed.close()
    complaints = stored(street)
    assert [c.external_id for c in complaints] == ["T-1", "T-2", "T-4", "T-5"]
    assert complaints[1].enterprise_id is not None and all(
        c.address_id == address_id(street, "长白新村街道延吉东路1号") for c in complaints
    )
    with street.connect() as conn:
        first = conn.execute(
            select(schema.Complaint.received_at).where(schema.Complaint.external_id == "T-1")
        ).scalar_one()
    assert first == at + timedelta(minutes=1)

    with street.begin() as conn:
        conn.execute(insert(tickets), [rows[0] | {"id": 6, "ticket_no": "T-6"}])
    restarted = SqlTableFeed(ingest, street, postgres_url, "external_hotline_tickets", COLUMNS)
    assert restarted.poll().ingested == 1
    restarted.close()
    # A restart that lost its watermark re-reads everything and stores nothing twice.
    forgetful = Ingest(street, InProcessLiveStore(), ManualClock(NOW))
    lost = SqlTableFeed(forgetful, street, postgres_url, "external_hotline_tickets", COLUMNS)
    again = lost.poll()
    lost.close()
    assert (again.rows, again.ingested, again.duplicates) == (6, 0, 5)
    assert len(stored(street)) == 5
