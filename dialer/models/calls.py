"""Call lists, attempts, key presses and the raw callback log.

A call list entry is one customer in one campaign. Its state machine:

    pending      Waiting for its turn; due once `next_attempt_at` has passed (the dispatcher
                 still re-checks every rule at the moment of dialling). New members, retries and
                 callbacks the customer asked for all wait here.
    in_progress  Claimed by a worker: the attempt row was committed in the same transaction as
                 the claim, and that call has not ended yet.
    suppressed   In the segment but held back by a suppression rule (`suppressed_reason`: dnc,
                 refused, no_consent, no_dialable_phone, cooldown, weekly_cap, higher_priority).
                 The list build re-evaluates it and returns it to pending when the rule lifts.
    retired      Left the segment before it was ever dialled. The list build revives it if the
                 customer comes back; it never retires an entry that has attempts.
    done         Worked to an end (`closed_reason`: reached, converted, refused, opted_out,
                 max_attempts, undialable, wrong_person, …). Final.

    list build ──► pending ◄──────► suppressed          pending ──► retired ──► pending
                    │    ▲                              (no attempts)   (back in the segment)
              claim ▼    │ retry, callback
                 in_progress ──► done  ◄── any state but done (refusal, DNC, campaign over)

"Active" entries (pending, in_progress) hold the customer: one campaign calls a customer at a
time. Only `done` is final; every other state is revisited (by the dispatcher, the list build or
reconciliation of in-flight attempts), so no entry is lost half-way. CHECK constraints hold the
invariants the rest of the code relies on: a pending entry has a time and a number, a parked or
closed one says why.

Vocabularies owned by later modules (outcomes, dispositions, reasons, AMD and queue results,
event kinds) are plain strings; the ones this schema fixes (entry state, Twilio call status) are
enums with a CHECK.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dialer.models.base import NOW, Base, Timestamped
from dialer.models.customers import Customer
from dialer.models.types import BigIntegerId, JsonPayload, UTCDateTime, enum_type


class EntryState(enum.StrEnum):
    """State of a call list entry; see the module docstring for the transitions."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    SUPPRESSED = "suppressed"
    RETIRED = "retired"
    DONE = "done"

    @property
    def is_active(self) -> bool:
        """Holds the customer for its campaign (one campaign at a time)."""
        return self in (EntryState.PENDING, EntryState.IN_PROGRESS)


class CallStatus(enum.StrEnum):
    """Twilio's call statuses, spelled as Twilio sends them."""

    QUEUED = "queued"
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        """No further status will follow."""
        return self in _FINAL_STATUSES


_FINAL_STATUSES = frozenset(
    {
        CallStatus.COMPLETED,
        CallStatus.BUSY,
        CallStatus.NO_ANSWER,
        CallStatus.FAILED,
        CallStatus.CANCELED,
    }
)


class CallListEntry(Timestamped, Base):
    """One customer in one campaign's call list."""

    __tablename__ = "call_list_entries"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "customer_id"),
        sa.Index("ix_call_list_entries_state_next_attempt_at", "state", "next_attempt_at"),
        sa.CheckConstraint("attempt_count >= 0", name="attempt_count_not_negative"),
        sa.CheckConstraint(
            "state <> 'pending' OR next_attempt_at IS NOT NULL", name="pending_scheduled"
        ),
        sa.CheckConstraint(
            "state NOT IN ('pending', 'in_progress') OR phone IS NOT NULL", name="active_has_phone"
        ),
        sa.CheckConstraint(
            "state <> 'suppressed' OR suppressed_reason IS NOT NULL", name="suppressed_has_reason"
        ),
        sa.CheckConstraint(
            "state NOT IN ('retired', 'done') OR closed_reason IS NOT NULL",
            name="closed_has_reason",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[str] = mapped_column(sa.String(64))
    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[EntryState] = mapped_column(enum_type(EntryState, "entry_state"))
    #: Within the campaign, higher is called first (like a campaign's own priority).
    priority: Mapped[int] = mapped_column(default=0, server_default="0")
    #: Attempts made so far; never reset by a list rebuild.
    attempt_count: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_outcome: Mapped[str | None] = mapped_column(sa.String(32))
    #: The E.164 number this entry dials, chosen from the customer's dialable phones.
    phone: Mapped[str | None] = mapped_column(sa.String(16))
    suppressed_reason: Mapped[str | None] = mapped_column(sa.String(32))
    closed_reason: Mapped[str | None] = mapped_column(sa.String(32))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer: Mapped[Customer] = relationship(back_populates="entries")
    attempts: Mapped[list[Attempt]] = relationship(
        back_populates="entry",
        order_by="Attempt.attempt_number",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class Attempt(Base):
    """One call placed for an entry, committed before the REST request that places it.

    `status` is None until Twilio has acknowledged the call; an attempt without a `call_sid`
    after a crash or a timeout is what reconciliation looks for.
    """

    __tablename__ = "attempts"
    __table_args__ = (
        sa.UniqueConstraint("entry_id", "attempt_number"),
        sa.Index("ix_attempts_customer_id_started_at", "customer_id", "started_at"),
        sa.Index("ix_attempts_campaign_id_started_at", "campaign_id", "started_at"),
        sa.CheckConstraint("attempt_number >= 1", name="attempt_number_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("call_list_entries.id", ondelete="CASCADE"))
    #: 1 for the entry's first call; unique per entry, so two workers cannot both place the same
    #: attempt even if a claim went wrong.
    attempt_number: Mapped[int]
    campaign_id: Mapped[str] = mapped_column(sa.String(64))
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(sa.String(16))
    #: The From number, needed to recognise the call when reconciling with Twilio.
    caller_id: Mapped[str | None] = mapped_column(sa.String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    call_sid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    status: Mapped[CallStatus | None] = mapped_column(enum_type(CallStatus, "call_status"))
    last_sequence_number: Mapped[int | None]
    #: Twilio's AnsweredBy: human, machine_start, machine_end_beep, fax, unknown, …
    answered_by: Mapped[str | None] = mapped_column(sa.String(32))
    outcome: Mapped[str | None] = mapped_column(sa.String(32))
    error_code: Mapped[int | None]
    sip_response_code: Mapped[int | None]
    duration_seconds: Mapped[int | None]
    #: Twilio's QueueResult from the Enqueue action (bridged, hangup, leave, …).
    queue_result: Mapped[str | None] = mapped_column(sa.String(32))
    queue_time_seconds: Mapped[int | None]
    #: What the operator recorded after talking to the customer (`dialer.dispositions`).
    disposition: Mapped[str | None] = mapped_column(sa.String(32))
    #: The operator who took the call (an id of campaigns.yaml's `operators`).
    operator_id: Mapped[str | None] = mapped_column(sa.String(64))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    dispositioned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The account that recorded the disposition (the operator, or a supervisor for them).
    dispositioned_by: Mapped[str | None] = mapped_column(sa.String(64))
    #: The time the customer asked to be called back at (a `callback` disposition); the
    #: entry is due at the first open instant from then.
    callback_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    entry: Mapped[CallListEntry] = relationship(back_populates="attempts")
    customer: Mapped[Customer] = relationship()
    key_presses: Mapped[list[KeyPress]] = relationship(
        back_populates="attempt",
        order_by="KeyPress.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class KeyPress(Base):
    """A DTMF answer during a call: a row each, so menu paths and survey scores can be counted."""

    __tablename__ = "key_presses"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        sa.ForeignKey("attempts.id", ondelete="CASCADE"), index=True
    )
    pressed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Which question was answered: menu, callback_band, opt_out_confirm, survey, …
    step: Mapped[str] = mapped_column(sa.String(32))
    digits: Mapped[str] = mapped_column(sa.String(16))
    #: What the key meant (agent, callback, opt_out, repeat, unknown); None for free answers.
    action: Mapped[str | None] = mapped_column(sa.String(32))

    attempt: Mapped[Attempt] = relationship(back_populates="key_presses")


class CallEvent(Base):
    """A Twilio callback exactly as received, stored before it is applied.

    Append-only: the payload is never changed, and `applied_at` is the only column written
    after the insert, so that events stored but never applied (a crash in between) can be found
    and replayed. `attempt_id` survives the attempt's deletion as NULL: the log is never pruned
    by a cascade.
    """

    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=NOW)
    #: Which webhook: status, amd, voice, gather, hold, queue, …
    kind: Mapped[str] = mapped_column(sa.String(16))
    call_sid: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    attempt_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("attempts.id", ondelete="SET NULL"), index=True
    )
    sequence_number: Mapped[int | None]
    payload: Mapped[dict[str, Any]] = mapped_column(JsonPayload)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attempt: Mapped[Attempt | None] = relationship()
