"""Check the screens' pure parts: the refresh decision, the page frame, labels and place names."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson
from dash import no_update
from hypothesis import given
from hypothesis import strategies as st

from callbacks.shell import REFRESHED_VIEWS, reader_for, refresh_views
from cockpit.i18n import LABELS, labels_for, place_name
from cockpit.live import InProcessLiveStore
from cockpit.panels import enterprise_panel, governance_panel
from cockpit.viewmodels import TAIL_BYTES, ViewModelPublisher, peek
from layouts.panels import PANELS, WALL_KPIS
from layouts.shell import ScreenConfig, page, page_query, pick_mode

CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
CONFIG = ScreenConfig(refresh_ms=1000, stale_after_s=30, panel_cycle_s=20, ticker_s_per_item=6)


def published(**views: dict[str, Any]) -> dict[str, bytes]:
    """Return view models as the live store holds them."""
    return {name: orjson.dumps(view) for name, view in views.items()}


def test_refresh_sends_only_what_changed_and_always_a_heartbeat():
    store = published(
        overview={"version": "o1", "published_wall": 1000.0, "kpis": {}},
        governance={"version": "g2", "published_wall": 999.0},
    )
    names = ("overview", "governance", "cases")
    out, versions, heartbeat = refresh_views(store.get, names, {"overview": "o1"}, 1002.5)
    assert out[0] is no_update, "the client holds overview o1 already"
    assert out[1]["version"] == "g2"
    assert out[2] is no_update, "a view nobody published yet is left alone"
    assert versions == {"overview": "o1", "governance": "g2"}
    assert heartbeat == {"age_s": 2.5}

    out, versions, heartbeat = refresh_views(store.get, names, versions, 1003.0)
    assert all(item is no_update for item in out)
    assert versions is no_update, "unchanged versions are not sent again"
    assert heartbeat == {"age_s": 3.0}


def test_refresh_with_tails_reads_whole_only_the_views_that_changed():
    """With each view's tail read at once, an unchanged view is never read whole, the answer is
    the same as without tails, and a tail that says nothing falls back to the whole view."""
    raw = {
        "overview": publish({"kpis": {"a": 1}}),
        "cases": publish({"items": list(range(500))}),
        "ticker": b'{"items":[],"version":"t1"}',  # no stamps at its tail: read whole
    }
    whole: list[str] = []

    def read(name: str) -> bytes | None:
        whole.append(name)
        return raw.get(name)

    names = ("overview", "cases", "ticker", "governance")
    tails = {name: raw[name][-TAIL_BYTES:] if name in raw else None for name in names}
    first = refresh_views(read, names, None, 10.0, None, tails)
    assert first == refresh_views(raw.get, names, None, 10.0)
    out, versions, _ = first
    assert whole == ["overview", "cases", "ticker"]  # nothing held yet: all new
    whole.clear()
    again = refresh_views(read, names, versions, 11.0, None, tails)
    assert all(item is no_update for item in again[0]) and again[1] is no_update
    assert whole == ["ticker"]  # only the view whose tail names no version
    assert again[2]["age_s"] == refresh_views(raw.get, names, versions, 11.0)[2]["age_s"]


def test_refresh_before_anything_is_published_says_so():
    out, versions, heartbeat = refresh_views({}.get, REFRESHED_VIEWS, None, 5.0)
    assert all(item is no_update for item in out) and versions is no_update
    assert heartbeat == {"age_s": None}


def walk(component: Any):
    """Yield every component of a Dash component tree."""
    stack = [component]
    while stack:
        node = stack.pop()
        if isinstance(node, list | tuple):
            stack.extend(node)
        elif hasattr(node, "to_plotly_json"):
            yield node
            stack.append(getattr(node, "children", None))


def ids(component: Any) -> set[str]:
    """Return every string id in a Dash component tree."""
    return {node.id for node in walk(component) if isinstance(getattr(node, "id", None), str)}


def text_of(component: Any, element_id: str) -> Any:
    """Return the children of the component with that id."""
    return next(
        node.children for node in walk(component) if getattr(node, "id", None) == element_id
    )


def test_every_profile_carries_the_stable_ids():
    views = {name: None for name in REFRESHED_VIEWS}
    stable = {"alert-ticker", "street-map", "data-freshness", "card-overlay", "card-close"}
    stable |= {f"panel-{name}" for name in PANELS} | {f"kpi-{name}" for name in WALL_KPIS}
    stable |= {f"view-{name}" for name in REFRESHED_VIEWS}
    for mode in ("wall", "tablet", "demo"):
        for lang in ("zh", "en"):
            assert stable <= ids(page(views, None, lang, mode, CONFIG)), (mode, lang)


def test_language_switch_keeps_the_profile_and_unknown_modes_fall_back_to_the_wall():
    assert page_query("en", "tablet") == "?mode=tablet&lang=en"
    assert (
        pick_mode("tablet") == "tablet"
        and pick_mode("kiosk") == "wall"
        and pick_mode(None) == "wall"
    )


def test_page_names_the_street_in_the_page_language():
    overview = {"street": "长白新村街道", "version": "v"}
    english = page({"overview": overview}, None, "en", "wall", CONFIG)
    assert text_of(english, "street-name") == "Changbai Xincun Subdistrict"
    assert text_of(english, "language-switch") == "中文"
    chinese = page({"overview": overview}, None, "zh", "wall", CONFIG)
    assert text_of(chinese, "street-name") == "长白新村街道"


def test_every_label_has_both_languages_and_english_has_no_chinese():
    for key, entry in LABELS.items():
        assert entry.get("zh") and entry.get("en"), key
        if key != "language_switch":  # names the other language in that language: 中文
            assert not CJK.search(entry["en"]), key
    assert labels_for("en")["ticker"] == "Alerts"


@given(st.text(max_size=12))
def test_place_names_in_english_never_keep_chinese(name):
    assert not CJK.search(place_name(name, "en", "Community 1"))
    assert place_name(name, "zh", "x") == (name or "x")


def test_simulator_place_names_read_as_english():
    assert place_name("长白社区", "en") == "Changbai Community"
    assert place_name("图们17社区", "en") == "Tumen 17 Community"
    assert place_name("延安社区", "en") == "Yan'an Community"
    assert place_name("ꀀ社区", "en", "Community 3") == "Community 3"


def test_governance_counts_open_alerts_by_level_and_names_communities_in_english():
    facts = {
        "alerts": {"open_by_kind": {"fire.smoke": {"red": 2}, "device.offline": {"blue": 5}}},
        "communities": [{"id": 1, "name": "长白社区"}],
        "building_community": {7: 1},
    }
    model = governance_panel(facts, [], {}, datetime(2026, 1, 1, tzinfo=UTC))
    assert model["alerts"] == {
        "open_by_level": {"red": 2, "orange": 0, "yellow": 0, "blue": 5},
        "open": 7,
        "red_unsettled": 2,  # no facts of resolved alerts' cases: the open red ones
    }


def test_visits_due_name_their_trigger_by_row_oldest_first():
    alerts = [
        {
            "object_id": 3,
            "level": "blue",
            "title_zh": "必访：经营异常",
            "title_en": "Visit due: Abnormal operation",
            "raised_at": "2026-01-02T00:00:00",
        },
        {
            "object_id": 4,
            "level": "blue",
            "title_zh": "必访：经营异常",
            "title_en": "Visit due: Abnormal operation",
            "raised_at": "2026-01-01T00:00:00",
        },
    ]
    visits = enterprise_panel({}, [], alerts)["visits"]
    assert visits["by_trigger"] == [{"zh": "经营异常", "en": "Abnormal operation", "count": 2}]
    assert [row["enterprise_id"] for row in visits["due"]] == [4, 3]
    assert {row["trigger"] for row in visits["due"]} == {0}


def publish(model: dict[str, Any]) -> bytes:
    """Return the bytes the real publisher writes for a model."""
    live = InProcessLiveStore()
    ViewModelPublisher(live).publish("x", model, datetime(2026, 1, 1, tzinfo=UTC))
    return live.get_view("x")


def test_peek_reads_the_publishers_stamps_and_gives_up_on_anything_else():
    raw = publish({"items": [{"version": "inner"}] * 50})
    view = orjson.loads(raw)
    assert peek(raw) == (view["version"], view["published_wall"])
    # A model with its own top-level "version" keeps that key in front: parse it in full.
    assert peek(publish({"version": "mine", "items": list(range(200))})) is None
    assert peek(b'{"a": 1}') is None
    assert peek(b'{"version":"v","published_wall":"oops"}') is None


def test_refresh_answers_alike_with_and_without_the_peek():
    raw = publish({"items": list(range(100))})
    odd = orjson.dumps(dict(orjson.loads(raw), extra=1))  # stamps no longer at the tail
    for payload in (raw, odd):
        version = orjson.loads(payload)["version"]
        out, versions, _ = refresh_views({"cases": payload}.get, ("cases",), {}, 0.0)
        assert out[0] == orjson.loads(payload) and versions == {"cases": version}
        out, versions, _ = refresh_views({"cases": payload}.get, ("cases",), versions, 0.0)
        assert out[0] is no_update and versions is no_update


def test_a_demo_page_reads_the_demos_views_and_never_productions():
    production = {"overview": b"production"}.get
    demo = {"overview": b"demo"}.get
    assert reader_for("demo", production, demo)("overview") == b"demo"
    assert reader_for("tablet", production, demo)("overview") == b"production"
    assert reader_for(None, production, demo)("overview") == b"production"
    # No demo store wired: a demo page gets nothing rather than production's views.
    assert reader_for("demo", production, None)("overview") is None


def test_the_heartbeat_says_stale_on_the_servers_clock_past_the_limit():
    store = published(overview={"version": "o1", "published_wall": 1000.0, "kpis": {}})
    _, _, fresh = refresh_views(store.get, ("overview",), None, 1001.9, limit_s=2.0)
    assert fresh == {"age_s": 1.9, "limit_s": 2.0, "stale": False}
    _, _, old = refresh_views(store.get, ("overview",), None, 1002.1, limit_s=2.0)
    assert old == {"age_s": 2.1, "limit_s": 2.0, "stale": True}
    _, _, none = refresh_views({}.get, ("overview",), None, 1002.1, limit_s=2.0)
    assert none["stale"] is False and none["age_s"] is None, "nothing yet: the page says waiting"


def test_the_first_render_judges_staleness_as_the_refresh_does():
    config = ScreenConfig(
        refresh_ms=1000, stale_after_s=30, panel_cycle_s=20, ticker_s_per_item=6, fresh_limit_s=2
    )
    overview = {"version": "o1", "published_wall": 1000.0, "kpis": {}, "sources": []}
    stores = {
        c.id: c.data
        for c in walk(page({"overview": overview}, None, "zh", "wall", config, 1005.0))
        if getattr(c, "id", None) in ("heartbeat-store", "labels-store")
    }
    assert stores["heartbeat-store"] == {"age_s": 5.0, "limit_s": 2, "stale": True}
    assert stores["labels-store"]["fresh_limit_s"] == 2
    assert "{age}" in stores["labels-store"]["t"]["fresh_stale"]
