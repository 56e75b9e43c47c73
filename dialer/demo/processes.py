"""The web app and the worker, each in a process of its own, as in production.

They are started with the `spawn` method: the parent already runs the sandbox's threads, and a
forked copy of a threaded process may inherit a lock some thread held. Each child logs its JSON
lines to a file in the demo directory, so that the progress display stays readable, and stops
cleanly on SIGTERM (the worker finishes its running jobs first).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import socket
import threading
import time
import urllib.request
from dataclasses import replace
from datetime import timedelta
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType

from werkzeug.serving import WSGIRequestHandler, make_server

from dialer.clock import Clock
from dialer.demo.clock import DemoClock
from dialer.dispatch import DispatchOptions, clock_waiter
from dialer.errors import DialerError
from dialer.log import configure_logging
from dialer.settings import Settings

HOST = "127.0.0.1"
#: The worker looks for calls to place this often at most (real time), whatever the speed.
MIN_DISPATCH_INTERVAL = timedelta(milliseconds=100)
_spawn = multiprocessing.get_context("spawn")


class PortInUseError(DialerError):
    """The dashboard's port is taken."""


def free_port(port: int) -> int:
    """`port` when it can be listened on (a free one for 0); a clear error when it is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            raise PortInUseError(
                f"port {port} on {HOST} is in use; stop what listens there or pass --port"
            ) from None
        bound: int = probe.getsockname()[1]
        return bound


def start_web(settings: Settings, clock: DemoClock, port: int, log: Path) -> BaseProcess:
    """The Flask app (webhooks and dashboard) on `port`, in its own process."""
    process = _spawn.Process(
        target=_serve_web, args=(settings, clock, port, log), name="dialer-web", daemon=True
    )
    process.start()
    return process


def start_worker(settings: Settings, clock: DemoClock, log: Path) -> BaseProcess:
    """`dialer run`'s worker on the demo's clock, in its own process."""
    process = _spawn.Process(
        target=_run_worker, args=(settings, clock, log), name="dialer-worker", daemon=True
    )
    process.start()
    return process


def wait_until_serving(url: str, process: BaseProcess, timeout: float = 30.0) -> None:
    """Return once `url` answers; an error when the process died or the time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.is_alive():
            raise DialerError(f"the web app stopped while starting (exit code {process.exitcode})")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1.0):
            return
        time.sleep(0.1)
    raise DialerError(f"the web app did not answer at {url} within {timeout:.0f} s")


def stop(process: BaseProcess, timeout: float = 30.0) -> None:
    """SIGTERM, then wait; SIGKILL when it does not stop in time."""
    if process.is_alive():
        process.terminate()
        process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join()


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _serve_web(settings: Settings, clock: DemoClock, port: int, log: Path) -> None:
    from web import create_app

    _ignore_interrupts()
    with log.open("a", encoding="utf-8") as stream:
        configure_logging(settings, stream=stream)
        app = create_app(settings, clock=clock.clock())
        server = make_server(HOST, port, app, threaded=True, request_handler=_QuietHandler)
        stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda _signum, _frame: stopping.set())
        serving = threading.Thread(target=server.serve_forever, daemon=True)
        serving.start()
        stopping.wait()
        server.shutdown()


def _run_worker(settings: Settings, clock: DemoClock, log: Path) -> None:
    from dialer.db import make_engine
    from dialer.reconcile import UNPLACED_AFTER
    from dialer.telephony.twilio import TwilioProvider
    from dialer.worker import DISPATCH_INTERVAL, ConfigWatcher, Worker, stop_on_signals

    _ignore_interrupts()
    with log.open("a", encoding="utf-8") as stream:
        configure_logging(settings, stream=stream)
        now = clock.clock()
        worker = Worker(
            settings=settings,
            engine=make_engine(settings.database_url),
            config=ConfigWatcher.load(settings.campaigns_path),
            dispatch_provider=TwilioProvider.from_settings(settings),
            reconcile_provider=TwilioProvider.from_settings(settings),
            clock=now,
            options=_dispatch_options(now, clock.speed),
            dispatch_interval=max(DISPATCH_INTERVAL / clock.speed, MIN_DISPATCH_INTERVAL),
            unplaced_after=UNPLACED_AFTER * clock.speed,
        )
        stopping = threading.Event()
        try:
            with stop_on_signals(stopping):
                worker.serve(stopping)
        finally:
            worker.engine.dispose()


def _dispatch_options(now: Clock, speed: float) -> DispatchOptions:
    """The production options with their real-time margins (how far ahead slots are handed
    out, the lead before the first, the lateness tolerated) stretched to simulated time, so
    that the dispatcher behaves at `speed` as it does in real time."""
    defaults = DispatchOptions()
    return replace(
        defaults,
        horizon=defaults.horizon * speed,
        lead=defaults.lead * speed,
        late_tolerance=defaults.late_tolerance * speed,
        wait_until=clock_waiter(now, speed),
    )


def _ignore_interrupts() -> None:
    """Ctrl-C reaches the whole process group; the parent decides how the children stop."""

    def ignore(_signum: int, _frame: FrameType | None) -> None:
        pass

    signal.signal(signal.SIGINT, ignore)
