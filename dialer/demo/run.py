"""`dialer demo`: set up, run the afternoon, report, then serve the dashboard until Ctrl-C."""

from __future__ import annotations

import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from dialer.campaigns import Config
from dialer.db import make_engine, make_session_factory
from dialer.demo import processes
from dialer.demo.clock import DemoClock
from dialer.demo.day import demo_start
from dialer.demo.desk import Desk
from dialer.demo.progress import Snapshot, progress_line, snapshot
from dialer.demo.summary import summary_data, summary_lines, write_summary
from dialer.demo.workspace import SUPERVISOR, Prepared, Workspace, populate, prepare
from dialer.errors import DialerError
from dialer.sandbox import Sandbox, SandboxConfig, operators_from_config
from dialer.settings import Settings

#: How long the idle state must last before the afternoon counts as done (real seconds): a
#: retry or a callback may make an entry due again a moment after the line went quiet.
IDLE_CONFIRM_SECONDS = 3.0
#: After the dialling stops, how long the clock runs on so that calls on the line can end.
WIND_DOWN = timedelta(minutes=20)


@dataclass(frozen=True)
class DemoOptions:
    """What `dialer demo` was asked for."""

    directory: Path = Path("demo")
    customers: int = 2000
    seed: int = 0
    speed: float = 150.0
    hours: float = 4.0
    port: int = 8000
    exit_when_done: bool = False
    day: date | None = None


class ChildProcessError(DialerError):
    """The web app or the worker stopped on its own."""


def run_demo(
    options: DemoOptions,
    settings: Settings,
    config: Config,
    *,
    today: date,
    out: TextIO = sys.stdout,
    stop: threading.Event | None = None,
) -> int:
    """Run the demo; the exit code. `stop` ends the serving after the report (Ctrl-C and
    SIGTERM do too)."""
    with _sigterm_as_interrupt():
        return _run(options, settings, config, today=today, out=out, stop=stop)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a `kill`, a container or service manager stopping the demo) takes Ctrl-C's
    path, so that the web and worker processes are stopped with it rather than orphaned."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(
    options: DemoOptions,
    settings: Settings,
    config: Config,
    *,
    today: date,
    out: TextIO,
    stop: threading.Event | None,
) -> int:
    say = _printer(out)
    zone = ZoneInfo(config.company.timezone)
    start = demo_start(config, options.day or today)
    port = processes.free_port(options.port)
    workspace = prepare(options.directory)
    say(f"デモ環境を {workspace.directory} に用意しています…")
    prepared = populate(
        workspace, config, customers=options.customers, seed=options.seed, now=start
    )
    _report_setup(say, prepared, start, zone)

    demo_settings = _settings(settings, workspace, port)
    until = start + timedelta(hours=options.hours)
    sandbox = Sandbox(_sandbox_config(demo_settings, config, options, start), port=0)
    web: BaseProcess | None = None
    worker: BaseProcess | None = None
    engine = make_engine(workspace.database_url)
    try:
        sandbox.start()
        clock = DemoClock.of(sandbox.clock, until + WIND_DOWN)
        demo_settings = replace(demo_settings, twilio_api_base_url=sandbox.base_url)
        web = processes.start_web(demo_settings, clock, port, workspace.log("web"))
        processes.wait_until_serving(f"{demo_settings.public_base_url}/healthz", web)
        worker = processes.start_worker(demo_settings, clock, workspace.log("worker"))
        local = start.astimezone(zone)
        say(f"発信を開始します（模擬時刻 {local:%m/%d %H:%M}、{options.speed:g} 倍速）")
        began = time.monotonic()
        sessions = make_session_factory(engine)
        now = clock.clock()
        desk = Desk(config, now, options.seed)
        with sessions() as session:
            last = _dial(
                lambda: _settled_snapshot(desk, session, config, now()),
                lambda snap: snap.now >= until,
                [web, worker],
                say_live=_live_printer(out, zone),
            )
            processes.stop(worker)
            last = _dial(
                lambda: _settled_snapshot(desk, session, config, now()),
                lambda snap: snap.overview.today.live == 0 or snap.now >= until + WIND_DOWN,
                [web],
                say_live=_live_printer(out, zone),
                confirm=0.0,
            )
        real_seconds = time.monotonic() - began
        out.write("\n")
        for line in summary_lines(last.overview, started=start, real_seconds=real_seconds):
            say(line)
        write_summary(
            workspace.summary,
            summary_data(
                last.overview, started=start, real_seconds=real_seconds, speed=options.speed
            ),
        )
        say("")
        say(
            f"ダッシュボード: {demo_settings.public_base_url}/  "
            f"(ユーザー {SUPERVISOR} / パスワード {prepared.password})"
        )
        say(f"ログ: {workspace.log('web')}, {workspace.log('worker')}  集計: {workspace.summary}")
        if not options.exit_when_done:
            say("Ctrl-C で終了します。")
            _serve_until_stopped(stop or threading.Event(), web)
        return 0
    finally:
        # The sandbox before the web app, so that no call is left posting to a closed port.
        if worker is not None:
            processes.stop(worker)
        sandbox.stop()
        if web is not None:
            processes.stop(web)
        engine.dispose()


def _dial(
    read: Callable[[], Snapshot],
    over: Callable[[Snapshot], bool],
    children: list[BaseProcess],
    *,
    say_live: Callable[[Snapshot], None],
    confirm: float = IDLE_CONFIRM_SECONDS,
) -> Snapshot:
    """Show the progress once a second until `over` holds, or until nothing is left to do
    for `confirm` seconds; the last snapshot."""
    idle_since: float | None = None
    while True:
        _check_alive(children)
        snap = read()
        say_live(snap)
        if over(snap):
            return snap
        if snap.idle:
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= confirm:
                return snap
        else:
            idle_since = None
        time.sleep(1.0)


def _settled_snapshot(desk: Desk, session: Session, config: Config, now: datetime) -> Snapshot:
    """The operators' dispositions for the calls that ended, then the figures."""
    desk.settle(session)
    return snapshot(session, config, now)


def _check_alive(children: list[BaseProcess]) -> None:
    for child in children:
        if not child.is_alive():
            raise ChildProcessError(
                f"the {child.name} process stopped (exit code {child.exitcode}); "
                "its log is in the demo directory"
            )


def _serve_until_stopped(stop: threading.Event, web: BaseProcess) -> None:
    try:
        while web.is_alive() and not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass


def _settings(settings: Settings, workspace: Workspace, port: int) -> Settings:
    """The demo's own database, sandbox credentials, webhook URL and session key."""
    return replace(
        settings,
        database_url=workspace.database_url,
        twilio_account_sid="AC" + secrets.token_hex(16),
        twilio_auth_token=secrets.token_hex(16),
        public_base_url=f"http://{processes.HOST}:{port}",
        secret_key=secrets.token_hex(32),
    )


def _sandbox_config(
    settings: Settings, config: Config, options: DemoOptions, start: datetime
) -> SandboxConfig:
    assert settings.twilio_account_sid and settings.twilio_auth_token
    return SandboxConfig(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        seed=options.seed,
        speed=options.speed,
        origin=start,
        cps=None,
        operators=operators_from_config(config, takes_from_queues=False),
        keep_history=False,
    )


def _report_setup(
    say: Callable[[str], None], prepared: Prepared, start: datetime, zone: ZoneInfo
) -> None:
    say(
        f"  顧客 {prepared.shop.customers.rows:,} 件、受注 {prepared.shop.orders.rows:,} 件、"
        f"定期 {prepared.shop.subscriptions.rows:,} 件（{start.astimezone(zone):%Y-%m-%d} 時点）"
    )
    for built in prepared.lists:
        say(f"  {built.campaign_id}: 発信待ち {built.pending:,} 件")


def _printer(out: TextIO) -> Callable[[str], None]:
    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    return say


def _live_printer(out: TextIO, zone: ZoneInfo) -> Callable[[Snapshot], None]:
    """Rewrites one line on a terminal; elsewhere (CI, a pipe) a line every ten seconds."""
    if out.isatty():

        def show(snap: Snapshot) -> None:
            out.write("\r\033[K" + progress_line(snap, zone))
            out.flush()

        return show
    last = [0.0]

    def log(snap: Snapshot) -> None:
        if time.monotonic() - last[0] >= 10.0:
            last[0] = time.monotonic()
            out.write(progress_line(snap, zone) + "\n")
            out.flush()

    return log
