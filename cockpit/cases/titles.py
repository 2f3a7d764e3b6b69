"""Title a case by its category and place, never by what a resident or complainant wrote.

    case_title("repair", "长白路12号")  →  ("设施报修 · 长白路12号",
                                          "Facility repair · No. 12, Changbai Road")

A title reaches every page and list; the words as received stay in the case's description.
"""

from __future__ import annotations

from cockpit.domain.services import find_service
from cockpit.i18n import LABELS, address_name, label
from cockpit.privacy import mask_text

SEPARATOR = " · "
TITLE_MAX = 200


def category_name(category: str | None, lang: str) -> str:
    """Return a category's name: a service's name, a labelled case category, else the code."""
    text = str(category or "—")
    service = find_service(text)
    if service is not None:
        return service.name.pick(lang)
    key = f"case_category_{text}"
    # An unknown category comes as a feed wrote it: shown masked, like any text from outside.
    return label(key, lang) if key in LABELS else mask_text(text)


def place_of(road: str | None, number: str | None) -> str | None:
    """Return a building-level place from the standard address register: road and number."""
    if not road or not number:
        return None
    return f"{road.strip()}{number.strip()}" or None


def case_title(category: str | None, place: str | None) -> tuple[str, str]:
    """Return a case's (Chinese, English) title from its category and building-level place."""
    zh, en = category_name(category, "zh"), category_name(category, "en")
    if place:
        zh = f"{zh}{SEPARATOR}{place}"
        # A place English cannot spell is left out, never shown half in Chinese.
        place_en = address_name(place, "en")
        if place_en:
            en = f"{en}{SEPARATOR}{place_en}"
    return zh[:TITLE_MAX], en[:TITLE_MAX]
