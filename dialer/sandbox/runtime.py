"""The parts of a running sandbox that every call, route and operator shares."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from dialer.sandbox.callbacks import Outbox
from dialer.sandbox.callee import Behaviour, operator_behaviour
from dialer.sandbox.calls import CallStore
from dialer.sandbox.clock import SimClock
from dialer.sandbox.config import SandboxConfig
from dialer.sandbox.cps import CpsLimiter
from dialer.sandbox.faults import FaultInjector
from dialer.sandbox.operators import Operators
from dialer.sandbox.queue import Queues
from dialer.sandbox.webhooks import WebhookClient


@dataclass
class Runtime:
    """Built once per sandbox by `build`; `stopping` is set when it shuts down."""

    config: SandboxConfig
    clock: SimClock
    store: CallStore
    cps: CpsLimiter
    faults: FaultInjector
    webhooks: WebhookClient
    outbox: Outbox
    queues: Queues
    operators: Operators
    stopping: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def build(cls, config: SandboxConfig) -> Runtime:
        clock = SimClock(config.speed, config.origin)
        webhooks = WebhookClient(
            config.auth_token,
            timeout_seconds=config.webhook_timeout_seconds,
            routes=config.webhook_routes,
        )
        queues = Queues(config.seed, config.queue_max_size)
        stopping = threading.Event()
        return cls(
            config=config,
            clock=clock,
            store=CallStore(config.account_sid, config.seed),
            cps=CpsLimiter(config.cps),
            faults=FaultInjector(config.faults, config.seed),
            webhooks=webhooks,
            outbox=Outbox(webhooks, clock, config.delivery, keep_sent=config.keep_history),
            queues=queues,
            operators=Operators(config.operators, queues, clock, stopping),
            stopping=stopping,
        )

    def behaviour_for(self, to: str, ordinal: int) -> Behaviour:
        """The callee of a new call: scripted, an operator's phone (busy while the operator
        is on a call), or drawn from the model."""
        model = self.config.callee
        if to not in model.scripted:
            operator = self.operators.by_phone(to)
            if operator is not None:
                on_a_call = any(c.options.to == to and not c.is_final for c in self.store)
                busy = on_a_call or self.operators.is_busy(operator.name)
                return operator_behaviour(busy=busy)
        return model.behaviour(self.config.seed, to, ordinal)
