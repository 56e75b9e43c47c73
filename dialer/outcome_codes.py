"""The stored vocabularies of call results: what an attempt came to, and why an entry closed.

They live apart from the state machine (`dialer.outcomes`) and the retry policy
(`dialer.retries`) so that both, and the IVR and the dashboard, can share them without
importing each other. The values are stored in `attempts.outcome`,
`call_list_entries.last_outcome` and `call_list_entries.closed_reason`: never rename them.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """How an attempt ended, spelled like Twilio's statuses and the `retry` keys of
    campaigns.yaml (`no-answer`), so that the outcome, the status and the delay line up."""

    HUMAN = "human"
    MACHINE = "machine"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_retryable(self) -> bool:
        """Has a per-outcome delay in the campaign's `retry` section."""
        return self in _RETRYABLE


_RETRYABLE = frozenset({Outcome.BUSY, Outcome.NO_ANSWER, Outcome.MACHINE, Outcome.FAILED})


class ClosedReason(StrEnum):
    """Why an entry is `done`, as far as the end of a call or an operator's disposition
    decides it.

    Snake case, like the reasons other modules write to the same column (`opted_out`,
    `refused`, `wrong_person`, ...). The four outcome-named reasons mean "closed after that
    outcome because the campaign's delay for it is `never`".
    """

    REACHED = "reached"
    MAX_ATTEMPTS = "max_attempts"
    UNDIALABLE = "undialable"
    CAMPAIGN_OVER = "campaign_over"
    #: The customer pressed the opt-out key: on the DNC list, never called again (第17条).
    OPTED_OUT = "opted_out"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    MACHINE = "machine"
    FAILED = "failed"
    # Closed by an operator's disposition (`dialer.dispositions`).
    #: A sale, a second purchase or a subscription signed (成約).
    CONVERTED = "converted"
    #: A cancel-save call kept the customer (skip, longer cycle, smaller size or a pause).
    RETAINED = "retained"
    #: The customer held to cancelling, and it was accepted (特定商取引法 第13条の2).
    CANCELLED_AS_REQUESTED = "cancelled_as_requested"
    #: The customer refused further calls: on the DNC list, never called again (第17条).
    REFUSED = "refused"
    #: The number reached someone other than the customer.
    WRONG_PERSON = "wrong_person"

    @classmethod
    def never_retried(cls, outcome: Outcome) -> ClosedReason:
        """The reason for closing after `outcome` when the campaign never retries it."""
        return _NEVER_RETRIED[outcome]


_NEVER_RETRIED = {
    Outcome.BUSY: ClosedReason.BUSY,
    Outcome.NO_ANSWER: ClosedReason.NO_ANSWER,
    Outcome.MACHINE: ClosedReason.MACHINE,
    Outcome.FAILED: ClosedReason.FAILED,
}
