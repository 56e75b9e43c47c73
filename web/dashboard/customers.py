"""The customer page: everything about one customer, `dialer why`'s explanation, and notes.

Phone numbers are shown in full to supervisors, and to an operator who is on a call with this
customer right now (a live attempt whose `operator_id` is their user name); everyone else sees
them masked.
"""

from __future__ import annotations

from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from dialer.campaigns import Config
from dialer.customer_history import (
    CustomerHistory,
    InvalidNoteError,
    UnknownCustomerError,
    add_note,
    customer_history,
)
from dialer.errors import DialerError
from dialer.phones import format_national, mask
from dialer.why import WhyReport, why
from dialer.why_report import suppression_summaries
from web import clock
from web.dashboard.blueprint import bp
from web.database import db_session
from web.i18n import gettext as _
from web.presenters import company_zone, config_or_problems
from web.security import Account, current_account


@bp.get("/customers/<external_id>")
def customer(external_id: str) -> ResponseReturnValue:
    account = current_account()
    now = clock.now()
    session = db_session()
    try:
        history = customer_history(session, external_id, now=now)
    except UnknownCustomerError:
        abort(404)
    config, problems = config_or_problems()
    report, why_error = _why(config, external_id, now)
    show_numbers = _sees_numbers(account, history)
    return render_template(
        "customer.html",
        history=history,
        report=report,
        why_error=why_error or ("; ".join(problems) if problems else None),
        zone=company_zone(config),
        campaign_names={c.id: c.name for c in config.campaigns} if config else {},
        zones={c.id: config.timezone_of(c) for c in config.campaigns} if config else {},
        phone=format_national if show_numbers else mask,
        show_numbers=show_numbers,
        suppression_summaries=suppression_summaries,
    )


@bp.post("/customers/<external_id>/notes")
def add_customer_note(external_id: str) -> ResponseReturnValue:
    account = current_account()
    attempt_text = request.form.get("attempt_id", "")
    session = db_session()
    try:
        with session.begin():
            add_note(
                session,
                external_id,
                author=account.username,
                body=request.form.get("body", ""),
                now=clock.now(),
                attempt_id=int(attempt_text) if attempt_text.isdigit() else None,
            )
    except UnknownCustomerError:
        abort(404)
    except InvalidNoteError:
        flash(_("Write a note of 1 to 2000 characters."), "error")
    else:
        flash(_("Note added."), "info")
    return redirect(url_for("dashboard.customer", external_id=external_id) + "#notes")


def _why(
    config: Config | None, external_id: str, now: datetime
) -> tuple[WhyReport | None, str | None]:
    """`dialer why`'s report, or why it cannot be given (no valid configuration, an error)."""
    if config is None:
        return None, None
    try:
        return why(db_session(), config, external_id, now=now), None
    except DialerError as error:
        return None, str(error)


def _sees_numbers(account: Account, history: CustomerHistory) -> bool:
    return account.is_supervisor or history.handled_live_by(account.username)
