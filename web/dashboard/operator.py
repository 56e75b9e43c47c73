"""The operator screen: the calls awaiting a disposition, one call's case, and its disposition.

Operators see the calls they handle (`dialer.operator_case.handles`), supervisors every call.
The case page shows the customer, their whole history and the campaign's script, with the
disposition form; recording goes through `dialer.dispositions.record_disposition`. Phone
numbers are shown in full: whoever may open a case is handling that customer's call.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from dialer.campaigns import Config
from dialer.dispositions import (
    MAX_NOTE_LENGTH,
    Disposition,
    DispositionError,
    Recorded,
    record_disposition,
)
from dialer.models import EntryState
from dialer.operator_case import (
    OperatorCase,
    UnknownAttemptError,
    awaiting_disposition,
    handles,
    operator_case,
)
from dialer.phones import format_national
from web import clock
from web.dashboard.blueprint import bp
from web.database import db_session
from web.i18n import gettext as _
from web.i18n import label, when
from web.presenters import company_zone, config_or_problems
from web.security import Account, current_account


@bp.get("/operator")
def operator_queue() -> ResponseReturnValue:
    account = current_account()
    config, _problems = config_or_problems()
    calls = awaiting_disposition(
        db_session(),
        config,
        now=clock.now(),
        operator=None if account.is_supervisor else account.username,
    )
    return render_template(
        "operator_queue.html",
        calls=calls,
        zone=company_zone(config),
        campaign_names={c.id: c.name for c in config.campaigns} if config else {},
    )


@bp.get("/operator/attempts/<int:attempt_id>")
def operator_attempt(attempt_id: int) -> ResponseReturnValue:
    account = current_account()
    config, problems = config_or_problems()
    case = _case(account, config, attempt_id)
    return render_template(
        "operator.html",
        case=case,
        choices=_choices(),
        callback=Disposition.CALLBACK.value,
        # Only a file that never loaded stops recording; a refused edit leaves the last good.
        config_problems=problems if config is None else [],
        phone=format_national,
        zone=company_zone(config),
        max_note=MAX_NOTE_LENGTH,
        callback_min=clock.now().astimezone(case.timezone).strftime("%Y-%m-%dT%H:%M"),
        disposition_name=_disposition_name,
    )


@bp.post("/operator/attempts/<int:attempt_id>/disposition")
def record_operator_disposition(attempt_id: int) -> ResponseReturnValue:
    account = current_account()
    config, _problems = config_or_problems()
    case = _case(account, config, attempt_id)
    back = url_for("dashboard.operator_attempt", attempt_id=attempt_id)
    if config is None:
        flash(_("campaigns.yaml has errors; nothing can be recorded until it is fixed."), "error")
        return redirect(back)
    chosen = request.form.get("disposition", "")
    callback_at = None
    if chosen == Disposition.CALLBACK.value:
        callback_at = _local_time(request.form.get("callback_at", ""), case.timezone)
        if callback_at is None:
            flash(_("Enter the date and time to call back."), "error")
            return redirect(back)
    session = db_session()
    try:
        with session.begin():
            recorded = record_disposition(
                session,
                config,
                attempt_id,
                chosen,
                by=account.username,
                now=clock.now(),
                note=request.form.get("note"),
                callback_at=callback_at,
            )
    except DispositionError as error:
        if error.code == "not_found":
            abort(404)
        flash(_disposition_message(error), "error")
        return redirect(back)
    flash(_recorded_message(recorded, case.timezone), "info")
    return redirect(back)


def _case(account: Account, config: Config | None, attempt_id: int) -> OperatorCase:
    """The case, if this account handles it: 404 for an unknown call, 403 for another's."""
    try:
        case = operator_case(db_session(), config, attempt_id, now=clock.now())
    except UnknownAttemptError:
        abort(404)
    attempt = case.attempt
    if not account.is_supervisor and not handles(
        config, attempt.operator_id, attempt.campaign_id, account.username
    ):
        abort(403)
    return case


def _local_time(text: str, zone: ZoneInfo) -> datetime | None:
    """A `datetime-local` field's value, read on the campaign's clock."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def _choices() -> list[tuple[str, list[tuple[Disposition, str]]]]:
    """The dispositions as the form groups them, in the request's language."""
    return [
        (
            _("Talked"),
            [
                (Disposition.REACHED, _("Reached")),
                (Disposition.CONVERTED, _("Converted")),
            ],
        ),
        (
            _("Cancellation request"),
            [
                (Disposition.RETAINED_SKIP, _("Retained (skip a delivery)")),
                (Disposition.RETAINED_LONGER_CYCLE, _("Retained (longer cycle)")),
                (Disposition.RETAINED_SMALLER_SIZE, _("Retained (smaller size)")),
                (Disposition.RETAINED_PAUSE, _("Retained (paused)")),
                (Disposition.CANCELLED_AS_REQUESTED, _("Cancelled as requested")),
            ],
        ),
        (
            _("Other"),
            [
                (Disposition.CALLBACK, _("Call back")),
                (Disposition.WRONG_PERSON, _("Wrong person")),
                (Disposition.REFUSED, _("Refused: never call again")),
            ],
        ),
    ]


def _disposition_name(code: str | None) -> str:
    """A stored disposition as the form names it; other codes as `label` shows them."""
    names = {value.value: text for _group, items in _choices() for value, text in items}
    return names.get(code or "", label("disposition", code))


def _recorded_message(recorded: Recorded, zone: ZoneInfo) -> str:
    if recorded.disposition is Disposition.CALLBACK and recorded.next_attempt_at is not None:
        return _("Call back booked for %(when)s.", when=when(recorded.next_attempt_at, zone))
    if recorded.disposition is Disposition.REFUSED:
        return _("Recorded. The customer is on the do-not-call list and will not be called again.")
    if not recorded.entry_moved and recorded.entry_state is not EntryState.DONE:
        return _("Recorded. The call list entry has moved on and was left as it is.")
    return _("Disposition recorded.")


def _disposition_message(error: DispositionError) -> str:
    messages = {
        "unknown_disposition": _("Choose a disposition."),
        "note_too_long": _("The note is too long (2000 characters at most)."),
        "already_recorded": _("A disposition was already recorded for this call."),
        "not_answered": _("Nobody talked in this call; it cannot be dispositioned."),
        "entry_closed": _("This customer's call list entry is closed; no call back can be booked."),
        "callback_time_required": _("Enter the date and time to call back."),
        "callback_in_past": _("The call back time has already passed."),
        "callback_after_campaign": _(
            "The campaign ends before that time; choose an earlier call back time."
        ),
        "unknown_campaign": _("The campaign is not in campaigns.yaml; no call back can be booked."),
    }
    return messages.get(error.code, str(error))
