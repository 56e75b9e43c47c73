"""Twilio's webhooks of the calls placed to operators (`dialer.operator_bridge`).

`/twilio/operator/<id>` answers the operator's leg (`<Dial><Queue>` on the campaign's queue),
`/twilio/operator-bridged/<id>` is the Queue's `url`, run on the caller's leg right before the
bridge, `/twilio/operator-done/<id>` the Dial's action, and `/twilio/operator-status/<id>` the
operator call's status callback (stored in the callback log, then applied; 204).
Every route is behind Twilio's signature check, as in `web.twilio_hooks`.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from flask.typing import ResponseReturnValue

from dialer import operator_bridge
from dialer.settings import Settings
from web import clock
from web.campaign_config import current_config
from web.database import db_session
from web.twilio_auth import require_twilio_signature

bp = Blueprint("operator_hooks", __name__, url_prefix="/twilio")
bp.before_request(require_twilio_signature)


@bp.post("/operator/<int:operator_call_id>")
def operator(operator_call_id: int) -> ResponseReturnValue:
    """The operator answered: whose customer it is, then the campaign's queue."""
    settings: Settings = current_app.config["DIALER_SETTINGS"]
    twiml = operator_bridge.operator_twiml(
        db_session(), current_config(), operator_call_id, settings.public_base_url or ""
    )
    return _twiml(twiml)


@bp.post("/operator-bridged/<int:operator_call_id>")
def bridged(operator_call_id: int) -> ResponseReturnValue:
    """A caller is about to be bridged to the operator: record it, name the operator."""
    session = db_session()
    twiml = operator_bridge.bridged_twiml(
        session,
        current_config(),
        operator_call_id,
        caller_sid=request.form.get("CallSid", ""),
        dequeuing_sid=request.form.get("DequeingCallSid") or None,
    )
    session.commit()
    return _twiml(twiml)


@bp.post("/operator-done/<int:operator_call_id>")
def done(operator_call_id: int) -> ResponseReturnValue:
    """The operator's `<Dial><Queue>` ended."""
    twiml = operator_bridge.done_twiml(
        db_session(), current_config(), operator_call_id, request.form.get("DialCallStatus", "")
    )
    return _twiml(twiml)


@bp.post("/operator-status/<int:operator_call_id>")
def status(operator_call_id: int) -> ResponseReturnValue:
    """The operator call's status changed."""
    session = db_session()
    operator_bridge.apply_status(session, operator_call_id, request.form.to_dict(), now=clock.now())
    session.commit()
    return "", 204


def _twiml(body: str) -> Response:
    return Response(body, status=200, mimetype="text/xml")
