"""Test the complaint feeds: address and firm matching, file parsing, the folder and SQL feeds."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import time
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import OperationalError

from cockpit.clock import ManualClock
from cockpit.complaint_feeds import (
    CHINESE_NAMES,
    FIELDS,
    AddressMatcher,
    ComplaintRecord,
    ComplaintWriter,
    EnterpriseMatcher,
    FeedConfigError,
    FeedReport,
    FolderFeed,
    SqlTableFeed,
    normalise_address,
    parse_csv,
    parse_feed_file,
    parse_json,
)
from cockpit.domain.kinds import ComplaintSource
from cockpit.importers.errors import ImportFileError
from cockpit.ingest import Ingest
from cockpit.live import InProcessLiveStore, LiveStoreError
from cockpit.simulator.generator import seed_street
from cockpit.store import schema
from tests.streets import tiny_tier

NOW = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
HEADER = "source,external_id,received_at,category,text,address,enterprise_name,uscc"
CHINESE_HEADER = "来源,编号,时间,类别,内容,地址,企业名称,统一社会信用代码"
WHEN = "2026-11-20T09:30:00+08:00"
# Three firms at address 1 and one at address 2 get names the matching tests can reason about.
FIRM_NAMES = {
    1: "元气健身有限公司",
    2: "星光美容美发有限公司",
    3: "星光教育培训有限公司",
}


def row(
    source="110",
    external_id="P-1",
    received_at=WHEN,
    category="dispute",
    text="商家拒绝退还预付卡余额",
    address="长白新村街道延吉东路1号",
    enterprise_name="",
    uscc="",
) -> str:
    """Return one CSV data line in HEADER's column order."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(
        (source, external_id, received_at, category, text, address, enterprise_name, uscc)
    )
    return out.getvalue().removesuffix("\n")


def feed_csv(*lines: str, header: str = HEADER) -> str:
    """Return a feed CSV's text from its header and data lines."""
    return "\n".join((header, *lines)) + "\n"


def drop(folder, name: str, text: str | bytes, age: float = 10.0):
    """Write a file into the folder, dated `age` seconds ago, and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def complaints(engine) -> list:
    """Return every stored complaint, in id order."""
    c = schema.Complaint
    with engine.connect() as conn:
        return conn.execute(
            select(c.source, c.external_id, c.address_id, c.enterprise_id).order_by(c.id)
        ).all()


@pytest.fixture
def street(sqlite_engine):
    """Return the SQLite store holding the tiny street, with known names on a few firms."""
    seed_street(sqlite_engine, tiny_tier(), 8, (121.5, 31.3))
    e = schema.Enterprise
    with sqlite_engine.begin() as conn:
        at_one = conn.execute(select(e.id).where(e.address_id == 1).order_by(e.id)).scalars()
        for firm_id, name in zip(at_one, FIRM_NAMES.values(), strict=False):
            conn.execute(update(e).where(e.id == firm_id).values(name=name))
    return sqlite_engine


@pytest.fixture
def firms(street) -> dict[str, tuple[int, str, int]]:
    """Return (id, uscc, address id) of the renamed firms by name, and one firm at address 2."""
    e = schema.Enterprise
    with street.connect() as conn:
        rows = conn.execute(select(e.id, e.uscc, e.address_id, e.name).order_by(e.id)).all()
    found = {
        name: (i, uscc, address) for i, uscc, address, name in rows if name in FIRM_NAMES.values()
    }
    found["at_two"] = next((i, uscc, address) for i, uscc, address, _ in rows if address == 2)
    return found


@pytest.fixture
def live():
    """Return an in-process live store."""
    return InProcessLiveStore()


@pytest.fixture
def ingest(street, live):
    """Return an Ingest over the tiny street with a clock standing at NOW."""
    return Ingest(street, live, ManualClock(NOW))


# -- addresses ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "how"),
    [
        ("长白新村街道延吉东路1号", "长白新村街道延吉东路1号", "exact"),
        ("  长白新村街道延吉东路1号 ", "长白新村街道延吉东路1号", "exact"),
        ("上海市杨浦区长白新村街道延吉东路３号", "长白新村街道延吉东路3号", "normalised"),
        ("延吉东路 5 号", "长白新村街道延吉东路5号", "normalised"),
        ("杨浦区开鲁路１０７弄２号楼1203室", "长白新村街道开鲁路107弄2号", "normalised"),
        ("开鲁路107弄2幢", "长白新村街道开鲁路107弄2号", "normalised"),
        ("开鲁路107弄2栋3单元501室", "长白新村街道开鲁路107弄2号", "normalised"),
        ("延吉东路5号（瑞丰大厦）12楼", "长白新村街道延吉东路5号", "normalised"),
        ("开鲁路107弄3号-1203", "长白新村街道开鲁路107弄3号", "normalised"),
        ("延吉东路1号3幢1203室", "长白新村街道延吉东路1号", "road_number"),
        ("近开鲁路107弄3", "长白新村街道开鲁路107弄3号", "road_number"),
    ],
)
def test_address_text_matches_its_standard_address(street, text, expected, how):
    matcher = AddressMatcher(street)
    found = matcher.resolve(text)
    assert found is not None and found.how == how
    with street.connect() as conn:
        full_text = conn.execute(
            select(schema.Address.full_text).where(schema.Address.id == found.address_id)
        ).scalar_one()
    assert full_text == expected
    assert matcher.match(text) == found.address_id


def test_unknown_address_falls_back_to_the_nearest_point_within_150_m(street):
    matcher = AddressMatcher(street)
    with street.connect() as conn:
        lon, lat = conn.execute(
            select(schema.Address.lon, schema.Address.lat).where(schema.Address.id == 4)
        ).one()
    assert matcher.match("不存在路9号") is None
    assert matcher.resolve("不存在路9号", lon + 0.0002, lat).how == "nearest"
    assert matcher.match("不存在路9号", lon + 0.0002, lat) == 4
    assert matcher.match("不存在路9号", lon + 0.01, lat) is None  # about a kilometre away
    assert matcher.match("", None, None) is None


def test_normalisation_strips_region_building_and_room():
    assert normalise_address("上海市 杨浦区 延吉东路１号３幢") == "延吉东路1号3号"
    assert normalise_address("S 街道黄兴路3号", ["S街道"]) == "黄兴路3号"
    assert normalise_address("浦东新区世纪大道100号8楼") == "世纪大道100号"
    # A road that merely starts like a region keeps its name: no house number follows a prefix.
    assert normalise_address("市光路") == "市光路"


def test_matcher_refreshes_on_demand(street):
    matcher = AddressMatcher(street)
    with street.begin() as conn:
        conn.execute(
            update(schema.Address).where(schema.Address.id == 3).values(full_text="新地址路99号")
        )
    assert matcher.match("新地址路99号") is None
    matcher.refresh()
    assert matcher.match("新地址路99号") == 3


def test_ambiguous_road_and_number_match_nothing(street):
    with street.begin() as conn:
        conn.execute(
            update(schema.Address)
            .where(schema.Address.id.in_([1, 2]))
            .values(road="重名路", number="1号", full_text="重名路1号")
        )
    matcher = AddressMatcher(street)
    assert matcher.match("重名路1号") is None
    assert matcher.match("上海市重名路1号201室") is None


# -- enterprises ----------------------------------------------------------------------------------


def test_enterprise_matches_by_uscc_then_name_then_unique_name_at_address(street, firms):
    matcher = EnterpriseMatcher(street)
    fit_id, fit_uscc, fit_address = firms["元气健身有限公司"]
    beauty_id = firms["星光美容美发有限公司"][0]
    assert matcher.match(uscc=fit_uscc) == fit_id
    assert matcher.match(uscc=fit_uscc.lower(), name="别的名字") == fit_id
    assert matcher.match(uscc="91310110999999999X", name="星光美容美发有限公司") == beauty_id
    assert matcher.match(name="  星光美容美发有限公司 ") == beauty_id
    assert matcher.match(name="元气健身", address_id=fit_address) == fit_id
    assert matcher.match(name="元气健身") is None  # a part of a name needs the address
    assert matcher.match(name="元气健身", address_id=firms["at_two"][2]) is None
    assert matcher.match(name="星光", address_id=fit_address) is None  # two firms: ambiguous
    assert matcher.match(name="有", address_id=fit_address) is None
    assert matcher.match() is None


def test_same_exact_name_twice_needs_the_address(street, firms):
    beauty_id, _, address_one = firms["星光美容美发有限公司"]
    other_id, _, address_two = firms["at_two"]
    with street.begin() as conn:
        conn.execute(
            update(schema.Enterprise)
            .where(schema.Enterprise.id == other_id)
            .values(name="星光美容美发有限公司")
        )
    matcher = EnterpriseMatcher(street)
    assert matcher.match(name="星光美容美发有限公司") is None
    assert matcher.match(name="星光美容美发有限公司", address_id=address_one) == beauty_id
    assert matcher.match(name="星光美容美发有限公司", address_id=address_two) == other_id


# -- parsing --------------------------------------------------------------------------------------


def test_csv_with_english_header_parses():
    records = parse_csv(
        feed_csv(
            row(),
            row(source="劳动监察", external_id="L-9", enterprise_name="元气健身"),
            row(source="12345热线", external_id="H-1", uscc="91310110000000038c"),
        )
    )
    assert [r.source for r in records] == [
        ComplaintSource.POLICE_110,
        ComplaintSource.LABOUR,
        ComplaintSource.HOTLINE_12345,
    ]
    assert records[0].received_at == datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
    assert records[0].enterprise_name is None and records[1].enterprise_name == "元气健身"
    assert records[2].uscc == "91310110000000038C"


def test_csv_with_chinese_header_bom_extra_columns_and_coordinates_parses():
    text = "\ufeff来源,编号,时间,类别,内容,地址,经度,纬度,备注\n"
    text += "96315,M-1,2026-11-20T01:30:00Z,consumer_rights,商家失联,延吉东路1号,121.5,31.3,x\n"
    (record,) = parse_csv(text)
    assert record.source is ComplaintSource.MARKET_96315
    assert (record.lon, record.lat) == (121.5, 31.3)
    assert parse_csv(feed_csv(header=CHINESE_HEADER)) == []


@pytest.mark.parametrize(
    ("text", "location", "reason"),
    [
        ("", "line 1", "empty"),
        ("source,external_id\n", "line 1", "missing required column received_at"),
        (feed_csv(row(), row(received_at="2026-11-20T09:30:00")), "line 3, received_at", "zone"),
        (
            feed_csv(row(received_at="2026-11-20 09:30"), header=CHINESE_HEADER),
            "line 2, received_at (时间)",
            "zone",
        ),
        (feed_csv(row(received_at="昨天")), "line 2, received_at", "ISO 8601"),
        (feed_csv(row(received_at="1900-01-01T00:00:00+08:00")), "line 2, received_at", "1990"),
        (feed_csv(row(source="119")), "line 2, source", "110, 12345, 96315 or labour"),
        (feed_csv(row(source="")), "line 2, source", "empty"),
        (feed_csv(row(text="  ")), "line 2, text", "empty"),
        (feed_csv(row(external_id="x" * 65)), "line 2, external_id", "64"),
        (feed_csv(row(uscc="123")), "line 2, uscc", "unified social credit code"),
        (feed_csv(row(address="延吉东路\x001号")), "line 2, address", "NUL"),
        (feed_csv(row(), "110,P-2,x"), "line 3", "has 3 fields"),
        (feed_csv(row(), '110,"P-2'), "line 3", "not valid CSV"),
        (HEADER + ",来源\n", "line 1", "appears twice"),
        (
            "source,external_id,received_at,category,text,address,lon\n"
            f"110,P-1,{WHEN},a,b,c,121.5\n",
            "line 2, lon/lat",
            "both or neither",
        ),
        (
            "source,external_id,received_at,category,text,address,lon,lat\n"
            f"110,P-1,{WHEN},a,b,c,181,31\n",
            "line 2, lon",
            "180",
        ),
    ],
)
def test_bad_csv_names_line_and_field(text, location, reason):
    with pytest.raises(ImportFileError) as caught:
        parse_csv(text)
    assert caught.value.location == location
    assert reason in caught.value.reason


def test_multi_line_cells_count_physical_lines():
    text = feed_csv(row(text="第一行\n第二行"), row(external_id="P-2", received_at="bad"))
    with pytest.raises(ImportFileError) as caught:
        parse_csv(text)
    assert caught.value.location == "line 4, received_at"


def good_object(**overrides) -> dict:
    """Return one valid JSON complaint object."""
    base = {
        "source": "110",
        "external_id": "P-1",
        "received_at": WHEN,
        "category": "dispute",
        "text": "商家拒绝退款",
        "address": "延吉东路1号",
    }
    return base | overrides


def test_json_list_and_records_object_parse():
    listed = parse_json(
        json.dumps([good_object(), good_object(external_id=7, lon=121.5, lat=31.3)])
    )
    assert [r.external_id for r in listed] == ["P-1", "7"]
    wrapped = parse_json(json.dumps({"records": [good_object(source="劳动监察")], "batch": 3}))
    assert wrapped[0].source is ComplaintSource.LABOUR
    chinese = {CHINESE_NAMES_BY_FIELD[k]: v for k, v in good_object().items()}
    assert parse_json(json.dumps({"records": [chinese]}))[0].external_id == "P-1"
    assert parse_json("[]") == []


CHINESE_NAMES_BY_FIELD = {field: label for label, field in CHINESE_NAMES.items()}


@pytest.mark.parametrize(
    ("data", "location", "reason"),
    [
        ('[{"source": "110",', "line 1, column 19", "not valid JSON"),
        ("[1, NaN]", "file", "not valid JSON"),
        ('{"rows": []}', "file", "list of records"),
        ("42", "file", "list of records"),
        (json.dumps([good_object(), "x"]), "records[1]", "object"),
        (
            json.dumps({"records": [good_object(), good_object(received_at="2026-11-20T09:30")]}),
            "records[1], received_at",
            "zone",
        ),
        (json.dumps([good_object(received_at=1763602200)]), "records[0], received_at", "ISO"),
        (json.dumps([good_object(text=["a"])]), "records[0], text", "string"),
        (
            json.dumps([{k: v for k, v in good_object().items() if k != "address"}]),
            "records[0], address",
            "missing",
        ),
        (json.dumps([good_object(时间=WHEN)]), "records[0], received_at (时间)", "twice"),
        (json.dumps([good_object(lon=121.5, lat="北")]), "records[0], lat", "number"),
        (json.dumps([good_object(source=True)]), "records[0], source", "110"),
    ],
)
def test_bad_json_names_record_and_field(data, location, reason):
    with pytest.raises(ImportFileError) as caught:
        parse_json(data)
    assert caught.value.location == location
    assert reason in caught.value.reason


def test_feed_file_by_suffix(tmp_path):
    csv_path = drop(tmp_path, "a.CSV", feed_csv(row()))
    json_path = drop(tmp_path, "b.json", json.dumps([good_object()]))
    assert parse_feed_file(csv_path)[0].external_id == "P-1"
    assert parse_feed_file(str(json_path))[0].external_id == "P-1"
    with pytest.raises(ImportFileError, match="must end in"):
        parse_feed_file(drop(tmp_path, "c.txt", "x"))
    with pytest.raises(ImportFileError, match="no such file|cannot read"):
        parse_feed_file(tmp_path / "gone.csv")
    with pytest.raises(ImportFileError) as caught:
        parse_feed_file(drop(tmp_path, "gbk.csv", feed_csv(row()).encode("gbk")))
    assert caught.value.location == "line 2" and "UTF-8" in caught.value.reason


LABEL_POOL = [*FIELDS, *CHINESE_NAMES, "备注", "", "SOURCE"]
CELL = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "110",
            "劳动监察",
            WHEN,
            "2026-11-20T09:30:00",
            "2026-11-20T09:30:00Z",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-12:00",
            "121.5",
            "nan",
            "1e400",
            "9131011000000001LF",
            "",
            "\x00",
            "\ud800",
        ]
    ),
)
JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), CELL)
JSON_VALUE = st.recursive(
    JSON_SCALAR,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
JSON_RECORD = st.dictionaries(st.sampled_from(LABEL_POOL), JSON_VALUE, max_size=12)


def _only_import_file_errors(parse, text) -> None:
    """Parse text, allowing ImportFileError only, and check what a success returned."""
    try:
        records = parse(text)
    except ImportFileError as err:
        assert err.location and err.reason
        return
    assert all(isinstance(r, ComplaintRecord) for r in records)
    assert all(r.received_at.tzinfo is not None for r in records)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_raises_only_import_file_error(text):
    _only_import_file_errors(parse_csv, text)
    _only_import_file_errors(parse_json, text)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(LABEL_POOL), max_size=12),
    st.lists(st.lists(CELL, max_size=12), max_size=5),
)
def test_any_csv_table_raises_only_import_file_error(header, rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    _only_import_file_errors(parse_csv, out.getvalue())


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.lists(JSON_RECORD, max_size=4),
        st.fixed_dictionaries({"records": st.lists(JSON_RECORD, max_size=4)}),
        JSON_VALUE,
    )
)
def test_any_json_document_raises_only_import_file_error(document):
    _only_import_file_errors(parse_json, json.dumps(document, allow_nan=True))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(["x.csv", "x.json"]))
def test_any_bytes_raise_only_import_file_error(tmp_path_factory, data, name):
    path = tmp_path_factory.mktemp("bytes") / name
    path.write_bytes(data)
    _only_import_file_errors(parse_feed_file, path)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([HEADER, CHINESE_HEADER]),
    st.lists(st.lists(CELL, min_size=8, max_size=8), max_size=4),
)
def test_any_cells_under_a_good_header_raise_only_import_file_error(header, rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header.split(","))
    writer.writerows(rows)
    _only_import_file_errors(parse_csv, out.getvalue())


MUTATED_RECORD = st.builds(
    lambda base, changes: base | changes,
    st.builds(good_object, external_id=st.text(min_size=1, max_size=70)),
    st.dictionaries(st.sampled_from(FIELDS), JSON_VALUE, max_size=3),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(MUTATED_RECORD, max_size=4))
def test_whatever_parses_can_be_stored(ingest, street, records):
    try:
        parsed = parse_json(json.dumps(records, allow_nan=True))
    except ImportFileError:
        return
    report = FeedReport()
    ComplaintWriter(ingest, street).write(parsed, report)
    assert report.ingested + report.duplicates == len(parsed)


def test_deeply_nested_json_is_a_file_error():
    with pytest.raises(ImportFileError):
        parse_json("[" * 100_000 + "]" * 100_000)


# -- the folder feed ------------------------------------------------------------------------------


def test_good_file_is_ingested_matched_and_moved(ingest, street, firms, tmp_path, live):
    fit_id, fit_uscc, fit_address = firms["元气健身有限公司"]
    folder = tmp_path / "inbox"
    drop(
        folder,
        "day1.csv",
        feed_csv(
            row(address="上海市杨浦区延吉东路1号1203室", enterprise_name="元气健身"),
            row(source="劳动监察", external_id="L-1", address="某处", uscc=fit_uscc),
            row(source="12345", external_id="H-1", address="不存在路9号"),
        ),
    )
    drop(folder, "notes.txt", "not a feed")
    drop(folder, ".partial.csv", "half")
    feed = FolderFeed(ingest, street, folder)
    report = feed.poll()
    assert (report.files, report.ingested, report.duplicates, report.rejected_files) == (1, 3, 0, 0)
    assert report.addresses == {"normalised": 1, "enterprise": 1, "unmatched": 1}
    assert complaints(street) == [
        ("110", "P-1", fit_address, fit_id),
        ("labour", "L-1", fit_address, fit_id),
        ("12345", "H-1", None, None),
    ]
    assert sorted(p.name for p in folder.iterdir()) == [
        ".partial.csv",
        "notes.txt",
        "processed",
        "rejected",
    ]
    assert (folder / "processed" / "day1.csv").exists()
    counters = live.counters()
    assert counters["feed:folder:files"] == 1
    assert counters["feed:folder:records"] == 3
    assert counters["feed:folder:address:unmatched"] == 1
    assert counters["complaints_received"] == 3
    assert feed.poll().files == 0  # nothing new


def test_bad_file_is_rejected_whole_with_an_error_file(ingest, street, tmp_path, live):
    folder = tmp_path / "inbox"
    drop(folder, "bad.csv", feed_csv(row(), row(external_id="P-2", received_at="2026-11-20 09:30")))
    drop(folder, "bad.json", "[{]")
    report = FolderFeed(ingest, street, folder).poll()
    assert (report.files, report.rejected_files, report.ingested) == (0, 2, 0)
    assert complaints(street) == []  # the good first line was not stored either
    assert (folder / "rejected" / "bad.csv").exists()
    error = (folder / "rejected" / "bad.csv.error.txt").read_text(encoding="utf-8")
    assert error.startswith("line 3, received_at: has no time zone")
    assert (folder / "rejected" / "bad.json.error.txt").read_text().startswith("line 1, column 3")
    assert not (folder / "bad.csv").exists()
    assert live.counters()["feed:folder:rejected"] == 2


def test_file_still_being_written_waits_until_it_settles(ingest, street, tmp_path):
    folder = tmp_path / "inbox"
    now = [1_000_000.0]
    path = drop(folder, "live.json", '[{"source": "110", "exter')
    os.utime(path, (now[0], now[0]))
    feed = FolderFeed(ingest, street, folder, wall=lambda: now[0] + 0.5)
    first = feed.poll()
    assert (first.waiting_files, first.files, first.rejected_files) == (1, 0, 0)
    path.write_text(json.dumps([good_object()]), encoding="utf-8")  # the writer finishes
    os.utime(path, (now[0] + 0.4, now[0] + 0.4))
    second = feed.poll()
    assert second.waiting_files == 1 and path.exists()  # changed since the last poll
    third = feed.poll()  # unchanged since the last poll: complete
    assert (third.waiting_files, third.files, third.ingested) == (0, 1, 1)


def test_old_file_is_read_on_first_sight(ingest, street, tmp_path):
    folder = tmp_path / "inbox"
    path = drop(folder, "old.json", json.dumps([good_object()]))
    os.utime(path, (1_000_000.0, 1_000_000.0))
    feed = FolderFeed(ingest, street, folder, wall=lambda: 1_000_002.5)
    assert feed.poll().files == 1


def test_redelivered_and_overlapping_files_store_nothing_twice(ingest, street, tmp_path, live):
    folder = tmp_path / "inbox"
    text = feed_csv(row(), row(external_id="P-2"))
    feed = FolderFeed(ingest, street, folder)
    drop(folder, "day1.csv", text)
    assert feed.poll().ingested == 2
    drop(folder, "day1.csv", text)  # the same file delivered again
    again = feed.poll()
    assert (again.files, again.ingested, again.duplicates) == (1, 0, 2)
    overlap = [
        good_object(external_id="P-2"),
        good_object(external_id="P-3"),
        good_object(external_id="P-3"),
    ]
    drop(folder, "day2.json", json.dumps(overlap))
    third = feed.poll()
    assert (third.ingested, third.duplicates) == (1, 2)
    assert [c.external_id for c in complaints(street)] == ["P-1", "P-2", "P-3"]
    processed = sorted(p.name for p in (folder / "processed").iterdir())
    assert len(processed) == 3 and "day1.csv" in processed and "day2.json" in processed
    assert live.counters()["feed:folder:duplicates"] == 4


def test_restart_after_a_crash_mid_file_stores_no_duplicates(street, tmp_path, live, monkeypatch):
    folder = tmp_path / "inbox"
    drop(folder, "day1.csv", feed_csv(*(row(external_id=f"P-{i}") for i in range(5))))
    crashing = Ingest(street, live, ManualClock(NOW))
    real = crashing.complaint
    calls = []

    def fail_on_third(*args, **kwargs):
        calls.append(args)
        if len(calls) == 3:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return real(*args, **kwargs)

    monkeypatch.setattr(crashing, "complaint", fail_on_third)
    report = FolderFeed(crashing, street, folder).poll()
    assert report.ingested == 2 and report.errors and (folder / "day1.csv").exists()
    restarted = FolderFeed(Ingest(street, live, ManualClock(NOW)), street, folder)
    after = restarted.poll()
    assert (after.files, after.ingested, after.duplicates) == (1, 3, 2)
    assert [c.external_id for c in complaints(street)] == [f"P-{i}" for i in range(5)]


def test_missing_folder_is_created_and_an_unlistable_one_is_reported(ingest, street, tmp_path):
    assert FolderFeed(ingest, street, tmp_path / "new" / "inbox").poll().errors == []
    assert (tmp_path / "new" / "inbox" / "processed").is_dir()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    report = FolderFeed(ingest, street, blocker / "inbox").poll()
    assert report.errors and report.files == 0


def test_matchers_reload_after_their_refresh_interval(ingest, street, tmp_path):
    folder = tmp_path / "inbox"
    feed = FolderFeed(ingest, street, folder, refresh_s=60)
    drop(folder, "a.csv", feed_csv(row(address="新地址路99号")))
    assert feed.poll().addresses == {"unmatched": 1}
    with street.begin() as conn:
        conn.execute(
            update(schema.Address).where(schema.Address.id == 3).values(full_text="新地址路99号")
        )
    drop(folder, "b.csv", feed_csv(row(external_id="P-2", address="新地址路99号")))
    assert feed.poll().addresses == {"unmatched": 1}  # still the old picture
    ingest.clock.advance(61)
    drop(folder, "c.csv", feed_csv(row(external_id="P-3", address="新地址路99号")))
    assert feed.poll().addresses == {"exact": 1}


# -- the SQL table feed ---------------------------------------------------------------------------

COLUMNS = {
    "source": "channel",
    "external_id": "ticket_no",
    "received_at": "created",
    "category": "kind",
    "text": "body",
    "address": "addr",
    "enterprise_name": "firm",
    "uscc": "credit_code",
}


def ticket_table(metadata: MetaData, created_type=None) -> Table:
    """Declare an external hotline ticket table as another system might keep it."""
    return Table(
        "hotline_tickets",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("channel", String(16)),
        Column("ticket_no", String(80)),
        Column("created", created_type or String(40)),
        Column("kind", String(40)),
        Column("body", String(400)),
        Column("addr", String(200)),
        Column("firm", String(128)),
        Column("credit_code", String(20)),
    )


def ticket(i: int, **overrides) -> dict:
    """Return one external ticket row."""
    base = {
        "id": i,
        "channel": "12345",
        "ticket_no": f"T-{i}",
        "created": WHEN,
        "kind": "prepaid_refund",
        "body": "办卡后门店停业，无法退费",
        "addr": "长白新村街道延吉东路1号",
        "firm": None,
        "credit_code": None,
    }
    return base | overrides


@pytest.fixture
def external(tmp_path):
    """Return an engine on a second SQLite file holding the external ticket table."""
    engine = create_engine(f"sqlite:///{tmp_path / 'hotline.db'}")
    metadata = MetaData()
    table = ticket_table(metadata)
    metadata.create_all(engine)
    engine.table = table  # type: ignore[attr-defined]
    yield engine
    engine.dispose()


def add_tickets(engine, *rows: dict) -> None:
    """Insert ticket rows into the external table."""
    with engine.begin() as conn:
        conn.execute(insert(engine.table), list(rows))


def test_table_feed_reads_past_its_watermark_and_counts_bad_rows(
    ingest, street, external, live, firms
):
    fit_id, _, fit_address = firms["元气健身有限公司"]
    add_tickets(
        external,
        ticket(1),
        ticket(2, created="2026-11-20T09:30:00"),  # naive
        ticket(3, channel="劳动监察", firm="元气健身"),
        ticket(4, channel="119"),
        ticket(5, body=""),
    )
    url = str(external.url)
    feed = SqlTableFeed(ingest, street, url, "hotline_tickets", COLUMNS, batch_size=2)
    report = feed.poll()
    assert (report.rows, report.ingested, report.rejected_rows) == (5, 2, 3)
    assert report.reasons == {
        "received_at:naive_time": 1,
        "source:unknown_source": 1,
        "text:string_too_short": 1,
    }
    assert feed.watermark == 5
    assert complaints(street) == [("12345", "T-1", 1, None), ("labour", "T-3", fit_address, fit_id)]
    counters = live.counters()
    assert counters["feed:sql:hotline_tickets:rows"] == 5
    assert counters["feed:sql:hotline_tickets:rejected"] == 3
    assert counters["feed:sql:hotline_tickets:rejected:received_at:naive_time"] == 1
    assert counters["feed:sql:hotline_tickets:records"] == 2

    add_tickets(external, ticket(6), ticket(7, ticket_no="T-1"))  # T-1 again: a duplicate
    second = feed.poll()
    assert (second.rows, second.ingested, second.duplicates) == (2, 1, 1)
    assert feed.watermark == 7
    assert feed.poll().rows == 0
    feed.close()


def test_table_feed_restart_stores_no_duplicates(ingest, street, external, live):
    add_tickets(external, *(ticket(i) for i in range(1, 6)))
    url = str(external.url)
    assert SqlTableFeed(ingest, street, url, "hotline_tickets", COLUMNS).poll().ingested == 5
    restarted = SqlTableFeed(ingest, street, url, "hotline_tickets", COLUMNS)
    assert restarted.watermark == 5 and restarted.poll().rows == 0
    # Even with the watermark lost (a fresh in-process live store) nothing is stored twice.
    forgetful = Ingest(street, InProcessLiveStore(), ManualClock(NOW))
    lost = SqlTableFeed(forgetful, street, url, "hotline_tickets", COLUMNS).poll()
    assert (lost.rows, lost.ingested, lost.duplicates) == (5, 0, 5)
    assert len(complaints(street)) == 5


def test_table_feed_resumes_after_a_store_failure(street, external, live, monkeypatch):
    add_tickets(external, *(ticket(i) for i in range(1, 5)))
    crashing = Ingest(street, live, ManualClock(NOW))
    real = crashing.complaint
    calls = []

    def fail_on_third(*args, **kwargs):
        calls.append(args)
        if len(calls) == 3:
            raise OperationalError("INSERT", {}, Exception("disk I/O error"))
        return real(*args, **kwargs)

    monkeypatch.setattr(crashing, "complaint", fail_on_third)
    feed = SqlTableFeed(crashing, street, external, "hotline_tickets", COLUMNS)
    report = feed.poll()
    assert report.ingested == 2 and report.errors and feed.watermark == 2
    assert feed.poll().ingested == 2
    assert [c.external_id for c in complaints(street)] == ["T-1", "T-2", "T-3", "T-4"]


def test_table_feed_defaults_and_row_ids_as_external_ids(ingest, street, tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'labour.db'}")
    metadata = MetaData()
    table = Table(
        "wage_cases",
        metadata,
        Column("case_id", Integer, primary_key=True),
        Column("opened", DateTime),  # SQLite DATETIME holding zoned ISO text
        Column("summary", String(200)),
        Column("place", String(200)),
    )
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO wage_cases VALUES (10, '2026-11-20T09:30:00+08:00', '欠薪', '延吉东路3号')"
        )
    feed = SqlTableFeed(
        ingest,
        street,
        engine,
        "wage_cases",
        {"received_at": "opened", "text": "summary", "address": "place"},
        id_column="case_id",
        defaults={"source": "劳动监察", "category": "unpaid_wages"},
        name="labour",
    )
    assert feed.poll().ingested == 1
    assert complaints(street) == [("labour", "10", 2, None)]
    assert ingest.live.get_view("feed_watermark:labour") == b"10"
    assert table is not None


def test_unreadable_row_is_counted_and_skipped(ingest, street, tmp_path, external):
    add_tickets(external, ticket(1), ticket(3))
    with sqlite3.connect(tmp_path / "hotline.db") as raw:
        raw.execute(
            "INSERT INTO hotline_tickets (id, channel, ticket_no, created, kind, body, addr) "
            "VALUES (2, '12345', 'T-2', ?, 'x', CAST(x'ff' AS TEXT), 'y')",
            (WHEN,),
        )
    report = SqlTableFeed(ingest, street, external, "hotline_tickets", COLUMNS).poll()
    assert (report.rows, report.ingested, report.reasons) == (3, 2, {"row:unreadable": 1})


def test_missing_table_is_reported_each_poll_until_it_exists(ingest, street, tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'later.db'}")
    feed = SqlTableFeed(ingest, street, engine, "hotline_tickets", COLUMNS)
    report = feed.poll()
    assert report.errors and report.rows == 0
    metadata = MetaData()
    engine.table = ticket_table(metadata)  # type: ignore[attr-defined]
    metadata.create_all(engine)
    add_tickets(engine, ticket(1))
    assert feed.poll().ingested == 1


def test_table_missing_a_column_is_reported(ingest, street, external):
    feed = SqlTableFeed(ingest, street, external, "hotline_tickets", COLUMNS | {"lon": "x_lon"})
    assert "x_lon" in feed.poll().errors[0]


@pytest.mark.parametrize(
    ("table", "columns", "kwargs", "reason"),
    [
        ("tickets; DROP TABLE complaints", COLUMNS, {}, "identifier"),
        ("a.b.c", COLUMNS, {}, "schema.table"),
        ("hotline_tickets", COLUMNS | {"text": "body--"}, {}, "identifier"),
        ("hotline_tickets", COLUMNS | {"phone": "tel"}, {}, "unknown complaint field phone"),
        ("hotline_tickets", {"text": "body"}, {}, "no column or default"),
        ("hotline_tickets", COLUMNS, {"id_column": "1id"}, "identifier"),
        ("hotline_tickets", COLUMNS, {"batch_size": 0}, "positive"),
    ],
)
def test_bad_table_configuration_is_refused(
    ingest, street, external, table, columns, kwargs, reason
):
    with pytest.raises(FeedConfigError, match=reason):
        SqlTableFeed(ingest, street, external, table, columns, **kwargs)


def test_store_counts_match_what_the_feeds_report(ingest, street, external, tmp_path):
    add_tickets(external, ticket(1), ticket(2))
    drop(tmp_path / "inbox", "a.csv", feed_csv(row()))
    FolderFeed(ingest, street, tmp_path / "inbox").poll()
    SqlTableFeed(ingest, street, external, "hotline_tickets", COLUMNS).poll()
    with street.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.Complaint)).scalar_one() == 3


class DownLiveStore(InProcessLiveStore):
    """Answer nothing, like a Redis server that has gone away."""

    def incr(self, counter: str, amount: int = 1) -> int:
        """Fail like an unreachable Redis."""
        raise LiveStoreError("Redis: connection refused")

    def get_view(self, name: str) -> bytes | None:
        """Fail like an unreachable Redis."""
        raise LiveStoreError("Redis: connection refused")


def test_a_live_store_that_is_down_stops_nothing_for_good(street, external, tmp_path):
    add_tickets(external, ticket(1))
    drop(tmp_path / "inbox", "a.csv", feed_csv(row()))
    down = Ingest(street, DownLiveStore(), ManualClock(NOW))
    folder_report = FolderFeed(down, street, tmp_path / "inbox").poll()
    table_report = SqlTableFeed(down, street, external, "hotline_tickets", COLUMNS).poll()
    assert folder_report.errors and table_report.errors
    assert (tmp_path / "inbox" / "a.csv").exists()  # stays for the next poll
    up = Ingest(street, InProcessLiveStore(), ManualClock(NOW))
    assert FolderFeed(up, street, tmp_path / "inbox").poll().files == 1
    assert SqlTableFeed(up, street, external, "hotline_tickets", COLUMNS).poll().ingested == 1
    assert [c.external_id for c in complaints(street)] == ["P-1", "T-1"]


def test_a_fault_downstream_is_reported_not_raised(ingest, street, external, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("rule engine fault")

    monkeypatch.setattr(ingest, "complaint", broken)
    add_tickets(external, ticket(1))
    drop(tmp_path / "inbox", "a.csv", feed_csv(row()))
    drop(tmp_path / "inbox", "b.csv", "not,a,feed\n")
    report = FolderFeed(ingest, street, tmp_path / "inbox").poll()
    assert "RuntimeError" in report.errors[0] and report.rejected_files == 1
    assert (tmp_path / "inbox" / "a.csv").exists()
    feed = SqlTableFeed(ingest, street, external, "hotline_tickets", COLUMNS)
    assert "RuntimeError" in feed.poll().errors[0] and feed.watermark == 0


def test_a_table_named_as_the_fields_needs_no_mapping(ingest, street, tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'export.db'}")
    metadata = MetaData()
    table = Table(
        "complaints_export",
        metadata,
        Column("id", Integer, primary_key=True),
        *(Column(name, String(400)) for name in ("source", "received_at", "category", "text")),
        Column("address", String(200)),
        Column("enterprise_name", String(128)),  # optional fields: used when present
    )
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(table),
            {
                "id": 1,
                "source": "12345",
                "received_at": WHEN,
                "category": "noise",
                "text": "夜间施工噪音",
                "address": "长白新村街道延吉东路1号",
                "enterprise_name": None,
            },
        )
    feed = SqlTableFeed(ingest, street, engine, "complaints_export")
    assert feed.poll().ingested == 1
    # Keyed by the row id, as a table without an external id column is.
    assert [c.external_id for c in complaints(street)] == ["1"]
    engine.dispose()


def test_a_table_missing_a_required_field_is_a_clear_error(ingest, street, tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'export.db'}")
    metadata = MetaData()
    Table("complaints_export", metadata, Column("id", Integer, primary_key=True))
    metadata.create_all(engine)
    feed = SqlTableFeed(ingest, street, engine, "complaints_export")
    report = feed.poll()
    assert "has no column address, category, received_at, source, text" in report.errors[0]
    assert feed.health()["state"] == "down"
    engine.dispose()


def test_feed_health_follows_its_polls(ingest, street, external):
    feed = SqlTableFeed(ingest, street, external, "hotline_tickets", COLUMNS)
    assert feed.health() == {
        "name": "feed:sql:hotline_tickets",
        "state": "down",
        "age_s": None,
        "error": None,
    }
    feed.poll()
    assert feed.health()["state"] == "ok" and feed.health()["error"] is None
    external.table.drop(external)  # the other system's table goes away
    feed.poll()
    health = feed.health()
    assert health["state"] == "stale" and "cannot read hotline_tickets" in health["error"]
