"""Play the script of the day on the demo street: incidents through the live scenario, case steps
through the case desk, each highlight as a caption at its simulated time."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from cockpit.cases.desk import CaseActionError, CaseDesk
from cockpit.clock import ManualClock
from cockpit.demo.captions import DEMO_VIEW, SCRIPTED, Caption, CaptionBoard, PlayerStatus
from cockpit.demo.places import DemoPlaces, Place, Responder
from cockpit.demo.script import LEVELS, DayScript, Step, fill
from cockpit.domain.kinds import CaseSource
from cockpit.i18n import label
from cockpit.simulator.scenario import LiveScenario, ScriptedIncident
from cockpit.store import schema as s
from cockpit.viewmodels import ViewModelPublisher

log = logging.getLogger(__name__)

# While a story waits for its alert, the day moves in steps this short, so the alert is seen
# within a few simulated seconds of being raised, at any speed.
WAIT_STEP = timedelta(seconds=15)
# A story whose alert has not come after this long is given up (logged), so the day goes on.
WAIT_LIMIT = timedelta(minutes=30)
# While a story waits for the worker's sync to open its alert's case, the clock holds (the case
# desk, not the demo, opens cases), for at most this many player ticks (about 30 s at 0.2 s).
MAX_HOLD_TICKS = 150
ACTORS = {
    "acknowledge": "demo:duty-officer",
    "dispatch": "demo:duty-officer",
    "accept": "demo:responder",
    "arrive": "demo:responder",
    "handled": "demo:responder",
    "verify": "demo:verifier",
    "close": "demo:duty-officer",
    "revisit": "demo:revisit",
}
INCIDENT_OBJECTS = {
    "smoke_alarm": ("device", "smoke"),
    "trapped_elevator": ("device", "elevator"),
    "enterprise_110": ("enterprise", "enterprise"),
    "enterprise_12345": ("enterprise", "enterprise"),
    "enterprise_96315": ("enterprise", "enterprise"),
}


class DemoScenario(LiveScenario):
    """Play the live street without its own timetable of incidents: the demo script times them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The scenario's built-in incidents run minutes after its start; the demo's script
        # decides when each happens instead, through trigger(), and every visitor's day plays
        # them again: no timetable in the store.
        super().__init__(*args, script=(), **kwargs)

    def target(self, incident: str) -> tuple[str, int] | None:
        """Return the (object type, id) an incident happens to, chosen with the street's seed."""
        object_type, key = INCIDENT_OBJECTS[incident]
        chosen = self._targets.get(key)
        if isinstance(chosen, dict):
            chosen = chosen.get("id")
        return (object_type, chosen) if chosen is not None else None

    def trigger(self, incident: str, at: datetime) -> None:
        """Make the incident happen now, the way the scenario's own script would."""
        self._play(ScriptedIncident(incident, timedelta(0), incident), at.timestamp())
        self.played.append((at, ScriptedIncident(incident, timedelta(0), incident)))


@dataclass
class _Story:
    """Remember what one story found so far: its object, alert, case and responder."""

    began: datetime | None = None
    target: tuple[str, int] | None = None
    place: Place | None = None
    alert: dict[str, Any] | None = None
    case_id: int | None = None
    responder: Responder | None = None
    waiting_since: datetime | None = None
    waiting_for_case: bool = False
    given_up: bool = False


@dataclass
class ScriptedDay:
    """Run the script's steps on the demo street as its clock moves; publish the `demo` view."""

    script: DayScript
    day: date
    clock: ManualClock
    scenario: DemoScenario
    desk: CaseDesk
    engine: Engine
    publisher: ViewModelPublisher
    board: CaptionBoard = field(init=False)
    extra: Callable[[], dict[str, Any]] = lambda: {}

    def __post_init__(self) -> None:
        self.start, self.end = self.script.bounds(self.day)
        self.places = DemoPlaces(self.engine)
        self.board = CaptionBoard(SCRIPTED, sum(step.captioned for step in self.script.steps))
        self._pending: list[Step] = list(self.script.steps)
        self._stories: dict[str, _Story] = {}
        self._held = 0

    @property
    def done(self) -> bool:
        """Tell whether every step has run (or its story was given up)."""
        return not self._pending

    # -- the timeline ----------------------------------------------------------------------------

    def run_until(self, moment: datetime) -> None:
        """Move the clock to the moment: step the street, run each due step at its own time."""
        while True:
            self._run_due()
            if self._holding():
                return  # the next tick tries again: the worker's sync is about to open the case
            now = self.clock.now()
            target = moment
            due = self._next_due()
            if due is not None and now <= due < target:
                target = due
            if self._waiting():
                target = min(target, now + WAIT_STEP)
            if target > now:
                self.clock.advance((target - now).total_seconds())
            self.scenario.step()
            ran = self._run_due()
            if self.clock.now() >= moment and not ran:
                return

    def publish(self, status: PlayerStatus) -> None:
        """Publish the `demo` view model into the demo's live store."""
        self.publisher.publish(DEMO_VIEW, self.board.view(status, **self.extra()), status.now)

    # -- steps -----------------------------------------------------------------------------------

    def _heads(self) -> list[Step]:
        """Return the first pending step of each story: only these may run."""
        seen: set[str] = set()
        heads = []
        for step in self._pending:
            if step.story not in seen:
                seen.add(step.story)
                heads.append(step)
        return heads

    def _next_due(self) -> datetime | None:
        """Return when the next step not waiting on an alert is due."""
        times = [
            self.script.when(step, self.day)
            for step in self._heads()
            if self._story(step).waiting_since is None
        ]
        return min(times, default=None)

    def _waiting(self) -> bool:
        return any(self._story(step).waiting_since is not None for step in self._heads())

    def _holding(self) -> bool:
        """Tell whether the clock should hold for a case the worker's sync has not opened yet."""
        if not any(self._story(step).waiting_for_case for step in self._heads()):
            self._held = 0
            return False
        self._held += 1
        return self._held <= MAX_HOLD_TICKS

    def _story(self, step: Step) -> _Story:
        return self._stories.setdefault(step.story, _Story())

    def _run_due(self) -> bool:
        """Run every step due by now, in time order; tell whether any ran."""
        ran = False
        while True:
            now = self.clock.now()
            due = [h for h in self._heads() if self.script.when(h, self.day) <= now]
            progressed = False
            for step in sorted(due, key=lambda h: (self.script.when(h, self.day), h.index)):
                if self._run(step, now):
                    self._pending.remove(step)
                    progressed = ran = True
                    break  # the story's next step may be due as well: look again
            if not progressed:
                return ran

    def _run(self, step: Step, now: datetime) -> bool:
        """Run one step; return False when it must wait (its alert is not raised yet)."""
        story = self._story(step)
        if story.began is None:
            story.began = now
        try:
            if step.do == "caption":
                self._caption(step, now, story)
            elif step.do == "incident":
                self._incident(step, now, story)
            elif step.do == "await_alert":
                return self._await_alert(step, now, story)
            elif step.do == "acknowledge":
                return self._register(step, now, story)
            else:
                self._case_action(step, story)
                self._caption(step, now, story)
        except CaseActionError as exc:
            self._give_up(step, story, f"the case desk refused {step.do}: {exc}")
        return True

    def _caption(self, step: Step, at: datetime, story: _Story) -> None:
        if not step.captioned:
            return
        minutes = str(round((at - story.began).total_seconds() / 60)) if story.began else "—"
        values = {"zh": {"minutes": minutes}, "en": {"minutes": minutes}}
        if story.place is not None:
            values["zh"]["place"], values["en"]["place"] = story.place.zh, story.place.en
        if story.responder is not None:
            values["zh"]["team"], values["en"]["team"] = story.responder.zh, story.responder.en
        if story.alert is not None:
            for lang in ("zh", "en"):
                values[lang]["level"] = label(f"level_{story.alert['level']}", lang)
                values[lang]["title"] = story.alert[f"title_{lang}"] or story.alert["title_zh"]
        self.board.add(
            Caption(
                at, step.kind, fill(step.zh, values["zh"]), _sentence(fill(step.en, values["en"]))
            )
        )

    def _incident(self, step: Step, now: datetime, story: _Story) -> None:
        target = self.scenario.target(step.incident)
        if target is None:
            self._give_up(step, story, f"the street has no object for {step.incident}")
            return
        if story.target is None:
            story.target = target
            object_type, object_id = target
            story.place = (
                self.places.device(object_id)
                if object_type == "device"
                else self.places.enterprise(object_id)
            )
        self.scenario.trigger(step.incident, now)
        self._caption(step, now, story)

    def _await_alert(self, step: Step, now: datetime, story: _Story) -> bool:
        if story.given_up or story.target is None:
            return True
        alert = self._find_alert(step, story.target, story.began or now)
        if alert is None:
            story.waiting_since = story.waiting_since or now
            if now - story.waiting_since > WAIT_LIMIT:
                self._give_up(step, story, f"no {step.alert_kind} alert came")
                return True
            return False
        story.waiting_since = None
        story.alert = alert
        # Shown when raised, but never before the step: signals may have raised it earlier.
        self._caption(step, max(alert["raised_at"], self.script.when(step, self.day)), story)
        return True

    def _find_alert(
        self, step: Step, target: tuple[str, int], since: datetime
    ) -> dict[str, Any] | None:
        """Return the newest alert of the kind on the object since then, at the step's level."""
        a = s.Alert
        with self.engine.connect() as conn:
            row = conn.execute(
                select(a.id, a.level, a.title, a.title_en, a.raised_at)
                .where(
                    a.kind == step.alert_kind,
                    a.object_type == target[0],
                    a.object_id == target[1],
                    # A smoke alarm may clear (and its alert resolve) within a minute: it still
                    # happened, and its case goes on.
                    a.raised_at >= since,
                )
                .order_by(a.id.desc())
                .limit(1)
            ).first()
        if row is None or LEVELS.index(row.level) < LEVELS.index(step.min_level):
            return None
        return {
            "id": row.id,
            "level": row.level,
            "title_zh": row.title,
            "title_en": row.title_en,
            "raised_at": row.raised_at,
        }

    def _register(self, step: Step, now: datetime, story: _Story) -> bool:
        """Register the alert's case once the worker's sync has opened it; else wait."""
        # The case is left to the worker's sync to open (the desk's single opener of alert cases);
        # registering it acknowledges the alert too, unless the alarm has already cleared.
        case_id = self._case_of(story.alert["id"])
        if case_id is None:
            story.waiting_since = story.waiting_since or now
            story.waiting_for_case = True
            if now - story.waiting_since > WAIT_LIMIT:
                self._give_up(step, story, "no case was opened for the alert")
            return story.given_up
        story.waiting_since = None
        story.waiting_for_case = False
        story.case_id = case_id
        self.desk.act("register", ACTORS[step.do], case_id=case_id, action_key=_key(step))
        self._caption(step, now, story)
        return True

    def _case_of(self, alert_id: int) -> int | None:
        """Return the case the alert opened or joined, if the sync has got to it."""
        r = s.CaseReport
        with self.engine.connect() as conn:
            return conn.execute(
                select(r.case_id).where(r.source == CaseSource.ALERT.value, r.source_id == alert_id)
            ).scalar()

    def _case_action(self, step: Step, story: _Story) -> None:
        if story.given_up:
            return
        actor = ACTORS[step.do]
        if story.case_id is None:
            raise CaseActionError("no case: the story's alert was never acknowledged")
        target = None
        if step.do == "dispatch":
            story.responder = self._responder(step, story)
            if story.responder is None:
                raise CaseActionError(f"nobody to dispatch to for {step.to}")
            target = story.responder.target
        self.desk.act(
            step.do,
            actor,
            case_id=story.case_id,
            target=target,
            satisfaction=step.satisfaction,
            note=step.zh or None,
            action_key=_key(step),
        )

    def _responder(self, step: Step, story: _Story) -> Responder | None:
        if story.place is None:
            return None
        if step.to == "grid_worker":
            return self.places.grid_worker(story.place)
        return self.places.nearest_team(step.to.removeprefix("team:"), story.place)

    def _give_up(self, step: Step, story: _Story, why: str) -> None:
        """Drop the rest of a story that cannot go on, and say why in the log."""
        log.warning("demo story %r stops at step %d: %s", step.story, step.index + 1, why)
        story.given_up = True
        self._pending = [p for p in self._pending if p.story != step.story or p is step]


def _key(step: Step) -> str:
    """Return the action key of a step: a step acts once however often it is tried."""
    return f"demo-step-{step.index}"


def _sentence(text: str) -> str:
    """Start an English caption with a capital letter (a filled-in place may start it)."""
    return text[:1].upper() + text[1:]
