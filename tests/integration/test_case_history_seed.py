"""Check that seeded history equals what live actions would have written, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cockpit.alerts import AlertBook
from cockpit.cases.deadlines import load_cases_config
from cockpit.cases.desk import CaseDesk
from cockpit.clock import ManualClock
from cockpit.domain.kinds import ComplaintSource
from cockpit.domain.services import SERVICES_BY_CODE
from cockpit.ingest import Ingest
from cockpit.live import InProcessLiveStore
from cockpit.rules.config import load_rules_config
from cockpit.simulator import history
from cockpit.simulator.generator import seed_street
from cockpit.simulator.scenario import EVERYDAY_COMPLAINTS
from cockpit.store import schema
from cockpit.store.database import make_engine, migrate
from cockpit.streaming import StreamingRules
from tests.streets import tiny_tier

pytestmark = pytest.mark.integration
END = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # a Friday, 18:00 in Shanghai
COMPARED = (
    "state",
    "deadline_at",
    "closed_at",
    "resolution_level",
    "department",
    "assignee",
    "rework_count",
    "satisfaction",
    "handle_due_at",
    "verified_at",
    "paused_remaining_s",
)


class SetClock:
    """Tell whatever time the test sets: past cases overlap, so time goes back and forth."""

    at = END

    def now(self) -> datetime:
        """Return the time last set."""
        return self.at


def plans(engine, days: int = 6):
    """Return the history module's plans of past cases for the tiny street, with repeats."""
    street = history._street(engine)
    rng = random.Random("equal")
    out = []
    # One problem per (category, building), and some reported again: soon (the case is open and
    # links the repeat), or after the case closed or the duplicates window ended (a new case).
    places = {a[1]: a for a in street.addresses}
    problems = [(c, b) for c, _ in history.CATEGORIES for b in sorted(places)]
    for n, (category, building_id) in enumerate(rng.sample(problems, 60)):
        at = END - (END - END.replace(day=END.day - days)) * rng.random()
        address, building, grid, lon, lat = places[building_id]
        worker = rng.choice(street.workers)[0]
        report = history.Report(
            source=history.CaseSource.GRID_WORKER,
            category=category,
            title="暴露垃圾",
            description="网格巡查",
            reported_at=at,
            grid_id=grid,
            address_id=address,
            building_id=building,
            lon=lon,
            lat=lat,
            reporter_worker_id=worker,
            code=f"T{n:04d}",
        )
        out.append((report, history._steps(rng, at, END, street, worker)))
    for n, (first, steps) in enumerate(list(out)):
        closed = next((step.at for step in steps if step.action == "close"), None)
        if n % 5 == 0:
            later = first.reported_at + timedelta(minutes=rng.uniform(1, 20))
        elif n % 5 == 1 and closed is not None:
            later = closed + timedelta(hours=1)
        elif n % 5 == 2:
            later = first.reported_at + timedelta(hours=75)
        else:
            continue
        if later >= END:
            continue
        again = dataclasses.replace(first, reported_at=later, code=f"R{n:04d}")
        out.append((again, history._steps(rng, later, END, street, first.reporter_worker_id)))
    return sorted(out, key=lambda plan: plan[0].reported_at)


def feeds(engine, grid_plans, days: int = 6):
    """Return past requests and complaints for the tiny street, and their steps by (source, id).

    Drawn as the history draws them (at a third of S street's rates, with their own repeats),
    plus requests raised again after their case closed or the duplicates window ended (a new
    case) and requests about a problem a grid worker reported just before (linked across sources).
    """
    street = history._street(engine)
    places = {place.id: place for place in history._places(engine)}
    window = timedelta(hours=load_cases_config().duplicates.window_hours)
    rng = random.Random("feeds")
    requests, complaints = history._feeds(
        rng, random.Random("feed repeats"), list(places.values()), END, days, 0.3, window
    )
    for report, _ in grid_plans:
        place = places.get(report.address_id)
        at = report.reported_at + timedelta(minutes=rng.uniform(5, 60))
        if report.category in SERVICES_BY_CODE and place and at < END:
            requests.append(
                {
                    "service_code": report.category,
                    "description": history.REQUEST_TEXTS[report.category],
                    "channel": "wechat",
                    "requested_at": at,
                    "lon": place.lon,
                    "lat": place.lat,
                    "address_text": place.text,
                    "address_id": place.id,
                }
            )

    def with_steps(rows, at: str, source: str):
        out = [
            (row, history._steps(rng, row[at], END, street, rng.choice(street.workers)[0]))
            for row in rows
        ]
        for n, (row, steps) in enumerate(list(out)):
            closed = next((step.at for step in steps if step.action == "close"), None)
            if n % 4 == 0 and closed is not None:
                later = closed + timedelta(hours=1)
            elif n % 4 == 1:
                later = row[at] + timedelta(hours=75)
            else:
                continue
            if later < END:
                again = dict(row, **{at: later})
                if "external_id" in row:
                    again["external_id"] = f"{row['external_id']}-again"
                out.append((again, history._steps(rng, later, END, street, street.workers[0][0])))
        out.sort(key=lambda pair: pair[0][at])
        return [row for row, _ in out], {(source, n): steps for n, (_, steps) in enumerate(out, 1)}

    requests, request_steps = with_steps(requests, "requested_at", "resident")
    complaints, complaint_steps = with_steps(complaints, "received_at", "complaint")
    return requests, complaints, request_steps | complaint_steps


def feed_rows(engine) -> list[tuple]:
    """Return every stored request and complaint as the live feeds and case closings leave them."""
    r, c = schema.ResidentRequest, schema.Complaint
    with engine.connect() as conn:
        requests = conn.execute(
            select(
                r.id,
                r.service_code,
                r.description,
                r.status,
                r.channel,
                r.requested_at,
                r.updated_at,
                r.lon,
                r.lat,
                r.address_text,
                r.address_id,
            ).order_by(r.id)
        ).all()
        complaints = conn.execute(
            select(
                c.id,
                c.source,
                c.external_id,
                c.received_at,
                c.category,
                c.text,
                c.address_text,
                c.address_id,
                c.enterprise_id,
            ).order_by(c.id)
        ).all()
    return [tuple(row) for row in requests] + [tuple(row) for row in complaints]


def cases(engine) -> list[tuple]:
    """Return every case's compared columns and its history, in code order."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(schema.Case.code, *(schema.Case.__table__.c[c] for c in COMPARED)).order_by(
                schema.Case.code
            )
        ).all()
        steps = conn.execute(
            select(
                schema.Case.code,
                schema.CaseHistory.action,
                schema.CaseHistory.from_state,
                schema.CaseHistory.to_state,
                schema.CaseHistory.at,
            )
            .join(schema.Case, schema.Case.id == schema.CaseHistory.case_id)
            .order_by(schema.Case.code, schema.CaseHistory.id)
        ).all()
        reports = conn.execute(
            select(
                schema.Case.code,
                schema.CaseReport.source,
                schema.CaseReport.source_id,
                schema.CaseReport.reported_at,
                schema.CaseReport.linked,
            )
            .join(schema.Case, schema.Case.id == schema.CaseReport.case_id)
            .order_by(schema.Case.code, schema.CaseReport.reported_at)
        ).all()
    return [tuple(r) for r in rows] + [tuple(r) for r in steps] + [tuple(r) for r in reports]


def test_bulk_history_equals_live_actions(any_engine, tmp_path) -> None:
    seed_street(any_engine, tiny_tier(), 9, (121.5, 31.3))
    live_path = make_engine(f"sqlite:///{tmp_path / 'live.db'}")
    migrate(live_path)
    seed_street(live_path, tiny_tier(), 9, (121.5, 31.3))
    config = load_cases_config()
    past = plans(any_engine)
    assert any(len(steps) >= 6 for _, steps in past)  # some go all the way round
    requests, complaints, feed_steps = feeds(any_engine, past)

    bulk = CaseDesk(any_engine, InProcessLiveStore(), ManualClock(END), config)
    written = bulk.record_past(
        past,
        requests=requests,
        complaints=complaints,
        steps=lambda report: feed_steps[(report.source.value, report.source_id)],
    )

    clock = SetClock()
    live = InProcessLiveStore()
    one_by_one = CaseDesk(live_path, live, clock, config)
    alerts = AlertBook(live_path, live)
    ingest = Ingest(
        live_path, live, clock, StreamingRules(live_path, alerts, load_rules_config()), one_by_one
    )
    # Live, reports and actions come in the order they happen: whether a repeat finds its case
    # open depends on what happened to the case before the repeat, not after. Requests and
    # complaints come in through ingest; the worker's next sync opens or links their cases.
    steps_of = {("grid", n): steps for n, (_, steps) in enumerate(past)} | feed_steps
    events = [(report.reported_at, False, ("grid", n), None) for n, (report, _) in enumerate(past)]
    events += [
        (row["requested_at"], False, ("resident", n), None) for n, row in enumerate(requests, 1)
    ]
    events += [
        (row["received_at"], False, ("complaint", n), None) for n, row in enumerate(complaints, 1)
    ]
    events += [(step.at, True, key, step) for key, steps in steps_of.items() for step in steps]
    events.sort(key=lambda event: event[:3])
    case_of: dict[tuple[str, int], int] = {}
    for at, _, key, step in events:
        clock.at = at
        source, n = key
        if step is None:
            if source == "grid":
                case_id = one_by_one.report(past[n][0])
            else:
                if source == "resident":
                    row = requests[n - 1]
                    ingest.resident_request(
                        row["service_code"],
                        row["description"],
                        at,
                        row["channel"],
                        row["lon"],
                        row["lat"],
                        row["address_text"],
                        row["address_id"],
                    )
                else:
                    row = complaints[n - 1]
                    ingest.complaint(
                        ComplaintSource(row["source"]),
                        row["external_id"],
                        at,
                        row["category"],
                        row["text"],
                        row["address_text"],
                        row["address_id"],
                        row["enterprise_id"],
                    )
                synced = one_by_one.sync(at)
                assert synced.opened + synced.linked == 1
                with live_path.connect() as conn:
                    case_id = conn.scalar(
                        select(schema.CaseReport.case_id).where(
                            schema.CaseReport.source == source, schema.CaseReport.source_id == n
                        )
                    )
            if case_id not in case_of.values():
                case_of[key] = case_id  # a linked repeat has no steps of its own
        elif key in case_of:
            one_by_one.act(
                step.action,
                step.actor,
                case_id=case_of[key],
                note=step.note,
                target=step.target,
                satisfaction=step.satisfaction,
            )
    assert cases(any_engine) == cases(live_path)
    assert feed_rows(any_engine) == feed_rows(live_path)
    with any_engine.connect() as conn:
        # A case's repeats are one "link" row that counts them (first at `at`, last at last_at).
        summaries = conn.execute(
            select(
                schema.CaseHistory.repeats,
                schema.CaseHistory.from_state,
                schema.CaseHistory.to_state,
            ).where(schema.CaseHistory.action == "link")
        ).all()
        links = conn.execute(
            select(schema.Case.code, schema.CaseReport.source)
            .join(schema.Case, schema.Case.id == schema.CaseReport.case_id)
            .where(schema.CaseReport.linked.is_(True))
        ).all()
        linked = conn.scalar(select(func.count()).where(schema.CaseReport.linked.is_(True)))
        repeats_opened = conn.scalar(select(func.count()).where(schema.Case.code.like("R%")))
        closed_requests = conn.execute(
            select(schema.ResidentRequest.updated_at, schema.Case.closed_at)
            .join(
                schema.CaseReport,
                (schema.CaseReport.source == "resident")
                & (schema.CaseReport.source_id == schema.ResidentRequest.id),
            )
            .join(schema.Case, schema.Case.id == schema.CaseReport.case_id)
            .where(schema.ResidentRequest.status == "closed")
        ).all()
        revisited = conn.scalar(
            select(func.count()).where(
                schema.Case.source == "resident", schema.Case.satisfaction.is_not(None)
            )
        )
    # Both sides of the rule were exercised: repeats linked to an open case (grid reports,
    # requests and complaints, a request to a grid worker's case too), and repeats of a closed
    # (or too old) case opened their own.
    fed = len(past) + len(requests) + len(complaints)
    assert links and sum(n for n, _, _ in summaries) == linked == fed - written
    assert len(summaries) < linked  # some case collected several repeats in its one row
    assert all(was == now for _, was, now in summaries)
    assert {source for _, source in links} == {"grid_worker", "resident", "complaint"}
    assert any(code.startswith("T") and source == "resident" for code, source in links)
    assert repeats_opened > 0
    # Closing a case closed its requests when it closed; residents were asked how it went.
    assert closed_requests and all(updated == closed for updated, closed in closed_requests)
    assert revisited > 0
    live_path.dispose()


def test_seed_history_leaves_a_month_of_cases_mostly_closed(sqlite_engine) -> None:
    seed_street(sqlite_engine, tiny_tier(), 9, (121.5, 31.3))
    written = history.seed_history(sqlite_engine, END, days=30, seed=9)
    with sqlite_engine.connect() as conn:
        first, last = conn.execute(
            select(func.min(schema.Case.reported_at), func.max(schema.Case.reported_at))
        ).one()
        closed = conn.scalar(
            select(func.count()).where(schema.Case.state.in_(("closed", "evaluated")))
        )
    assert written > 0 and (END - first).days == 29 and last < END
    assert closed / written > 0.8


def test_seed_history_links_repeats_while_their_case_is_open(sqlite_engine) -> None:
    seed_street(sqlite_engine, tiny_tier(grid_workers=60), 9, (121.5, 31.3))
    history.seed_history(sqlite_engine, END, days=30, seed=9)
    window = timedelta(hours=load_cases_config().duplicates.window_hours)
    c, h = schema.Case, schema.CaseHistory
    with sqlite_engine.connect() as conn:
        links = conn.execute(
            select(h.at, h.last_at, h.repeats, h.from_state, h.to_state, c.reported_at, c.closed_at)
            .join(c, c.id == h.case_id)
            .where(h.action == "link")
        ).all()
        linked = conn.scalar(select(func.count()).where(schema.CaseReport.linked.is_(True)))
    # Each case's repeats are one summary row: how many, the first at `at`, the last at last_at.
    assert links and sum(link.repeats for link in links) == linked
    for at, last_at, _, was, now, reported_at, closed_at in links:
        assert was == now and was not in ("closed", "evaluated", "voided")
        assert reported_at < at <= last_at <= reported_at + window
        assert closed_at is None or last_at < closed_at


def test_seed_history_adds_requests_and_complaints_as_the_live_sync_takes_them(
    sqlite_engine, tmp_path
) -> None:
    seed_street(sqlite_engine, tiny_tier(grid_workers=120), 9, (121.5, 31.3))
    history.seed_history(sqlite_engine, END, days=30, seed=9)
    r, c, report, case = (
        schema.ResidentRequest,
        schema.Complaint,
        schema.CaseReport,
        schema.Case,
    )
    with sqlite_engine.connect() as conn:
        requests = conn.execute(
            select(
                r.service_code, r.channel, r.status, r.requested_at, r.updated_at, case.closed_at
            )
            .join(report, (report.source == "resident") & (report.source_id == r.id))
            .join(case, case.id == report.case_id)
        ).all()
        complaints = conn.execute(
            select(
                c.source, c.category, c.text, c.received_at, c.enterprise_id, schema.Building.use
            )
            .join(report, (report.source == "complaint") & (report.source_id == c.id))
            .join(schema.Address, schema.Address.id == c.address_id)
            .join(schema.Building, schema.Building.id == schema.Address.building_id)
        ).all()
        stored = (
            conn.scalar(select(func.count()).select_from(r)),
            conn.scalar(select(func.count()).select_from(c)),
        )
        scores = conn.execute(
            select(case.satisfaction).where(
                case.source == "resident", case.state.in_(("closed", "evaluated"))
            )
        ).scalars()
        scores = list(scores)
    # Every request and complaint joined exactly one case, spread over the month.
    assert stored == (len(requests), len(complaints)) and min(stored) > 100
    for times in ([row.requested_at for row in requests], [row.received_at for row in complaints]):
        assert (END - min(times)).days == 29 and max(times) < END
    assert {row.service_code for row in requests} == set(SERVICES_BY_CODE)
    assert {row.channel for row in requests} <= set(history.REQUEST_CHANNELS)
    # A request is closed when, and as, its case closed; until then it is open as it came in.
    for row in requests:
        if row.closed_at is None:
            assert (row.status, row.updated_at) == ("open", row.requested_at)
        else:
            assert (row.status, row.updated_at) == ("closed", row.closed_at)
    assert any(row.closed_at for row in requests) and any(not row.closed_at for row in requests)
    # Everyday complaints about homes, in the live scenario's words, naming no enterprise.
    everyday = {(s.value, category, text) for s, (category, text) in EVERYDAY_COMPLAINTS.items()}
    assert {(row.source, row.category, row.text) for row in complaints} == everyday
    assert all(row.enterprise_id is None and row.use == "residential" for row in complaints)
    # Most closed resident cases were revisited, and most residents were satisfied.
    answered = [score for score in scores if score is not None]
    assert len(answered) > 0.8 * len(scores)
    assert set(answered) <= set(range(1, 6)) and sum(s >= 4 for s in answered) > 0.8 * len(answered)

    # The live sync starts after the seeded past: it opens and links nothing of it again.
    desk = CaseDesk(sqlite_engine, InProcessLiveStore(), ManualClock(END), load_cases_config())
    synced = desk.sync(END)
    assert (synced.opened, synced.linked) == (0, 0)

    # The same seed seeds the same past.
    again = make_engine(f"sqlite:///{tmp_path / 'again.db'}")
    migrate(again)
    seed_street(again, tiny_tier(grid_workers=120), 9, (121.5, 31.3))
    history.seed_history(again, END, days=30, seed=9)
    assert feed_rows(again) == feed_rows(sqlite_engine)
    again.dispose()
