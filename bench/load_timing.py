"""What the sandbox asked of the app during a load run, timed as Twilio would see it.

`WebhookTimer` wraps the sandbox's webhook client (every TwiML fetch and every status or AMD
callback goes through its `send`), so a latency is the whole round trip from the simulated
Twilio: the wait in gunicorn's listen queue included, which is what a slow app costs a call.
Status and AMD callbacks that the app accepted are counted by their identity, to be found again
in the event log afterwards.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from dialer.sandbox.calls import Webhook
from dialer.sandbox.webhooks import Answer, WebhookClient, WebhookError

CALLBACK_ROUTES = ("status", "amd")
#: The fields that tell one callback from another, as the app stores them in `call_events`.
CALLBACK_FIELDS = ("CallSid", "SequenceNumber", "CallStatus", "AnsweredBy")

CallbackKey = tuple[str, ...]


def route_of(url: str) -> str:
    """`status` for `…/twilio/status?attempt=3`, `voice` for `…/twilio/voice/3`."""
    parts = [part for part in urlsplit(url).path.split("/") if part]
    if len(parts) >= 2 and parts[0] == "twilio":
        return parts[1]
    return parts[-1] if parts else "/"


def callback_key(route: str, params: Mapping[str, str]) -> CallbackKey:
    return (route, *(str(params.get(name, "")) for name in CALLBACK_FIELDS))


@dataclass
class WebhookTimer:
    """Times every request the sandbox sends to the app; `phase` labels the ones to come."""

    phase: str = "baseline"
    #: (phase, route, seconds, HTTP status or None when unreachable)
    records: list[tuple[str, str, float, int | None]] = field(default_factory=list)
    #: Callbacks the app answered with 2xx, by identity (a duplicate counts twice).
    accepted: Counter[CallbackKey] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, client: WebhookClient) -> None:
        """Route `client.send` through the timer (an instance attribute shadows the method)."""
        send: Callable[[Webhook, Mapping[str, str]], Answer] = client.send

        def timed(hook: Webhook, params: Mapping[str, str]) -> Answer:
            route = route_of(hook.url)
            started = time.perf_counter()
            try:
                answer = send(hook, params)
            except WebhookError:
                self._note(route, time.perf_counter() - started, None, params)
                raise
            self._note(route, time.perf_counter() - started, answer.status, params)
            return answer

        client.send = timed  # type: ignore[method-assign]

    def _note(
        self, route: str, seconds: float, status: int | None, params: Mapping[str, str]
    ) -> None:
        with self._lock:
            self.records.append((self.phase, route, seconds, status))
            if route in CALLBACK_ROUTES and status is not None and 200 <= status < 300:
                self.accepted[callback_key(route, params)] += 1

    def latencies(self, phase: str, routes: Iterable[str] | None = None) -> list[float]:
        wanted = None if routes is None else set(routes)
        with self._lock:
            return [
                seconds
                for label, route, seconds, _ in self.records
                if label == phase and (wanted is None or route in wanted)
            ]

    def statuses(self, phase: str) -> Counter[str]:
        """How the app answered, by route and status (`voice 200`, `status 204`, `amd -`)."""
        with self._lock:
            return Counter(
                f"{route} {'-' if status is None else status}"
                for label, route, _, status in self.records
                if label == phase
            )

    def callbacks_accepted(self, phase: str) -> int:
        with self._lock:
            return sum(
                1
                for label, route, _, status in self.records
                if label == phase
                and route in CALLBACK_ROUTES
                and status is not None
                and 200 <= status < 300
            )


def percentile(values: list[float], share: float) -> float:
    """The `share` quantile (nearest rank); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def describe(values: list[float]) -> str:
    """`n, p50, p99, max` in milliseconds."""
    if not values:
        return "no requests"
    return (
        f"{len(values):>7,} requests  p50 {statistics.median(values) * 1000:7.1f} ms  "
        f"p99 {percentile(values, 0.99) * 1000:7.1f} ms  max {max(values) * 1000:7.1f} ms"
    )
