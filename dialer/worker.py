"""The worker (`dialer run`): APScheduler jobs around dispatch, reconciliation and the lists.

Jobs, each in its own thread, never two runs of one job at once (a late run is coalesced):

- dispatch, every `DISPATCH_INTERVAL`: ticks back to back while there is more to dial now,
  for at most `DRAIN_BUDGET`, each tick with its own clock reading. Safe on every worker.
- reconciliation, every `RECONCILE_INTERVAL` and once before anything else at start-up:
  attempts a crash or a timeout left unsettled, and stored callbacks never applied.
- configuration, every `CONFIG_CHECK_INTERVAL`: when campaigns.yaml changes (size, time, then
  content), reload it; a file with mistakes is refused with every problem logged, and the last
  good configuration stays in force. A new configuration refreshes the lists.
- list refresh, daily at `LIST_REFRESH_AT` in the company's time zone.
- connect, as often as dispatch: call free operators for the callers waiting in the hold queues
  (`dialer.operator_bridge`).

On PostgreSQL, reconciliation, list refresh and connect run on one worker at a time: each run
first takes a session-level advisory lock (`pg_try_advisory_lock`, scoped to the schema by
`dialer.db.advisory_key`) and skips when another worker of the same schema holds it. On
SQLite (one machine, one worker) there is nothing to elect.

SIGTERM and SIGINT stop the scheduling of new runs; a dispatch run stops between two ticks, and
the worker exits 0 once the running jobs have finished, so no attempt is left half-written.
"""

from __future__ import annotations

import hashlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, Final

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dialer.callbacks import apply_pending_events
from dialer.campaigns import Config, ConfigError, load_config, parse_config
from dialer.clock import Clock, system_clock
from dialer.db import advisory_key, make_engine, make_session_factory
from dialer.dispatch import (
    DispatchOptions,
    TickResult,
    clock_waiter,
    dispatch_tick,
    public_base_url,
)
from dialer.lists import build_all
from dialer.log import configure_logging, log_event
from dialer.operator_bridge import connect_operators
from dialer.reconcile import UNPLACED_AFTER, reconcile
from dialer.settings import Settings
from dialer.telephony import TelephonyProvider
from dialer.telephony.twilio import TwilioProvider

logger = logging.getLogger(__name__)

DISPATCH_INTERVAL: Final = timedelta(seconds=1)
DRAIN_BUDGET: Final = timedelta(seconds=10)
RECONCILE_INTERVAL: Final = timedelta(minutes=1)
CONFIG_CHECK_INTERVAL: Final = timedelta(seconds=5)
LIST_REFRESH_AT: Final = (8, 0)

#: Advisory lock keys of the singleton jobs ("dialer" in ASCII, then a job number).
RECONCILE_LOCK: Final = 0x6469616C65720001
LIST_REFRESH_LOCK: Final = 0x6469616C65720002
CONNECT_LOCK: Final = 0x6469616C65720003


class ConfigWatcher:
    """The configuration in force, and the file it came from, checked for changes."""

    def __init__(
        self, path: Path, config: Config, data: bytes, stat: tuple[int, int] | None
    ) -> None:
        self.path = path
        self.config = config
        self._stat = stat
        self._digest = self._digest_of(data)

    @classmethod
    def load(cls, path: Path) -> ConfigWatcher:
        """Read the file; a `ConfigError` here stops the worker before it starts."""
        stat = _stat_of(path)
        try:
            data = path.read_bytes()
        except OSError:
            load_config(path)  # words the problem for the user (missing, a directory, ...)
            raise
        return cls(path, parse_config(data, str(path)), data, stat)

    def check(self) -> bool:
        """Reload when the file changed; True when a new configuration is now in force."""
        stat = _stat_of(self.path)
        if stat == self._stat:
            return False
        self._stat = stat
        try:
            data = self.path.read_bytes()
        except OSError as error:
            log_event(logger, "config_unreadable", level=logging.ERROR, error=str(error))
            return False
        digest = self._digest_of(data)
        if digest == self._digest:
            return False
        self._digest = digest
        try:
            config = parse_config(data, str(self.path))
        except ConfigError as error:
            error.log_refused(logger, self.path, level=logging.ERROR)
            return False
        self.config = config
        log_event(logger, "config_reloaded", path=str(self.path), campaigns=len(config.campaigns))
        return True

    @staticmethod
    def _digest_of(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()


def _stat_of(path: Path) -> tuple[int, int] | None:
    """What changes when the file is written: modification time and size."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


@contextmanager
def singleton(engine: Engine, key: int) -> Iterator[bool]:
    """Whether this process may run the job now: holds a PostgreSQL advisory lock for the
    duration, released at the end (or by the server if the connection dies). Always True on
    SQLite."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as connection:
        acquired = connection.scalar(sa.select(sa.func.pg_try_advisory_lock(*advisory_key(key))))
        connection.commit()
        try:
            yield bool(acquired)
        finally:
            if acquired:
                connection.scalar(sa.select(sa.func.pg_advisory_unlock(*advisory_key(key))))
                connection.commit()


@dataclass
class Worker:
    """The jobs of one worker process, callable one by one (tests, `--once`) or scheduled."""

    settings: Settings
    engine: Engine
    config: ConfigWatcher
    dispatch_provider: TelephonyProvider
    reconcile_provider: TelephonyProvider
    clock: Clock = system_clock
    options: DispatchOptions | None = None
    #: Real time between dispatch runs; shorter under a simulated clock that runs faster.
    dispatch_interval: timedelta = DISPATCH_INTERVAL
    #: How long (by `clock`) an attempt may wait for its create before reconciliation gives
    #: it up; longer under a simulated clock, where a create still takes real seconds.
    unplaced_after: timedelta = UNPLACED_AFTER

    def __post_init__(self) -> None:
        self.sessions: sessionmaker[Session] = make_session_factory(self.engine)
        self.stopping = threading.Event()
        public_base_url(self.settings)  # refuse to start without it
        if self.options is None:
            self.options = DispatchOptions(wait_until=clock_waiter(self.clock))

    @classmethod
    def from_settings(cls, settings: Settings) -> Worker:
        return cls(
            settings=settings,
            engine=make_engine(settings.database_url),
            config=ConfigWatcher.load(settings.campaigns_path),
            dispatch_provider=TwilioProvider.from_settings(settings),
            reconcile_provider=TwilioProvider.from_settings(settings),
            clock=system_clock,
        )

    def dispatch_once(self) -> TickResult:
        """One tick at the current instant."""
        return dispatch_tick(
            self.sessions,
            self.config.config,
            self.dispatch_provider,
            self.settings,
            now=self.clock(),
            options=self.options,
        )

    def dispatch_job(self) -> None:
        """Ticks back to back while there is more to dial now, until the budget or a stop."""
        deadline = time.monotonic() + DRAIN_BUDGET.total_seconds()
        while not self.stopping.is_set():
            result = self.dispatch_once()
            if result.claimed or result.paused_until:
                log_event(logger, "dispatch_tick", **vars(result))
            if not result.more or time.monotonic() >= deadline:
                return

    def reconcile_job(self) -> None:
        """Settle stuck attempts and replay stored callbacks, on one worker at a time."""
        with singleton(self.engine, RECONCILE_LOCK) as elected:
            if not elected:
                return
            now = self.clock()
            reconcile(
                self.sessions,
                self.config.config,
                self.reconcile_provider,
                now=now,
                unplaced_after=self.unplaced_after,
            )
            with self.sessions() as session:
                replay = apply_pending_events(session, self.config.config, now=now)
            if replay.applied or replay.failed:
                log_event(logger, "events_replayed", applied=replay.applied, failed=replay.failed)

    def refresh_lists_job(self) -> None:
        """Rebuild every campaign's call list, on one worker at a time."""
        with singleton(self.engine, LIST_REFRESH_LOCK) as elected:
            if not elected:
                return
            for built in build_all(self.engine, self.config.config, now=self.clock()):
                log_event(
                    logger,
                    "list_built",
                    campaign_id=built.campaign_id,
                    skipped=built.skipped,
                    new=built.new,
                    retired=built.retired,
                    pending=built.pending,
                    suppressed=built.suppressed_total,
                )

    def connect_job(self) -> None:
        """Call operators for waiting callers, on one worker at a time (so that no operator is
        called twice). Uses the reconciliation provider: dispatch's is busy in its own thread."""
        with singleton(self.engine, CONNECT_LOCK) as elected:
            if not elected:
                return
            result = connect_operators(
                self.sessions,
                self.config.config,
                self.reconcile_provider,
                self.settings,
                now=self.clock(),
            )
            if result.placed or result.failed or result.unresolved:
                log_event(logger, "operators_called", **vars(result))

    def config_job(self) -> None:
        """Adopt a changed campaigns.yaml, then refresh the lists for it."""
        if self.config.check():
            self.refresh_lists_job()

    def run_once(self) -> None:
        """One reconciliation and one dispatch tick (cron, tests)."""
        self.reconcile_job()
        result = self.dispatch_once()
        log_event(logger, "dispatch_tick", **vars(result))

    def serve(self, stop: threading.Event) -> None:
        """Run the jobs until `stop` is set, then let the running ones finish."""
        _guarded(self.reconcile_job, "reconcile")()
        scheduler = BackgroundScheduler(timezone=UTC)
        self.schedule(scheduler)
        scheduler.start()
        log_event(logger, "worker_started")
        try:
            stop.wait()
        finally:
            self.stopping.set()
            scheduler.shutdown(wait=True)
            log_event(logger, "worker_stopped")

    def schedule(self, scheduler: BackgroundScheduler) -> None:
        every: dict[str, Any] = {"max_instances": 1, "coalesce": True}
        scheduler.add_job(
            _guarded(self.dispatch_job, "dispatch"),
            IntervalTrigger(seconds=self.dispatch_interval.total_seconds()),
            id="dispatch",
            misfire_grace_time=1,
            **every,
        )
        scheduler.add_job(
            _guarded(self.connect_job, "connect"),
            IntervalTrigger(seconds=self.dispatch_interval.total_seconds()),
            id="connect",
            misfire_grace_time=1,
            **every,
        )
        scheduler.add_job(
            _guarded(self.reconcile_job, "reconcile"),
            IntervalTrigger(seconds=RECONCILE_INTERVAL.total_seconds()),
            id="reconcile",
            **every,
        )
        scheduler.add_job(
            _guarded(self.config_job, "config"),
            IntervalTrigger(seconds=CONFIG_CHECK_INTERVAL.total_seconds()),
            id="config",
            **every,
        )
        hour, minute = LIST_REFRESH_AT
        zone = self.config.config.company.timezone
        scheduler.add_job(
            _guarded(self.refresh_lists_job, "list_refresh"),
            CronTrigger(hour=hour, minute=minute, timezone=zone),
            id="list_refresh",
            **every,
        )


def _guarded(job: Callable[[], None], name: str) -> Callable[[], None]:
    """The job with its failure logged as one event; the next run tries again."""

    def run() -> None:
        try:
            job()
        except Exception:
            # A boundary: a database or provider outage must not stop the scheduler.
            log_event(logger, "job_failed", level=logging.ERROR, exc_info=True, job=name)

    return run


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Set `stop` on SIGTERM or SIGINT while inside the block (main thread only)."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        log_event(logger, "signal_received", signal=signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_worker(settings: Settings, *, once: bool = False) -> int:
    """`dialer run [--once]`: the exit code (0 after a clean stop)."""
    configure_logging(settings)
    worker = Worker.from_settings(settings)
    try:
        if once:
            worker.run_once()
            return 0
        stop = threading.Event()
        with stop_on_signals(stop):
            worker.serve(stop)
        return 0
    finally:
        worker.engine.dispose()
