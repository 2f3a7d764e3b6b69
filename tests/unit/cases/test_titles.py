"""Check case titles: category and building-level place, in Chinese and English, nothing typed."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from cockpit.cases.titles import TITLE_MAX, case_title, category_name, place_of
from cockpit.domain.services import SERVICES
from cockpit.i18n import LABELS

CJK = re.compile(r"[\u3400-\u9fff]")
CATEGORIES = sorted(
    [s.code for s in SERVICES]
    + [k.removeprefix("case_category_") for k in LABELS if k.startswith("case_category_")]
)
ROADS = st.sampled_from(["长白路", "延吉东路", "松花江路", "安图路", "某某路", "国和路"])
NUMBERS = st.builds(
    lambda lane, no: f"{lane}弄{no}号" if lane else f"{no}号",
    st.one_of(st.none(), st.integers(1, 999)),
    st.integers(1, 999),
)


def test_examples() -> None:
    assert case_title("repair", "长白路12号") == (
        "设施报修 · 长白路12号",
        "Facility repair · No. 12, Changbai Road",
    )
    assert case_title("noise", "松花江路261弄17号")[1] == (
        "Noise · No. 17, Lane 261, Songhuajiang Road"
    )
    assert case_title("dispute", None) == ("消费纠纷", "Consumer dispute")
    # A place English cannot spell is left out of the English title, never half shown.
    assert case_title("repair", "某某路3号") == (
        "设施报修 · 某某路3号",
        "Facility repair · No. 3, Moumou Road",
    )
    assert case_title("repair", "ꀀ路3号") == ("设施报修 · ꀀ路3号", "Facility repair")
    assert place_of("长白路", "12号") == "长白路12号"
    assert place_of(None, "12号") is None and place_of("长白路", "") is None


def test_an_unknown_category_is_shown_as_stored_and_masked() -> None:
    assert category_name("噪音投诉", "zh") == "噪音投诉"
    assert category_name("call13912345678", "en") == "call139****5678"
    assert category_name(None, "zh") == "—"


@given(st.sampled_from(CATEGORIES), st.one_of(st.none(), st.builds(place_of, ROADS, NUMBERS)))
def test_titles_name_category_and_place_and_english_has_no_chinese(category, place) -> None:
    zh, en = case_title(category, place)
    assert zh.startswith(category_name(category, "zh")) and len(zh) <= TITLE_MAX
    assert (place in zh) if place else zh == category_name(category, "zh")
    assert en.startswith(category_name(category, "en")) and not CJK.search(en)
