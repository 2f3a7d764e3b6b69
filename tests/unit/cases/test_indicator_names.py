"""Check the English names of the community and grid indicator rows: romanised or numbered."""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from cockpit.cases.indicators import community_en, grid_en

CJK = re.compile(r"[\u3400-\u9fff\U00020000-\U0002ffff]")


def test_names_are_romanised_when_they_can_be_and_numbered_when_not() -> None:
    assert community_en("长白社区", 6) == "Changbai Community"
    assert community_en("鹿鸣社区", 6) == "Luming Community"
    assert community_en("ꀀ社区", 6) == "Community 6"  # a Yi syllable: no pinyin
    assert community_en(None, 6) == "Community 6"
    assert grid_en("长白社区第3网格", 12) == "Changbai Community Grid 3"
    assert grid_en("鹿鸣社区第3网格", 12) == "Luming Community Grid 3"
    assert grid_en("ꀀ社区第3网格", 12) == "Grid 12"
    assert grid_en("东区网格", 12) == "Dong District Grid"
    assert grid_en(None, 12) == "Grid 12"


@given(st.text(max_size=16), st.integers(min_value=1, max_value=10_000))
@example(" ", 1)
def test_english_names_never_carry_chinese(name: str, key: int) -> None:
    for english in (community_en(name, key), grid_en(name, key), grid_en(f"{name}第2网格", key)):
        assert english and not CJK.search(english)
