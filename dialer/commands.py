"""What each `dialer` subcommand does, given parsed arguments and the settings.

Each handler loads what it needs, calls one domain function and prints its report. Domain
errors propagate to `dialer.cli.main`, which prints them as one line and exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from dialer.campaigns import Config, load_config
from dialer.clock import system_clock
from dialer.errors import DialerError
from dialer.settings import Settings

EXIT_OK = 0


class UsageError(DialerError):
    """A mistake in how the command was called: printed, never a traceback."""


class DatabaseNotReadyError(DialerError):
    """The database has not been migrated to the schema this version expects."""


def now() -> datetime:
    """The one place the commands read the clock; the domain receives it as an argument."""
    return system_clock()


def campaigns_path(args: argparse.Namespace, settings: Settings) -> Path:
    """`--campaigns` (or `check`'s positional path), then $DIALER_CAMPAIGNS, then the default."""
    explicit: str | None = getattr(args, "campaigns", None) or getattr(args, "path", None)
    return Path(explicit) if explicit else settings.campaigns_path


def config_of(args: argparse.Namespace, settings: Settings) -> Config:
    """The validated campaigns; a `ConfigError` lists every problem."""
    return load_config(campaigns_path(args, settings))


def migrated_engine(settings: Settings) -> Engine:
    """An engine on a database at the newest revision, or a clear instruction to migrate."""
    from dialer.db import current_revision, head_revision, make_engine

    if current_revision(settings.database_url) != head_revision():
        raise DatabaseNotReadyError(
            "the database is not at the newest schema; run `dialer db upgrade` first"
        )
    return make_engine(settings.database_url)


@contextmanager
def session_for(settings: Settings) -> Iterator[Session]:
    """One session for one command, closed (and its engine disposed) at the end."""
    from dialer.db import make_session_factory

    engine = migrated_engine(settings)
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def print_json(data: Any) -> None:
    """Stable, readable JSON with Japanese kept as written."""
    print(json.dumps(data, ensure_ascii=False, indent=2))


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """Validate campaigns.yaml and list every problem with its line."""
    config = config_of(args, settings)
    print(f"{campaigns_path(args, settings)}: OK ({len(config.campaigns)} campaigns)")
    return EXIT_OK


def cmd_calendar(args: argparse.Namespace, settings: Settings) -> int:
    """Show, per date, the open calling intervals of a campaign or why the day is closed."""
    from dialer.calendar import day_schedule, schedules_as_json, schedules_as_table
    from dialer.campaigns import calling_rules

    if args.to_date < args.from_date:
        raise UsageError(f"--to {args.to_date} is before --from {args.from_date}")
    if (args.to_date - args.from_date).days > 3660:
        raise UsageError("the range is longer than ten years; ask for a shorter one")
    rules = calling_rules(config_of(args, settings), args.campaign)
    first, last = args.from_date.toordinal(), args.to_date.toordinal()
    days = [day_schedule(rules, date.fromordinal(day)) for day in range(first, last + 1)]
    if args.json:
        print_json(schedules_as_json(days))
    else:
        print(schedules_as_table(days))
    return EXIT_OK


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    """Apply the database migrations up to the newest."""
    from dialer.db import current_revision, upgrade

    upgrade(settings.database_url)
    print(f"database at revision {current_revision(settings.database_url)}")
    return EXIT_OK


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    """Import one CSV file; bad rows go to the rejects report, good rows land."""
    from dialer.importer import ProgressBar, import_file, summary_lines

    engine = migrated_engine(settings)
    report = Path(args.report) if args.report else None
    try:
        with ProgressBar(args.kind) as bar:
            summary = import_file(
                engine, args.kind, Path(args.file), now=now(), report_path=report, progress=bar
            )
    finally:
        engine.dispose()
    for line in summary_lines(summary):
        print(line)
    return EXIT_OK


def cmd_lists_build(args: argparse.Namespace, settings: Settings) -> int:
    """Refresh the call lists (one campaign or all) and print counts per suppression reason."""
    from dialer.lists import build_all, build_list
    from dialer.lists_report import build_results_as_json, build_results_as_text

    config = config_of(args, settings)
    with session_for(settings) as session:
        if args.campaign:
            config.campaign(args.campaign)
            results = [build_list(session, config, args.campaign, now=now())]
        else:
            results = build_all(session, config, now=now())
    if args.json:
        print_json(build_results_as_json(results, config))
    else:
        print(build_results_as_text(results))
    return EXIT_OK


def cmd_plan(args: argparse.Namespace, settings: Settings) -> int:
    """Dry run: who would be called, in which order, and when; nothing is written."""
    from dialer.plan import plan
    from dialer.plan_report import plan_as_json, plan_as_text

    config = config_of(args, settings)
    with session_for(settings) as session:
        result = plan(session, config, args.campaign, now=now(), limit=args.limit)
    if args.json:
        print_json(plan_as_json(result))
    else:
        print(plan_as_text(result))
    return EXIT_OK


def cmd_why(args: argparse.Namespace, settings: Settings) -> int:
    """Why this customer is (not) called, campaign by campaign."""
    from dialer.why import why
    from dialer.why_report import why_as_json, why_as_text

    config = config_of(args, settings)
    with session_for(settings) as session:
        report = why(session, config, args.customer_id, now=now())
    if args.json:
        print_json(why_as_json(report))
    else:
        print(why_as_text(report))
    return EXIT_OK


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """The worker: list refresh, dispatch ticks and reconciliation until SIGTERM."""
    from dialer.worker import run_worker

    migrated_engine(settings).dispose()
    return run_worker(settings, once=args.once)


def cmd_sandbox(args: argparse.Namespace, settings: Settings) -> int:
    """The local Twilio-compatible sandbox, until Ctrl-C."""
    from dialer.sandbox import run_sandbox

    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        raise UsageError(
            "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN: the sandbox checks the same "
            "credentials as Twilio and signs its callbacks with the token"
        )
    run_sandbox(
        args.host,
        args.port,
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        seed=args.seed,
        speed=args.speed,
        on_ready=lambda url: print(f"sandbox listening: TWILIO_API_BASE_URL={url}", flush=True),
    )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """The one-command demonstration: shop, lists, sandbox, web app and worker, then the KPIs."""
    from dialer.demo import DemoOptions, run_demo

    if args.customers < 1 or args.speed <= 0 or args.hours <= 0:
        raise UsageError("--customers, --speed and --hours must be positive")
    options = DemoOptions(
        directory=args.dir,
        customers=args.customers,
        seed=args.seed,
        speed=args.speed,
        hours=args.hours,
        port=args.port,
        exit_when_done=args.exit,
        day=args.date,
    )
    # The web app and the worker read the file the demo was given, wherever they run from.
    settings = replace(settings, campaigns_path=campaigns_path(args, settings).resolve())
    config = load_config(settings.campaigns_path)
    return run_demo(
        options, settings, config, today=now().astimezone(ZoneInfo(config.company.timezone)).date()
    )


def cmd_users_add(args: argparse.Namespace, settings: Settings) -> int:
    """Create a dashboard account; the password comes from stdin or a prompt, never argv."""
    from getpass import getpass

    from dialer.users import create_user, password_from_prompt, password_from_stream

    if args.password_stdin:
        password = password_from_stream(sys.stdin)
    else:
        password = password_from_prompt(getpass)
    with session_for(settings) as session:
        user = create_user(session, args.name, role=args.role, password=password, now=now())
        print(f"user {user.username} added ({user.role})")
    return EXIT_OK
