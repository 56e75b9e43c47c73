"""Hold queues: callers waiting in `<Enqueue>`, and the bridges that take them out.

The queue is the arbiter between the caller and whoever dequeues: under its lock a member is
either taken (by an operator or a `<Dial><Queue>`) or leaves (abandon, `<Leave>`, hang-up,
redirect), never both. Queues are created on first use, as `<Enqueue>` does on Twilio, and hold
at most `max_size` callers (Twilio's default is 100).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from dialer.sandbox.calls import Webhook


@dataclass
class Bridge:
    """A caller connected to whoever dequeued them; `ended` once either side leaves. `url`:
    the `<Queue url>` document the caller hears right before the bridge."""

    caller_sid: str
    dequeued_by: str
    started: datetime
    queue_seconds: float
    ended: threading.Event = field(default_factory=threading.Event)
    wakes: list[threading.Event] = field(default_factory=list)
    url: Webhook | None = None

    def end(self) -> None:
        self.ended.set()
        for wake in self.wakes:
            wake.set()


@dataclass
class Member:
    """A caller in a queue."""

    call_sid: str
    joined_real: float
    joined: datetime
    wake: threading.Event
    bridge: Bridge | None = None


class HoldQueue:
    """One named queue, first in first out."""

    def __init__(self, name: str, sid: str, max_size: int, registry: Queues) -> None:
        self.name = name
        self.sid = sid
        self.max_size = max_size
        self._registry = registry
        self._members: list[Member] = []

    def join(
        self, call_sid: str, wake: threading.Event, real: float, at: datetime
    ) -> Member | None:
        """Put the caller at the back; None when the queue is full."""
        with self._registry.cond:
            if len(self._members) >= self.max_size:
                return None
            member = Member(call_sid, real, at, wake)
            self._members.append(member)
            self._registry.joined()
            return member

    def leave(self, member: Member) -> bool:
        """Take the caller out; False when they were dequeued first."""
        with self._registry.cond:
            if member not in self._members:
                return False
            self._members.remove(member)
            return True

    def take_front(
        self,
        dequeued_by: str,
        at: datetime,
        real: float,
        wake: threading.Event | None,
        url: Webhook | None = None,
    ) -> Bridge | None:
        """Dequeue the longest-waiting caller into a bridge; None when nobody waits."""
        with self._registry.cond:
            if not self._members:
                return None
            member = self._members.pop(0)
            wakes = [member.wake] if wake is None else [member.wake, wake]
            queue_seconds = (at - member.joined).total_seconds()
            member.bridge = Bridge(
                member.call_sid, dequeued_by, at, queue_seconds, wakes=wakes, url=url
            )
            member.wake.set()
            return member.bridge

    def position(self, member: Member) -> int:
        """1 for the caller at the front; 0 once out of the queue."""
        with self._registry.cond:
            return self._members.index(member) + 1 if member in self._members else 0

    def size(self) -> int:
        with self._registry.cond:
            return len(self._members)

    def average_wait_seconds(self, now: datetime) -> int:
        """The average time the callers now waiting have waited (Twilio's AvgQueueTime)."""
        with self._registry.cond:
            waits = [(now - member.joined).total_seconds() for member in self._members]
        return round(sum(waits) / len(waits)) if waits else 0

    def oldest_joined(self) -> float | None:
        with self._registry.cond:
            return self._members[0].joined_real if self._members else None


class Queues:
    """Every queue by name; `cond` is notified whenever a caller joins one."""

    def __init__(self, seed: int, max_size: int = 100) -> None:
        self.cond = threading.Condition()
        self._seed = seed
        self._max_size = max_size
        self._queues: dict[str, HoldQueue] = {}
        self._listeners: set[threading.Event] = set()

    def get(self, name: str) -> HoldQueue:
        with self.cond:
            queue = self._queues.get(name)
            if queue is None:
                digest = hashlib.sha256(f"{self._seed}:queue:{name}".encode()).hexdigest()
                queue = HoldQueue(name, "QU" + digest[:32], self._max_size, self)
                self._queues[name] = queue
            return queue

    def all(self) -> list[HoldQueue]:
        with self.cond:
            return list(self._queues.values())

    def longest_waiting(self, names: Collection[str] | None) -> HoldQueue | None:
        """Of the queues named (all when None), the one whose front caller waited longest."""
        with self.cond:
            candidates = [
                (joined, queue.name, queue)
                for queue in self._queues.values()
                if names is None or queue.name in names
                if (joined := queue.oldest_joined()) is not None
            ]
        return min(candidates)[2] if candidates else None

    def listen(self, wake: threading.Event) -> None:
        """Have `wake` set whenever someone joins a queue (a `<Dial><Queue>` waiting)."""
        with self.cond:
            self._listeners.add(wake)

    def unlisten(self, wake: threading.Event) -> None:
        with self.cond:
            self._listeners.discard(wake)

    def wake_all(self) -> None:
        """Wake whoever waits on the queues (the sandbox is stopping)."""
        with self.cond:
            self.cond.notify_all()

    def joined(self) -> None:
        """Called under `cond` by a queue when a caller joins."""
        for wake in self._listeners:
            wake.set()
        self.cond.notify_all()
