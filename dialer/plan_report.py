"""How a plan is shown: the `dialer plan` table and its stable JSON shape.

Times are shown in the campaign's time zone, in the form Japanese screens use
(`2026年12月1日(火) 10:00`); JSON carries ISO 8601 with the zone's offset.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from dialer.lists_report import (
    SKIPPED_LABELS,
    build_as_json,
    iso,
    japanese_datetime,
    suppressed_as_json,
    table,
)
from dialer.plan import Plan, PlannedCall

NOT_PERMITTED = "発信可能な時間なし"
CALLING_NOW = "発信中"


def plan_as_json(plan: Plan) -> dict[str, Any]:
    """The stable `dialer plan --json` shape::

        {"campaign": "f2-followup", "name": "2回目購入のご案内", "priority": 80,
         "timezone": "Asia/Tokyo",
         "as_of": "2026-11-20T10:00:00+09:00",
         "skipped": null,                # or "disabled", "ended": no build was simulated
         "total": 120,                   # active entries (pending and in progress)
         "shown": 50,                    # len(calls): at most --limit
         "pending": 118,
         "suppressed": {"dnc": 3, "refused": 1, "no_consent": 0, "no_dialable_phone": 2,
                        "cooldown": 5, "weekly_cap": 0, "higher_priority": 4},
                                         # every reason, in precedence order
         "build": {...},                 # what the build would do: see `build_as_json`
         "calls": [{"position": 1,       # calling order: entry priority, then due time
                    "customer": "C000123",   # the shop's customer id
                    "name": "山田 太郎",
                    "phone": "+81 90-****-5678",  # masked
                    "priority": 120,
                    "attempts": 0,
                    "state": "pending",       # or "in_progress"
                    "last_outcome": null,
                    "next_attempt_at": "2026-11-20T10:00:00+09:00",
                    "next_permitted_at": "2026-12-01T10:00:00+09:00"}]}
                                         # null: in progress, or no open instant left

    Times are ISO 8601 in the campaign's time zone.
    """
    zone = plan.timezone
    return {
        "campaign": plan.campaign.id,
        "name": plan.campaign.name,
        "priority": plan.campaign.priority,
        "timezone": zone.key,
        "as_of": iso(plan.now, zone),
        "skipped": None if plan.build.skipped is None else plan.build.skipped.value,
        "total": plan.total,
        "shown": len(plan.calls),
        "pending": plan.pending,
        "suppressed": suppressed_as_json(plan.suppressed),
        "build": build_as_json(plan.build, zone),
        "calls": [_call_as_json(call, zone) for call in plan.calls],
    }


def _call_as_json(call: PlannedCall, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "position": call.position,
        "customer": call.external_id,
        "name": call.name,
        "phone": call.phone,
        "priority": call.priority,
        "attempts": call.attempts,
        "state": call.state.value,
        "last_outcome": call.last_outcome,
        "next_attempt_at": iso(call.next_attempt_at, zone),
        "next_permitted_at": iso(call.next_permitted_at, zone),
    }


_HEADINGS = ("順位", "顧客ID", "氏名", "電話番号", "優先度", "試行", "状態", "次回発信可能")
_NUMERIC = frozenset({0, 4, 5})


def plan_as_text(plan: Plan) -> str:
    """A heading, the suppression counts, and one line per call with aligned columns."""
    lines = [*_heading(plan), ""]
    if plan.calls:
        rows = [_HEADINGS, *(_cells(call, plan.timezone) for call in plan.calls)]
        lines.extend(table(rows, numeric=_NUMERIC))
    else:
        lines.append("発信予定なし")
    if plan.total > len(plan.calls):
        lines.append(f"… ほか {plan.total - len(plan.calls)} 件")
    return "\n".join(lines)


def _heading(plan: Plan) -> list[str]:
    campaign = plan.campaign
    lines = [
        f"{campaign.id} {campaign.name} (優先度 {campaign.priority})",
        f"基準時刻: {japanese_datetime(plan.now, plan.timezone)} ({plan.timezone.key})",
    ]
    if plan.build.skipped is not None:
        lines.append(f"リストは更新されません: {SKIPPED_LABELS[plan.build.skipped]}")
    total_suppressed = sum(plan.suppressed.values())
    lines.append(f"発信予定 {plan.total} 件 / 停止中 {total_suppressed} 件")
    lines.extend(
        f"  {reason.label_ja} ({reason.value}): {count}"
        for reason, count in plan.suppressed.items()
        if count
    )
    return lines


def _cells(call: PlannedCall, zone: ZoneInfo) -> tuple[str, ...]:
    if call.next_permitted_at is not None:
        when = japanese_datetime(call.next_permitted_at, zone)
    else:
        when = CALLING_NOW if call.state.value == "in_progress" else NOT_PERMITTED
    return (
        str(call.position),
        call.external_id,
        call.name,
        call.phone,
        str(call.priority),
        str(call.attempts),
        call.state.value,
        when,
    )
