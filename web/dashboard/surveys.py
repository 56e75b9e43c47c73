"""Survey answers (満足度調査) of the campaigns that ask one, over a period a supervisor chooses.

Counts and means come from `dialer.survey`; this view chooses the period (whole days in the
company's zone, the last 30 by default), adds each campaign's name and question, and renders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from flask import render_template, request
from flask.typing import ResponseReturnValue

from dialer.campaigns import Config
from dialer.ivr import fill_placeholders
from dialer.models import UserRole
from dialer.survey import SurveyResult, survey_results
from web import clock
from web.dashboard.blueprint import bp
from web.database import db_session
from web.i18n import gettext as _
from web.presenters import company_zone, config_or_problems
from web.security import role_required

#: The period shown when none is chosen: the last 30 days, today included.
DEFAULT_DAYS: Final = 30
#: Dates the form accepts: outside them a midnight is no instant Python can represent.
EARLIEST: Final = date(1900, 1, 1)
LATEST: Final = date(9999, 12, 30)


class PeriodError(ValueError):
    """A period the supervisor typed that names no days; the message is theirs to read."""


@dataclass(frozen=True)
class Period:
    """Whole local days, `first` to `last` inclusive."""

    first: date
    last: date

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[since, until) as instants: from midnight of `first` to midnight after `last`."""
        since = datetime.combine(self.first, time(0), tzinfo=zone)
        until = datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=zone)
        return since, until


@dataclass(frozen=True)
class SurveyCard:
    """One campaign's results as the page shows them."""

    campaign_id: str
    name: str
    question: str | None
    result: SurveyResult


@bp.get("/surveys")
@role_required(UserRole.SUPERVISOR)
def surveys() -> ResponseReturnValue:
    config, _problems = config_or_problems()
    zone = company_zone(config)
    today = clock.now().astimezone(zone).date()
    default = Period(today - timedelta(days=DEFAULT_DAYS - 1), today)
    error: str | None = None
    cards: list[SurveyCard] = []
    try:
        period = parse_period(request.args, default)
    except PeriodError as problem:
        error, period = str(problem), default
    else:
        since, until = period.bounds(zone)
        if config is not None:
            results = survey_results(db_session(), config, since=since, until=until)
            cards = [_card(result, config) for result in results]
    return render_template(
        "surveys.html",
        cards=cards,
        period=period,
        error=error,
        config_ok=config is not None,
    )


def parse_period(args: Mapping[str, str], default: Period) -> Period:
    """The `from` and `to` dates of the form; a missing one keeps the default's."""
    first = _date(args.get("from"), _("The start date is not a date.")) or default.first
    last = _date(args.get("to"), _("The end date is not a date.")) or default.last
    if last < first:
        raise PeriodError(_("The end date is before the start date."))
    return Period(first, last)


def _date(text: str | None, message: str) -> date | None:
    if not text:
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise PeriodError(message) from None
    if not EARLIEST <= value <= LATEST:
        raise PeriodError(message)
    return value


def _card(result: SurveyResult, config: Config) -> SurveyCard:
    """The result with its campaign's name and question; answers of a campaign that left the
    configuration keep their id and no question."""
    campaign = next((c for c in config.campaigns if c.id == result.campaign_id), None)
    if campaign is None or campaign.ivr.survey is None:
        return SurveyCard(result.campaign_id, result.campaign_id, None, result)
    question = fill_placeholders(
        campaign.ivr.survey.question,
        company=config.company.name,
        purpose=campaign.purpose,
        customer_name="{customer_name}",
        campaign=campaign.name,
    )
    return SurveyCard(campaign.id, campaign.name, question, result)
