"""Twilio's webhooks under /twilio: status callbacks and the asynchronous AMD verdict.

Every route of the blueprint is behind the signature check (`before_request`), so the IVR's
routes (voice, gather, hold) slot in here already protected. A status or AMD callback is
stored and applied in one transaction (`receive_event`); when applying fails the event is stored
alone, unapplied, for `apply_pending_events` to replay, and Twilio gets a 500: it may deliver the
callback again, which stores a second copy whose application changes nothing, since an
attempt's state only moves forward. Twilio needs no body in answer to these two callbacks: 204.

The IVR's routes answer with TwiML (`dialer.ivr`): `/voice/<attempt>` plays the greeting and
menu, `/gather/<attempt>` acts on the key pressed (`?step=band` for the callback's time band,
`?step=survey` for the survey's answer; `?step=no_input` joins the queue after silence).
An unknown attempt or a campaign gone from the configuration gets a short apology and a hang-up,
still as TwiML with 200. The hold queue has two: `/hold/<attempt>` is the Enqueue's `waitUrl`
(announcement, position, music; `<Leave>` after `max_queue_wait`) and `/queue/<attempt>` its
`action`, which records how the wait ended and says what comes next.

A webhook URL may name its attempt (`?attempt=<id>` here, a path segment for the IVR), which
ties a callback to its attempt even before the dispatcher has recorded the CallSid.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, request
from flask.typing import ResponseReturnValue

from dialer import ivr
from dialer.amd_followup import machine_followup
from dialer.callbacks import EventKind, receive_event
from dialer.campaigns import ConfigError
from dialer.errors import UnknownCampaignError
from dialer.log import log_event
from dialer.models import Attempt
from dialer.settings import Settings
from dialer.telephony import TelephonyError
from dialer.telephony.twilio import TwilioConfigError
from web import clock, telephony
from web.campaign_config import current_config
from web.database import db_session
from web.twilio_auth import require_twilio_signature

bp = Blueprint("twilio_hooks", __name__, url_prefix="/twilio")
bp.before_request(require_twilio_signature)

logger = logging.getLogger(__name__)


@bp.post("/status")
def status() -> ResponseReturnValue:
    """A call's status changed (initiated, ringing, answered, completed, ...)."""
    return _store_and_apply(EventKind.STATUS)


@bp.post("/amd")
def amd() -> ResponseReturnValue:
    """Answering machine detection's verdict (AnsweredBy), sent apart from the call flow; a
    new machine verdict then acts on the live call (`dialer.amd_followup`)."""
    attempt_id = request.args.get("attempt", type=int)
    before = _verdict(attempt_id)
    answer = _store_and_apply(EventKind.AMD)
    if attempt_id is not None and answer[1] == 204:
        _follow_up(attempt_id, before)
    return answer


def _verdict(attempt_id: int | None) -> str | None:
    if attempt_id is None:
        return None
    session = db_session()
    verdict = session.scalar(sa.select(Attempt.answered_by).where(Attempt.id == attempt_id))
    session.rollback()  # no transaction left open for `receive_event`
    return verdict


def _follow_up(attempt_id: int, before: str | None) -> None:
    """Redirect or hang up the call when the verdict asks for it; a failure is logged, and the
    call plays on as if detection had not answered."""
    session = db_session()
    attempt = session.get(Attempt, attempt_id)
    if attempt is None:
        return
    try:
        campaign = current_config().campaign(attempt.campaign_id)
    except (UnknownCampaignError, ConfigError):
        session.rollback()
        return
    voice_url = f"{_base_url()}/twilio/voice/{attempt_id}"
    followup = machine_followup(attempt, campaign, voice_url, verdict_before=before)
    session.rollback()
    if followup is None:
        return
    try:
        if followup.redirect_to is None:
            telephony.provider().hangup(followup.call_sid)
        else:
            telephony.provider().redirect(followup.call_sid, followup.redirect_to)
    except (TelephonyError, TwilioConfigError) as error:
        log_event(
            logger,
            "machine_followup_failed",
            level=logging.WARNING,
            attempt_id=attempt_id,
            error=str(error),
        )


def _store_and_apply(kind: EventKind) -> tuple[str, int]:
    receipt = receive_event(
        db_session(),
        current_config,
        kind,
        request.form.to_dict(),
        now=clock.now(),
        attempt_id=request.args.get("attempt", type=int),
    )
    return ("", 204) if receipt.applied else ("", 500)


@bp.post("/voice/<int:attempt_id>")
def voice(attempt_id: int) -> ResponseReturnValue:
    """The call was answered: the greeting and menu, or the machine action after AMD."""
    session = db_session()
    call = ivr.call_for(session, current_config(), attempt_id, _base_url())
    if call is None:
        return _twiml(ivr.unavailable_twiml())
    repeat = max(request.args.get("repeat", default=0, type=int) or 0, 0)
    answered_by = request.form.get("AnsweredBy", "").strip() or None
    twiml = ivr.voice_answer(session, call, repeat=repeat, answered_by=answered_by)
    session.commit()
    return _twiml(twiml)


@bp.post("/gather/<int:attempt_id>")
def gather(attempt_id: int) -> ResponseReturnValue:
    """A key was pressed: in the menu, the callback's time band (`?step=band`) or the survey
    (`?step=survey`); or (`?step=no_input`) nothing was, and the caller goes to the queue."""
    session = db_session()
    config = current_config()
    call = ivr.call_for(session, config, attempt_id, _base_url())
    if call is None:
        return _twiml(ivr.unavailable_twiml())
    step = request.args.get("step")
    if step == ivr.NO_INPUT_STEP:
        twiml = ivr.no_input_answer(session, call, now=clock.now())
        session.commit()
        return _twiml(twiml)
    digits = request.form.get("Digits", "")
    unknown = max(request.args.get("unknown", default=0, type=int) or 0, 0)
    answer = _ANSWERS.get(step or "", ivr.menu_answer)
    twiml = answer(session, config, call, digits, unknown_count=unknown, now=clock.now())
    session.commit()
    return _twiml(twiml)


_ANSWERS = {ivr.BAND_STEP: ivr.band_answer, ivr.SURVEY_STEP: ivr.survey_answer}


@bp.post("/hold/<int:attempt_id>")
def hold(attempt_id: int) -> ResponseReturnValue:
    """The caller waits in the hold queue: what to play until Twilio asks again."""
    session = db_session()
    call = ivr.call_for(session, current_config(), attempt_id, _base_url())
    if call is None:
        return _twiml(ivr.unavailable_twiml())
    twiml = ivr.hold_twiml(
        call,
        position=_form_int("QueuePosition"),
        queue_seconds=_form_int("QueueTime"),
        average_seconds=_form_int("AvgQueueTime"),
    )
    session.commit()
    return _twiml(twiml)


@bp.post("/queue/<int:attempt_id>")
def queue(attempt_id: int) -> ResponseReturnValue:
    """The caller left the hold queue (the Enqueue action): record how, and go on."""
    session = db_session()
    config = current_config()
    call = ivr.call_for(session, config, attempt_id, _base_url())
    if call is None:
        return _twiml(ivr.unavailable_twiml())
    result = request.form.get("QueueResult", "").strip() or "error"
    twiml = ivr.queue_answer(session, config, call, result, _form_int("QueueTime"), now=clock.now())
    session.commit()
    return _twiml(twiml)


def _form_int(name: str) -> int | None:
    """A whole number form field; None when missing or not a number."""
    value = request.form.get(name, "").strip()
    try:
        return round(float(value))
    except (ValueError, OverflowError):
        return None


def _base_url() -> str:
    settings: Settings = current_app.config["DIALER_SETTINGS"]
    # The signature check has already refused the request when there is no public base URL.
    return settings.public_base_url or ""


def _twiml(body: str) -> Response:
    return Response(body, status=200, mimetype="text/xml")
