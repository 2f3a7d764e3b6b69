"""Check the hot topics, request satisfaction, office vacancy and tax trend view models (pure)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from cockpit.panels import (
    TOPIC_ROWS,
    _building_economy,
    _requests,
    category_names,
    change_pct,
    hot_topics,
    livelihood_panel,
    vacancy_pct,
)
from data_adapters.panel_facts import office_units

COMMUNITIES = [{"id": 1, "name": "长白社区"}, {"id": 2, "name": "延吉社区"}]


def topic(code: str, community: int | None, recent: int, previous: int = 0) -> dict:
    """Return one topics row as PanelFactsAdapter gives it."""
    return {"topic": code, "community_id": community, "recent": recent, "previous": previous}


def keys(value):
    """Yield every key of a JSON-ready value, at any depth."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from keys(v)


# -- hot topics ----------------------------------------------------------------------------------


def test_hot_topics_put_rising_ones_first_with_their_change():
    model = hot_topics(
        [
            topic("repair", 1, 9, 12),  # the biggest, but falling
            topic("noise", 1, 4, 1),
            topic("noise", 2, 1, 0),
            topic("parking", 2, 2, 0),  # new this week
            topic("sanitation", None, 3, 3),  # level
        ],
        COMMUNITIES,
    )
    codes = [t["code"] for t in model["topics"]]
    assert codes == ["noise", "parking", "repair", "sanitation"]
    noise, parking, repair, sanitation = model["topics"]
    assert (noise["count"], noise["previous"], noise["change"], noise["change_pct"]) == (
        5,
        1,
        4,
        400.0,
    )
    assert noise["trend"] == "up"
    assert parking["trend"] == "new" and parking["change_pct"] is None
    assert repair["trend"] == "down" and repair["change_pct"] == -25.0
    assert sanitation["trend"] == "same" and sanitation["change"] == 0
    assert (noise["zh"], noise["en"]) == ("噪声扰民", "Noise")
    assert model["days"] == 7 and model["total"] == 19 and model["previous"] == 16


def test_a_topic_names_its_community_only_where_it_gathers():
    model = hot_topics(
        [
            topic("noise", 1, 4),
            topic("noise", 2, 1),
            topic("repair", 1, 2),
            topic("repair", 2, 2),
            topic("parking", 2, 2),  # all in one place, but too few to call it a pattern
            topic("water", None, 9),  # no address matched: counted, never placed
        ],
        COMMUNITIES,
    )
    by_code = {t["code"]: t for t in model["topics"]}
    noise = by_code["noise"]
    assert (noise["community"], noise["community_pct"]) == ("长白社区", 80)
    assert noise["community_en"] == "Changbai Community"
    for code in ("repair", "parking", "water"):
        assert by_code[code]["community"] is None, code
        assert by_code[code]["community_pct"] is None, code


def test_hot_topics_keep_the_busiest_and_drop_the_silent():
    rows = [topic(f"t{i:02d}", None, i, 0) for i in range(20)] + [topic("gone", 1, 0, 30)]
    model = hot_topics(rows, COMMUNITIES)
    codes = {t["code"] for t in model["topics"]}
    assert len(codes) == TOPIC_ROWS
    assert codes == {f"t{i:02d}" for i in range(20 - TOPIC_ROWS, 20)}
    assert "gone" not in codes, "a topic nobody raised this week is not hot"


def test_hot_topics_with_nothing_yet():
    assert hot_topics([], COMMUNITIES) == {"days": 7, "total": 0, "previous": 0, "topics": []}


def test_topic_names_come_from_services_labels_or_a_neutral_english_name():
    assert category_names("repair") == ("设施报修", "Facility repair")
    assert category_names("unpaid_wages") == ("拖欠工资", "Unpaid wages")
    assert category_names("odd_code") == ("odd_code", "odd_code")
    zh, en = category_names("噪音扰民")
    assert zh == "噪音扰民" and en == "Other topic"


def test_livelihood_panel_carries_topics_without_person_keys():
    facts = {
        "now": "2026-11-21T08:00:00+00:00",
        "communities": COMMUNITIES,
        "topics": [topic("noise", 1, 4, 1)],
    }
    model = livelihood_panel(facts, {}, [])
    assert model["topics"]["topics"][0]["code"] == "noise"
    assert not {"name", "text", "description", "address", "address_id"} & set(keys(model))


# -- request satisfaction --------------------------------------------------------------------------


def test_requests_carry_30_day_satisfaction_per_category_and_for_the_street():
    model = _requests(
        {"repair": {"open": 2, "closed": 1}, "noise": {"open": 0, "closed": 3}},
        {
            "repair": {"answered": 4, "score_sum": 18, "satisfied": 3},
            "water": {"answered": 2, "score_sum": 5, "satisfied": 1},  # no request today
        },
    )
    rows = {r["code"]: r for r in model["by_category"]}
    # Equal today (3 each): the one with more revisits goes first.
    assert [r["code"] for r in model["by_category"]] == ["repair", "noise", "water"]
    assert (rows["repair"]["satisfaction"], rows["repair"]["answered"]) == (4.5, 4)
    assert (rows["noise"]["satisfaction"], rows["noise"]["answered"]) == (None, 0)
    assert (rows["water"]["total"], rows["water"]["satisfaction"]) == (0, 2.5)
    assert model["satisfaction"] == round(23 / 6, 1) and model["answered"] == 6
    assert model["satisfied_pct"] == 67 and model["satisfaction_days"] == 30
    assert model["total"] == 6 and model["closed_pct"] == 67, "today's counts are unchanged"


def test_requests_without_revisits_show_no_satisfaction():
    model = _requests({"repair": {"open": 1, "closed": 0}})
    assert model["satisfaction"] is None and model["satisfied_pct"] is None
    assert model["answered"] == 0


# -- office vacancy and tax trend ------------------------------------------------------------------


def office(building_id: int, enterprises: int, **extra) -> dict:
    """Return one office_buildings row as PanelFactsAdapter gives it."""
    return {
        "building_id": building_id,
        "code": f"B{building_id}",
        "label": None,
        "enterprises": enterprises,
        "tax_wan": 100.0,
        "prepaid": 0,
        "office_units": None,
        "occupied_units": 0,
        "tax_compared_wan": None,
        "tax_last_wan": None,
    } | extra


def test_vacancy_per_building_and_for_the_street_over_known_units():
    model = _building_economy(
        [
            office(1, 30, office_units=100, occupied_units=75),
            office(2, 20, office_units=50, occupied_units=60),  # more rooms let than counted
            office(3, 10, occupied_units=8),  # no unit count
        ]
    )
    rows = {r["building_id"]: r for r in model["top"]}
    assert rows[1]["vacancy_pct"] == 25
    assert rows[2]["vacancy_pct"] == 0
    assert "vacancy_pct" not in rows[3], "unknown, shown as a dash"
    assert model["units_known"] == 2
    assert model["vacancy_pct"] == round(100 * (1 - 125 / 150))


def test_tax_trend_per_building_and_for_the_street_like_for_like():
    model = _building_economy(
        [
            office(1, 30, tax_compared_wan=90.0, tax_last_wan=120.0),
            office(2, 20, tax_compared_wan=55.0, tax_last_wan=50.0),
            office(3, 10),  # no figure for last year
            office(4, 5, tax_compared_wan=3.0, tax_last_wan=0.0),  # nothing to compare with
        ]
    )
    rows = {r["building_id"]: r for r in model["top"]}
    assert rows[1]["tax_change_pct"] == -25.0
    assert rows[2]["tax_change_pct"] == 10.0
    assert "tax_change_pct" not in rows[3] and "tax_change_pct" not in rows[4]
    assert model["tax_change_pct"] == round(100 * (148 - 170) / 170, 1)


def test_economy_with_nothing_known():
    model = _building_economy([office(1, 3)])
    assert model["vacancy_pct"] is None and model["tax_change_pct"] is None
    assert model["units_known"] == 0
    assert set(model["top"][0]) == {
        "building_id",
        "label",
        "label_en",
        "enterprises",
        "tax_wan",
        "prepaid",
    }


@given(occupied=st.integers(min_value=-5, max_value=10_000), units=st.integers(0, 5_000))
def test_vacancy_is_a_whole_percentage_or_unknown(occupied, units):
    value = vacancy_pct(occupied, units)
    if units == 0:
        assert value is None
    else:
        assert isinstance(value, int) and 0 <= value <= 100
        if occupied >= units:
            assert value == 0
        if occupied <= 0:
            assert value == 100


@given(now=st.floats(0, 1e6), before=st.floats(0, 1e6))
def test_change_follows_the_direction_of_the_figures(now, before):
    value = change_pct(now, before)
    if before == 0:
        assert value is None
    elif now > before * 1.001:
        assert value > 0
    elif now < before * 0.999:
        assert value < 0


def test_office_units_accepts_whole_positive_counts_only():
    assert office_units({"office_units": 120}) == 120
    assert office_units({"office_units": "120"}) == 120
    assert office_units({"office_units": " 8 "}) == 8
    assert office_units({"office_units": 40.0}) == 40
    for bad in (None, {}, [], {"office_units": 0}, {"office_units": -3}, {"office_units": True}):
        assert office_units(bad) is None, bad
    for bad in ("12.5", "many", "", "١٢", 12.5, float("nan"), [3]):
        assert office_units({"office_units": bad}) is None, bad


def test_office_buildings_are_told_by_name_or_address_in_either_language():
    from cockpit.panels import _economy_row

    named = _economy_row({"label": "长白大厦", "address": "长白路1号", "code": "B1"})
    unnamed = _economy_row({"label": None, "address": "松花江路261弄17号", "code": "B2"})
    bare = _economy_row({"label": None, "address": None, "code": "B3"})
    assert (named["label"], named["label_en"]) == ("长白大厦", "Changbai Tower")
    assert unnamed["label"] == "松花江路261弄17号"
    assert unnamed["label_en"] == "No. 17, Lane 261, Songhuajiang Road"
    assert (bare["label"], bare["label_en"]) == ("B3", "B3")


@given(
    st.from_regex(r"[\u4e00-\u9fff]{1,4}路(\d{1,3}弄)?\d{1,4}号", fullmatch=True)
    | st.text(max_size=20)
)
def test_english_addresses_never_show_chinese(text):
    from cockpit.i18n import address_name

    assert not re.search(r"[\u3400-\u9fff]", address_name(text, "en"))
