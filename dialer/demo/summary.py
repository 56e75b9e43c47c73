"""The demo's closing report: the day's KPIs, printed and written as JSON.

The JSON (`summary.json` in the demo directory) holds the same figures as the printed table, so
that a script, or the demo's own test, can hold them against the attempts in the database.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dialer.kpis import Overview, TodayFigures


def figures(today: TodayFigures) -> dict[str, Any]:
    """Counts and the rates derived from them (None where the rate is 0/0)."""
    return {
        **asdict(today),
        "contact_rate": today.contact_rate,
        "conversion_rate": today.conversion_rate,
        "abandon_rate": today.abandon_rate,
        "average_queue_wait": today.average_queue_wait,
        "average_handle_time": today.average_handle_time,
    }


def summary_data(
    view: Overview, *, started: datetime, real_seconds: float, speed: float
) -> dict[str, Any]:
    return {
        "simulated_start": started.isoformat(),
        "simulated_end": view.now.isoformat(),
        "real_seconds": round(real_seconds, 1),
        "speed": speed,
        "totals": figures(view.today),
        "campaigns": {
            row.campaign_id: {**figures(row.today), "remaining": row.lists.remaining}
            for row in view.rows
        },
    }


def write_summary(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def summary_lines(view: Overview, *, started: datetime, real_seconds: float) -> list[str]:
    """The KPIs in Japanese: the totals, then one line per campaign."""
    zone: ZoneInfo = view.timezone
    today = view.today
    start = started.astimezone(zone)
    end = view.now.astimezone(zone)
    lines = [
        f"{start:%Y-%m-%d} {start:%H:%M}〜{end:%H:%M} の発信を"
        f" {real_seconds:.0f} 秒で再現しました。",
        "",
        f"  発信数        {today.dialled:,}",
        f"  接続率        {_percent(today.contact_rate)}  (本人応答 {today.human:,})",
        f"  成約率        {_percent(today.conversion_rate)}  (成約 {today.conversions:,})",
        f"  放棄呼率      {_percent(today.abandon_rate)}  (待ち呼 {today.entered_queue:,} 中 "
        f"放棄 {today.abandoned:,})",
        f"  平均待ち時間  {_seconds(today.average_queue_wait)}",
        f"  平均処理時間  {_seconds(today.average_handle_time)}",
        f"  配信停止      {today.opt_outs:,}",
        "",
    ]
    width = max((len(row.name or row.campaign_id) for row in view.rows), default=0)
    for row in view.rows:
        name = row.name or row.campaign_id
        lines.append(
            f"  {name}{'　' * (width - len(name))}  発信 {row.today.dialled:>5,}  "
            f"接続率 {_percent(row.today.contact_rate):>4}  "
            f"放棄呼率 {_percent(row.today.abandon_rate):>4}  残り {row.lists.remaining:>5,}"
        )
    return lines


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} 秒"
