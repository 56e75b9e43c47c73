"""The call log: search, pages, CSV export. Operators see only the calls they took.

Phone numbers: supervisors see them in full; operators see them masked here (they open the
customer page of the call they are on to see the number they need).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import date
from zoneinfo import ZoneInfo

from flask import Response, abort, render_template, request, stream_with_context
from flask.typing import ResponseReturnValue

from dialer.calllog import LIVE_OUTCOME, InvalidFilterError, LogFilter, LogRow, export_rows, search
from dialer.outcome_codes import Outcome
from dialer.phones import format_national, mask
from dialer.suppression import REFUSAL_OUTCOMES
from web import clock
from web.dashboard.blueprint import bp
from web.database import db_session
from web.i18n import gettext as _
from web.presenters import company_zone, config_or_problems
from web.security import Account, current_account

OUTCOME_CHOICES = (*(outcome.value for outcome in Outcome), *REFUSAL_OUTCOMES, LIVE_OUTCOME)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@bp.get("/calls")
def calls() -> ResponseReturnValue:
    account = current_account()
    zone, campaigns = _zone_and_campaigns()
    form = request.args
    error: str | None = None
    page = None
    try:
        page = search(db_session(), _filter(account), zone=zone, cursor=form.get("after") or None)
    except InvalidFilterError as problem:
        error = _filter_message(problem)
    live = None
    if not account.is_supervisor:
        mine = LogFilter(operator_id=account.username, outcome=LIVE_OUTCOME)
        live = search(db_session(), mine, zone=zone, limit=10).rows
    return render_template(
        "calls.html",
        page=page,
        live=live,
        error=error,
        form=form,
        campaigns=campaigns,
        campaign_names=dict(campaigns),
        outcomes=OUTCOME_CHOICES,
        zone=zone,
        query={key: value for key, value in form.items() if value and key != "after"},
        phone=_phone_for(account),
    )


@bp.get("/calls.csv")
def calls_csv() -> ResponseReturnValue:
    account = current_account()
    zone, _campaigns = _zone_and_campaigns()
    try:
        log_filter = _filter(account)
    except InvalidFilterError:
        abort(400)
    show = _phone_for(account)
    rows = export_rows(db_session(), log_filter, zone=zone)
    stamp = clock.now().astimezone(zone).strftime("%Y%m%d-%H%M")
    return Response(
        stream_with_context(_csv(rows, zone, show)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="calls-{stamp}.csv"'},
    )


def _filter(account: Account) -> LogFilter:
    """The search form as a filter; an operator's is always limited to their own calls."""
    args = request.args
    return LogFilter(
        campaign_id=args.get("campaign") or None,
        outcome=args.get("outcome") or None,
        date_from=_date(args.get("from"), "from"),
        date_to=_date(args.get("to"), "to"),
        phone_digits="".join(args.get("phone", "").split()).replace("-", "") or None,
        name=args.get("name") or None,
        operator_id=None if account.is_supervisor else account.username,
    )


def _date(text: str | None, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidFilterError(field, f"not a date: {text!r}") from None


def _filter_message(problem: InvalidFilterError) -> str:
    messages = {
        "phone": _("Enter 2 to 15 digits of the end of the number."),
        "from": _("The start date is not a date."),
        "to": _("The end date is not a date."),
        "date_to": _("The end date is before the start date."),
        "cursor": _("This page link is no longer valid."),
    }
    return messages.get(problem.field, str(problem))


def _zone_and_campaigns() -> tuple[ZoneInfo, list[tuple[str, str]]]:
    config, _problems = config_or_problems()
    campaigns = [(c.id, c.name) for c in config.campaigns] if config else []
    return company_zone(config), campaigns


def _phone_for(account: Account) -> Callable[[str], str]:
    """How this account sees numbers in the log: in full for supervisors, masked otherwise."""
    return format_national if account.is_supervisor else mask


def _csv(rows: Iterator[LogRow], zone: ZoneInfo, show: Callable[[str], str]) -> Iterator[str]:
    """UTF-8 with a byte order mark, so that Excel opens the Japanese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    headers = [
        _("Started"),
        _("Campaign"),
        _("Customer ID"),
        _("Name"),
        _("Phone"),
        _("Status"),
        _("Outcome"),
        _("Answered by"),
        _("Duration (s)"),
        _("Queue result"),
        _("Queue wait (s)"),
        _("Disposition"),
        _("Operator"),
        _("Attempt ID"),
    ]
    writer.writerow(headers)
    yield "\ufeff" + _drain(buffer)
    for row in rows:
        writer.writerow(
            [
                row.started_at.astimezone(zone).isoformat(timespec="seconds"),
                row.campaign_id,
                _cell(row.customer_external_id),
                _cell(row.customer_name),
                show(row.phone),
                row.status.value if row.status else "",
                row.outcome or "",
                row.answered_by or "",
                "" if row.duration_seconds is None else row.duration_seconds,
                row.queue_result or "",
                "" if row.queue_time_seconds is None else row.queue_time_seconds,
                _cell(row.disposition or ""),
                _cell(row.operator_id or ""),
                row.attempt_id,
            ]
        )
        yield _drain(buffer)


def _cell(text: str) -> str:
    """Text a spreadsheet would run as a formula, quoted so that it stays text."""
    return f"'{text}" if text[:1] in _FORMULA_STARTS else text


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
