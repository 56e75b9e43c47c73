"""Status and AMD callbacks: delivered in the background, retried, and sometimes disordered.

Callbacks go out through an `Outbox` with a few worker threads. Each call has its own lanes
(one for status callbacks, one for the AMD result), and a lane delivers one callback at a time,
in the order they were submitted, so without injected faults the app sees a call's callbacks in
order. `Delivery` injects what real Twilio does now and then, seeded per call:

- duplicates: the same callback (same `SequenceNumber`) is delivered twice;
- reordering: a callback is held back and delivered just after the next one of its call (or
  after the call's last one), so the app receives them out of order.

A callback the app answers with 5xx, or that cannot be delivered, is tried again after
`retry_delay_seconds` (simulated) up to `attempts` times in all, then dropped and logged. Any
other answer (2xx, 3xx, 4xx) ends its delivery.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from dialer.sandbox.calls import Webhook
from dialer.sandbox.clock import SimClock
from dialer.sandbox.webhooks import WebhookClient, WebhookError

logger = logging.getLogger(__name__)

CallbackKind = Literal["status", "amd"]


@dataclass(frozen=True)
class Delivery:
    """How callbacks are delivered; rates are probabilities per callback."""

    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    attempts: int = 3
    retry_delay_seconds: float = 5.0
    workers: int = 8

    def __post_init__(self) -> None:
        if not (0 <= self.duplicate_rate <= 1 and 0 <= self.reorder_rate <= 1):
            raise ValueError("duplicate_rate and reorder_rate must be between 0 and 1")
        if self.attempts < 1 or self.workers < 1 or self.retry_delay_seconds < 0:
            raise ValueError("attempts and workers must be at least 1, the delay non-negative")


@dataclass(frozen=True)
class SentCallback:
    """One delivery of one callback, as it ended."""

    call_sid: str
    kind: CallbackKind
    url: str
    params: Mapping[str, str]
    sent_at: datetime
    attempts: int
    status: int | None
    delivered: bool
    duplicate: bool = False


@dataclass
class _Item:
    lane: str
    call_sid: str
    kind: CallbackKind
    hook: Webhook
    params: Mapping[str, str]
    due: float
    duplicate: bool = False
    attempts: int = 0


@dataclass
class _Lane:
    items: deque[_Item] = field(default_factory=deque)
    held: list[_Item] = field(default_factory=list)
    busy: bool = False
    scheduled: bool = False
    closed: bool = False


class Outbox:
    """Delivers callbacks with `workers` threads; see the module docstring for the rules."""

    def __init__(
        self, client: WebhookClient, clock: SimClock, delivery: Delivery, *, keep_sent: bool = True
    ) -> None:
        self._client = client
        self._keep_sent = keep_sent
        self._clock = clock
        self._delivery = delivery
        self._cond = threading.Condition()
        self._lanes: dict[str, _Lane] = {}
        self._ready: list[tuple[float, int, str]] = []
        self._order = itertools.count()
        self._sent: list[SentCallback] = []
        self._pending = 0
        self._stopping = False
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for number in range(self._delivery.workers):
            thread = threading.Thread(
                target=self._work, name=f"sandbox-callbacks-{number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 2.0) -> None:
        """Stop delivering (callbacks not yet out stay undelivered); `timeout` in all."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        deadline = self._clock.real() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - self._clock.real()))

    def submit(
        self,
        lane: str,
        call_sid: str,
        kind: CallbackKind,
        hook: Webhook,
        params: Mapping[str, str],
        *,
        rng: random.Random,
        delay_seconds: float = 0.0,
    ) -> None:
        """Queue one callback on `lane`, `delay_seconds` (simulated) from now."""
        due = self._clock.deadline(delay_seconds)
        item = _Item(lane, call_sid, kind, hook, dict(params), due)
        duplicate = rng.random() < self._delivery.duplicate_rate
        reorder = rng.random() < self._delivery.reorder_rate
        with self._cond:
            state = self._lanes.setdefault(lane, _Lane())
            copies = [item, replace(item, duplicate=True)] if duplicate else [item]
            if reorder and not state.held:
                state.held.extend(copies)
                self._pending += len(copies)
                return
            self._append(lane, state, copies + state.held)
            self._pending += len(copies)
            state.held = []

    def close_lane(self, lane: str) -> None:
        """The lane gets no more callbacks: release whatever it holds back."""
        with self._cond:
            state = self._lanes.get(lane)
            if state is None:
                return
            state.closed = True
            if state.held:
                self._append(lane, state, state.held)
                state.held = []
            self._forget_if_done(lane, state)

    def sent(self) -> list[SentCallback]:
        with self._cond:
            return list(self._sent)

    def idle(self, lanes: tuple[str, ...] | None = None) -> bool:
        """Whether nothing is waiting or in flight (on `lanes`, or anywhere)."""
        with self._cond:
            if lanes is None:
                return self._pending == 0
            return all(self._lane_idle(lane) for lane in lanes)

    def _lane_idle(self, lane: str) -> bool:
        state = self._lanes.get(lane)
        return state is None or not (state.items or state.held or state.busy)

    def _append(self, lane: str, state: _Lane, items: list[_Item]) -> None:
        state.items.extend(items)
        self._schedule(lane, state)

    def _schedule(self, lane: str, state: _Lane) -> None:
        if state.items and not state.busy and not state.scheduled:
            state.scheduled = True
            heapq.heappush(self._ready, (state.items[0].due, next(self._order), lane))
            self._cond.notify()

    def _work(self) -> None:
        while True:
            with self._cond:
                item = self._next_item()
                if item is None:
                    return
            status, delivered = self._deliver(item)
            with self._cond:
                self._finish(item, status, delivered)

    def _next_item(self) -> _Item | None:
        """The next due item, its lane marked busy; None when stopping."""
        while not self._stopping:
            if not self._ready:
                self._cond.wait(0.5)
                continue
            due, _, lane = self._ready[0]
            wait = due - self._clock.real()
            if wait > 0:
                self._cond.wait(min(wait, 0.5))
                continue
            heapq.heappop(self._ready)
            state = self._lanes[lane]
            state.scheduled, state.busy = False, True
            return state.items.popleft()
        return None

    def _deliver(self, item: _Item) -> tuple[int | None, bool]:
        """One attempt; the app's status (None when unreachable) and whether it is done."""
        item.attempts += 1
        try:
            answer = self._client.send(item.hook, item.params)
        except WebhookError as exc:
            logger.info("callback for %s not delivered: %s", item.call_sid, exc)
            return None, False
        return answer.status, answer.status < 500

    def _finish(self, item: _Item, status: int | None, delivered: bool) -> None:
        state = self._lanes[item.lane]
        state.busy = False
        if not delivered and item.attempts < self._delivery.attempts:
            item.due = self._clock.deadline(self._delivery.retry_delay_seconds)
            state.items.appendleft(item)
        else:
            if not delivered:
                logger.warning(
                    "dropped %s callback for %s after %d attempts",
                    item.kind,
                    item.call_sid,
                    item.attempts,
                )
            self._pending -= 1
            self._keep(
                SentCallback(
                    call_sid=item.call_sid,
                    kind=item.kind,
                    url=item.hook.url,
                    params=item.params,
                    sent_at=self._clock.now(),
                    attempts=item.attempts,
                    status=status,
                    delivered=delivered,
                    duplicate=item.duplicate,
                )
            )
        self._schedule(item.lane, state)
        self._forget_if_done(item.lane, state)
        self._cond.notify_all()

    def _keep(self, sent: SentCallback) -> None:
        if self._keep_sent:
            self._sent.append(sent)

    def _forget_if_done(self, lane: str, state: _Lane) -> None:
        """Drop a closed lane once it has nothing left, so a long run does not pile them up."""
        if state.closed and not (state.items or state.held or state.busy):
            del self._lanes[lane]
