"""Everything a sandbox can be told: credentials, seed, speed, limits, callees, faults."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from dialer.sandbox.callbacks import Delivery
from dialer.sandbox.callee import CalleeModel
from dialer.sandbox.faults import Faults
from dialer.sandbox.operators import OperatorSpec

ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")


@dataclass(frozen=True)
class SandboxConfig:
    """How one sandbox behaves.

    - `account_sid`, `auth_token`: the only credentials the REST API accepts (HTTP basic auth),
      and the key every webhook request is signed with.
    - `seed`: decides callees, faults, SIDs and callback disorder; same seed, same run.
    - `speed`: simulated seconds per real second; `origin`: simulated time at start (now).
    - `cps`: the account's calls per second (real seconds); None for no limit.
    - `webhook_routes`: public base URL → where the app really listens (see `webhooks`).
    - `play_seconds`: how long any `<Play>` audio lasts; `queue_max_size`: per hold queue.
    - `keep_history`: keep every prompt in call timelines, every request to the app and every
      callback sent, for inspection; turn it off for long load runs to bound memory.
    """

    account_sid: str
    auth_token: str = field(repr=False)
    seed: int = 0
    speed: float = 1.0
    origin: datetime | None = None
    cps: float | None = 1.0
    callee: CalleeModel = field(default_factory=CalleeModel)
    operators: tuple[OperatorSpec, ...] = ()
    faults: Faults = field(default_factory=Faults)
    delivery: Delivery = field(default_factory=Delivery)
    webhook_routes: Mapping[str, str] = field(default_factory=dict)
    webhook_timeout_seconds: float = 15.0
    play_seconds: float = 10.0
    queue_max_size: int = 100
    keep_history: bool = True

    def __post_init__(self) -> None:
        if not ACCOUNT_SID.match(self.account_sid):
            raise ValueError("account_sid must be AC followed by 32 hexadecimal digits")
        if not self.auth_token:
            raise ValueError("auth_token must not be empty")
        if self.webhook_timeout_seconds <= 0 or self.play_seconds < 0 or self.queue_max_size < 1:
            raise ValueError("webhook timeout, play length and queue size must be positive")
