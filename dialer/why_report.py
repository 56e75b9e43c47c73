"""How `dialer why` is shown: a readable report per campaign, and its stable JSON shape.

Each suppression is summed up in one sentence with the data behind it ("last contacted
2026-11-20 by f2-followup, cooldown 7d"). Phone numbers are masked, and a number that could not
be read is cut short, so that the report can be pasted into a ticket.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Final
from zoneinfo import ZoneInfo

from dialer.durations import format_duration
from dialer.lists_report import iso, japanese_datetime
from dialer.phones import Refusal, mask
from dialer.suppression_evidence import (
    ConsentState,
    DncMatch,
    Evidence,
    HoldingEntry,
    PhoneOnFile,
    RecentContact,
    RefusalRecord,
    Suppression,
    WeeklyAttempts,
)
from dialer.why import (
    CampaignStatus,
    CampaignWhy,
    EntryView,
    PhoneView,
    SegmentView,
    Verdict,
    WhyReport,
)

VERDICT_LABELS: Final = {
    Verdict.WOULD_CALL: "発信予定",
    Verdict.CALLING: "発信中",
    Verdict.SUPPRESSED: "発信停止中",
    Verdict.NOT_IN_SEGMENT: "セグメント対象外",
    Verdict.DONE: "完了",
    Verdict.CAMPAIGN_DISABLED: "キャンペーン無効",
    Verdict.CAMPAIGN_ENDED: "実施期間終了",
}

STATUS_LABELS: Final = {
    CampaignStatus.RUNNING: "実施中",
    CampaignStatus.NOT_STARTED: "開始前",
    CampaignStatus.ENDED: "終了",
    CampaignStatus.DISABLED: "無効",
}

_KINDS: Final[dict[type, str]] = {
    DncMatch: "dnc_entry",
    RefusalRecord: "refusal",
    ConsentState: "consent",
    PhoneOnFile: "phone",
    RecentContact: "contact",
    WeeklyAttempts: "weekly_attempts",
    HoldingEntry: "holding_entry",
}

#: Characters of an unreadable number shown before it is cut short.
_RAW_SHOWN: Final = 5


def refusal_label(reason: str | None) -> str | None:
    """The Japanese label of a phone refusal code as the importer stores it; other text as is."""
    if reason is None:
        return None
    try:
        return Refusal(reason).label_ja
    except ValueError:
        return reason


def shown_number(raw: str, e164: str | None) -> str:
    """A number for a report: masked when it parsed, else its first characters only."""
    if e164 is not None:
        return mask(e164)
    return raw if len(raw) <= _RAW_SHOWN else f"{raw[:_RAW_SHOWN]}…"


def summary(item: Evidence, zone: ZoneInfo) -> str:
    """One sentence with the data behind a suppression."""
    match item:
        case DncMatch():
            return _dnc_summary(item, zone)
        case RefusalRecord():
            return _refusal_summary(item, zone)
        case ConsentState(opt_in=opt_in):
            consent = "unknown" if opt_in is None else ("yes" if opt_in else "no")
            return f"opt-in is {consent}; this campaign calls only customers who opted in"
        case PhoneOnFile():
            label = refusal_label(item.refusal_reason) or "not a phone number"
            return f"phone {shown_number(item.raw, item.e164)} refused: {label}"
        case RecentContact():
            return (
                f"last contacted {_day(item.at, zone)} by {item.campaign_id}, "
                f"cooldown {format_duration(item.cooldown)} (until {_minute(item.until, zone)})"
            )
        case WeeklyAttempts():
            return (
                f"{item.count} attempts in the last 7 days, cap {item.cap} "
                f"(below the cap from {_minute(item.until, zone)})"
            )
        case HoldingEntry():
            priority = "?" if item.priority is None else str(item.priority)
            return f"{item.state} in {item.campaign_id} (priority {priority})"
    raise TypeError(f"no summary for {type(item).__name__}")


def _dnc_summary(item: DncMatch, zone: ZoneInfo) -> str:
    target = "customer" if item.matched_by == "customer" else "phone"
    if item.matched_by == "phone" and item.phone:
        target = f"phone {mask(item.phone)}"
    text = (
        f"DNC since {_day(item.added_at, zone)} for {target}, reason {item.reason!r}, "
        f"source {item.source.value}"
    )
    if item.expires_at is not None:
        text += f", until {_minute(item.expires_at, zone)}"
    return text


def _refusal_summary(item: RefusalRecord, zone: ZoneInfo) -> str:
    when = f" on {_day(item.at, zone)}" if item.at is not None else ""
    if item.how == "key_press":
        return f"pressed the opt-out key {item.detail}{when} in {item.campaign_id}"
    if item.how == "closed_entry":
        return f"entry closed as {item.detail}{when} in {item.campaign_id}"
    return f"refused{when} in {item.campaign_id} ({item.detail})"


def suppression_summaries(suppression: Suppression, zone: ZoneInfo) -> list[str]:
    """The sentences for one suppression; one even when there is no row to show."""
    if not suppression.evidence:
        return ["no phone on record"]
    return [summary(item, zone) for item in suppression.evidence]


def _day(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).date().isoformat()


def _minute(at: datetime, zone: ZoneInfo) -> str:
    return f"{at.astimezone(zone):%Y-%m-%d %H:%M}"


def why_as_json(report: WhyReport) -> dict[str, Any]:
    """The stable `dialer why --json` shape::

        {"customer": {"id": "C000123", "name": "山田 太郎", "opt_in": true,
                      "phones": [{"phone": "+81 90-****-5678", "phone_class": "mobile",
                                  "refusal_reason": null, "refusal_label": null}]},
         "as_of": "2026-11-20T10:00:00+09:00",
         "campaigns": [                     # build order: higher priority first
           {"campaign": "f2-followup", "name": "2回目購入のご案内", "priority": 80,
            "status": "running",            # or "not_started", "ended", "disabled"
            "verdict": "suppressed",        # would_call, calling, suppressed, not_in_segment,
                                            # done, campaign_disabled, campaign_ended
            "segment": {"member": true, "matches": true, "rank": null, "limit": null,
                        "checks": [{"condition": "orders_count equals 1", "holds": true,
                                    "value": 1}]},
            "entry": null or {"state": "suppressed", "attempts": 0, "last_outcome": null,
                              "last_attempt_at": null, "priority": 12,
                              "next_attempt_at": "…", "suppressed_reason": "cooldown",
                              "closed_reason": null, "closed_at": null},
            "suppressions": [               # every rule that holds now, in precedence order;
                                            # judged only for would_call / suppressed
              {"reason": "cooldown", "label_ja": "接触後の待機期間中",
               "label_en": "contacted recently (cooldown)",
               "until": "2026-11-27T10:00:00+09:00",  # null: lifts only when someone acts
               "summaries": ["last contacted 2026-11-20 by dm-followup, cooldown 7d (…)"],
               "evidence": [{"kind": "contact", "campaign_id": "dm-followup",
                             "at": "…", "cooldown": "7d", "until": "…"}]}],
            "next_call_at": "2026-11-27T10:00:00+09:00",   # null: not by this campaign
            "list_current": true}]}          # false: the next list build changes the entry

    Evidence kinds: dnc_entry, refusal, consent, phone, contact, weekly_attempts,
    holding_entry; their fields are those of `dialer.suppression_evidence`. Times are ISO 8601
    in the campaign's time zone (`as_of` in the company's); numbers are masked.
    """
    return {
        "customer": {
            "id": report.external_id,
            "name": report.name,
            "opt_in": report.opt_in,
            "phones": [_phone_json(phone) for phone in report.phones],
        },
        "as_of": iso(report.now, report.timezone),
        "campaigns": [_campaign_json(item) for item in report.campaigns],
    }


def _phone_json(phone: PhoneView) -> dict[str, Any]:
    return {
        "phone": phone.masked or shown_number(phone.raw, None),
        "phone_class": phone.phone_class,
        "refusal_reason": phone.refusal_reason,
        "refusal_label": refusal_label(phone.refusal_reason),
    }


def _campaign_json(item: CampaignWhy) -> dict[str, Any]:
    zone = item.timezone
    return {
        "campaign": item.campaign.id,
        "name": item.campaign.name,
        "priority": item.campaign.priority,
        "status": item.status.value,
        "verdict": item.verdict.value,
        "segment": _segment_json(item.segment),
        "entry": None if item.entry is None else _entry_json(item.entry, zone),
        "suppressions": [_suppression_json(s, zone) for s in item.suppressions],
        "next_call_at": iso(item.next_call_at, zone),
        "list_current": item.list_current,
    }


def _segment_json(segment: SegmentView) -> dict[str, Any]:
    return {
        "member": segment.member,
        "matches": segment.matches,
        "rank": segment.rank,
        "limit": segment.limit,
        "checks": [
            {"condition": check.condition, "holds": check.holds, "value": _plain(check.value)}
            for check in segment.explanation.checks
        ],
    }


def _entry_json(entry: EntryView, zone: ZoneInfo) -> dict[str, Any]:
    return {field.name: _json_value(getattr(entry, field.name), zone) for field in fields(entry)}


def _suppression_json(suppression: Suppression, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "reason": suppression.reason.value,
        "label_ja": suppression.reason.label_ja,
        "label_en": suppression.reason.label_en,
        "until": iso(suppression.until, zone),
        "summaries": suppression_summaries(suppression, zone),
        "evidence": [_evidence_json(item, zone) for item in suppression.evidence],
    }


def _evidence_json(item: Evidence, zone: ZoneInfo) -> dict[str, Any]:
    shown: dict[str, Any] = {"kind": _KINDS[type(item)]}
    for field in fields(item):
        value = getattr(item, field.name)
        if field.name in ("phone", "e164") and isinstance(value, str):
            shown[field.name] = mask(value)
        elif field.name == "raw" and isinstance(item, PhoneOnFile):
            shown[field.name] = shown_number(item.raw, item.e164)
        else:
            shown[field.name] = _json_value(value, zone)
    return shown


def _json_value(value: object, zone: ZoneInfo) -> Any:
    if isinstance(value, datetime):
        return iso(value, zone)
    if isinstance(value, timedelta):
        return format_duration(value)
    return _plain(value)


def _plain(value: object) -> Any:
    """A value JSON can carry: enums by value, dates in ISO form, decimals as numbers."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def why_as_text(report: WhyReport) -> str:
    """The customer, then one block per campaign: verdict, segment, list, suppression, next call."""
    phones = ", ".join(_phone_text(phone) for phone in report.phones) or "なし"
    consent = {None: "不明", True: "あり", False: "なし"}[report.opt_in]
    lines = [
        f"顧客 {report.external_id} {report.name} (同意: {consent})",
        f"電話: {phones}",
        f"基準時刻: {japanese_datetime(report.now, report.timezone)}",
    ]
    for item in report.campaigns:
        lines += ["", *_campaign_text(item)]
    return "\n".join(lines)


def _phone_text(phone: PhoneView) -> str:
    number = phone.masked or shown_number(phone.raw, None)
    if phone.refusal_reason is None:
        return f"{number} (発信可)"
    return f"{number} (発信不可: {refusal_label(phone.refusal_reason)})"


def _campaign_text(item: CampaignWhy) -> list[str]:
    campaign, zone = item.campaign, item.timezone
    lines = [
        f"■ {campaign.id} {campaign.name} (優先度 {campaign.priority}, "
        f"{STATUS_LABELS[item.status]})",
        f"  判定: {VERDICT_LABELS[item.verdict]} ({item.verdict.value})",
        *_segment_text(item.segment),
        f"  リスト: {_entry_text(item.entry, zone)}",
    ]
    for suppression in item.suppressions:
        label = f"{suppression.reason.label_ja} ({suppression.reason.value})"
        for sentence in suppression_summaries(suppression, zone):
            lines.append(f"  停止理由: {label}: {sentence}")
    if item.next_call_at is not None:
        lines.append(f"  次回発信: {japanese_datetime(item.next_call_at, zone)}")
    else:
        lines.append("  次回発信: なし")
    if not item.list_current:
        lines.append("  ※ 次回のリスト更新で反映されます")
    return lines


def _segment_text(segment: SegmentView) -> list[str]:
    if segment.member:
        heading = "対象"
    elif segment.matches:
        heading = f"条件は満たすが上限 {segment.limit} 件の外"
    else:
        heading = "対象外"
    if segment.rank is not None:
        heading += f" ({segment.rank} 位 / 上限 {segment.limit} 件)"
    lines = [f"  セグメント: {heading}"]
    for check in segment.explanation.checks:
        mark = "○" if check.holds else "×"
        lines.append(f"    {mark} {check.condition} (値: {_plain(check.value)})")
    return lines


def _entry_text(entry: EntryView | None, zone: ZoneInfo) -> str:
    if entry is None:
        return "未登録"
    parts = [entry.state.value, f"試行 {entry.attempts} 回"]
    if entry.last_outcome is not None:
        parts.append(f"前回結果 {entry.last_outcome}")
    if entry.last_attempt_at is not None:
        parts.append(f"前回発信 {japanese_datetime(entry.last_attempt_at, zone)}")
    if entry.suppressed_reason is not None:
        parts.append(f"停止理由 {entry.suppressed_reason}")
    if entry.closed_reason is not None:
        parts.append(f"終了理由 {entry.closed_reason}")
    return ", ".join(parts)
