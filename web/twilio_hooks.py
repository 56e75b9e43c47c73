"""Twilio's webhooks under /twilio: status callbacks and the asynchronous AMD verdict.

Every route of the blueprint is behind the signature check (`before_request`), so the IVR's
routes (voice, gather, hold) slot in here already protected. A callback is stored
(`record_event`, committed) before it is applied (`apply_event`). When applying fails the
stored event stays unapplied for `apply_pending_events` to replay, and Twilio gets a 500: it may
deliver the callback again, which stores a second copy whose application changes nothing,
since an attempt's state only moves forward. Twilio needs no body in answer to these two
callbacks: 204.

A webhook URL may name its attempt (`?attempt=<id>` here, a path segment for the IVR), which
ties a callback to its attempt even before the dispatcher has recorded the CallSid.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from dialer.callbacks import EventKind, apply_event, record_event
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
    """Answering machine detection's verdict (AnsweredBy), sent apart from the call flow."""
    return _store_and_apply(EventKind.AMD)


def _store_and_apply(kind: EventKind) -> ResponseReturnValue:
    now = datetime.now(UTC)
    session = db_session()
    event = record_event(
        session,
        kind,
        request.form.to_dict(),
        now=now,
        attempt_id=request.args.get("attempt", type=int),
    )
    event_id = event.id
    try:
        apply_event(session, current_config(), event, now=now)
    except Exception:
        # A boundary: the event is stored, and the replay will apply it once the cause is gone.
        logger.exception("event %s stored but not applied; it stays pending", event_id)
        return "", 500
    return "", 204
