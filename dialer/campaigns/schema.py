"""The typed configuration: company, company-wide policy, RFM thresholds, operators, campaigns.

This is the single source of defaults and limits. Other code reads these models, never the
YAML; build them with `dialer.campaigns.load_config`, which also runs the checks across
sections (`rules.config_issues`).
"""

from __future__ import annotations

from datetime import time, timedelta
from functools import cache
from itertools import pairwise
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import holidays
from pydantic import AfterValidator, Field, PlainValidator, StrictFloat, StrictInt

from dialer.campaigns.campaign import Campaign
from dialer.campaigns.clock import CallingHours, MonthDay, TimeRange
from dialer.campaigns.problems import describe, did_you_mean
from dialer.campaigns.validation import Section
from dialer.campaigns.values import Duration, PhoneNumber, Slug, Text, TimeZoneName
from dialer.errors import UnknownCampaignError

DEFAULT_TIMEZONE = "Asia/Tokyo"
NO_HOLIDAYS = "none"


class Company(Section):
    """The business every greeting names (特定商取引法 第16条)."""

    name: Text
    caller_id: PhoneNumber | None = None
    timezone: TimeZoneName = DEFAULT_TIMEZONE


@cache
def _countries() -> frozenset[str]:
    return frozenset(holidays.list_supported_countries())


def _holidays(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a country code such as JP, or none, got {describe(value)}")
    if value.lower() == NO_HOLIDAYS:
        return NO_HOLIDAYS
    if value.upper() not in _countries():
        hint = did_you_mean(value.upper(), _countries())
        raise ValueError(
            f"unknown holiday calendar '{value}'{hint}; use a country code such as JP, or none"
        )
    return value.upper()


class BlackoutPeriod(Section):
    """A closure that comes back every year, both days included; may cross New Year."""

    first: MonthDay = Field(alias="from")
    last: MonthDay = Field(alias="to")
    name: Text


class Policy(Section):
    """Company-wide hard limits: no campaign can go past them."""

    hours: CallingHours = TimeRange(time(9, 0), time(20, 0))
    holidays: Annotated[str, PlainValidator(_holidays)] = "JP"
    blackouts: tuple[BlackoutPeriod, ...] = ()
    last_dial_before_close: Duration = timedelta(minutes=10)
    contact_cooldown: Duration = timedelta(days=7)
    max_attempts_per_customer_week: StrictInt = Field(default=3, ge=1)
    account_cps: StrictFloat = Field(default=1.0, gt=0)
    max_concurrent_calls: StrictInt = Field(default=20, ge=1)

    @property
    def holiday_country(self) -> str | None:
        """The `holidays` country whose public holidays are closed, or None."""
        return None if self.holidays == NO_HOLIDAYS else self.holidays


def _thresholds(values: tuple[int, ...]) -> tuple[int, ...]:
    increasing = all(low < high for low, high in pairwise(values))
    if len(values) != 4 or not increasing or values[0] < 0:
        raise ValueError(
            f"needs 4 increasing numbers, 0 or more, e.g. [30, 90, 180, 365]; got {list(values)}"
        )
    return values


Thresholds = Annotated[tuple[StrictInt, ...], AfterValidator(_thresholds)]


class Rfm(Section):
    """Score boundaries for recency, frequency and monetary value (Japanese mail-order habit).

    R5 = last order within recency_days[0] days … R1 = more than recency_days[3] days ago;
    F1 = fewer orders than frequency_orders[0] … F5 = at least frequency_orders[3];
    M1 = lifetime value up to monetary_yen[0] yen … M5 = more than monetary_yen[3].
    """

    recency_days: Thresholds = (30, 90, 180, 365)
    frequency_orders: Thresholds = (2, 3, 6, 12)
    monetary_yen: Thresholds = (5_000, 10_000, 15_000, 20_000)

    def recency_score(self, days_since_last_order: int) -> int:
        return 5 - sum(days_since_last_order > limit for limit in self.recency_days)

    def frequency_score(self, orders: int) -> int:
        return 1 + sum(orders >= limit for limit in self.frequency_orders)

    def monetary_score(self, lifetime_yen: float) -> int:
        return 1 + sum(lifetime_yen > limit for limit in self.monetary_yen)


class Operator(Section):
    """A person who takes calls from the hold queues of the campaigns in `queues`."""

    id: Slug
    name: Text
    phone: PhoneNumber
    queues: tuple[Slug, ...] = ()


class Config(Section):
    """The whole campaigns.yaml."""

    company: Company
    policy: Policy = Field(default_factory=Policy)
    rfm: Rfm = Field(default_factory=Rfm)
    operators: list[Operator] = Field(default_factory=list)
    campaigns: list[Campaign] = Field(default_factory=list)

    def campaign(self, campaign_id: str) -> Campaign:
        """The campaign with this id; `UnknownCampaignError` names the known ones."""
        for campaign in self.campaigns:
            if campaign.id == campaign_id:
                return campaign
        known = [campaign.id for campaign in self.campaigns]
        listing = ", ".join(known) if known else "none"
        raise UnknownCampaignError(
            f"unknown campaign '{campaign_id}'{did_you_mean(campaign_id, known)}; "
            f"campaigns in the file: {listing}"
        )

    def timezone_of(self, campaign: Campaign) -> ZoneInfo:
        """The campaign's own time zone, else the company's."""
        return ZoneInfo(campaign.timezone or self.company.timezone)

    def caller_id_of(self, campaign: Campaign) -> str:
        """The number the customer sees: the campaign's own, else the company's."""
        caller_id = campaign.caller_id or self.company.caller_id
        if caller_id is None:
            raise ValueError(f"campaign '{campaign.id}' has no caller id")
        return caller_id

    def operators_for(self, campaign_id: str) -> list[Operator]:
        """The operators who serve this campaign's hold queue."""
        return [operator for operator in self.operators if campaign_id in operator.queues]
