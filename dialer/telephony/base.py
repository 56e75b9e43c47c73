"""The telephony provider interface: what the dispatcher needs from whoever places the calls.

Implementations live in sibling modules, one each (`twilio`). The local sandbox speaks Twilio's
API, so it needs none of its own: it is the Twilio provider at another base URL. The dispatcher
only sees `TelephonyProvider`, the two value types and the errors below, so a test can hand it
any object with these five methods.

The errors are not `DialerError`s: nothing a user typed causes them. Their classes say what the
dispatcher must do next, which is all it needs to know:

- `TransientError` (`RateLimitError`, `ProviderUnavailableError`): send the same request again
  later.
- `AmbiguousOutcomeError`: a create may have placed the call anyway; list the calls to that
  number since the attempt began and adopt the one found before anything is retried
  (invariant 2).
- `RejectedError` (`InvalidNumberError`): the provider refused this request; repeating it
  changes nothing.
- `AuthenticationError`: the credentials are wrong; no call can be placed until they are fixed.

Phone numbers stay out of every repr and error message, because logs may not show them in clear.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal, Protocol

CallEvent = Literal["initiated", "ringing", "answered", "completed"]
MachineDetection = Literal["Enable", "DetectMessageEnd"]

ALL_CALL_EVENTS: Final[tuple[CallEvent, ...]] = ("initiated", "ringing", "answered", "completed")
FINAL_STATUSES: Final = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})

MAX_RING_SECONDS: Final = 600
AMD_TIMEOUT_RANGE: Final = range(3, 60)


@dataclass(frozen=True)
class CallRequest:
    """One outbound call as the dispatcher wants it placed.

    Webhook URLs are absolute (built from `PUBLIC_BASE_URL`); the provider asks for POST on each.
    `async_amd` lets the greeting start at once while the machine verdict arrives separately at
    `async_amd_status_callback`, so a human is never left listening to silence.
    """

    to: str = field(repr=False)
    from_: str
    url: str
    status_callback: str
    status_callback_events: tuple[CallEvent, ...] = ALL_CALL_EVENTS
    timeout: int = 60
    machine_detection: MachineDetection | None = None
    machine_detection_timeout: int | None = None
    async_amd: bool = False
    async_amd_status_callback: str | None = None

    def __post_init__(self) -> None:
        """Refuse combinations the provider would reject or silently ignore."""
        if not 1 <= self.timeout <= MAX_RING_SECONDS:
            raise ValueError(f"timeout must be 1-{MAX_RING_SECONDS} seconds, not {self.timeout}")
        unknown = set(self.status_callback_events) - set(ALL_CALL_EVENTS)
        if unknown:
            raise ValueError(f"unknown status callback events: {sorted(unknown)}")
        if self.machine_detection is None and (
            self.async_amd or self.machine_detection_timeout is not None
        ):
            raise ValueError("AMD options need machine_detection")
        if self.async_amd_status_callback is not None and not self.async_amd:
            raise ValueError("async_amd_status_callback needs async_amd")
        timeout = self.machine_detection_timeout
        if timeout is not None and timeout not in AMD_TIMEOUT_RANGE:
            raise ValueError(f"machine_detection_timeout must be 3-59 seconds, not {timeout}")


@dataclass(frozen=True)
class CallInfo:
    """The provider's view of one call, as fetched, listed or returned by an update.

    Times are aware UTC datetimes. `duration` is in seconds and `queue_time_ms` in milliseconds
    (the time the provider held the call back for its calls-per-second limit); both are None
    until known.
    """

    sid: str
    to: str = field(repr=False)
    from_: str
    status: str
    date_created: datetime
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: int | None = None
    answered_by: str | None = None
    queue_time_ms: int | None = None

    @property
    def is_final(self) -> bool:
        """True once the call has ended and no further status will change it."""
        return self.status in FINAL_STATUSES


class TelephonyProvider(Protocol):
    """Places and manages calls.

    Every provider failure is raised as a `TelephonyError` subclass; `ValueError` means the
    caller passed something no provider could accept (a naive datetime, say).
    """

    def place_call(self, request: CallRequest) -> CallInfo:
        """Create the call; `AmbiguousOutcomeError` when it may exist despite the failure."""
        ...

    def fetch_call(self, sid: str) -> CallInfo:
        """The current state of one call."""
        ...

    def list_calls(self, to: str, started_after: datetime) -> list[CallInfo]:
        """Calls to `to` created at or after `started_after` (aware), oldest first.

        This is the reconciliation query after an `AmbiguousOutcomeError`: it includes calls the
        provider is still holding in its queue.
        """
        ...

    def hangup(self, sid: str) -> CallInfo:
        """End the call whatever its state: cancel it if not yet answered, else hang up."""
        ...

    def redirect(self, sid: str, url: str) -> CallInfo:
        """Make a live call fetch its next instructions from `url`."""
        ...


class TelephonyError(Exception):
    """A provider request failed; the subclass says what the dispatcher should do next."""


class TransientError(TelephonyError):
    """The request can be sent again later as it is; retrying cannot place a second call."""


class RateLimitError(TransientError):
    """The provider refused the request for its rate limit; nothing was done."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProviderUnavailableError(TransientError):
    """The provider failed or could not be reached while fetching, listing or updating."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AmbiguousOutcomeError(TelephonyError):
    """A create failed in a way that may still have placed the call: reconcile first."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RejectedError(TelephonyError):
    """The provider refused this request for good; `code` is its own error number."""

    def __init__(self, message: str, *, status: int, code: int | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class InvalidNumberError(RejectedError):
    """The number cannot be called at all: mark it undialable rather than retry."""


class AuthenticationError(TelephonyError):
    """The provider does not accept the configured credentials."""
