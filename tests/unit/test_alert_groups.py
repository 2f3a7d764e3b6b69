"""Check the ticker's grouping: a red is never folded away, counts add up, the output is bounded."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.alert_groups import GROUP_PREFIX, group_alerts
from cockpit.rules.config import load_rules_config
from cockpit.worker import TickerFeed

CFG = load_rules_config().alerts.grouping
KINDS = ["device.offline", "fire.patrol_overdue", "fire.smoke", "fire.gas", "source.silent"]
LEVELS = ["red", "orange", "yellow", "blue"]


def alert(i: int, kind: str, level: str, ts: float, status: str = "new") -> dict:
    """Return one ticker item as TickerFeed keeps it."""
    return {
        "id": i,
        "kind": kind,
        "level": level,
        "ts": ts,
        "status": status,
        "title_zh": "巡更超时未打卡",
        "title_en": "Patrol check-in overdue",
        "object_type": "device",
        "object_id": i,
        "reasons": [{"code": "x", "text_zh": "说明" * 20, "text_en": "words " * 20}],
    }


items = st.lists(
    st.builds(
        alert,
        st.integers(1, 10**6),
        st.sampled_from(KINDS),
        st.sampled_from(LEVELS),
        st.floats(0, 10**6),
        st.sampled_from(["new", "acknowledged", "resolved"]),
    ),
    max_size=300,
    unique_by=lambda a: a["id"],
)


@settings(max_examples=80, deadline=None)
@given(items)
def test_grouping_never_loses_a_red_and_counts_add_up(alerts):
    shown = group_alerts(alerts, CFG, 20)
    reds = [a["id"] for a in alerts if a["level"] == "red" and a["status"] != "resolved"]
    ids = {i["id"] for i in shown}
    if len(reds) <= 20:
        assert set(reds) <= ids
    assert all(not i.get("group") or i["level"] != "red" for i in shown)
    # With room for everything, each open alert of a grouped kind is counted exactly once.
    everything = group_alerts(alerts, CFG, 10**6)
    for kind in CFG.kinds:
        members = [
            a
            for a in alerts
            if a["kind"] == kind and a["status"] != "resolved" and a["level"] != "red"
        ]
        counted = sum(
            i.get("count", 1)
            for i in everything
            if i["kind"] == kind and i["status"] != "resolved" and i["level"] != "red"
        )
        assert counted == len(members)


@settings(max_examples=40, deadline=None)
@given(items)
def test_the_ticker_is_bounded_and_newest_first(alerts):
    shown = group_alerts(alerts, CFG, 20)
    assert len(shown) <= 20
    assert [i["ts"] for i in shown] == sorted((i["ts"] for i in shown), reverse=True)


def test_forty_overdue_patrols_are_one_item_with_places():
    alerts = [alert(i, "fire.patrol_overdue", "blue", float(i)) for i in range(1, 41)]
    alerts[5]["level"] = "yellow"
    alerts.append(alert(99, "fire.smoke", "red", 1.0))
    places = {i: f"安图路{i % 4 + 1}号" for i in range(1, 41)}
    shown = group_alerts(alerts, CFG, 20, lambda a: places.get(a["object_id"]))
    group = next(i for i in shown if i.get("group"))
    assert group["id"] == GROUP_PREFIX + "fire.patrol_overdue" and group["count"] == 40
    assert group["level"] == "yellow" and group["ts"] == 40.0 and group["since"] == 1.0
    assert group["levels"] == {"yellow": 1, "blue": 39}
    assert [p["count"] for p in group["places"]] == [10, 10, 10]
    assert group["places"][0]["en"].startswith("No. ") and group["places_more"] == 1
    assert [i["id"] for i in shown] == [group["id"], 99]


def test_two_of_a_kind_stay_single():
    alerts = [alert(i, "device.offline", "blue", float(i)) for i in (1, 2)]
    assert [i["id"] for i in group_alerts(alerts, CFG, 20)] == [2, 1]


def test_the_feed_counts_thousands_offline_in_one_small_item():
    feed = TickerFeed()
    events = [
        (f"{i}-0", {"event": "raised", **alert(i, "device.offline", "blue", float(i))})
        for i in range(1, 6623)
    ]
    feed.absorb(events)
    feed.absorb([("r-0", {"event": "raised", **alert(10**6, "fire.smoke", "red", 0.5)})])
    feed.absorb([(f"x{i}", {"event": "resolved", "id": i, "ts": 9e6}) for i in range(1, 23)])
    shown = feed.model()["items"]
    opened = [i for i in shown if i["status"] != "resolved"]
    assert [i.get("count") for i in opened] == [6600, None] and opened[1]["level"] == "red"
    assert len(shown) == TickerFeed.SIZE  # the rest are the newest resolved ones, struck through
    assert len(orjson.dumps(feed.model())) < 12_000
    # The map still places each one: the open members, the red and the newest resolved.
    assert len(feed.items()) == 6600 + TickerFeed.SIZE


def test_the_map_folds_one_buildings_silent_devices_into_one_marker():
    from cockpit.map_layers import Positions, alert_markers

    where = Positions(
        buildings={7: (121.5, 31.3), 8: (121.6, 31.3)},
        devices={i: (121.5, 31.3, 7) for i in range(1, 31)} | {40: (121.6, 31.3, 8)},
        enterprise_building={},
    )
    alerts = [alert(i, "fire.patrol_overdue", "blue", float(i)) for i in range(1, 31)]
    alerts += [alert(40, "fire.patrol_overdue", "blue", 40.0), alert(41, "fire.smoke", "red", 1.0)]
    alerts[-1]["object_id"] = 5  # a red in the same building keeps its own marker
    view = alert_markers(alerts, where, CFG.kinds)
    assert view["total"] == 32 and view["counts"] == {"blue": 31, "red": 1}
    by_id = {m["id"]: m for m in view["items"]}
    assert set(by_id) == {"group:fire.patrol_overdue:7", 40, 41}
    folded = by_id["group:fire.patrol_overdue:7"]
    assert (
        folded["count"] == 30 and folded["title_zh"].endswith("×30") and folded["device_id"] is None
    )
    assert view["items"][0]["id"] == 41  # the red leads
    assert len(orjson.dumps(view)) < len(orjson.dumps(alert_markers(alerts, where))) / 5


def test_a_group_is_named_by_its_kind_not_by_one_members_title():
    members = [
        alert(i, "fire.smoke_battery", "blue", float(i)) | {"title_zh": f"烟感电量低{50000 + i}"}
        for i in range(1, 13)
    ]
    (group,) = group_alerts(members, CFG, 20)
    assert group["count"] == 12
    assert (group["title_zh"], group["title_en"]) == ("烟感电量低", "Smoke detector battery low")
