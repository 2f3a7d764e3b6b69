"""Replay a recorded day from a store as a timeline of captions and a ticker, at any speed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from cockpit.clock import ManualClock
from cockpit.demo.captions import DEMO_VIEW, REPLAY, Caption, CaptionBoard, PlayerStatus
from cockpit.i18n import label, place_name
from cockpit.live import LiveStore
from cockpit.viewmodels import TICKER, ViewModelPublisher
from cockpit.worker import TickerFeed
from data_adapters.recorded_day import RecordedItem, day_bounds

# A replay starts a little before the day's first record and stops a little after its last.
MARGIN = timedelta(minutes=5)
COMPLAINT_LABELS = {"110": "complaint_110", "12345": "complaint_12345", "96315": "complaint_96315"}
CASE_KINDS = {
    "dispatch": "dispatch",
    "arrive": "arrival",
    "handled": "handling",
    "close": "closure",
}


def caption_for(item: RecordedItem) -> Caption | None:
    """Return the caption of one recorded item, in both languages."""
    f = item.facts
    if item.what == "alert":
        zh = f"{label('level_' + f['level'], 'zh')}预警：{f['title']}"
        en = f"{label('level_' + f['level'], 'en')} alert: {f['title_en'] or f['title']}"
        return Caption(item.at, "alarm", zh, en)
    if item.what == "complaint":
        key = COMPLAINT_LABELS.get(f["source"], "complaint_labour")
        return Caption(
            item.at, "signal", f"{label(key, 'zh')}：新投诉", f"{label(key, 'en')}: a new complaint"
        )
    if item.what == "request":
        return Caption(item.at, "signal", "居民诉求：新诉求", "Resident request: a new request")
    if item.what == "case":
        return _case_caption(item)
    return None


def _case_caption(item: RecordedItem) -> Caption:
    """Say one step of a case: dispatched to whom, arrived, handled, closed."""
    f = item.facts
    what_zh, what_en = _case_subject(f)
    who_zh = f.get("target_name") or "处置力量"
    who_en = _target_en(f.get("target"), f.get("target_name"))
    zh, en = {
        "dispatch": (f"{what_zh}：派遣至{who_zh}", f"{what_en}: dispatched to {who_en}"),
        "arrive": (f"{what_zh}：处置力量到达现场", f"{what_en}: responders on site"),
        "handled": (f"{what_zh}：处置完毕", f"{what_en}: handled"),
        "close": (f"{what_zh}：结案", f"{what_en}: case closed"),
    }[f["action"]]
    return Caption(item.at, CASE_KINDS[f["action"]], zh, en[:1].upper() + en[1:])


def _case_subject(facts: dict[str, Any]) -> tuple[str, str]:
    """Name what a case is about without what a resident wrote: the demo shows no personal data."""
    if facts["alert_id"] is not None:
        return facts["title"], facts["title_en"] or facts["title"]
    return {
        "grid_worker": (f"网格上报（{facts['title']}）", "A grid worker's report"),
        "resident": ("居民诉求", "A resident request"),
        "complaint": ("投诉件", "A complaint"),
    }.get(facts["source"], ("案件", "A case"))


def _target_en(target: str | None, name: str | None) -> str:
    """Name a dispatch target in English without personal names."""
    kind = (target or "").partition(":")[0]
    romanised = (
        place_name(name.split("社区")[0] + "社区", "en", "") if name and "社区" in name else ""
    )
    if kind == "worker":
        return f"a grid worker of {romanised}" if romanised else "a grid worker"
    if kind == "community":
        return romanised or "the community"
    return f"the {romanised} team".replace("  ", " ") if romanised else "a response team"


class DayReplay:
    """Play a recorded day's items along a manual clock; publish captions and a replay ticker."""

    def __init__(
        self,
        day: date,
        items: list[RecordedItem],
        live: LiveStore,
        extra: Callable[[], dict[str, Any]] = lambda: {},
    ) -> None:
        self.day = day
        self.items = sorted(items, key=lambda i: i.at)
        day_start, day_end = day_bounds(day)
        self.start = max(day_start, self.items[0].at - MARGIN) if self.items else day_start
        self.end = min(day_end, self.items[-1].at + MARGIN) if self.items else day_end
        self.clock = ManualClock(self.start)
        self.board = CaptionBoard(REPLAY, sum(caption_for(i) is not None for i in self.items))
        self.publisher = ViewModelPublisher(live)
        self.ticker = TickerFeed()
        self.extra = extra
        self._next = 0
        self._event_no = 0
        self.publisher.publish(TICKER, self.ticker.model(), self.start)

    def run_until(self, moment: datetime) -> None:
        """Move the clock to the moment and tell every item recorded up to it."""
        if moment > self.clock.now():
            self.clock.advance((moment - self.clock.now()).total_seconds())
        events = []
        while self._next < len(self.items) and self.items[self._next].at <= moment:
            item = self.items[self._next]
            self._next += 1
            caption = caption_for(item)
            if caption is not None:
                self.board.add(caption)
            if item.what == "alert":
                events.append(self._ticker_event(item))
        if events:
            self.ticker.absorb(events)
            self.publisher.publish(TICKER, self.ticker.model(), moment)

    def _ticker_event(self, item: RecordedItem) -> tuple[str, dict[str, Any]]:
        """Return the alert as the live alert stream would have carried it."""
        self._event_no += 1
        f = item.facts
        return (
            f"{self._event_no}-0",
            {
                "event": "raised",
                "id": f["id"],
                "level": f["level"],
                "kind": f["kind"],
                "title_zh": f["title"],
                "title_en": f["title_en"],
                "object_type": f["object_type"],
                "object_id": f["object_id"],
                "ts": item.at.timestamp(),
            },
        )

    def publish(self, status: PlayerStatus) -> None:
        """Publish the `demo` view model for the replay."""
        self.publisher.publish(
            DEMO_VIEW,
            self.board.view(status, replay_day=self.day.isoformat(), **self.extra()),
            status.now,
        )
