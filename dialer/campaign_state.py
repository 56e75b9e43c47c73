"""Is a campaign dialling right now, and if not, why not and until when?

The overview's first column. Pure: the configuration, the pause switch and `now` decide it,
through the same rules the dispatcher applies (`suppression.is_running` for the switch and the
dates, the calendar for the hour), so the dashboard never says "dialling" when the dispatcher
would not dial. Precedence: disabled, finished (past its last day), paused, then the calendar
(not started yet, blackout, holiday, weekday without a window, outside the hours, the last-dial
margin). A campaign the database knows but the configuration does not is `not_configured`;
with no valid configuration at all every campaign is `config_error`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from dialer.calendar import ClosedKind, closed_reason, next_callable
from dialer.campaigns import Campaign, Config, calling_rules
from dialer.wallclock import require_aware

__all__ = ["CampaignState", "ClosedCode", "State", "campaign_state", "unknown_campaign_state"]


class State(StrEnum):
    """What the campaign is doing now."""

    DIALLING = "dialling"
    PAUSED = "paused"
    CLOSED = "closed"


class ClosedCode(StrEnum):
    """Why a campaign is closed: the calendar's kinds and the campaign-wide ones."""

    DISABLED = "disabled"
    FINISHED = "finished"
    NOT_STARTED = "not_started"
    BLACKOUT = ClosedKind.BLACKOUT.value
    HOLIDAY = ClosedKind.HOLIDAY.value
    NO_WINDOW = ClosedKind.NO_WINDOW.value
    NO_TIME_LEFT = ClosedKind.NO_TIME_LEFT.value
    OUTSIDE_HOURS = ClosedKind.OUTSIDE_HOURS.value
    LAST_DIAL_MARGIN = ClosedKind.LAST_DIAL_MARGIN.value
    CONFIG_ERROR = "config_error"
    NOT_CONFIGURED = "not_configured"


@dataclass(frozen=True)
class CampaignState:
    """`reason` and `detail` (the calendar's Japanese label: a holiday's or blackout's name)
    say why a campaign is closed; `next_open_at` is the next instant the calendar lets it dial
    (None: never again, or unknown). A paused campaign also carries the calendar's reason when
    it would be closed anyway."""

    state: State
    reason: ClosedCode | None = None
    detail: str | None = None
    next_open_at: datetime | None = None


def campaign_state(
    config: Config, campaign: Campaign, *, paused: bool, now: datetime
) -> CampaignState:
    """The campaign's state at `now`; see the module docstring for the precedence."""
    require_aware(now)
    if not campaign.enabled:
        return CampaignState(State.CLOSED, ClosedCode.DISABLED)
    today = now.astimezone(config.timezone_of(campaign)).date()
    if campaign.dates is not None and today > campaign.dates.last:
        return CampaignState(State.CLOSED, ClosedCode.FINISHED)
    rules = calling_rules(config, campaign.id)
    closure = closed_reason(rules, now)
    if closure is None:
        if paused:
            return CampaignState(State.PAUSED)
        return CampaignState(State.DIALLING)
    reason = (
        ClosedCode.NOT_STARTED
        if closure.kind is ClosedKind.OUTSIDE_DATES
        else ClosedCode(closure.kind.value)
    )
    detail = closure.label if reason in (ClosedCode.HOLIDAY, ClosedCode.BLACKOUT) else None
    state = State.PAUSED if paused else State.CLOSED
    return CampaignState(state, reason, detail, next_callable(rules, now))


def unknown_campaign_state(*, config_error: bool) -> CampaignState:
    """A campaign id seen in the database with no configuration to judge it by."""
    code = ClosedCode.CONFIG_ERROR if config_error else ClosedCode.NOT_CONFIGURED
    return CampaignState(State.CLOSED, code)
