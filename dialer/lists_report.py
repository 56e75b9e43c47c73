"""How call lists are shown: `dialer lists build` counts, and the pieces `plan` and `why` share.

Times are shown in the campaign's time zone, in the form Japanese screens use
(`2026年12月1日(火) 10:00`); JSON carries ISO 8601 with the zone's offset. Tables are aligned by
display width, so that names in kanji line up in a terminal.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from dialer.calendar_report import WEEKDAYS_JA
from dialer.campaigns import Config
from dialer.lists import BuildResult, Skipped
from dialer.suppression import SuppressionReason

SKIPPED_LABELS: Final[Mapping[Skipped, str]] = {
    Skipped.DISABLED: "キャンペーン無効 (disabled)",
    Skipped.ENDED: "実施期間終了 (ended)",
}


def japanese_datetime(at: datetime, timezone: ZoneInfo) -> str:
    """`2026年12月1日(火) 10:00`: the instant's local reading in `timezone`."""
    local = at.astimezone(timezone)
    weekday = WEEKDAYS_JA[local.weekday()]
    return f"{local.year}年{local.month}月{local.day}日({weekday}) {local:%H:%M}"


def iso(at: datetime | None, timezone: ZoneInfo) -> str | None:
    """ISO 8601 with the offset of `timezone` (seconds kept), or None."""
    return None if at is None else at.astimezone(timezone).isoformat()


def suppressed_as_json(counts: Mapping[SuppressionReason, int]) -> dict[str, int]:
    """Every reason code, in precedence order, with its count (zeros included)."""
    return {reason.value: counts.get(reason, 0) for reason in SuppressionReason}


def build_as_json(build: BuildResult, timezone: ZoneInfo) -> dict[str, Any]:
    """One build's counts, the `dialer lists build --json` shape (a list of these)::

        {"campaign": "f2-followup",
         "skipped": null,              # or "disabled", "ended": nothing was built
         "in_segment": 130,            # members of the segment now
         "new": 12,                    # added to the list (pending or suppressed)
         "kept": 118,                  # members already on the list
         "kept_outside_segment": 2,    # left the segment, kept because they have attempts
         "revived": 1,                 # retired, back in the segment
         "retired": 3,                 # left the segment before being dialled
         "unsuppressed": 4,            # suppressed, back to pending
         "suppressed": {"dnc": 3, ...},    # the list after the build: every reason, in order
         "pending": 118,               # the list after the build
         "due_at": "2026-11-20T10:00:00+09:00"}    # when new entries are due; null if skipped

    Every count is of entries; times are ISO 8601 in the campaign's time zone.
    """
    return {
        "campaign": build.campaign_id,
        "skipped": None if build.skipped is None else build.skipped.value,
        "in_segment": build.in_segment,
        "new": build.new,
        "kept": build.kept,
        "kept_outside_segment": build.kept_outside,
        "revived": build.revived,
        "retired": build.retired,
        "unsuppressed": build.unsuppressed,
        "suppressed": suppressed_as_json(build.suppressed),
        "pending": build.pending,
        "due_at": iso(build.due_at, timezone),
    }


def build_results_as_json(results: Sequence[BuildResult], config: Config) -> list[dict[str, Any]]:
    """`dialer lists build --json`: one `build_as_json` object per campaign, in build order,
    times in each campaign's own zone."""
    return [
        build_as_json(result, config.timezone_of(config.campaign(result.campaign_id)))
        for result in results
    ]


def build_results_as_text(results: Sequence[BuildResult]) -> str:
    """One block per campaign: what changed, then the suppressed per reason."""
    return "\n\n".join(_build_as_text(result) for result in results)


def _build_as_text(result: BuildResult) -> str:
    if result.skipped is not None:
        return f"{result.campaign_id}: 更新なし: {SKIPPED_LABELS[result.skipped]}"
    lines = [
        f"{result.campaign_id}: セグメント {result.in_segment} 件 / 発信待ち {result.pending} 件 / "
        f"停止中 {result.suppressed_total} 件",
        f"  新規 {result.new}, 継続 {result.kept}, セグメント外で継続 {result.kept_outside}, "
        f"復活 {result.revived}, 対象外 {result.retired}, 停止解除 {result.unsuppressed}",
    ]
    lines.extend(
        f"  {reason.label_ja} ({reason.value}): {count}"
        for reason, count in result.suppressed.items()
        if count
    )
    return "\n".join(lines)


def table(rows: Sequence[Sequence[str]], numeric: frozenset[int] = frozenset()) -> list[str]:
    """Rows as aligned columns, measured in display width (a kanji takes two columns); the
    `numeric` columns are right-aligned below the heading row."""
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            _pad(cell, width, right=index in numeric and row_number > 0)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row_number, row in enumerate(rows)
    ]


def display_width(text: str) -> int:
    """Columns `text` takes in a terminal: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int, *, right: bool) -> str:
    padding = " " * (width - display_width(text))
    return padding + text if right else text + padding
