"""The bridge from the configuration to the calendar: one campaign's `CallingRules`."""

from __future__ import annotations

from dialer.calendar import Blackout, CallingRules
from dialer.campaigns.schema import Config


def calling_rules(config: Config, campaign_id: str) -> CallingRules:
    """Everything the calendar needs to decide when `campaign_id` may dial.

    Raises `UnknownCampaignError` for an id the configuration does not have.
    """
    campaign = config.campaign(campaign_id)
    policy = config.policy
    dates = campaign.dates
    return CallingRules(
        timezone=config.timezone_of(campaign),
        windows={
            day: tuple((window.start, window.end) for window in windows)
            for day, windows in campaign.weekly_windows().items()
        },
        policy_hours=(policy.hours.start, policy.hours.end),
        holidays=policy.holiday_country,
        blackouts=tuple(
            Blackout(start=period.first, end=period.last, name=period.name)
            for period in policy.blackouts
        ),
        last_dial_margin=policy.last_dial_before_close,
        first_day=dates.first if dates else None,
        last_day=dates.last if dates else None,
    )
