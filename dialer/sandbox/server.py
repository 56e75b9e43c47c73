"""The sandbox as a whole: its HTTP server, call threads, operators and callback workers.

`Sandbox` runs in-process (tests start it on port 0 and read `base_url`) and offers inspection
helpers: every call with its timeline and the TwiML it fetched, every callback sent.
`run_sandbox` is the blocking form behind `dialer sandbox`, stopped by Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Final

from werkzeug.serving import WSGIRequestHandler, make_server

from dialer.sandbox.callbacks import Delivery, SentCallback
from dialer.sandbox.callee import Behaviour, CalleeModel
from dialer.sandbox.callflow import CallFlow, amd_lane
from dialer.sandbox.calls import Call, FetchRecord, TimelineEntry
from dialer.sandbox.clock import SimClock
from dialer.sandbox.config import SandboxConfig
from dialer.sandbox.faults import Faults
from dialer.sandbox.operators import OperatorSpec, default_operators
from dialer.sandbox.rest import RestApi
from dialer.sandbox.runtime import Runtime

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8765
POLL_SECONDS: Final = 0.02
SHUTDOWN_POLL_SECONDS: Final = 0.05

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallView:
    """A snapshot of one call for inspection; times are simulated. `status` is the sandbox's
    own, which has `initiated` (the REST resource shows it as `queued`)."""

    sid: str
    to: str
    from_: str
    status: str
    behaviour: Behaviour
    answered_by: str | None
    duration: int | None
    date_created: datetime
    start_time: datetime | None
    end_time: datetime | None
    queue_time_ms: int
    timeline: tuple[TimelineEntry, ...]
    fetches: tuple[FetchRecord, ...]

    def events(self) -> list[str]:
        """The timeline's event names, in order."""
        return [entry.event for entry in self.timeline]


class _QuietHandler(WSGIRequestHandler):
    """No line per request on the console: a load run makes thousands."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("%s %s %s", self.command, self.path.split("?", 1)[0], code)


class Sandbox:
    """A running sandbox; use as a context manager, or `start()` and `stop()`."""

    def __init__(self, config: SandboxConfig, *, host: str = DEFAULT_HOST, port: int = 0) -> None:
        self.config = config
        self.rt = Runtime.build(config)
        self._server = make_server(
            host, port, RestApi(self.rt, self._launch), threaded=True, request_handler=_QuietHandler
        )
        self._host = DEFAULT_HOST if host in ("", "0.0.0.0", "::") else host
        self._threads: list[threading.Thread] = []
        self._threads_lock = threading.Lock()
        self._serving: threading.Thread | None = None

    @property
    def clock(self) -> SimClock:
        """The sandbox's simulated time, which a demo's app and worker share."""
        return self.rt.clock

    @property
    def base_url(self) -> str:
        """What `TWILIO_API_BASE_URL` should be to reach this sandbox."""
        return f"http://{self._host}:{self._server.port}"

    def start(self) -> Sandbox:
        self.rt.outbox.start()
        self.rt.operators.start()
        self._serving = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            name="sandbox-http",
            daemon=True,
        )
        self._serving.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and playing calls; calls not yet ended stay as they are."""
        self.rt.stopping.set()
        self.rt.store.wake_all()
        self.rt.queues.wake_all()
        if self._serving is not None:
            self._server.shutdown()
            self._serving.join(timeout)
        self._server.server_close()
        with self._threads_lock:
            threads = list(self._threads)
        deadline = self.rt.clock.real() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - self.rt.clock.real()))
        self.rt.operators.join(max(0.0, deadline - self.rt.clock.real()))
        self.rt.outbox.stop(max(0.0, deadline - self.rt.clock.real()))

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _launch(self, call: Call, slot: float) -> None:
        thread = threading.Thread(
            target=CallFlow(self.rt, call, slot).run, name=f"sandbox-{call.sid}", daemon=True
        )
        with self._threads_lock:
            self._threads = [alive for alive in self._threads if alive.is_alive()]
            self._threads.append(thread)
        thread.start()

    # --- inspection --------------------------------------------------------------------------

    def calls(self) -> list[CallView]:
        """Every call, oldest first."""
        return [self._view(call) for call in self.rt.store]

    def call(self, sid: str) -> CallView:
        call = self.rt.store.get(sid)
        if call is None:
            raise KeyError(sid)
        return self._view(call)

    def callbacks(self, call_sid: str | None = None) -> list[SentCallback]:
        """Callbacks whose delivery has ended (delivered or dropped), in that order."""
        sent = self.rt.outbox.sent()
        return [item for item in sent if call_sid is None or item.call_sid == call_sid]

    def fetches(self, call_sid: str | None = None) -> list[FetchRecord]:
        """Requests to the app for TwiML and actions, call by call."""
        return [
            record
            for call in self.rt.store
            if call_sid is None or call.sid == call_sid
            for record in self._view(call).fetches
        ]

    def queue_size(self, name: str) -> int:
        return self.rt.queues.get(name).size()

    def wait_for(self, sid: str, timeout: float = 10.0) -> CallView:
        """The call once it has ended and all its callbacks are out; TimeoutError otherwise."""
        call = self.rt.store.get(sid)
        if call is None:
            raise KeyError(sid)
        self._until(
            lambda: call.done.is_set() and self.rt.outbox.idle((sid, amd_lane(sid))),
            timeout,
            f"call {sid} still going after {timeout} s",
        )
        return self._view(call)

    def wait_until_idle(self, timeout: float = 10.0) -> None:
        """Until every call has ended and every callback is out; TimeoutError otherwise."""
        self._until(
            lambda: all(call.done.is_set() for call in self.rt.store) and self.rt.outbox.idle(),
            timeout,
            f"calls or callbacks still going after {timeout} s",
        )

    def _until(self, done: Callable[[], bool], timeout: float, message: str) -> None:
        deadline = self.rt.clock.real() + timeout
        while not done():
            if self.rt.clock.real() > deadline:
                raise TimeoutError(message)
            self.rt.stopping.wait(POLL_SECONDS)

    def _view(self, call: Call) -> CallView:
        with self.rt.store.lock:
            return CallView(
                sid=call.sid,
                to=call.options.to,
                from_=call.options.from_,
                status=call.status.value,
                behaviour=call.behaviour,
                answered_by=call.answered_by(self.rt.clock.real()),
                duration=call.duration_seconds(),
                date_created=call.date_created,
                start_time=call.start_time,
                end_time=call.end_time,
                queue_time_ms=call.queue_time_ms,
                timeline=tuple(call.timeline),
                fetches=tuple(call.fetches),
            )


def run_sandbox(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    account_sid: str,
    auth_token: str,
    seed: int = 0,
    speed: float = 1.0,
    cps: float | None = 1.0,
    app_base_url: str | None = None,
    public_base_url: str | None = None,
    operators: Sequence[OperatorSpec] | None = None,
    callee: CalleeModel | None = None,
    faults: Faults | None = None,
    delivery: Delivery | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the sandbox until Ctrl-C or SIGTERM, then shut it down cleanly.

    `app_base_url` is where the app really listens when the URLs it gives Twilio start with
    `public_base_url` (a tunnel's address): requests go there, signed for the public URL.
    Without `operators`, three operators serve every queue. `on_ready` gets the base URL to
    set as `TWILIO_API_BASE_URL` once the server listens.
    """
    if (app_base_url is None) != (public_base_url is None):
        raise ValueError("app_base_url and public_base_url go together")
    routes: Mapping[str, str] = (
        {public_base_url: app_base_url} if public_base_url and app_base_url else {}
    )
    config = SandboxConfig(
        account_sid=account_sid,
        auth_token=auth_token,
        seed=seed,
        speed=speed,
        cps=cps,
        callee=callee or CalleeModel(),
        operators=tuple(default_operators() if operators is None else operators),
        faults=faults or Faults(),
        delivery=delivery or Delivery(),
        webhook_routes=routes,
    )
    stop = threading.Event()
    with _stop_on_sigterm(stop), Sandbox(config, host=host, port=port) as sandbox:
        (on_ready or _announce)(sandbox.base_url)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            logger.info("sandbox interrupted; shutting down")


def _announce(base_url: str) -> None:
    logger.info("Twilio sandbox listening at %s", base_url)


@contextmanager
def _stop_on_sigterm(stop: threading.Event) -> Iterator[None]:
    """Sets `stop` on SIGTERM meanwhile (where signals can be handled: the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
