"""A local stand-in for Twilio: its Calls REST API, and simulated callees and operators.

The project's Twilio provider reaches it through `TWILIO_API_BASE_URL` like any other Twilio;
nothing in the dialer knows it is there. The sandbox plays each call as Twilio would: it rings
a simulated callee (`callee`), fetches the app's TwiML signed with the auth token and follows
it (`interpreter`, `holding`), lets simulated operators take callers off the hold queues
(`operators`), and posts signed status and AMD callbacks (`callbacks`). A speed factor
(`clock`) compresses minutes of ringing and holding into seconds.

Modules: `server` (the `Sandbox` and `run_sandbox`), `rest`/`forms`/`listing`/`resources`
(the API), `calls` (state), `callflow` (a call's life), `live` (a call's waits and requests),
`twiml`, `durations`, `queue`, `cps`, `faults`, `webhooks`, `config`, `runtime`.
"""

from dialer.sandbox.callbacks import Delivery, SentCallback
from dialer.sandbox.callee import Behaviour, CalleeModel
from dialer.sandbox.calls import FetchRecord, TimelineEntry
from dialer.sandbox.config import SandboxConfig
from dialer.sandbox.faults import Faults
from dialer.sandbox.operators import OperatorSpec, default_operators, operators_from_config
from dialer.sandbox.server import DEFAULT_PORT, CallView, Sandbox, run_sandbox

__all__ = [
    "DEFAULT_PORT",
    "Behaviour",
    "CallView",
    "CalleeModel",
    "Delivery",
    "Faults",
    "FetchRecord",
    "OperatorSpec",
    "Sandbox",
    "SandboxConfig",
    "SentCallback",
    "TimelineEntry",
    "default_operators",
    "operators_from_config",
    "run_sandbox",
]
