"""Check that a person's name is masked to its first character and a fixed mask."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cockpit.privacy import MASK, mask_name


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
