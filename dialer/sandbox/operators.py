"""Simulated operators: people who take callers off the hold queues.

An operator serves some queues (or all). When a caller waits in one of them and the operator is
free, the operator picks up after `pickup_seconds`, takes the longest-waiting caller, talks for
as long as the caller's behaviour says, then spends `wrap_up_seconds` on after-call work before
taking the next. An operator with a `phone` also answers calls placed to that number, and is
busy to them while on a call; set `takes_from_queues=False` when the app itself connects
operators by calling them (`<Dial><Queue>`), so that only those calls dequeue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from dialer.campaigns import Config
from dialer.sandbox.clock import SimClock
from dialer.sandbox.queue import Queues

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OperatorSpec:
    """One operator; `queues` None serves every queue. Durations are simulated seconds."""

    name: str
    queues: frozenset[str] | None = None
    phone: str | None = None
    pickup_seconds: float = 3.0
    wrap_up_seconds: float = 20.0
    takes_from_queues: bool = True


def default_operators(count: int = 3) -> tuple[OperatorSpec, ...]:
    """`count` operators serving every queue."""
    return tuple(OperatorSpec(f"operator-{number}") for number in range(1, count + 1))


def operators_from_config(
    config: Config, *, takes_from_queues: bool = True
) -> tuple[OperatorSpec, ...]:
    """The operators of campaigns.yaml, each serving the queues (campaign ids) listed for them."""
    return tuple(
        OperatorSpec(
            name=operator.id,
            queues=frozenset(operator.queues),
            phone=operator.phone,
            takes_from_queues=takes_from_queues,
        )
        for operator in config.operators
    )


class Operators:
    """Runs one thread per operator that takes callers off the queues."""

    def __init__(
        self,
        specs: Sequence[OperatorSpec],
        queues: Queues,
        clock: SimClock,
        stopping: threading.Event,
    ) -> None:
        self._specs = tuple(specs)
        self._queues = queues
        self._clock = clock
        self._stopping = stopping
        self._busy: set[str] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for spec in self._specs:
            if spec.takes_from_queues:
                thread = threading.Thread(
                    target=self._work, args=(spec,), name=f"sandbox-{spec.name}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def join(self, timeout: float) -> None:
        """Wait for the operator threads to end, `timeout` seconds for them all."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def by_phone(self, phone: str) -> OperatorSpec | None:
        return next((spec for spec in self._specs if spec.phone == phone), None)

    def is_busy(self, name: str) -> bool:
        with self._lock:
            return name in self._busy

    def _set_busy(self, name: str, busy: bool) -> None:
        with self._lock:
            if busy:
                self._busy.add(name)
            else:
                self._busy.discard(name)

    def _work(self, spec: OperatorSpec) -> None:
        while not self._stopping.is_set():
            with self._queues.cond:
                if self._queues.longest_waiting(spec.queues) is None:
                    self._queues.cond.wait(0.25)
                    continue
            if self._stopping.wait(self._clock.real_seconds(spec.pickup_seconds)):
                return
            queue = self._queues.longest_waiting(spec.queues)
            if queue is None:
                continue
            bridge = queue.take_front(spec.name, self._clock.now(), self._clock.real(), None)
            if bridge is None:
                continue
            self._set_busy(spec.name, True)
            try:
                while not bridge.ended.wait(0.25):
                    if self._stopping.is_set():
                        return
                self._stopping.wait(self._clock.real_seconds(spec.wrap_up_seconds))
            finally:
                self._set_busy(spec.name, False)
