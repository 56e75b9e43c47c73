"""Load and fault runs (issue 6): workers, gunicorn and the Twilio sandbox on PostgreSQL.

    python bench/bench_load.py [--calls 20000] [--faults] [--speed 60] [--workers 3]

A seeded synthetic shop is imported into a PostgreSQL schema of its own and the call lists of
`bench/load_campaigns.yaml` are built over it (at least `--calls` entries). The sandbox runs in
this process on simulated time, from 09:01 on the next open weekday; three `dialer run`
workers (`dialer.demo.processes.start_worker`, the demo's clock and dispatch options) and a
gunicorn master with two sync workers (`load_web`) share that clock. The limits in the campaign
file are far above what the machine reaches, so the machine sets the pace. Once the sandbox has
placed `--calls` calls, both campaigns are paused (as from the dashboard) and the run waits until
every call has ended, every callback is out and nothing is left in progress; then the
invariants are checked (`load_checks`).

The campaigns stay open until 19:49 simulated, so a run has 39,480 / `--speed` real seconds at
most (658 s at 60x): lower the speed for a run that needs longer (`--calls 20000` on a shared
2-core machine wants `--speed 10` or so); the run stops dialling at the close either way.

`--faults`: meanwhile a random worker is killed with SIGKILL every few seconds and restarted at
once, as a supervisor would, and the sandbox answers 10 % of call creates with 20429 or 20500
and holds 2 % past the client's timeout (with the call created).

Webhook latency is measured at the sandbox (`load_timing`): the round trip the simulated Twilio
sees, queueing in gunicorn's backlog included. The baseline is a run of status callbacks sent
one at a time to the idle app before the workers start; its ratio to the status callbacks under
load says what the load costs.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import secrets
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from multiprocessing.process import BaseProcess
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from bench_dispatch import DEFAULT_POSTGRES_URL
from load_checks import all_checks, explain_numbers, read_attempts
from load_timing import WebhookTimer, describe, percentile
from load_web import start_web

from dialer.calendar import is_callable
from dialer.campaign_control import pause
from dialer.campaigns import Config, calling_rules, load_config
from dialer.db import make_engine, make_session_factory, normalize_url, upgrade
from dialer.demo import processes
from dialer.demo.clock import DemoClock
from dialer.importer import import_file
from dialer.lists import build_all
from dialer.models.pacing import live_attempt_condition
from dialer.sandbox import (
    CallView,
    Delivery,
    Faults,
    Sandbox,
    SandboxConfig,
    operators_from_config,
)
from dialer.sandbox.calls import Webhook
from dialer.settings import Settings
from dialer.synthetic import write_shop_csvs

CAMPAIGNS = Path(__file__).with_name("load_campaigns.yaml")
KINDS = ("customers", "orders", "subscriptions", "mailings", "dnc")
#: The run starts at this local time on an open weekday and must be over by `CLOSE`.
OPEN_AT = (9, 1)
CLOSE_AT = (19, 49)
#: After the dialling stops, how long the workers' and the app's clock runs on (simulated).
WIND_DOWN = timedelta(hours=2)
BASELINE_REQUESTS = 300
#: This schema's tables whose statistics the dispatcher's queries need after the import.
ANALYZED = ("customers", "customer_phones", "orders", "subscriptions", "call_list_entries")
PROGRESS_SECONDS = 10.0


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls to place")
    parser.add_argument("--faults", action="store_true", help="kill workers, fault creates")
    parser.add_argument("--speed", type=float, default=60.0, help="simulated s per real s")
    parser.add_argument("--workers", type=int, default=3, help="dialer worker processes")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--customers", type=int, help="default: 1.3 per call")
    parser.add_argument("--kill-every", type=float, default=4.0, help="mean seconds (--faults)")
    parser.add_argument("--settle-timeout", type=float, default=240.0, help="real seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep-logs", action="store_true", help="keep the logs directory")
    parser.add_argument("--keep-db", action="store_true", help="keep the schema (to inspect)")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    )
    args = parser.parse_args(argv)
    if args.customers is None:
        args.customers = math.ceil(args.calls * 1.3) + 200
    return args


# --- set-up ------------------------------------------------------------------------------------


@contextmanager
def load_schema(server_url: str, keep: bool) -> Iterator[str]:
    """A migrated schema of its own on `server_url`, dropped afterwards unless `keep`."""
    server = normalize_url(server_url)
    schema = f"bench_load_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = server.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        upgrade(url.render_as_string(hide_password=False))
        yield url.render_as_string(hide_password=False)
    finally:
        if keep:
            print(f"schema {schema} kept")
        else:
            with admin.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def open_start(config: Config, today: date) -> datetime:
    """09:01 on the first day from tomorrow on when every campaign is open until 19:49."""
    zone = ZoneInfo(config.company.timezone)
    rules = [calling_rules(config, campaign.id) for campaign in config.campaigns]
    for offset in range(1, 60):
        day = today + timedelta(days=offset)
        start = datetime(day.year, day.month, day.day, *OPEN_AT, tzinfo=zone)
        close = datetime(day.year, day.month, day.day, *CLOSE_AT, tzinfo=zone)
        checks = [start + timedelta(minutes=m) for m in range(0, 11 * 60, 10)]
        checks = [at for at in checks if at < close] + [close]
        if all(is_callable(rule, at) for rule in rules for at in checks):
            return start
    raise SystemExit("no day in the next 60 open from 09:01 to 19:49 for every campaign")


def populate(
    url: str, config: Config, args: argparse.Namespace, start: datetime, work: Path
) -> int:
    """Import the shop as of `start` and build the call lists; the entries due."""
    began = time.perf_counter()
    shop = work / "shop"
    write_shop_csvs(shop, customers=args.customers, seed=args.seed, as_of=start.date())
    engine = make_engine(url)
    try:
        for kind in KINDS:
            import_file(engine, kind, shop / f"{kind}.csv", now=start)
        built = build_all(engine, config, now=start)
        with engine.begin() as connection:
            connection.exec_driver_sql(f"ANALYZE {', '.join(ANALYZED)}")
    finally:
        engine.dispose()
    pending = sum(result.pending for result in built)
    lists = ", ".join(f"{result.campaign_id} {result.pending:,}" for result in built)
    print(
        f"shop: {args.customers:,} customers; lists: {lists} "
        f"({time.perf_counter() - began:.0f} s to set up)",
        flush=True,
    )
    return pending


def sandbox_config(
    settings: Settings, config: Config, args: argparse.Namespace, start: datetime
) -> SandboxConfig:
    assert settings.twilio_account_sid and settings.twilio_auth_token
    faults = (
        Faults(
            throttle_rate=0.05,
            server_error_rate=0.05,
            timeout_rate=0.02,
            timeout_hold_seconds=12.0,
        )
        if args.faults
        else Faults()
    )
    return SandboxConfig(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        seed=args.seed,
        speed=args.speed,
        origin=start,
        cps=None,
        operators=operators_from_config(config),
        faults=faults,
        delivery=Delivery(duplicate_rate=0.01, reorder_rate=0.01, workers=16),
        keep_history=False,
    )


# --- the processes -----------------------------------------------------------------------------


@dataclass
class Workers:
    """The dialer workers, restarted as soon as one dies, as a process supervisor would."""

    settings: Settings
    clock: DemoClock
    logs: Path
    processes: list[BaseProcess] = field(default_factory=list)
    kills: int = 0
    restarts: int = 0
    deaths: int = 0

    def start(self, count: int) -> None:
        self.processes = [self._spawn(number) for number in range(count)]

    def kill_one(self, rng: random.Random) -> None:
        number = rng.randrange(len(self.processes))
        victim = self.processes[number]
        if victim.pid is not None and victim.is_alive():
            os.kill(victim.pid, signal.SIGKILL)
            victim.join()
            self.kills += 1
        self.processes[number] = self._spawn(number)
        self.restarts += 1

    def supervise(self) -> None:
        """Restart any worker that stopped on its own (counted: none should)."""
        for number, process in enumerate(self.processes):
            if not process.is_alive():
                self.deaths += 1
                self.processes[number] = self._spawn(number)
                self.restarts += 1

    def stop(self) -> None:
        for process in self.processes:
            processes.stop(process)

    def _spawn(self, number: int) -> BaseProcess:
        log = self.logs / f"worker-{number}.log"
        return processes.start_worker(self.settings, self.clock, log)


def baseline(sandbox: Sandbox, timer: WebhookTimer, public: str) -> None:
    """Status callbacks for unknown calls, one at a time, to the idle app."""
    hook = Webhook(f"{public}/twilio/status")
    for number in range(BASELINE_REQUESTS):
        params = {
            "AccountSid": sandbox.config.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": f"CA{number:032x}",
            "CallStatus": "completed",
            "Direction": "outbound-api",
            "SequenceNumber": "0",
        }
        sandbox.rt.webhooks.send(hook, params)


# --- the run -----------------------------------------------------------------------------------


@dataclass
class Progress:
    """What the run watches once a second."""

    sandbox: Sandbox
    engine: sa.Engine
    operator_phones: frozenset[str]

    def calls(self) -> tuple[int, int]:
        """(calls placed to customers, calls still live)."""
        calls = [c for c in self.sandbox.rt.store if c.options.to not in self.operator_phones]
        return len(calls), sum(1 for call in calls if not call.is_final)

    def unsettled(self) -> tuple[int, int, int]:
        """(entries in progress, live attempts, callbacks not yet applied)."""
        query = sa.text(
            "SELECT (SELECT count(*) FROM call_list_entries WHERE state = 'in_progress'), "
            f"(SELECT count(*) FROM attempts WHERE {live_attempt_condition().text}), "
            "(SELECT count(*) FROM call_events WHERE applied_at IS NULL)"
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).one()
        return int(row[0]), int(row[1]), int(row[2])


@dataclass
class Timings:
    began: float = 0.0
    dialled: float = 0.0
    ended: float = 0.0
    settled: float = 0.0
    calls_at_pause: int = 0
    timed_out: bool = False


def dial(
    args: argparse.Namespace,
    workers: Workers,
    progress: Progress,
    web: BaseProcess,
    stop_dialling: Callable[[], None],
    closes: float,
) -> Timings:
    """Until `--calls` calls are placed (or the calendar closes), then until all is settled."""
    rng = random.Random(args.seed)
    timings = Timings(began=time.monotonic())
    next_kill = timings.began + rng.expovariate(1 / args.kill_every)
    last_print = timings.began
    while True:
        time.sleep(0.25)
        now = time.monotonic()
        if not web.is_alive():
            raise SystemExit(f"the web app stopped (exit code {web.exitcode})")
        workers.supervise()
        placed, live = progress.calls()
        if args.faults and now >= next_kill:
            workers.kill_one(rng)
            next_kill = now + rng.expovariate(1 / args.kill_every)
        if now - last_print >= PROGRESS_SECONDS:
            last_print = now
            _print_progress(now - timings.began, placed, live, workers)
        if placed >= args.calls or now >= closes:
            stop_dialling()
            timings.dialled, timings.calls_at_pause = now, placed
            break
    settle(args, progress, timings)
    return timings


def settle(args: argparse.Namespace, progress: Progress, timings: Timings) -> None:
    """Wait until every call has ended and every callback is out (`ended`), then until no
    entry, attempt or callback is left unsettled for three seconds (`settled`)."""
    deadline = time.monotonic() + args.settle_timeout
    quiet_since: float | None = None
    last_print = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = time.monotonic()
        _, live = progress.calls()
        idle = live == 0 and progress.sandbox.rt.outbox.idle()
        if idle and not timings.ended:
            timings.ended = now
        unsettled = progress.unsettled()
        if now - last_print >= PROGRESS_SECONDS:
            last_print = now
            print(
                f"  settling: {live} calls live; in progress / live attempts / unapplied "
                f"callbacks: {unsettled}",
                flush=True,
            )
        if idle and unsettled == (0, 0, 0):
            quiet_since = quiet_since or now
            if now - quiet_since >= 3.0:
                timings.settled = now
                return
        else:
            quiet_since = None
    timings.timed_out = True
    timings.settled = time.monotonic()
    timings.ended = timings.ended or timings.settled


def _print_progress(elapsed: float, placed: int, live: int, workers: Workers) -> None:
    load = os.getloadavg()[0]
    print(
        f"  {elapsed:6.0f} s  {placed:>7,} calls placed  {live:>4} live  "
        f"{placed / elapsed:6.1f} calls/s  load {load:4.1f}  kills {workers.kills}",
        flush=True,
    )


def run(args: argparse.Namespace, url: str, work: Path) -> bool:
    config = load_config(CAMPAIGNS)
    today = datetime.now(ZoneInfo(config.company.timezone)).date()
    start = open_start(config, today)
    pending = populate(url, config, args, start, work)
    if pending < args.calls:
        print(f"warning: only {pending:,} entries for {args.calls:,} calls (raise --customers)")
    port = processes.free_port(0)
    public = f"http://{processes.HOST}:{port}"
    settings = Settings(
        database_url=url,
        campaigns_path=CAMPAIGNS,
        twilio_account_sid="AC" + secrets.token_hex(16),
        twilio_auth_token=secrets.token_hex(16),
        public_base_url=public,
        secret_key=secrets.token_hex(32),
    )
    zone = ZoneInfo(config.company.timezone)
    close = datetime(start.year, start.month, start.day, *CLOSE_AT, tzinfo=zone)
    sandbox = Sandbox(sandbox_config(settings, config, args, start), port=0)
    timer = WebhookTimer()
    timer.attach(sandbox.rt.webhooks)
    engine = make_engine(url)
    web: BaseProcess | None = None
    workers: Workers | None = None
    try:
        sandbox.start()
        clock = DemoClock.of(sandbox.clock, close + WIND_DOWN)
        settings = replace(settings, twilio_api_base_url=sandbox.base_url)
        web = start_web(settings, clock, port, work, workers=args.web_workers)
        processes.wait_until_serving(f"{public}/healthz", web)
        baseline(sandbox, timer, public)
        timer.phase = "load"
        now = clock.clock()
        workers = Workers(settings, clock, work)
        print(
            f"dialling from {start.astimezone(zone):%a %Y-%m-%d %H:%M} (simulated, "
            f"{args.speed:g}x), {args.workers} workers, {args.web_workers} gunicorn workers"
            f"{', with faults' if args.faults else ''}; load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        load_before = os.getloadavg()[0]
        workers.start(args.workers)
        sessions = make_session_factory(engine)

        def stop_dialling() -> None:
            with sessions() as session, session.begin():
                for campaign in config.campaigns:
                    pause(session, campaign.id, by="bench", now=now(), reason="load run over")

        closes = sandbox.clock.start + (close - start).total_seconds() / args.speed
        operator_phones = frozenset(o.phone for o in config.operators if o.phone)
        progress = Progress(sandbox, engine, operator_phones)
        timings = dial(args, workers, progress, web, stop_dialling, closes)
        load_after = os.getloadavg()[0]
        workers.stop()
        calls = sandbox.calls()
        return report(
            args, engine, config, sandbox, timer, timings, workers, calls, (load_before, load_after)
        )
    finally:
        if workers is not None:
            workers.stop()
        if web is not None:
            processes.stop(web)
        sandbox.stop()
        engine.dispose()


def report(
    args: argparse.Namespace,
    engine: sa.Engine,
    config: Config,
    sandbox: Sandbox,
    timer: WebhookTimer,
    timings: Timings,
    workers: Workers,
    calls: list[CallView],
    loads: tuple[float, float],
) -> bool:
    operator_phones = frozenset(o.phone for o in config.operators if o.phone)
    placed = sum(1 for call in calls if call.to not in operator_phones)
    dial_seconds = timings.dialled - timings.began
    end_seconds = timings.ended - timings.began
    callbacks = timer.callbacks_accepted("load")
    base = timer.latencies("baseline")
    status_load = timer.latencies("load", ("status",))
    everything = timer.latencies("load")
    print()
    print(
        f"load run{' with faults' if args.faults else ''}: {placed:,} calls, "
        f"{args.workers} workers, {args.web_workers} gunicorn workers, speed {args.speed:g}x"
    )
    print(
        f"  dialling        {dial_seconds:8.1f} s   "
        f"{timings.calls_at_pause / dial_seconds:7.1f} calls/s"
    )
    print(
        f"  end to end      {end_seconds:8.1f} s   {placed / end_seconds:7.1f} calls/s "
        f"(first dial to last call ended, every callback out)"
    )
    print(f"  callbacks       {callbacks:8,}     {callbacks / end_seconds:7.1f} callbacks/s")
    print(
        f"  webhooks        {len(everything) / end_seconds:8.1f} requests/s (TwiML and callbacks)"
    )
    print(
        f"  settled after   {timings.settled - timings.began:8.1f} s"
        + (" (TIMED OUT)" if timings.timed_out else "")
    )
    print("webhook latency at the sandbox:")
    print(f"  idle baseline, status   {describe(base)}")
    print(f"  under load, status      {describe(status_load)}")
    print(f"  under load, all routes  {describe(everything)}")
    for route in sorted({route for _, route, _, _ in timer.records}):
        values = timer.latencies("load", (route,))
        if values:
            print(f"    {route:<8}              {describe(values)}")
    if base and status_load:
        ratio = percentile(status_load, 0.99) / percentile(base, 0.99)
        print(f"  p99 status callback, load / idle: {ratio:.1f}")
    answers = timer.statuses("load")
    print("  answers: " + ", ".join(f"{key} {n:,}" for key, n in sorted(answers.items())))
    print(
        f"machine: {os.cpu_count()} CPUs, load average {loads[0]:.1f} before, {loads[1]:.1f} "
        f"at the end of dialling (other sessions' tests share it)"
    )
    if args.faults:
        print(
            f"faults: {workers.kills} workers killed (SIGKILL) and restarted; "
            f"{workers.deaths} stopped on their own"
        )
    _print_outcomes(engine)
    checks = all_checks(engine, config, calls, timer.accepted)
    print("invariants:")
    for check in checks:
        print(check.line())
    customer_calls = [call for call in calls if call.to not in operator_phones]
    details = explain_numbers(read_attempts(engine), customer_calls)
    if details:
        print("  numbers called twice at once (sandbox), with their attempts:")
        print("\n".join(details))
    return all(check.ok for check in checks)


def _print_outcomes(engine: sa.Engine) -> None:
    query = sa.text(
        "SELECT coalesce(outcome, '-'), count(*) FROM attempts GROUP BY 1 ORDER BY 2 DESC"
    )
    with engine.connect() as connection:
        rows = list(connection.execute(query))
    total = sum(count for _, count in rows)
    print(f"attempts: {total:,} (" + ", ".join(f"{o} {n:,}" for o, n in rows) + ")")


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments(argv)
    work = Path(tempfile.mkdtemp(prefix="bench_load_"))
    print(f"logs in {work}", flush=True)
    ok = False
    try:
        with load_schema(args.postgres_url, args.keep_db) as url:
            ok = run(args, url, work)
    finally:
        if args.keep_logs or not ok:
            print(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
