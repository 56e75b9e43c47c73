"""The overview and the charts as JSON: what `/api/*` answers and the pages are drawn from.

Numbers stay numbers (rates as fractions, times as ISO 8601 with the campaign's offset), and a
`display` object carries the same values formatted in the request's language, so the page's
script only copies text and never formats anything itself. The shape is documented in
`web.api` and checked against a JSON Schema in the tests.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dialer.campaigns import Config, ConfigError
from dialer.campaigns.schema import DEFAULT_TIMEZONE
from dialer.kpis import CampaignRow, ListCounts, TodayFigures, overview
from dialer.trends import CATEGORIES, Trends, trends
from web.campaign_config import current_config, refused_edit
from web.database import db_session
from web.i18n import EMPTY, label, language, number, percent, seconds, when
from web.i18n import gettext as _

__all__ = ["charts_payload", "company_zone", "config_or_problems", "overview_payload"]


def config_or_problems() -> tuple[Config | None, list[str]]:
    """The campaign configuration, or None and the problems that keep it from loading; with a
    configuration, the problems of an edit refused while it stays in force (often none)."""
    try:
        config = current_config()
    except ConfigError as error:
        return None, [str(problem) for problem in error.problems]
    return config, list(refused_edit())


def company_zone(config: Config | None) -> ZoneInfo:
    """The zone dates and times are shown in when no campaign is concerned."""
    return ZoneInfo(config.company.timezone if config else DEFAULT_TIMEZONE)


def overview_payload(now: datetime) -> dict[str, Any]:
    """The overview at `now`, as `/api/overview` answers it."""
    config, problems = config_or_problems()
    found = overview(db_session(), config, now=now)
    return {
        "generated_at": now.astimezone(found.timezone).isoformat(),
        "config_ok": found.config_ok,
        "config_problems": problems,
        "campaigns": [_campaign(row) for row in found.rows],
        "totals": _figures(found.lists, found.today),
        "display": {"generated_at": when(now, found.timezone), "lang": language()},
    }


def _campaign(row: CampaignRow) -> dict[str, Any]:
    state = row.state
    pause = row.pause
    paused = pause is not None and pause.paused
    payload: dict[str, Any] = {
        "id": row.campaign_id,
        "name": row.name,
        "priority": row.priority,
        "timezone": row.timezone.key,
        "state": state.state.value,
        "closed_reason": state.reason.value if state.reason else None,
        "closed_detail": state.detail,
        "next_open_at": _iso(state.next_open_at, row),
        "paused": paused,
        "paused_by": pause.changed_by if pause and paused else None,
        "paused_at": _iso(pause.changed_at, row) if pause and paused else None,
        "expected_queue_wait_seconds": _finite(row.queue_wait),
        "held_back_by_queue": row.held_back,
        **_figures(row.lists, row.today),
    }
    payload["display"].update(
        state=label("state", state.state.value),
        reason=_reason(row),
        next_open_at=when(state.next_open_at, row.timezone),
        paused=(
            _(
                "Paused by %(who)s, %(when)s",
                who=pause.changed_by,
                when=when(pause.changed_at, row.timezone),
            )
            if pause and paused
            else ""
        ),
    )
    return payload


def _reason(row: CampaignRow) -> str:
    state = row.state
    if row.held_back:
        return _held_back(row.queue_wait)
    if state.reason is None:
        return ""
    text = label("closed", state.reason.value)
    return f"{text}: {state.detail}" if state.detail else text


def _held_back(wait: float | None) -> str:
    """Why a campaign that may dial places no call: its next caller would wait too long."""
    if wait is None or not math.isfinite(wait):
        return _("Holding back: no operator serves the hold queue")
    return _("Holding back: the next caller would wait %(wait)s on hold", wait=seconds(wait))


def _finite(value: float | None) -> float | None:
    """JSON has no infinity: an endless wait is null, as is no queue at all."""
    return value if value is not None and math.isfinite(value) else None


def _figures(lists: ListCounts, today: TodayFigures) -> dict[str, Any]:
    values: dict[str, Any] = {
        "list_size": lists.list_size,
        "remaining": lists.remaining,
        "suppressed": lists.suppressed,
        "done": lists.done,
        "in_progress": today.live,
        "in_queue": today.in_queue,
        "calls_today": today.dialled,
        "human_answered_today": today.human,
        "conversions_today": today.conversions,
        "entered_queue_today": today.entered_queue,
        "abandoned_today": today.abandoned,
        "opt_outs_today": today.opt_outs,
        "contact_rate": today.contact_rate,
        "conversion_rate": today.conversion_rate,
        "abandon_rate": today.abandon_rate,
        "average_queue_wait_seconds": today.average_queue_wait,
        "average_handle_seconds": today.average_handle_time,
    }
    formats: dict[str, Callable[[Any], str]] = {
        "contact_rate": percent,
        "conversion_rate": percent,
        "abandon_rate": percent,
        "average_queue_wait_seconds": seconds,
        "average_handle_seconds": seconds,
    }
    values["display"] = {name: formats.get(name, number)(value) for name, value in values.items()}
    return values


def _iso(at: datetime | None, row: CampaignRow) -> str | None:
    return None if at is None else at.astimezone(row.timezone).isoformat()


def charts_payload(now: datetime) -> dict[str, Any]:
    """The three charts' series, labels included, as `/api/charts` answers it."""
    config, _problems = config_or_problems()
    found = trends(db_session(), company_zone(config), now=now)
    return _charts(found, config)


def _charts(found: Trends, config: Config | None) -> dict[str, Any]:
    names = {c.id: c.name for c in config.campaigns} if config else {}
    categories = [{"code": code, "label": label("category", code)} for code in CATEGORIES]
    return {
        "generated_at": found.now.astimezone(found.timezone).isoformat(),
        "timezone": found.timezone.key,
        "days": found.days,
        "categories": categories,
        "today_by_hour": [{"hour": hour, **counts} for hour, counts in enumerate(found.today)],
        "contact_by_hour": [
            {
                "hour": item.hour,
                "dialled": item.dialled,
                "human": item.human,
                "contact_rate": item.contact_rate,
            }
            for item in found.contact
        ],
        "outcomes_by_campaign": [
            {"id": campaign_id, "name": names.get(campaign_id, campaign_id), **counts}
            for campaign_id, counts in found.by_campaign.items()
        ],
        "display": {
            "generated_at": when(found.now, found.timezone),
            "empty": EMPTY,
            "lang": language(),
        },
    }
