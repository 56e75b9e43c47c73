"""The calls the sandbox holds: their options, state, timeline, and the store that finds them.

A call's state changes under the store's lock, from its own flow thread (dialling, ringing,
the callee) and from REST updates (hang up, redirect). Whoever changes something a waiting flow
must notice sets the call's `wake` event. `finish` is first-come: the first final status wins.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final, Literal

from dialer.sandbox.callee import Behaviour

API_VERSION: Final = "2010-04-01"
DIRECTION: Final = "outbound-api"

HttpMethod = Literal["GET", "POST"]


class Status(StrEnum):
    """A call's status. `initiated` shows as `queued` in the REST resource, as on Twilio."""

    QUEUED = "queued"
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    FAILED = "failed"
    NO_ANSWER = "no-answer"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self in _FINAL

    @property
    def resource_value(self) -> str:
        """The status as the Call resource spells it (it has no `initiated`)."""
        return Status.QUEUED.value if self is Status.INITIATED else self.value


_FINAL: Final = frozenset(
    {Status.COMPLETED, Status.BUSY, Status.FAILED, Status.NO_ANSWER, Status.CANCELED}
)


@dataclass(frozen=True)
class Webhook:
    """A URL Twilio requests, with the method to use."""

    url: str
    method: HttpMethod = "POST"


@dataclass(frozen=True)
class InlineTwiml:
    """TwiML given in the request itself (`Twiml`) instead of a URL to fetch it from."""

    text: str


Instructions = Webhook | InlineTwiml


@dataclass(frozen=True)
class CallOptions:
    """What the create request asked for."""

    to: str
    from_: str
    answer: Instructions
    status_callback: Webhook | None = None
    status_events: frozenset[str] = frozenset({"completed"})
    timeout_seconds: int = 60
    machine_detection: Literal["Enable", "DetectMessageEnd"] | None = None
    machine_detection_timeout: int = 30
    async_amd: bool = False
    amd_callback: Webhook | None = None


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened to a call, at a simulated instant."""

    at: datetime
    event: str
    detail: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FetchRecord:
    """One request to the app for instructions (answer, Gather, hold, actions) and its answer.

    `status` is None when the app could not be reached.
    """

    call_sid: str
    at: datetime
    purpose: str
    url: str
    method: str
    params: Mapping[str, str]
    status: int | None
    body: str


@dataclass(frozen=True)
class AmdVerdict:
    """Answering machine detection's answer, known from real time `known_at` on."""

    answered_by: str
    detection_ms: int
    known_at: float


@dataclass
class Call:
    """One call and everything that happened to it."""

    sid: str
    account_sid: str
    options: CallOptions
    behaviour: Behaviour
    date_created: datetime
    status: Status = Status.QUEUED
    date_updated: datetime | None = None
    start_time: datetime | None = None
    answered_at: datetime | None = None
    end_time: datetime | None = None
    queue_time_ms: int = 0
    amd: AmdVerdict | None = None
    redirect: Instructions | None = None
    answer: Instructions = field(init=False)
    timeline: list[TimelineEntry] = field(default_factory=list)
    fetches: list[FetchRecord] = field(default_factory=list)
    wake: threading.Event = field(default_factory=threading.Event, repr=False)
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    def __post_init__(self) -> None:
        self.date_updated = self.date_created
        self.answer = self.options.answer

    @property
    def is_final(self) -> bool:
        return self.status.is_final

    def record(self, at: datetime, event: str, **detail: str) -> None:
        self.timeline.append(TimelineEntry(at, event, detail))

    def move_to(self, status: Status, at: datetime) -> bool:
        """Take a non-final status; False once the call has ended."""
        if self.is_final:
            return False
        self.status, self.date_updated = status, at
        self.record(at, status.value)
        return True

    def finish(self, status: Status, at: datetime, **detail: str) -> bool:
        """End the call with `status` unless it has already ended; wakes its flow."""
        if not status.is_final:
            raise ValueError(f"{status} is not a final status")
        if self.is_final:
            return False
        self.status, self.date_updated, self.end_time = status, at, at
        self.record(at, status.value, **detail)
        self.wake.set()
        return True

    def duration_seconds(self) -> int | None:
        """Seconds from answer to end: 0 for a call never answered, None while it lasts."""
        if not self.is_final or self.end_time is None:
            return None
        if self.answered_at is None:
            return 0
        return max(0, round((self.end_time - self.answered_at).total_seconds()))

    def answered_by(self, now_real: float) -> str | None:
        """AMD's verdict once it is known, None before (or without AMD)."""
        if self.amd is None or now_real < self.amd.known_at:
            return None
        return self.amd.answered_by


class CallStore:
    """Every call the sandbox has created, by SID and in creation order."""

    def __init__(self, account_sid: str, seed: int) -> None:
        self.account_sid = account_sid
        self.lock = threading.RLock()
        self._seed = seed
        self._calls: dict[str, Call] = {}
        self._numbers: Counter[str] = Counter()
        self._ordinals = itertools.count()

    def next_sid_and_ordinal(self, to: str) -> tuple[str, int]:
        """A fresh SID (deterministic per seed and creation order) and the call's ordinal for
        its number: how many calls to `to` came before it."""
        with self.lock:
            digest = hashlib.sha256(f"{self._seed}:call:{next(self._ordinals)}".encode())
            ordinal = self._numbers[to]
            self._numbers[to] += 1
        return "CA" + digest.hexdigest()[:32], ordinal

    def add(self, call: Call) -> None:
        with self.lock:
            self._calls[call.sid] = call

    def get(self, sid: str) -> Call | None:
        with self.lock:
            return self._calls.get(sid)

    def __iter__(self) -> Iterator[Call]:
        with self.lock:
            return iter(list(self._calls.values()))

    def wake_all(self) -> None:
        for call in self:
            call.wake.set()
