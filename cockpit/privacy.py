"""Mask personal data on the server, before any view model can carry it to a browser."""

from __future__ import annotations

import re
from collections.abc import Callable

MASK = "**"


def mask_name(name: str | None) -> str:
    """Return a person's name as its first character and "**" (王小明 → 王**); "" for no name."""
    # The mask has a fixed length, so it tells neither the given name nor how long it is.
    text = (name or "").strip()
    return f"{text[0]}{MASK}" if text else ""


# -- personal data in free text (GB/T 35273 de-identification) --------------------------------

# Fixed-length masks: how many characters were hidden must not narrow down who it was.
MOBILE_MASK = "****"
ID_MASK = "*" * 8
CARD_MASK = "*" * 6
EMAIL_MASK = "***"
PLATE_MASK = "***"
LANDLINE_MASK = "****"
# Full-width digits, letters and signs count as their ASCII forms: IMEs type them as often.
_FOLD = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# Stands in for text a pattern already took, so no later pattern matches inside it.
_TAKEN = "\ue000"
_NOT_DIGIT_BEFORE = r"(?<![0-9])"
_NOT_DIGIT_AFTER = r"(?![0-9])"
_SEP = r"[ \-]"
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE_LETTER = "A-HJ-NP-Za-hj-np-z"  # plates use no I and no O
_BIRTH = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"

# Case codes (cockpit.cases.desk: AL00000012, GR20261202083000 + 8 hex) are not card numbers.
_CASE_CODE = re.compile(
    r"(?<![A-Za-z0-9])(?:AL|RQ|CP|GR|CS)(?:[0-9]{8,10}|20[0-9]{12}[0-9A-F]{8})(?![A-Za-z0-9])"
)
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])(?P<first>[A-Za-z0-9])[A-Za-z0-9._%+\-]*"
    r"@(?P<domain>[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*"
    r"[A-Za-z0-9])?)*\.[A-Za-z]{2,})(?![A-Za-z0-9\-])"
)
# An ID number ending in X, or 18 (15, the old form) digits that hold a birth date.
_ID_NUMBER = re.compile(
    _NOT_DIGIT_BEFORE + r"(?:[0-9]{17}[Xx](?![A-Za-z0-9])"
    rf"|[0-9]{{6}}(?:18|19|20)[0-9]{{2}}{_BIRTH}[0-9]{{4}}{_NOT_DIGIT_AFTER}"
    rf"|[0-9]{{8}}{_BIRTH}[0-9]{{3}}{_NOT_DIGIT_AFTER})"
)
_MOBILE = re.compile(
    _NOT_DIGIT_BEFORE
    + rf"(?P<prefix>(?:\+|00)?86{_SEP}?|\(\+?86\){_SEP}?|0)?"
    + rf"(?P<number>1[3-9][0-9](?:{_SEP}?[0-9]{{4}}){{2}}){_NOT_DIGIT_AFTER}"
)
# Bank cards: four groups of four (and up to three more), or a run of 13 or more digits.
_CARD_GROUPED = re.compile(
    _NOT_DIGIT_BEFORE
    + rf"[0-9]{{4}}(?:{_SEP}[0-9]{{4}}){{3}}(?:{_SEP}?[0-9]{{1,3}})?"
    + _NOT_DIGIT_AFTER
)
_CARD = re.compile(_NOT_DIGIT_BEFORE + r"[0-9]{13,}" + _NOT_DIGIT_AFTER)
_LANDLINE = re.compile(
    _NOT_DIGIT_BEFORE
    + rf"(?P<area>\(0[1-9][0-9]{{1,2}}\){_SEP}?|0[1-9][0-9]{{1,2}}{_SEP}?)"
    + rf"(?P<local>[1-9][0-9]{{2,3}}{_SEP}?[0-9]{{4}}){_NOT_DIGIT_AFTER}"
)
_PLATE = re.compile(
    rf"(?P<head>[{_PROVINCES}][{_PLATE_LETTER}])[·•・.\- ]?"
    rf"(?=[{_PLATE_LETTER}0-9]{{0,5}}[0-9])"
    rf"(?P<tail>[{_PLATE_LETTER}0-9]{{5,6}}|[{_PLATE_LETTER}0-9]{{4}}[挂学警港澳])"
    r"(?![A-Za-z0-9])"
)


# A name typed after a cue (我叫王秀英, 联系人：李伟, my name is Ann Lee): no pattern finds names
# in general, but residents introduce themselves in these few ways. Only the `name` group is
# replaced, and the surname stays.
_NAME_ZH = re.compile(
    r"(?:我叫|我的名字[是叫]?|姓名[:：]?\s*|联系人[:：]?\s*|报案人[:：]?\s*|投诉人[:：]?\s*"
    r"|反映人[:：]?\s*|业主|住户|租户)(?P<name>[\u4e00-\u9fff]{2,3})"
)
_NAME_EN = re.compile(r"\b(?:[Mm]y name is|[Nn]ame:)\s*(?P<name>[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)")


def _digits(text: str) -> str:
    """Return the digits (and a final X) of a number written with separators."""
    return "".join(ch for ch in text if ch.isascii() and (ch.isdigit() or ch in "Xx"))


def _mask_email(m: re.Match[str]) -> str:
    """Keep an e-mail's first character and its domain."""
    # A domain may hold a number too (x@13912345678.cn): masked like any other text.
    return f"{m['first']}{EMAIL_MASK}@{mask_text(m['domain'])}"


def _mask_id(m: re.Match[str]) -> str:
    """Keep an ID number's first six and last four characters."""
    digits = _digits(m.group(0))
    return f"{digits[:6]}{ID_MASK}{digits[-4:]}"


def _mask_mobile(m: re.Match[str]) -> str:
    """Keep a mobile's first three and last four digits."""
    digits = _digits(m["number"])
    # The country or trunk prefix (+86, 0) goes too: the mask reads the same however it was typed.
    return f"{digits[:3]}{MOBILE_MASK}{digits[-4:]}"


def _mask_card(m: re.Match[str]) -> str:
    """Keep a card's first six and last four digits."""
    digits = _digits(m.group(0))
    return f"{digits[:6]}{CARD_MASK}{digits[-4:]}"


def _mask_landline(m: re.Match[str]) -> str:
    """Keep a landline's area code and last four digits."""
    return f"{m['area']}{LANDLINE_MASK}{_digits(m['local'])[-4:]}"


def _mask_plate(m: re.Match[str]) -> str:
    """Keep a plate's province and letter, and its last two characters."""
    return f"{m['head'].upper()}{PLATE_MASK}{m['tail'][-2:].upper()}"


def _mask_person(m: re.Match[str]) -> str:
    """Keep a typed name's first character (王秀英 → 王**, Ann Lee → A***)."""
    name = m["name"]
    return mask_name(name) if name[0] > "\u2e80" else f"{name[0]}{EMAIL_MASK}"


def _keep(m: re.Match[str]) -> None:
    """Leave a case code as it is (None: nothing to replace)."""
    return None


# In this order: a case code is nobody's; an e-mail may hold a mobile (13912345678@163.com); an
# ID number's digits would read as a card and hold mobile-like runs; a grouped card holds a
# mobile-like 0139 1234 5678; a mobile's +86 would make its digits a card's run.
_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str | None]], ...] = (
    (_CASE_CODE, _keep),
    (_EMAIL, _mask_email),
    (_ID_NUMBER, _mask_id),
    (_CARD_GROUPED, _mask_card),
    (_MOBILE, _mask_mobile),
    (_CARD, _mask_card),
    (_LANDLINE, _mask_landline),
    (_PLATE, _mask_plate),
    (_NAME_ZH, _mask_person),
    (_NAME_EN, _mask_person),
)


def mask_text(text: str | None) -> str:
    """Return free text with mobiles, ID and card numbers, e-mails, plates, phones and names masked.

    By GB/T 35273's de-identification examples: 139****5678, 330104********0018,
    z***@example.com, 622202******1234, 沪A***45, 021-****5678; a name introduced by a cue
    (我叫王秀英, 联系人：李伟) keeps its surname: 我叫王**. Everything else is returned as written;
    masking masked text changes nothing.
    """
    if not text:
        return ""
    folded = text.translate(_FOLD)  # one character for one, so positions stay the same
    spans: list[tuple[int, int, str | None]] = []
    for pattern, mask in _RULES:
        part = "name" if "name" in pattern.groupindex else 0  # a cue stays as typed
        for m in pattern.finditer(folded):
            spans.append((*m.span(part), mask(m)))
        # Later patterns must not find anything inside what this one took.
        folded = pattern.sub(lambda m: _TAKEN * (m.end() - m.start()), folded)
    if all(masked is None for _, _, masked in spans):
        return text
    spans.sort()
    out, at = [], 0
    for start, end, masked in spans:
        out.append(text[at:start])
        out.append(text[start:end] if masked is None else masked)
        at = end
    out.append(text[at:])
    return "".join(out)


# -- where a case or an alert is: to the building, never the room -----------------------------

# A house number as the register writes it (107弄1号, 12-3号): the building, no room after it.
_BUILDING_NUMBER = re.compile(r"^\s*(?:[0-9]+弄)?[0-9]+(?:[-之][0-9]+)?号")
# What starts a room or a unit when a number has no 号 (12-501, 12栋3单元): cut there.
_ROOM_START = re.compile(r"[-#/室单元栋幢座楼层\s]")
_ROOM = re.compile(r"[0-9]*室.*$")
# The parts of a place a screen may carry (cockpit.places.where builds them).
WHERE_KEYS = frozenset(
    {"address", "building", "use", "floors", "floor", "community", "grid", "lon", "lat"}
    | {"building_id"}
)
# What an aggregate screen (the wall, the ticker every role receives) may say of a place.
AREA_KEYS = frozenset({"community", "grid"})


def building_address(road: str | None, number: str | None) -> str | None:
    """Return an address to the building only: road and house number, room and unit cut off.

    松花江路 + 261弄17号501室 → 松花江路261弄17号; 安图路 + 12-501 → 安图路12. Anything else
    typed into the register (a phone number) is masked like free text.
    """
    road, number = (road or "").strip(), (number or "").strip()
    if not road or not number:
        return None
    found = _BUILDING_NUMBER.match(number)
    if found:
        kept = found.group(0).strip()
    else:
        # Digits before 室 are a room's (1501室), whatever came before them: never kept.
        kept = _ROOM_START.split(_ROOM.sub("", number), maxsplit=1)[0]
    return mask_text(f"{road}{kept}") if kept else None


def where_for(where: dict | None, *, personal: bool, may_read_records: bool) -> dict | None:
    """Return what of a place a screen may carry.

    Record readers (dispatchers, leaders, a grid worker's own tasks) get the building-level
    place; an aggregate screen gets a device's or a building's place (as the wall's alert
    groups always named the building), but of a person's matter (a resident's alert, request
    or complaint) only the community and grid: never the building a resident lives in.
    """
    if not where:
        return None
    kept = {k: v for k, v in where.items() if k in WHERE_KEYS and v not in (None, "")}
    if personal and not may_read_records:
        kept = {k: v for k, v in kept.items() if k in AREA_KEYS}
    return kept or None
