"""Check the ticker feed folds alert events into the newest-first list the wall shows."""

from __future__ import annotations

import orjson

from cockpit.worker import TickerFeed


def raised(
    alert_id: int, ts: float, level: str = "yellow", kind: str = "fire.smoke"
) -> tuple[str, dict]:
    """Return a 'raised' event as the alert book announces it."""
    return f"{alert_id}-0", {
        "event": "raised",
        "id": alert_id,
        "level": level,
        "kind": kind,
        "title_zh": "烟感报警",
        "title_en": "Smoke alarm",
        "object_type": "device",
        "object_id": alert_id,
        "ts": ts,
    }


def test_newest_first_escalation_and_resolution():
    feed = TickerFeed()
    assert feed.absorb([raised(1, 10.0), raised(2, 20.0)])
    assert [i["id"] for i in feed.model()["items"]] == [2, 1]
    feed.absorb(
        [
            ("3-0", {"event": "escalated", "id": 1, "level": "orange", "ts": 30.0}),
            ("4-0", {"event": "resolved", "id": 2, "ts": 31.0}),
        ]
    )
    items = {i["id"]: i for i in feed.model()["items"]}
    assert items[1]["level"] == "orange" and items[1]["escalated"] is True
    assert items[2]["status"] == "resolved"
    assert feed.cursor == "4-0"
    assert feed.absorb([]) is False


def test_keeps_only_the_newest_twenty():
    feed = TickerFeed()
    feed.absorb([raised(i, float(i)) for i in range(1, 31)])
    ids = [i["id"] for i in feed.model()["items"]]
    assert ids == list(range(30, 10, -1))


def test_a_burst_of_minor_alerts_keeps_the_open_red_one():
    feed = TickerFeed()
    feed.absorb([raised(1, 1.0, "red"), raised(2, 2.0, "orange")])
    feed.absorb([raised(i, float(i), "blue") for i in range(3, 40)])
    feed.absorb([("x-0", {"event": "resolved", "id": 2, "ts": 50.0})])
    feed.absorb([raised(i, float(i), "blue") for i in range(40, 45)])
    ids = [i["id"] for i in feed.model()["items"]]
    assert 1 in ids and 2 not in ids and len(ids) == TickerFeed.SIZE


def test_due_visits_stay_off_the_ticker_and_acknowledgement_shows():
    feed = TickerFeed()
    feed.absorb([raised(1, 1.0, "blue", kind="enterprise.visit"), raised(2, 2.0, "red")])
    feed.absorb([("y-0", {"event": "acknowledged", "id": 2, "ts": 3.0})])
    (item,) = feed.model()["items"]
    assert item["id"] == 2 and item["status"] == "acknowledged" and item["acknowledged_at"] == 3.0


def test_a_resident_is_never_numbered_on_the_wall():
    feed = TickerFeed()
    _, event = raised(4, 1.0, "orange", kind="elder.no_water")
    feed.absorb([("4-0", event | {"object_type": "resident", "object_id": 777})])
    (item,) = feed.model()["items"]
    assert item["object_type"] == "resident" and item["object_id"] is None
    assert "777" not in orjson.dumps(feed.model()).decode()
