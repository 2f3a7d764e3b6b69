"""Detect enterprise "smoke" from joined complaints and raise the eight mandatory visits (八必访)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from cockpit.domain.kinds import AlertLevel, ComplaintSource
from cockpit.rules.config import (
    EnterpriseSmokeConfig,
    InsuranceDrop,
    Lawsuits,
    LeaseEnding,
    Relocation,
    RulesConfig,
)
from cockpit.rules.results import (
    AlertCandidate,
    Reason,
    Routing,
    RuleKind,
    condition_key,
    is_number,
    level_rank,
)

OBJECT_ENTERPRISE = "enterprise"

SOURCE_NAMES: dict[ComplaintSource, tuple[str, str]] = {
    ComplaintSource.POLICE_110: ("110 报警", "110 police calls"),
    ComplaintSource.HOTLINE_12345: ("12345 热线投诉", "12345 hotline complaints"),
    ComplaintSource.MARKET_96315: ("96315 市场监管投诉", "96315 market supervision complaints"),
    ComplaintSource.LABOUR: ("劳动监察投诉", "labour inspection complaints"),
}
ROUTING_OF = {
    AlertLevel.BLUE: Routing.ROUTINE,
    AlertLevel.YELLOW: Routing.URGENT,
    AlertLevel.ORANGE: Routing.MAJOR,
    AlertLevel.RED: Routing.MAJOR,
}


class TriggerCode(StrEnum):
    """Name the eight triggers: the four from the studies, then the four configurable ones."""

    TAX_ELSEWHERE = "tax_elsewhere"  # 地在税不在
    MANAGEMENT_CHANGE = "management_change"  # 高管变动
    TAX_DROP = "tax_drop"  # 楼宇税收下降
    ABNORMAL_OPERATION = "abnormal_operation"  # 经营异常
    LEASE_ENDING = "lease_ending"  # 租约到期
    INSURANCE_DROP = "insurance_drop"  # 社保人数骤降
    RELOCATION = "relocation"  # 迁出意向
    LAWSUITS = "lawsuits"  # 涉诉


TRIGGER_TITLES: dict[TriggerCode, tuple[str, str]] = {
    TriggerCode.TAX_ELSEWHERE: ("地在税不在", "Registered here, pays tax elsewhere"),
    TriggerCode.MANAGEMENT_CHANGE: ("高管变动", "Senior management changed"),
    TriggerCode.TAX_DROP: ("楼宇税收下降", "Tax paid in the building dropped"),
    TriggerCode.ABNORMAL_OPERATION: ("经营异常", "Abnormal operation"),
    TriggerCode.LEASE_ENDING: ("租约即将到期", "Lease ending soon"),
    TriggerCode.INSURANCE_DROP: ("社保人数骤降", "Staff social insurance dropped"),
    TriggerCode.RELOCATION: ("有迁出迹象", "Signs of relocating"),
    TriggerCode.LAWSUITS: ("涉诉", "Legal disputes"),
}


# -- facts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintFact:
    """Hold one complaint as the smoke rule needs it; the caller de-duplicates complaints."""

    source: ComplaintSource
    received_at: datetime
    enterprise_id: int | None = None
    address_id: int | None = None


@dataclass(frozen=True)
class EnterpriseFacts:
    """Hold what the registry and partner departments know about one enterprise today."""

    id: int
    address_id: int | None = None
    prepaid: bool = False
    tax_registered_here: bool = True
    tax_region: str | None = None
    managers: frozenset[tuple[str, str]] = frozenset()  # (role, name); names never leave the rule
    annual_tax_wan: float | None = None
    status: str = "operating"
    lease_ends_on: date | None = None
    insured_staff: int | None = None
    relocation_signals: tuple[str, ...] = ()  # e.g. "迁出咨询", "注销咨询", "退租申请"
    lawsuits: tuple[date, ...] = ()  # filing dates of cases naming the enterprise


@dataclass(frozen=True)
class EnterpriseSnapshot:
    """Hold the same facts as they were at an earlier date, to compare against."""

    on: date
    managers: frozenset[tuple[str, str]] | None = None
    annual_tax_wan: float | None = None
    insured_staff: int | None = None


@dataclass(frozen=True)
class EnterpriseHistory:
    """Hold the comparison snapshot and when each trigger was last visited."""

    previous: EnterpriseSnapshot | None = None
    last_visits: Mapping[str, date] = field(default_factory=dict)


def managers_of(raw: Iterable[Mapping[str, Any]] | None) -> frozenset[tuple[str, str]]:
    """Turn Enterprise.managers JSON ([{"role": ..., "name": ...}]) into comparable pairs."""
    return frozenset(
        (str(item.get("role", "")), str(item.get("name", "")))
        for item in raw or ()
        if isinstance(item, Mapping)
    )


@dataclass(frozen=True)
class Trigger:
    """Say a visit is due to one enterprise, why, and by when."""

    code: TriggerCode
    enterprise_id: int
    title_zh: str
    title_en: str
    due_on: date
    reasons: tuple[Reason, ...]

    def __post_init__(self) -> None:
        """Make a trigger without reasons impossible."""
        if not self.reasons:
            raise ValueError(f"visit trigger {self.code}: a trigger needs at least one reason")

    def to_alert(self) -> AlertCandidate:
        """Return the trigger as a blue, routine alert with one condition key per trigger code."""
        return AlertCandidate(
            kind=RuleKind.ENTERPRISE_VISIT.value,
            level=AlertLevel.BLUE,
            object_type=OBJECT_ENTERPRISE,
            object_id=self.enterprise_id,
            condition_key=condition_key(
                RuleKind.ENTERPRISE_VISIT, OBJECT_ENTERPRISE, self.enterprise_id, self.code
            ),
            title_zh=f"必访：{self.title_zh}",
            title_en=f"Visit due: {self.title_en}",
            reasons=self.reasons,
            routing=Routing.ROUTINE.value,
        )


# -- smoke (企业冒烟) ---------------------------------------------------------------------------


def smoke_condition_key(enterprise_id: int) -> str:
    """Return the condition key of one enterprise's smoke alert."""
    return condition_key(RuleKind.ENTERPRISE_SMOKE, OBJECT_ENTERPRISE, enterprise_id)


def matching_complaints(
    enterprise: EnterpriseFacts,
    complaints: Iterable[ComplaintFact],
    now: datetime,
    cfg: EnterpriseSmokeConfig,
) -> list[ComplaintFact]:
    """Return the complaints in the window that name the enterprise or, unnamed, its address."""
    start = now - timedelta(days=cfg.window_days)
    return [
        c
        for c in complaints
        if start <= c.received_at <= now
        and (
            c.enterprise_id == enterprise.id
            # A complaint naming another firm at the same address is that firm's, not this one's.
            or (
                cfg.match_by_address
                and c.enterprise_id is None
                and c.address_id is not None
                and c.address_id == enterprise.address_id
            )
        )
    ]


def enterprise_smoke(
    enterprise: EnterpriseFacts,
    complaints: Iterable[ComplaintFact],
    now: datetime,
    cfg: RulesConfig,
) -> AlertCandidate | None:
    """Grade the complaints joined on an enterprise by weighted signals and distinct sources."""
    smoke = cfg.enterprise.smoke
    matched = matching_complaints(enterprise, complaints, now, smoke)
    if not matched:
        return None
    by_source = Counter(c.source for c in matched)
    by_address = sum(1 for c in matched if c.enterprise_id is None)
    factor = smoke.prepaid_weight if enterprise.prepaid else 1.0
    weighted = round(
        sum(smoke.source_weights[source] * n for source, n in by_source.items()) * factor, 3
    )
    sources = len(by_source)
    level = max(_signal_grade(weighted, smoke), _source_grade(sources, smoke), key=level_rank)

    reasons = [
        Reason(
            f"source_{source.value}",
            f"近 {smoke.window_days} 天{SOURCE_NAMES[source][0]} {n} 次",
            f"{n} {SOURCE_NAMES[source][1]} in the last {smoke.window_days} days",
            n,
        )
        for source, n in sorted(by_source.items(), key=lambda pair: (-pair[1], pair[0].value))
    ]
    reasons.append(
        Reason(
            "distinct_sources",
            f"{sources} 个不同来源",
            f"{sources} distinct source(s)",
            sources,
            smoke.yellow_sources,
        )
    )
    reasons.append(
        Reason(
            "weighted_signals",
            f"加权信号 {weighted:g}（黄 ≥{smoke.yellow_signals:g}，橙 ≥{smoke.orange_signals:g}，"
            f"红 ≥{smoke.red_signals:g}）",
            f"Weighted signals {weighted:g} (yellow ≥ {smoke.yellow_signals:g}, orange ≥ "
            f"{smoke.orange_signals:g}, red ≥ {smoke.red_signals:g})",
            weighted,
            smoke.yellow_signals,
        )
    )
    if by_address:
        reasons.append(
            Reason(
                "same_address",
                f"其中 {by_address} 条按同一标准地址关联",
                f"{by_address} joined by the same standard address",
                by_address,
            )
        )
    if enterprise.prepaid:
        reasons.append(
            Reason(
                "prepaid",
                f"预付式消费企业，信号权重 ×{smoke.prepaid_weight:g}",
                f"Prepaid business: signals weigh ×{smoke.prepaid_weight:g}",
                smoke.prepaid_weight,
            )
        )
    return AlertCandidate.build(
        RuleKind.ENTERPRISE_SMOKE,
        level,
        OBJECT_ENTERPRISE,
        enterprise.id,
        "企业冒烟预警",
        "Enterprise distress signals",
        tuple(reasons),
        ROUTING_OF[level],
    )


def _signal_grade(weighted: float, cfg: EnterpriseSmokeConfig) -> AlertLevel:
    """Grade the weighted signal count."""
    if weighted >= cfg.red_signals:
        return AlertLevel.RED
    if weighted >= cfg.orange_signals:
        return AlertLevel.ORANGE
    if weighted >= cfg.yellow_signals:
        return AlertLevel.YELLOW
    return AlertLevel.BLUE


def _source_grade(sources: int, cfg: EnterpriseSmokeConfig) -> AlertLevel:
    """Grade the number of distinct sources."""
    if sources >= cfg.red_sources:
        return AlertLevel.RED
    if sources >= cfg.orange_sources:
        return AlertLevel.ORANGE
    if sources >= cfg.yellow_sources:
        return AlertLevel.YELLOW
    return AlertLevel.BLUE


# -- the eight triggers (八必访) -----------------------------------------------------------------


def visit_triggers(
    enterprise: EnterpriseFacts, history: EnterpriseHistory, cfg: RulesConfig, today: date
) -> list[Trigger]:
    """Return the visits due to an enterprise today, skipping triggers visited recently."""
    visits = cfg.enterprise.visits
    found: list[tuple[TriggerCode, list[Reason]]] = []
    previous = history.previous

    if not enterprise.tax_registered_here:
        region = enterprise.tax_region or "外地"
        found.append(
            (
                TriggerCode.TAX_ELSEWHERE,
                [
                    Reason(
                        "tax_region",
                        f"在本街道经营，税收登记在{region}",
                        f"Operates here, tax registered in {region}",
                        region,
                    )
                ],
            )
        )

    if previous is not None and previous.managers is not None and enterprise.managers:
        changed = sorted({role for role, _ in enterprise.managers ^ previous.managers})
        if changed:
            roles = "、".join(changed)
            found.append(
                (
                    TriggerCode.MANAGEMENT_CHANGE,
                    [
                        Reason(
                            "managers_changed",
                            f"自 {previous.on.isoformat()} 以来变动的职务：{roles}",
                            f"Roles changed since {previous.on.isoformat()}: {', '.join(changed)}",
                            len(changed),
                        )
                    ],
                )
            )

    if previous is not None:
        drop = _drop_pct(previous.annual_tax_wan, enterprise.annual_tax_wan)
        if (
            drop is not None
            and previous.annual_tax_wan >= visits.tax_drop_min_base_wan
            and drop >= visits.tax_drop_pct
        ):
            found.append(
                (
                    TriggerCode.TAX_DROP,
                    [
                        Reason(
                            "tax_drop",
                            f"年纳税 {previous.annual_tax_wan:g} → {enterprise.annual_tax_wan:g} 万元，"
                            f"下降 {drop:.0f}%（≥{visits.tax_drop_pct:g}%）",
                            f"Annual tax {previous.annual_tax_wan:g} → "
                            f"{enterprise.annual_tax_wan:g} "
                            f"(10k CNY), down {drop:.0f}% (≥ {visits.tax_drop_pct:g}%)",
                            round(drop, 1),
                            visits.tax_drop_pct,
                        )
                    ],
                )
            )

    if enterprise.status in visits.abnormal_statuses:
        found.append(
            (
                TriggerCode.ABNORMAL_OPERATION,
                [
                    Reason(
                        "status",
                        f"经营状态：{enterprise.status}",
                        f"Operating status: {enterprise.status}",
                        enterprise.status,
                    )
                ],
            )
        )

    for trigger in visits.optional:
        reasons = _optional(trigger, enterprise, previous, today)
        if reasons:
            found.append((TriggerCode(trigger.code), reasons))

    due_on = today + timedelta(days=visits.due_within_days)
    triggers = []
    for code, reasons in found:
        visited = history.last_visits.get(code.value)
        if visited is not None and (today - visited).days < visits.revisit_days:
            continue
        if visited is not None:
            reasons.append(
                Reason(
                    "last_visit",
                    f"上次走访 {visited.isoformat()}",
                    f"Last visited {visited.isoformat()}",
                    visited.isoformat(),
                )
            )
        title_zh, title_en = TRIGGER_TITLES[code]
        triggers.append(Trigger(code, enterprise.id, title_zh, title_en, due_on, tuple(reasons)))
    return triggers


def _optional(
    trigger: LeaseEnding | InsuranceDrop | Relocation | Lawsuits,
    enterprise: EnterpriseFacts,
    previous: EnterpriseSnapshot | None,
    today: date,
) -> list[Reason]:
    """Return the reasons a configurable trigger fires, or none."""
    match trigger:
        case LeaseEnding(within_days=within):
            ends = enterprise.lease_ends_on
            # A lease that ended longer ago than the window and a firm still here: renewed, and
            # the register not yet told; not a visit.
            if ends is None or not -within <= (ends - today).days <= within:
                return []
            days = (ends - today).days
            return [
                Reason(
                    "lease_ends_in_days",
                    f"租约 {ends.isoformat()} 到期（{days} 天后）"
                    if days >= 0
                    else f"租约已于 {ends.isoformat()} 到期",
                    f"Lease ends on {ends.isoformat()} (in {days} days)"
                    if days >= 0
                    else f"Lease ended on {ends.isoformat()}",
                    days,
                    within,
                )
            ]
        case InsuranceDrop(drop_pct=threshold, min_previous=minimum):
            if previous is None or previous.insured_staff is None:
                return []
            drop = _drop_pct(previous.insured_staff, enterprise.insured_staff)
            if drop is None or previous.insured_staff < minimum or drop < threshold:
                return []
            return [
                Reason(
                    "insurance_drop",
                    f"参保人数 {previous.insured_staff} → {enterprise.insured_staff}，"
                    f"下降 {drop:.0f}%（≥{threshold:g}%）",
                    f"Insured staff {previous.insured_staff} → {enterprise.insured_staff}, "
                    f"down {drop:.0f}% (≥ {threshold:g}%)",
                    round(drop, 1),
                    threshold,
                )
            ]
        case Relocation(min_signals=minimum):
            signals = enterprise.relocation_signals
            if len(signals) < minimum:
                return []
            return [
                Reason(
                    "relocation_signals",
                    f"迁出迹象 {len(signals)} 条：{'、'.join(signals)}",
                    f"{len(signals)} relocation sign(s): {', '.join(signals)}",
                    len(signals),
                    minimum,
                )
            ]
        case Lawsuits(min_cases=minimum, lookback_days=lookback):
            since = today - timedelta(days=lookback)
            recent = sum(1 for filed in enterprise.lawsuits if since <= filed <= today)
            if recent < minimum:
                return []
            return [
                Reason(
                    "lawsuits",
                    f"近 {lookback} 天涉诉 {recent} 件",
                    f"{recent} lawsuit(s) in the last {lookback} days",
                    recent,
                    minimum,
                )
            ]
    return []


def _drop_pct(before: float | None, after: float | None) -> float | None:
    """Return the percentage fall from before to after, or None when it cannot be measured."""
    if not is_number(before) or not is_number(after) or before <= 0:
        return None
    return max(0.0, (before - after) / before * 100)
