"""The do-not-call list: search, add (anyone logged in), lift (supervisors, with a reason)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from dialer.dnc import DNC_PAGE_SIZE, DncError, DncStatus, add_to_dnc, remove_from_dnc, search_dnc
from dialer.models import DncSource, UserRole
from dialer.phones import format_national, mask
from web import clock
from web.dashboard.blueprint import bp
from web.database import db_session
from web.i18n import gettext as _
from web.presenters import company_zone, config_or_problems
from web.security import current_account, role_required


@bp.get("/dnc")
def dnc() -> ResponseReturnValue:
    account = current_account()
    now = clock.now()
    query = request.args.get("q", "").strip()
    try:
        status = DncStatus(request.args.get("status", DncStatus.ACTIVE.value))
    except ValueError:
        status = DncStatus.ACTIVE
    offset = max(request.args.get("offset", 0, type=int) or 0, 0)
    page = search_dnc(db_session(), query=query, status=status, now=now, offset=offset)
    config, _problems = config_or_problems()
    return render_template(
        "dnc.html",
        page=page,
        query=query,
        status=status,
        statuses=list(DncStatus),
        now=now,
        zone=company_zone(config),
        phone=format_national if account.is_supervisor else mask,
        page_size=DNC_PAGE_SIZE,
    )


@bp.post("/dnc")
def add_dnc() -> ResponseReturnValue:
    account = current_account()
    source = DncSource.SUPERVISOR if account.is_supervisor else DncSource.OPERATOR
    session = db_session()
    try:
        with session.begin():
            add_to_dnc(
                session,
                phone=request.form.get("phone"),
                customer_external_id=request.form.get("customer"),
                reason=request.form.get("reason", ""),
                source=source,
                by=account.username,
                now=clock.now(),
            )
    except DncError as error:
        flash(_dnc_message(error), "error")
    else:
        flash(_("Added to the do-not-call list."), "info")
    return redirect(_back())


@bp.post("/dnc/<int:entry_id>/remove")
@role_required(UserRole.SUPERVISOR)
def remove_dnc(entry_id: int) -> ResponseReturnValue:
    account = current_account()
    session = db_session()
    try:
        with session.begin():
            remove_from_dnc(
                session,
                entry_id,
                by=account.username,
                reason=request.form.get("reason", ""),
                now=clock.now(),
            )
    except DncError as error:
        if error.code == "not_found":
            abort(404)
        flash(_dnc_message(error), "error")
    else:
        flash(_("Removed from the do-not-call list; the entry is kept for the record."), "info")
    return redirect(_back())


def _back() -> str:
    """Back to the page the form was on (a customer page or the list), never elsewhere."""
    target = request.form.get("back", "")
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("dashboard.dnc")


def _dnc_message(error: DncError) -> str:
    messages = {
        "reason_required": _("Enter a reason."),
        "removal_reason_required": _("Enter the reason for removing this entry."),
        "key_required": _("Enter a phone number or a customer ID."),
        "invalid_phone": _("This is not a phone number."),
        "unknown_customer": _("No customer has this ID."),
        "already_removed": _("This entry was already removed."),
        "too_long": _("The reason is too long (200 characters at most)."),
    }
    return messages.get(error.code, str(error))
