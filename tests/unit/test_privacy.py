"""Check that a person's name is masked to its first character and a fixed mask."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from cockpit.privacy import MASK, mask_name, mask_text


@given(st.text())
def test_a_masked_name_keeps_only_its_first_character(name: str) -> None:
    masked = mask_name(name)
    text = name.strip()
    if not text:
        assert masked == ""
        return
    # Its length is fixed: the mask tells neither the given name nor how long it was.
    assert masked == text[0] + MASK and len(masked) == 1 + len(MASK)
    assert mask_name(masked) == masked  # masking twice changes nothing


@given(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=2))
def test_a_chinese_name_shows_the_surname_only(name: str) -> None:
    assert mask_name(name) == f"{name[0]}**"


def test_examples_and_no_name() -> None:
    assert [mask_name(n) for n in ("王小明", "欧阳娜娜", " 李四 ", "", None)] == [
        "王**",
        "欧**",
        "李**",
        "",
        "",
    ]


# -- personal data in free text ----------------------------------------------------------------

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def _digit_string(size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=size, max_size=size)


@st.composite
def mobiles(draw: st.DrawFn) -> tuple[str, str]:
    """Return a mobile number as a resident might type it, and its mask."""
    number = draw(st.sampled_from("3456789").map(lambda d: "1" + d)) + draw(_digit_string(9))
    sep = draw(st.sampled_from(["", " ", "-"]))
    written = f"{number[:3]}{sep}{number[3:7]}{sep}{number[7:]}"
    prefix = draw(st.sampled_from(["", "+86 ", "+86", "86-", "(+86)"]))
    return prefix + written, f"{number[:3]}****{number[-4:]}"


@st.composite
def id_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """Return a resident ID number (18 characters, or the old 15 digits) and its mask."""
    region = draw(_digit_string(6))
    birth = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 12, 31)))
    if draw(st.booleans()):
        number = region + birth.strftime("%y%m%d") + draw(_digit_string(3))
    else:
        check = draw(st.sampled_from("0123456789Xx"))
        number = region + birth.strftime("%Y%m%d") + draw(_digit_string(3)) + check
    return number, f"{number[:6]}********{number[-4:]}"


@st.composite
def emails(draw: st.DrawFn) -> tuple[str, str]:
    """Return an e-mail address and its mask."""
    word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
    local = draw(word) + draw(st.sampled_from(["", ".", "_", "+"])) + draw(word)
    domain = (
        ".".join(
            draw(
                st.lists(
                    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8),
                    min_size=1,
                    max_size=3,
                )
            )
        )
        + "."
        + draw(st.sampled_from(["com", "cn", "org", "net"]))
    )
    return f"{local}@{domain}", f"{local[0]}***@{domain}"


@st.composite
def cards(draw: st.DrawFn) -> tuple[str, str]:
    """Return a bank card number (16, 17 or 19 digits, maybe grouped in fours) and its mask."""
    issuer = draw(st.sampled_from(["62", "4", "5"]))
    number = issuer + draw(_digit_string(16 - len(issuer)))
    number += draw(st.sampled_from(["", "1", "123"]))
    grouped = draw(st.booleans()) and len(number) in (16, 19)
    written = " ".join(number[i : i + 4] for i in range(0, len(number), 4)) if grouped else number
    return written, f"{number[:6]}******{number[-4:]}"


@st.composite
def plates(draw: st.DrawFn) -> tuple[str, str]:
    """Return a plate number (five characters, or six for a new-energy car) and its mask."""
    head = draw(st.sampled_from(PROVINCES)) + draw(st.sampled_from(PLATE_LETTERS))
    tail = draw(st.text(alphabet=PLATE_LETTERS + "0123456789", min_size=4, max_size=4)) + draw(
        _digit_string(1)
    )
    if draw(st.booleans()):
        tail = draw(st.sampled_from("DF")) + tail
    sep = draw(st.sampled_from(["", "·", " "]))
    return f"{head}{sep}{tail}", f"{head}***{tail[-2:]}"


personal = st.one_of(mobiles(), id_numbers(), emails(), cards(), plates())
CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
# Filler a resident writes around the data: Chinese, English words, small numbers, punctuation.
token = st.one_of(
    st.text(alphabet=CJK, min_size=1, max_size=6),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8),
    st.integers(0, 9999).map(str),
    st.sampled_from(
        [
            "1203室",
            "3号楼",
            "2026年",
            "12:30",
            "5000元",
            "RQ00000123",
            "AL00012345",
            "GR20261202083000AB12CD34",
            "2026-11-21",
            "08:00-12:00",
            "第2单元",
            "¥88.5",
        ]
    ),
)
joiner = st.sampled_from(["，", "。", "：", "、", "（", "）", "\n", "！"])


@st.composite
def ordinary_text(draw: st.DrawFn) -> str:
    """Return text without personal data, in the words and numbers residents use."""
    words = draw(st.lists(token, max_size=12))
    return "".join(w + draw(joiner) for w in words)


@st.composite
def text_with(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]]]:
    """Return ordinary text with personal data embedded, and the (original, mask) pairs."""
    items = draw(st.lists(personal, min_size=1, max_size=4))
    parts = [draw(ordinary_text())]
    for written, _ in items:
        parts += [draw(st.sampled_from(["", " ", "：", "电话", "是"])), written, draw(joiner)]
        parts.append(draw(ordinary_text()))
    return "".join(parts), items


@given(text_with())
def test_personal_data_in_text_is_masked(case: tuple[str, list[tuple[str, str]]]) -> None:
    text, items = case
    masked = mask_text(text)
    for written, mask in items:
        assert written not in masked
        assert mask in masked
    assert mask_text(masked) == masked


@given(ordinary_text())
def test_text_without_personal_data_comes_back_unchanged(text: str) -> None:
    assert mask_text(text) == text


@given(st.text())
def test_masking_is_idempotent_on_any_text(text: str) -> None:
    once = mask_text(text)
    assert mask_text(once) == once


@given(personal)
def test_a_mask_has_a_fixed_length_per_kind(item: tuple[str, str]) -> None:
    written, mask = item
    # The number of stars never depends on how long the hidden part was.
    assert mask_text(written) == mask
    assert mask.count("*") in (3, 4, 6, 8)


def test_examples() -> None:
    examples = {
        "我的手机13912345678，速回": "我的手机139****5678，速回",
        "139 1234 5678": "139****5678",
        "+86 139-1234-5678": "139****5678",
        "身份证330104199001010018": "身份证330104********0018",
        "330104900101001": "330104********1001",
        "11010519491231002X": "110105********002X",
        "zhang.san@example.com": "z***@example.com",
        "卡号6222 0212 3456 1234": "卡号622202******1234",
        "6222021234567890123": "622202******0123",
        "沪A·12345": "沪A***45",
        "苏E D12345": "苏E***45",
        "粤B12345挂车": "粤B***45挂车",
        "座机021-62345678": "座机021-****5678",
        "(0571)8765 4321": "(0571)****4321",
        "全角１３９１２３４５６７８": "全角139****5678",
        "13912345678@163.com": "1***@163.com",
        "x@13912345678.cn": "x***@139****5678.cn",
    }
    assert {text: mask_text(text) for text in examples} == examples


def test_ordinary_numbers_and_case_codes_stay() -> None:
    text = (
        "3号楼1203室漏水，2026年11月21日 08:30 报，已付5000元，案件RQ00000123、AL00000007、"
        "GR20261202083000AB12CD34，面积 120-150 平，电话回访"
    )
    assert mask_text(text) == text
    assert mask_text(None) == mask_text("") == ""


cue = st.sampled_from(
    ["我叫", "姓名：", "姓名:", "联系人：", "联系人", "报案人", "投诉人：", "业主"]
)
chinese_name = st.tuples(
    st.sampled_from("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"),
    st.text(alphabet="秀英伟芳娜敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂", min_size=1, max_size=2),
).map("".join)


@given(ordinary_text(), cue, chinese_name, ordinary_text())
def test_a_name_introduced_by_a_cue_keeps_only_its_surname(before, said, name, after) -> None:
    masked = mask_text(f"{before}{said}{name}，{after}")
    assert name not in masked
    assert f"{said}{name[0]}{MASK}" in masked
    assert mask_text(masked) == masked


def test_an_english_name_after_a_cue_keeps_its_initial() -> None:
    assert mask_text("My name is Ann Lee, flat 3") == "My name is A***, flat 3"
