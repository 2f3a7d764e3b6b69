"""Test the scripted day's step logic and the replay timeline with fakes (no store, no thread)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from cockpit.cases.desk import ActResult, CaseActionError
from cockpit.clock import ManualClock
from cockpit.demo.captions import PLAYING, PlayerStatus
from cockpit.demo.places import Place, Responder
from cockpit.demo.replay import DayReplay, caption_for
from cockpit.demo.script import parse_script
from cockpit.demo.scripted import MAX_HOLD_TICKS, ScriptedDay
from cockpit.live import InProcessLiveStore
from cockpit.viewmodels import ViewModelPublisher, read_view
from data_adapters.recorded_day import RecordedItem
from tests.unit.demo.test_script import GOOD

DAY = date(2026, 5, 20)
PLACE = Place(
    "安图路5号（6层住宅）", "No. 5, Antu Road", 121.5, 31.3, 7, "安图社区", "Antu Community"
)


class FakeScenario:
    """Record incidents and steps instead of playing a street."""

    def __init__(self) -> None:
        self.triggered: list[tuple[str, datetime]] = []
        self.steps = 0

    def target(self, incident: str):
        return ("device", 21)

    def trigger(self, incident: str, at: datetime) -> None:
        self.triggered.append((incident, at))

    def step(self) -> int:
        self.steps += 1
        return 0


class FakeDesk:
    """Record case actions; refuse the ones listed."""

    def __init__(self, refuse: tuple[str, ...] = ()) -> None:
        self.acts: list[tuple[str, dict]] = []
        self.refuse = refuse

    def act(self, action: str, actor: str, **kw) -> ActResult:
        if action in self.refuse:
            raise CaseActionError(f"cannot {action}")
        self.acts.append((action, kw))
        return ActResult(kw.get("case_id") or 0, action, True)


class FakePlaces:
    """Answer places and responders without a store."""

    def device(self, device_id: int) -> Place:
        return PLACE

    def enterprise(self, enterprise_id: int) -> Place:
        return PLACE

    def nearest_team(self, kind: str, place: Place) -> Responder:
        return Responder("team:7", "安图社区微型消防站", "the Antu Community fire station")

    def grid_worker(self, place: Place) -> Responder:
        return Responder("worker:3", "安图社区第1网格网格员", "the grid worker of grid 1")


class FakeDay(ScriptedDay):
    """A scripted day whose alert and case appear at set times instead of from a store."""

    alert_at: datetime | None = None
    case_at: datetime | None = None

    def _find_alert(self, step, target, since):
        if self.alert_at is None or self.clock.now() < self.alert_at:
            return None
        return {
            "id": 40,
            "level": "red",
            "title_zh": "烟感报警",
            "title_en": "Smoke alarm",
            "raised_at": self.alert_at,
        }

    def _case_of(self, alert_id: int):
        return 12 if self.case_at is not None and self.clock.now() >= self.case_at else None


def play(day: FakeDay, until: datetime, ticks: int = 1000) -> None:
    """Call run_until as the player's ticks would, until the clock gets there."""
    for _ in range(ticks):
        if day.clock.now() >= until and not day._heads():
            return
        day.run_until(until)
        if day.clock.now() >= until:
            day.run_until(until)
            return


def make_day(desk: FakeDesk | None = None, live: InProcessLiveStore | None = None) -> FakeDay:
    script = parse_script(GOOD)
    start, _ = script.bounds(DAY)
    day = FakeDay(
        script,
        DAY,
        ManualClock(start),
        FakeScenario(),
        desk or FakeDesk(),
        None,
        ViewModelPublisher(live or InProcessLiveStore()),
    )
    day.places = FakePlaces()
    return day


def test_steps_run_at_their_times_and_captions_follow_in_order() -> None:
    """Incident, alarm, dispatch and closure run in order, each caption at its simulated time."""
    day = make_day()
    day.alert_at = day.start + timedelta(minutes=10, seconds=20)
    day.case_at = day.start + timedelta(minutes=11)
    day.run_until(day.end)
    captions = day.board.captions()
    assert [c.kind for c in captions] == ["info", "alarm", "dispatch", "closure"]
    assert [c.at - day.start for c in captions] == [
        timedelta(0),
        timedelta(minutes=10, seconds=20),
        timedelta(minutes=13),
        timedelta(minutes=40),
    ]
    assert captions[1].zh == "红色预警：烟感报警"
    assert captions[2].en == "Dispatched to the Antu Community fire station"
    assert captions[3].en == "Closed after 30 minutes"
    assert day.scenario.triggered == [("smoke_alarm", day.start + timedelta(minutes=10))]
    assert [a for a, _ in day.desk.acts] == ["register", "dispatch", "close"]
    assert day.desk.acts[1][1]["target"] == "team:7"
    assert day.done


def test_a_story_waits_for_its_alert_while_the_clock_moves_in_short_steps() -> None:
    """An alert raised late holds back its story's later steps, not the clock or other stories."""
    day = make_day()
    day.alert_at = day.start + timedelta(minutes=25)
    day.case_at = day.start + timedelta(minutes=26)
    day.run_until(day.start + timedelta(minutes=20))
    assert [c.kind for c in day.board.captions()] == ["info"]
    assert day.scenario.steps >= 10 * 60 // 15  # 15-second steps while waiting, not one jump
    play(day, day.end)
    kinds_and_times = [(c.kind, c.at - day.start) for c in day.board.captions()]
    assert kinds_and_times[1] == ("alarm", timedelta(minutes=25))
    assert kinds_and_times[2][0] == "dispatch"
    assert kinds_and_times[2][1] >= timedelta(minutes=26)


def test_the_clock_holds_until_the_sync_has_opened_the_case() -> None:
    """An alert's case opened late by the worker's sync holds the clock, not the caption time."""
    day = make_day()
    day.alert_at = day.start + timedelta(minutes=10)
    day.run_until(day.end)
    assert day.clock.now() == day.start + timedelta(minutes=12)  # the acknowledge step's time
    day.run_until(day.end)
    assert day.clock.now() == day.start + timedelta(minutes=12)
    day.case_at = day.start  # the worker's sync has opened it meanwhile
    day.run_until(day.end)
    registered = [c for c in day.board.captions() if c.kind == "dispatch"]
    assert registered[0].at == day.start + timedelta(minutes=13)  # dispatch at its own time
    assert day.desk.acts[0] == ("register", {"case_id": 12, "action_key": "demo-step-3"})


def test_a_sync_that_never_comes_lets_the_clock_go_after_a_while(caplog) -> None:
    """After MAX_HOLD_TICKS the day moves on and the story is given up, logged, not stuck."""
    day = make_day()
    day.alert_at = day.start + timedelta(minutes=10)
    play(day, day.end, ticks=MAX_HOLD_TICKS + 10)
    assert day.clock.now() == day.end
    assert "no case was opened" in caplog.text


def test_a_refused_action_stops_only_its_story(caplog) -> None:
    """When the case desk refuses a step, the story ends with a log line; the day goes on."""
    day = make_day(FakeDesk(refuse=("dispatch",)))
    day.alert_at = day.start + timedelta(minutes=10)
    day.case_at = day.start + timedelta(minutes=10)
    day.run_until(day.end)
    assert [c.kind for c in day.board.captions()] == ["info", "alarm"]
    assert "stops at step 5" in caplog.text
    assert day.done


def test_the_day_publishes_the_demo_view() -> None:
    """publish() writes the `demo` view model into the demo's live store."""
    live = InProcessLiveStore()
    day = make_day(live=live)
    day.extra = lambda: {"replay_days": ["2026-05-19"]}
    day.run_until(day.start)
    day.publish(PlayerStatus(PLAYING, 60, day.clock.now(), day.start, day.end))
    view = read_view(live, "demo")
    assert view["mode"] == "scripted"
    assert view["current"]["zh"] == "开始"
    assert view["replay_days"] == ["2026-05-19"]


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 5, 20, hour - 8, minute, tzinfo=UTC)


RECORDED = [
    RecordedItem(
        at(10, 32),
        "alert",
        {
            "id": 5,
            "kind": "fire.smoke",
            "level": "red",
            "title": "烟感报警",
            "title_en": "Smoke alarm",
            "object_type": "device",
            "object_id": 21,
            "raised_at": at(10, 32),
            "resolved_at": None,
        },
    ),
    RecordedItem(
        at(10, 35),
        "case",
        {
            "action": "dispatch",
            "to_state": "dispatched",
            "target": "team:7",
            "target_name": "安图社区微型消防站",
            "code": "AL00000005",
            "source": "alert",
            "category": "fire.smoke",
            "title": "烟感报警",
            "title_en": "Smoke alarm",
            "alert_id": 5,
        },
    ),
    RecordedItem(at(9, 0), "complaint", {"source": "12345", "category": "noise"}),
    RecordedItem(
        at(11, 0),
        "case",
        {
            "action": "close",
            "to_state": "closed",
            "target": None,
            "target_name": None,
            "code": "AL00000005",
            "source": "alert",
            "category": "fire.smoke",
            "title": "烟感报警",
            "title_en": None,
            "alert_id": 5,
        },
    ),
]


def test_recorded_items_get_short_captions_in_both_languages() -> None:
    """Alerts, case steps and complaints read like "10:32 红色预警：…", "10:35 案件…派遣至…"."""
    alert, dispatch, complaint, close = (caption_for(i) for i in RECORDED)
    assert (alert.kind, alert.zh, alert.en) == (
        "alarm",
        "红色预警：烟感报警",
        "Red alert: Smoke alarm",
    )
    assert dispatch.zh == "烟感报警：派遣至安图社区微型消防站"
    assert dispatch.en == "Smoke alarm: dispatched to the Antu Community team"
    assert complaint.zh == "12345热线：新投诉"
    assert close.kind == "closure" and close.en == "烟感报警: case closed"


def test_replayed_cases_never_show_what_a_resident_wrote() -> None:
    """A resident's or complainant's case is named by its channel, a grid report by category."""
    facts = dict(RECORDED[1].facts, alert_id=None, title="张三家楼道灯坏了", title_en=None)
    for source, zh, en in (
        ("resident", "居民诉求：派遣至", "A resident request: dispatched"),
        ("complaint", "投诉件：派遣至", "A complaint: dispatched"),
    ):
        caption = caption_for(RecordedItem(at(10, 0), "case", dict(facts, source=source)))
        assert caption.zh.startswith(zh) and caption.en.startswith(en)
        assert "张三" not in caption.zh + caption.en
    grid = caption_for(
        RecordedItem(at(10, 0), "case", dict(facts, source="grid_worker", title="暴露垃圾"))
    )
    assert grid.zh.startswith("网格上报（暴露垃圾）")


def test_a_replay_tells_the_day_in_time_order_and_fills_its_ticker() -> None:
    """Played forward, the replay adds captions as their times pass and puts alerts on a ticker."""
    live = InProcessLiveStore()
    replay = DayReplay(DAY, RECORDED, live)
    assert replay.start == at(9, 0) - timedelta(minutes=5)
    assert replay.end == at(11, 0) + timedelta(minutes=5)
    replay.run_until(at(10, 33))
    assert [c.kind for c in replay.board.captions()] == ["signal", "alarm"]
    assert read_view(live, "ticker")["items"][0]["title_en"] == "Smoke alarm"
    replay.run_until(replay.end)
    assert [c.kind for c in replay.board.captions()] == ["signal", "alarm", "dispatch", "closure"]
    replay.publish(PlayerStatus(PLAYING, 60, replay.clock.now(), replay.start, replay.end))
    view = read_view(live, "demo")
    assert (view["mode"], view["replay_day"], view["progress"]) == ("replay", "2026-05-20", 1.0)
    assert view["captions"][1]["time"] == "10:32"
