"""Test the 三实 resident register importer: errors name line and column, nothing half-written."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from cockpit.importers.errors import ImportFileError, ImportStoreError, read_text
from cockpit.importers.residents import id_number_problem, import_residents, parse_register
from cockpit.simulator.generator import seed_street
from cockpit.simulator.people import id_check_digit
from cockpit.store import schema
from cockpit.store.counts import registry_counts
from tests.streets import tiny_tier

HEADER = "address,room,name,id_number,phone,gender,birth_date,registration,lives_alone"
CHINESE_HEADER = "标准地址,房号,姓名,身份证号,手机号,性别,出生日期,户籍类型,独居"
TINY = tiny_tier(taxi_kiosks=2)


def make_id(birth: date, sequence: int, region: str = "340104") -> str:
    """Return a valid ID number; an odd sequence makes a man's, an even one a woman's."""
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + id_check_digit(first17)


MAN = make_id(date(1950, 3, 9), 11)
WOMAN = make_id(date(1988, 12, 31), 22)
CHILD = make_id(date(2015, 6, 1), 7)


def register(*lines: str, header: str = HEADER) -> str:
    """Return a register's text from its header and data lines."""
    return "\n".join((header, *lines)) + "\n"


def line(
    address="A1",
    room="101",
    name="张三",
    id_number=MAN,
    phone="13800138000",
    gender="M",
    birth="1950-03-09",
    registration="registered",
    alone="true",
) -> str:
    """Return one data line in HEADER's column order."""
    return ",".join((address, room, name, id_number, phone, gender, birth, registration, alone))


GOOD = (
    line(),
    line(
        room="202",
        name="李四",
        id_number=WOMAN,
        phone="",
        gender="女",
        birth="1988-12-31",
        registration="流动",
        alone="否",
    ),
    line(
        room="202",
        name="李小",
        id_number=CHILD,
        phone="",
        gender="男",
        birth="2015-06-01",
        registration="floating",
        alone="0",
    ),
)


@pytest.fixture
def tiny_street(sqlite_engine):
    """Return a SQLite store holding a small seeded street."""
    seed_street(sqlite_engine, TINY, 7, (129.1025, 35.1376))
    return sqlite_engine


def addresses(engine, n: int = 3) -> list[tuple[str, str]]:
    """Return the first n addresses' (code, full text)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(schema.Address.code, schema.Address.full_text)
            .order_by(schema.Address.id)
            .limit(n)
        )
        return [tuple(r) for r in rows]


# -- parsing ------------------------------------------------------------------------------------


def test_a_good_register_parses():
    parsed = parse_register(register(*GOOD))
    assert [r.line for r in parsed.rows] == [2, 3, 4]
    first, second, third = parsed.rows
    assert (first.gender, first.birth_date, first.registration, first.lives_alone) == (
        "M",
        date(1950, 3, 9),
        "registered",
        True,
    )
    assert (second.gender, second.phone, second.registration, second.lives_alone) == (
        "F",
        None,
        "floating",
        False,
    )
    assert third.id_number == CHILD and third.room == "202"
    assert parsed.ignored_columns == ()


def test_chinese_header_bom_crlf_and_missing_optional_columns():
    header = "\ufeff标准地址,房号,姓名,身份证号,性别,出生日期,户籍类型,备注"
    text = f"{header}\r\nA1,101,王五,{WOMAN},女,1988-12-31,户籍,x\r\n"
    parsed = parse_register(text)
    (row,) = parsed.rows
    assert (row.name, row.gender, row.phone, row.lives_alone) == ("王五", "F", None, False)
    assert parsed.ignored_columns == ("备注",)


def test_lower_case_x_check_character_is_accepted():
    first17 = "11010519491231002"
    assert id_check_digit(first17) == "X"
    (row,) = parse_register(
        register(line(id_number=first17 + "x", gender="F", birth="1949-12-31"))
    ).rows
    assert row.id_number == first17 + "X"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (MAN, None),
        (MAN[:-1], "must be 18 characters"),
        (MAN[:5] + "A" + MAN[6:], "must be 17 digits followed by a digit or X"),
        ("٣" + MAN[1:], "must be 17 digits followed by a digit or X"),
        ("34010419500230" + "0110", "holds no valid birth date"),
        (MAN[:-1] + ("0" if MAN[-1] != "0" else "1"), "check digit is wrong"),
    ],
)
def test_id_number_problems_are_named(value, problem):
    assert id_number_problem(value) == problem


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            (GOOD[0], line(id_number=MAN[:-1] + "0" if MAN[-1] != "0" else MAN[:-1] + "1")),
            r"^line 3, id_number: check digit is wrong$",
        ),
        (
            (GOOD[0], GOOD[1], line(id_number=WOMAN, gender="F", birth="1988-12-31")),
            r"^line 4, id_number: same ID number as line 3$",
        ),
        ((line(phone="23800138000"),), r"^line 2, phone: must be 11 digits starting with 1$"),
        ((line(phone="1380013800"),), r"^line 2, phone: must be 11 digits"),
        ((line(gender="X"),), r"^line 2, gender: must be M, F, 男 or 女$"),
        ((line(gender="F"),), r"^line 2, gender: does not match the ID number"),
        ((line(birth="1950-3-9"),), r"^line 2, birth_date: must be a date written YYYY-MM-DD$"),
        ((line(birth="1950-02-30"),), r"^line 2, birth_date: must be a date"),
        (
            (line(birth="1951-03-09"),),
            r"^line 2, birth_date: does not match the birth date in the ID number$",
        ),
        (
            (line(registration="migrant"),),
            r"^line 2, registration: must be registered, floating, 户籍 or 流动$",
        ),
        ((line(alone="maybe"),), r"^line 2, lives_alone: must be true, false"),
        ((line(name=""),), r"^line 2, name: is empty$"),
        ((line(room="1" * 17),), r"^line 2, room: is longer than 16 characters$"),
        ((line(name="a\x00b"),), r"^line 2, name: holds a NUL character$"),
        ((GOOD[0], GOOD[1] + ",extra"), r"^line 3: has 10 fields, the header has 9$"),
        ((), r"^line 2: the register has a header but no residents$"),
    ],
)
def test_a_broken_line_is_named_with_its_column(lines, message):
    with pytest.raises(ImportFileError, match=message):
        parse_register(register(*lines))


def test_line_numbers_count_blank_lines_and_quoted_newlines():
    text = register(
        GOOD[0],
        "",
        line(address='"A1\nwing"', room="9", id_number=WOMAN, gender="F", birth="1988-12-31"),
        line(id_number=CHILD, birth="2015-06-01", gender="x"),
    )
    with pytest.raises(ImportFileError, match=r"^line 6, gender: "):
        parse_register(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"^line 1: the file is empty"),
        ("\n\n", r"^line 1: the file is empty"),
        (
            "address,room,name,gender,birth_date,registration\nA,1,x,M,2000-01-01,户籍\n",
            r"^line 1: missing required column id_number$",
        ),
        (
            "姓名,name,address,room,id_number,gender,birth_date,registration\n",
            r"^line 1: column name appears twice in the header$",
        ),
        (
            "\n" + CHINESE_HEADER.replace("房号,", "") + "\n",
            r"^line 2: missing required column room$",
        ),
        (
            'address,room,name,id_number,gender,birth_date,registration\n"A1,101',
            r"^line 2: is not valid CSV",
        ),
        (
            "address,room,name,id_number,gender,birth_date,registration\n" + "x" * 200_000,
            r"^line 2: is not valid CSV: field larger than field limit",
        ),
    ],
)
def test_a_broken_header_or_file_is_named(text, message):
    with pytest.raises(ImportFileError, match=message):
        parse_register(text)


# -- property tests: nothing but ImportFileError ------------------------------------------------

FIELDS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "M",
            "F",
            "男",
            "女",
            "户籍",
            "流动",
            "registered",
            "1",
            "是",
            "",
            "1950-03-09",
            MAN,
            WOMAN,
        ]
    ),
    st.builds(make_id, st.dates(date(1900, 1, 1), date(2099, 12, 31)), st.integers(0, 999)),
)


def _parses_or_names_a_line(text: str) -> None:
    """Parse text, allowing only a result or an ImportFileError that names a line."""
    try:
        parsed = parse_register(text)
    except ImportFileError as err:
        assert err.location.startswith("line ") and err.reason
    else:
        assert parsed.rows


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_any_text_raises_only_import_file_error(text):
    _parses_or_names_a_line(text)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(
        [HEADER, CHINESE_HEADER, "address,room,name,id_number,gender,birth_date,registration"]
    ),
    st.lists(st.lists(FIELDS, min_size=7, max_size=10), max_size=6),
)
def test_any_rows_under_a_good_header_raise_only_import_file_error(header, rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header.split(","))
    writer.writerows(rows)
    _parses_or_names_a_line(out.getvalue())


PEOPLE = st.tuples(
    st.dates(date(1900, 1, 1), date(2025, 12, 31)),
    st.integers(0, 999),
    st.sampled_from(["registered", "floating", "户籍", "流动"]),
    st.sampled_from(["", "true", "false", "是", "否", "1", "0"]),
    st.text(alphabet="张王李赵明华", min_size=1, max_size=4),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(PEOPLE, min_size=1, max_size=8, unique_by=lambda p: (p[0], p[1])))
def test_any_valid_register_parses_back_to_its_people(people):
    lines = []
    for birth, sequence, registration, alone, name in people:
        gender = "男" if sequence % 2 else "女"
        lines.append(
            line(
                name=name,
                id_number=make_id(birth, sequence),
                gender=gender,
                birth=f"{birth:%Y-%m-%d}",
                registration=registration,
                alone=alone,
            )
        )
    rows = parse_register(register(*lines)).rows
    assert [(r.birth_date, r.id_number, r.name) for r in rows] == [
        (birth, make_id(birth, sequence), name) for birth, sequence, _, _, name in people
    ]
    assert [r.lives_alone for r in rows] == [
        alone in ("true", "是", "1") for _, _, _, alone, _ in people
    ]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_raise_only_import_file_error(data):
    try:
        text = read_text(data)
    except ImportFileError as err:
        assert err.location.startswith("line ")
        return
    _parses_or_names_a_line(text)


# -- the store ----------------------------------------------------------------------------------


def test_a_register_imports_households_and_residents(tiny_street):
    (code1, _), (code2, text2), _ = addresses(tiny_street)
    before = registry_counts(tiny_street)
    report = import_residents(
        tiny_street,
        register(
            line(address=code1, room="A-1"),
            *(g.replace("A1", text2, 1).replace("202", "B-2") for g in GOOD[1:]),
        ),
    )
    assert (report.kind, report.imported) == ("residents", 3)
    assert report.details == {"households_created": 2, "households_existing": 0, "addresses": 2}
    after = registry_counts(tiny_street)
    assert after["residents"] == before["residents"] + 3
    assert after["households"] == before["households"] + 2
    with tiny_street.connect() as conn:
        rows = conn.execute(
            select(
                schema.Resident.id_number,
                schema.Resident.source,
                schema.Household.room,
                schema.Household.tenure,
                schema.Address.code,
            )
            .join(schema.Household, schema.Resident.household_id == schema.Household.id)
            .join(schema.Address, schema.Household.address_id == schema.Address.id)
            .where(schema.Resident.source == "imported")
            .order_by(schema.Resident.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        (MAN, "imported", "A-1", "owner", code1),
        (WOMAN, "imported", "B-2", "tenant", code2),
        (CHILD, "imported", "B-2", "tenant", code2),
    ]


def test_residents_join_an_existing_household(tiny_street):
    with tiny_street.connect() as conn:
        code, room, household_id = conn.execute(
            select(schema.Address.code, schema.Household.room, schema.Household.id)
            .join(schema.Household, schema.Household.address_id == schema.Address.id)
            .order_by(schema.Household.id)
            .limit(1)
        ).one()
    report = import_residents(tiny_street, register(line(address=code, room=room)))
    assert report.details["households_existing"] == 1 and report.details["households_created"] == 0
    with tiny_street.connect() as conn:
        assert (
            conn.execute(
                select(schema.Resident.household_id).where(schema.Resident.id_number == MAN)
            ).scalar_one()
            == household_id
        )


def _store_snapshot(engine):
    """Return the registry counts and every household's id and room."""
    with engine.connect() as conn:
        return (
            registry_counts(engine),
            conn.execute(
                select(schema.Household.id, schema.Household.room).order_by(schema.Household.id)
            ).all(),
        )


def test_unknown_address_names_the_line_and_writes_nothing(tiny_street):
    (code, _), *_ = addresses(tiny_street)
    before = _store_snapshot(tiny_street)
    text = register(
        line(address=code),
        line(address="no such place", id_number=WOMAN, gender="F", birth="1988-12-31"),
    )
    with pytest.raises(
        ImportFileError, match=r"^line 3, address: unknown standard address 'no such place'$"
    ):
        import_residents(tiny_street, text)
    assert _store_snapshot(tiny_street) == before


def test_an_id_number_already_registered_is_refused(tiny_street):
    (code, _), *_ = addresses(tiny_street)
    with tiny_street.connect() as conn:
        known, gender, birth = conn.execute(
            select(
                schema.Resident.id_number, schema.Resident.gender, schema.Resident.birth_date
            ).limit(1)
        ).one()
    before = _store_snapshot(tiny_street)
    text = register(
        line(address=code),
        line(address=code, id_number=known, gender=gender, birth=f"{birth:%Y-%m-%d}"),
    )
    with pytest.raises(
        ImportFileError, match=r"^line 3, id_number: a resident with this ID number is already"
    ):
        import_residents(tiny_street, text)
    assert _store_snapshot(tiny_street) == before


def test_an_ambiguous_full_text_asks_for_the_code(tiny_street):
    (_, text1), (code2, _), _ = addresses(tiny_street)
    with tiny_street.begin() as conn:
        conn.execute(
            update(schema.Address).where(schema.Address.code == code2).values(full_text=text1)
        )
    with pytest.raises(
        ImportFileError, match=r"^line 2, address: 2 standard addresses read like this"
    ):
        import_residents(tiny_street, register(line(address=text1)))


def test_a_broken_line_in_a_file_writes_nothing(tiny_street, tmp_path):
    (code, _), *_ = addresses(tiny_street)
    before = _store_snapshot(tiny_street)
    path = tmp_path / "register.csv"
    path.write_text(
        register(line(address=code), line(address=code, phone="12")), encoding="utf-8-sig"
    )
    with pytest.raises(ImportFileError, match=r"^line 3, phone: "):
        import_residents(tiny_street, path)
    assert _store_snapshot(tiny_street) == before


def test_an_empty_store_is_refused(sqlite_engine):
    with pytest.raises(ImportStoreError, match="no street"):
        import_residents(sqlite_engine, register(GOOD[0]))
