"""Operators connected to the callers waiting in the hold queues: the dialer calls them.

`connect_operators` runs on the worker every dispatch interval (one worker at a time). Per
campaign, highest priority first, it counts the callers waiting in the campaign's queue now (as
`dialer.pacing.on_hold` says: a live call, the agent key pressed, no queue result yet)
who are not bridged to an operator yet, less the operator calls already placed for that queue
and not yet bridged; for each caller still unserved it takes a free operator serving the queue
(free: no live operator call; one who serves several queues is used once), longest idle first.
The operator call row is committed before the call is placed (DESIGN.md, invariant 2), then the
call goes out without answering machine detection, from the company's number, and its CallSid
is recorded.

The operator's leg (`/twilio/operator/<id>`) says whose customer it is and dials the campaign's
queue (`<Dial><Queue>`); Twilio runs the Queue's `url` (`/twilio/operator-bridged/<id>`) on the
caller's leg right before the bridge, which records who took whom (`Attempt.operator_id`,
`OperatorCall.attempt_id`) and tells the caller the operator's name. The Dial's action
(`/twilio/operator-done/<id>`) ends the operator's leg. Status callbacks
(`/twilio/operator-status/<id>`) are stored in the callback log and move the row forward only:
duplicates and late deliveries change nothing. An operator whose call ended busy or unanswered
is free again at once; one whose number the provider refused is left alone for
`REJECTED_COOLDOWN`, since calling it again would fail the same way (who is free:
`dialer.operator_availability`, which the hold queue's brake on dialling reads too).

A failed create marks the row failed and frees the operator. A create whose fate is unknown is
looked for among the provider's calls to the operator's number: adopted when found, else failed;
when even the listing fails the row stays live (the operator is not called twice) until its
status callback arrives or `UNBRIDGED_HORIZON` passes. Rate limits, outages and bad credentials
stop the run: the rest of it is marked canceled, and the next run tries again.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from twilio.twiml.voice_response import VoiceResponse

from dialer.campaigns import Campaign, Config
from dialer.dispatch import public_base_url
from dialer.errors import UnknownCampaignError
from dialer.ivr import FALLBACK_VOICE, LANGUAGE
from dialer.log import log_event
from dialer.models import Attempt, CallEvent, CallStatus, OperatorCall
from dialer.operator_availability import (
    live_operator_calls,
    unavailable_operators,
)
from dialer.pacing import live_attempts, on_hold
from dialer.settings import Settings
from dialer.telephony import (
    AmbiguousOutcomeError,
    AuthenticationError,
    CallInfo,
    CallRequest,
    RejectedError,
    TelephonyError,
    TelephonyProvider,
    TransientError,
)
from dialer.wallclock import require_aware

logger = logging.getLogger(__name__)

#: Seconds the operator's phone rings before the call is given up.
RING_TIMEOUT: Final = 20
#: Seconds the operator's leg waits in `<Dial><Queue>` for a caller (one may have hung up).
DIAL_TIMEOUT: Final = 20
#: How far back "longest idle" looks.
IDLE_LOOKBACK: Final = timedelta(hours=12)
#: `CallEvent.kind` of the operator calls' status callbacks.
STATUS_EVENT: Final = "operator_status"

SAY_CONNECTING: Final = "{campaign}のお客様におつなぎします。"
SAY_BRIDGED: Final = "担当の{operator}におつなぎします。"
SAY_NOBODY: Final = "お待ちのお客様はいらっしゃいませんでした。失礼いたします。"

_PROGRESS: Final = {
    CallStatus.QUEUED: 0,
    CallStatus.INITIATED: 1,
    CallStatus.RINGING: 2,
    CallStatus.IN_PROGRESS: 3,
}


@dataclass
class ConnectResult:
    """What one run did: calls placed, failed (the operator is free again), left unresolved,
    and why it stopped early, if it did."""

    placed: int = 0
    failed: int = 0
    unresolved: int = 0
    stopped: str | None = None


@dataclass(frozen=True)
class _Placement:
    operator_call_id: int
    operator_id: str
    campaign_id: str
    started_at: datetime
    request: CallRequest


def connect_operators(
    sessions: sessionmaker[Session],
    config: Config,
    provider: TelephonyProvider,
    settings: Settings,
    *,
    now: datetime,
) -> ConnectResult:
    """Call a free operator for each caller waiting unserved now; see the module docstring."""
    require_aware(now)
    base_url = public_base_url(settings)
    with sessions() as session, session.begin():
        placements = _store(session, config, base_url, now)
    result = ConnectResult()
    for index, placement in enumerate(placements):
        if not _place(sessions, provider, placement, result, now):
            _cancel(sessions, placements[index + 1 :], now)
            break
    return result


# --- who is waiting, who is free -----------------------------------------------------------


def waiting_callers(session: Session, *, now: datetime) -> Counter[str]:
    """Per campaign, the callers waiting in its queue now whom no operator has taken yet."""
    taken = sa.exists().where(OperatorCall.attempt_id == Attempt.id)
    query = (
        sa.select(Attempt.campaign_id, sa.func.count())
        .where(live_attempts(now), on_hold(), ~taken)
        .group_by(Attempt.campaign_id)
    )
    return Counter({campaign_id: count for campaign_id, count in session.execute(query)})


def _ringing_per_campaign(session: Session, now: datetime) -> Counter[str]:
    """Operator calls placed for each queue and not yet bridged to anyone."""
    query = (
        sa.select(OperatorCall.campaign_id, sa.func.count())
        .where(live_operator_calls(now), OperatorCall.attempt_id.is_(None))
        .group_by(OperatorCall.campaign_id)
    )
    return Counter({campaign_id: count for campaign_id, count in session.execute(query)})


def _last_called(session: Session, now: datetime) -> dict[str, datetime]:
    query = (
        sa.select(OperatorCall.operator_id, sa.func.max(OperatorCall.started_at))
        .where(OperatorCall.started_at > now - IDLE_LOOKBACK)
        .group_by(OperatorCall.operator_id)
    )
    return {operator_id: at for operator_id, at in session.execute(query)}


def _store(session: Session, config: Config, base_url: str, now: datetime) -> list[_Placement]:
    """Insert an operator call for each caller that needs one and a free operator can take."""
    waiting = waiting_callers(session, now=now)
    if not waiting:
        return []
    ringing = _ringing_per_campaign(session, now)
    taken = unavailable_operators(session, now)
    last_called = _last_called(session, now)
    rows: list[OperatorCall] = []
    for campaign in sorted(config.campaigns, key=lambda c: (-c.priority, c.id)):
        unserved = waiting[campaign.id] - ringing[campaign.id]
        candidates = [op for op in config.operators_for(campaign.id) if op.id not in taken]
        candidates.sort(key=lambda op: (op.id in last_called, last_called.get(op.id, now)))
        for operator in candidates[: max(unserved, 0)]:
            taken.add(operator.id)
            row = OperatorCall(operator_id=operator.id, campaign_id=campaign.id, started_at=now)
            session.add(row)
            rows.append(row)
    session.flush()
    return [_placement(config, base_url, row) for row in rows]


def _placement(config: Config, base_url: str, row: OperatorCall) -> _Placement:
    operator = next(op for op in config.operators if op.id == row.operator_id)
    caller_id = config.company.caller_id or config.caller_id_of(config.campaign(row.campaign_id))
    request = CallRequest(
        to=operator.phone,
        from_=caller_id,
        url=f"{base_url}/twilio/operator/{row.id}",
        status_callback=f"{base_url}/twilio/operator-status/{row.id}",
        timeout=RING_TIMEOUT,
    )
    return _Placement(row.id, row.operator_id, row.campaign_id, row.started_at, request)


# --- placing the calls ---------------------------------------------------------------------


def _place(
    sessions: sessionmaker[Session],
    provider: TelephonyProvider,
    placement: _Placement,
    result: ConnectResult,
    now: datetime,
) -> bool:
    """Place one operator call; False when the rest of the run must not be placed."""
    fields: dict[str, Any] = {
        "operator_call_id": placement.operator_call_id,
        "operator_id": placement.operator_id,
    }
    try:
        call = provider.place_call(placement.request)
    except RejectedError as error:
        _finish(sessions, placement.operator_call_id, CallStatus.FAILED, now, error.code)
        result.failed += 1
        log_event(logger, "operator_call_rejected", level=logging.ERROR, error=str(error), **fields)
        return True
    except AmbiguousOutcomeError as error:
        return _reconcile(sessions, provider, placement, result, now, error)
    except (TransientError, AuthenticationError) as error:
        _finish(sessions, placement.operator_call_id, CallStatus.FAILED, now)
        result.failed += 1
        result.stopped = type(error).__name__
        log_event(
            logger, "operator_call_refused", level=logging.WARNING, error=str(error), **fields
        )
        return False
    _record(sessions, placement.operator_call_id, call, now)
    result.placed += 1
    log_event(
        logger, "operator_called", call_sid=call.sid, campaign_id=placement.campaign_id, **fields
    )
    return True


def _reconcile(
    sessions: sessionmaker[Session],
    provider: TelephonyProvider,
    placement: _Placement,
    result: ConnectResult,
    now: datetime,
    error: AmbiguousOutcomeError,
) -> bool:
    """After a create whose fate is unknown: adopt the call if it exists, else fail the row."""
    fields: dict[str, Any] = {"operator_call_id": placement.operator_call_id, "error": str(error)}
    try:
        calls = provider.list_calls(
            placement.request.to, placement.started_at - timedelta(seconds=5)
        )
    except TelephonyError as listing_error:
        result.unresolved += 1
        result.stopped = "provider_unreachable"
        log_event(
            logger,
            "operator_call_unresolved",
            level=logging.ERROR,
            listing_error=str(listing_error),
            **fields,
        )
        return False
    with sessions() as session:
        known = set(
            session.scalars(
                sa.select(OperatorCall.call_sid).where(
                    OperatorCall.call_sid.in_([c.sid for c in calls])
                )
            )
        )
    found = next((call for call in calls if call.sid not in known), None)
    if found is None:
        _finish(sessions, placement.operator_call_id, CallStatus.FAILED, now)
        result.failed += 1
        result.stopped = "provider_error"
        log_event(logger, "operator_call_not_placed", level=logging.WARNING, **fields)
        return False
    _record(sessions, placement.operator_call_id, found, now)
    result.placed += 1
    log_event(logger, "operator_call_adopted", level=logging.WARNING, call_sid=found.sid, **fields)
    return True


def _record(
    sessions: sessionmaker[Session], operator_call_id: int, call: CallInfo, now: datetime
) -> None:
    with sessions() as session, session.begin():
        row = _locked(session, operator_call_id)
        if row is None:
            return
        if row.call_sid is None:
            row.call_sid = call.sid
        advance(row, _status(call.status), now=now)


def _finish(
    sessions: sessionmaker[Session],
    operator_call_id: int,
    status: CallStatus,
    now: datetime,
    error_code: int | None = None,
) -> None:
    with sessions() as session, session.begin():
        row = _locked(session, operator_call_id)
        if row is not None:
            advance(row, status, now=now, error_code=error_code)


def _cancel(
    sessions: sessionmaker[Session], placements: Sequence[_Placement], now: datetime
) -> None:
    """The rows of a run that stopped early, never shown to the provider."""
    for placement in placements:
        _finish(sessions, placement.operator_call_id, CallStatus.CANCELED, now)


def _locked(session: Session, operator_call_id: int) -> OperatorCall | None:
    return session.get(OperatorCall, operator_call_id, with_for_update=True)


def _status(value: str) -> CallStatus | None:
    try:
        return CallStatus(value.strip())
    except ValueError:
        return None


def advance(
    row: OperatorCall,
    status: CallStatus | None,
    *,
    now: datetime,
    error_code: int | None = None,
) -> bool:
    """Move the row to `status` if that is forward; a final status ends it for good."""
    if status is None or row.ended_at is not None:
        return False
    current = row.status
    if current is not None and not status.is_final and _PROGRESS[status] <= _PROGRESS[current]:
        return False
    row.status = status
    if status.is_final:
        row.ended_at = now
        row.error_code = error_code
    return True


# --- the webhooks --------------------------------------------------------------------------


def apply_status(
    session: Session, operator_call_id: int, params: Mapping[str, str], *, now: datetime
) -> bool:
    """Store an operator call's status callback and apply it; False for an unknown call."""
    require_aware(now)
    call_sid = params.get("CallSid") or None
    session.add(
        CallEvent(
            received_at=now,
            kind=STATUS_EVENT,
            call_sid=call_sid,
            sequence_number=_int(params.get("SequenceNumber")),
            payload=dict(params),
            applied_at=now,
        )
    )
    row = _locked(session, operator_call_id)
    if row is None:
        log_event(
            logger,
            "unknown_operator_call",
            level=logging.WARNING,
            operator_call_id=operator_call_id,
            webhook="status",
        )
        return False
    if row.call_sid is None and call_sid is not None:
        row.call_sid = call_sid
    advance(
        row,
        _status(params.get("CallStatus", "")),
        now=now,
        error_code=_int(params.get("ErrorCode")),
    )
    return True


def operator_twiml(session: Session, config: Config, operator_call_id: int, base_url: str) -> str:
    """The operator's leg: whose customer it is, then the campaign's queue."""
    response = VoiceResponse()
    row = session.get(OperatorCall, operator_call_id)
    campaign = None if row is None else _campaign(config, row.campaign_id)
    if row is None or campaign is None:
        response.hangup()
        return str(response)
    base = f"{base_url.rstrip('/')}/twilio"
    _say(response, campaign, SAY_CONNECTING.format(campaign=campaign.name))
    dial = response.dial(
        action=f"{base}/operator-done/{row.id}", method="POST", timeout=DIAL_TIMEOUT
    )
    dial.queue(campaign.id, url=f"{base}/operator-bridged/{row.id}", method="POST")
    return str(response)


def bridged_twiml(
    session: Session,
    config: Config,
    operator_call_id: int,
    *,
    caller_sid: str,
    dequeuing_sid: str | None,
) -> str:
    """On the caller's leg right before the bridge (Twilio sends the caller's CallSid and the
    operator's DequeingCallSid): record who takes whom, and name the operator."""
    response = VoiceResponse()
    row = _locked(session, operator_call_id)
    if row is None:
        log_event(
            logger,
            "unknown_operator_call",
            level=logging.WARNING,
            operator_call_id=operator_call_id,
            webhook="bridge",
        )
        return str(response)
    if row.call_sid is None and dequeuing_sid:
        row.call_sid = dequeuing_sid
    attempt = session.scalars(
        sa.select(Attempt).where(Attempt.call_sid == caller_sid).with_for_update()
    ).one_or_none()
    if attempt is not None:
        if row.attempt_id is None:
            row.attempt_id = attempt.id
        if attempt.operator_id is None:
            attempt.operator_id = row.operator_id
        log_event(
            logger,
            "operator_bridged",
            operator_call_id=row.id,
            attempt_id=attempt.id,
            operator_id=row.operator_id,
        )
    campaign = _campaign(config, row.campaign_id)
    operator = next((op for op in config.operators if op.id == row.operator_id), None)
    if campaign is not None and operator is not None:
        _say(response, campaign, SAY_BRIDGED.format(operator=operator.name))
    return str(response)


def done_twiml(session: Session, config: Config, operator_call_id: int, dial_status: str) -> str:
    """The operator's `<Dial><Queue>` ended: after a conversation hang up, else say so first."""
    response = VoiceResponse()
    row = session.get(OperatorCall, operator_call_id)
    campaign = None if row is None else _campaign(config, row.campaign_id)
    if row is not None and row.attempt_id is None and dial_status != "completed":
        _say(response, campaign, SAY_NOBODY)
    response.hangup()
    return str(response)


def _campaign(config: Config, campaign_id: str) -> Campaign | None:
    try:
        return config.campaign(campaign_id)
    except UnknownCampaignError:
        return None


def _say(response: VoiceResponse, campaign: Campaign | None, text: str) -> None:
    voice = campaign.ivr.voice if campaign is not None else FALLBACK_VOICE
    response.say(text, voice=voice, language=LANGUAGE)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None
