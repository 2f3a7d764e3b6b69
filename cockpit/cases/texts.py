"""Read what was reported on a case, in the words typed: the case's own and its linked reports'.

    texts = CaseTexts(engine)
    texts.reports(12)   # [ReportText(source="resident", at=..., text="楼道灯坏了…", linked=False), …]

The text comes back as stored, unmasked: whoever draws it masks it (cockpit.privacy.mask_text)
unless the reader revealed this one record with a reason (callbacks/reveal.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, and_, or_, select

from cockpit.domain.kinds import CaseSource
from cockpit.store import schema as s

REPORTS_LIMIT = 20  # a case 300 residents reported draws its newest reports, not all of them


@dataclass(frozen=True, slots=True)
class ReportText:
    """Hold one text reported on a case: where it came from, when, and the words."""

    source: str  # a CaseSource value: resident, complaint, alert, grid_worker…
    at: datetime | None
    text: str
    linked: bool  # a repeat report that joined the case, not the one that opened it


class CaseTexts:
    """Read the texts reported on one case (the case desk writes them; this only reads)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def reports(self, case_id: int, limit: int = REPORTS_LIMIT) -> list[ReportText]:
        """Return the case's description, then its linked reports' texts, newest first.

        At most `limit` texts; none when the case does not exist. Linked reports that carry no
        text of their own (an alert's, a grid worker's repeat) are left out.
        """
        c, r = s.Case, s.CaseReport
        request, complaint = s.ResidentRequest, s.Complaint
        with self.engine.connect() as conn:
            case = conn.execute(
                select(c.source, c.description, c.reported_at).where(c.id == case_id)
            ).first()
            if case is None or limit < 1:
                return []
            texts = []
            if case.description:
                texts.append(ReportText(case.source, case.reported_at, case.description, False))
            rows = conn.execute(
                select(
                    r.source,
                    r.reported_at,
                    request.description,
                    complaint.source.label("line"),
                    complaint.text,
                )
                .select_from(r)
                .outerjoin(
                    request,
                    and_(r.source == CaseSource.RESIDENT.value, request.id == r.source_id),
                )
                .outerjoin(
                    complaint,
                    and_(r.source == CaseSource.COMPLAINT.value, complaint.id == r.source_id),
                )
                .where(
                    r.case_id == case_id,
                    r.linked.is_(True),
                    or_(request.id.is_not(None), complaint.id.is_not(None)),
                )
                .order_by(r.reported_at.desc(), r.id.desc())
                .limit(limit - len(texts))
            ).all()
        for row in rows:
            # A complaint reads as the case desk wrote the first one: its hotline, then the words.
            words = row.description if row.description is not None else f"[{row.line}] {row.text}"
            texts.append(ReportText(row.source, row.reported_at, words, True))
        return texts
