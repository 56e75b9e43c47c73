"""The `dialer` command line: parse arguments, call the domain, turn domain errors into exit codes.

No logic lives here. A mistake a user can make ends as one clear line on stderr and exit code 2;
a traceback means a bug.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from dialer.errors import DialerError
from dialer.settings import Settings

EXIT_OK = 0
EXIT_USAGE = 2


class UserError(DialerError):
    """A mistake in how the command was called: printed, never a traceback."""


Handler = Callable[[argparse.Namespace, Settings], int]


def _campaigns_path(args: argparse.Namespace, settings: Settings) -> Path:
    explicit: str | None = getattr(args, "campaigns", None) or getattr(args, "path", None)
    return Path(explicit) if explicit else settings.campaigns_path


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """Validate campaigns.yaml and list every problem with its line."""
    from dialer.campaigns import ConfigError, load_config

    path = _campaigns_path(args, settings)
    try:
        config = load_config(path)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return EXIT_USAGE
    print(f"{path}: OK ({len(config.campaigns)} campaigns)")
    return EXIT_OK


def cmd_calendar(args: argparse.Namespace, settings: Settings) -> int:
    """Show, per date, the open calling intervals of a campaign or why the day is closed."""
    from dialer.calendar import day_schedule, schedules_as_json, schedules_as_table
    from dialer.campaigns import ConfigError, calling_rules, load_config

    if args.to_date < args.from_date:
        raise UserError(f"--to {args.to_date} is before --from {args.from_date}")
    if (args.to_date - args.from_date).days > 3660:
        raise UserError("the range is longer than ten years; ask for a shorter one")
    try:
        config = load_config(_campaigns_path(args, settings))
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return EXIT_USAGE
    rules = calling_rules(config, args.campaign)
    days = [
        day_schedule(rules, date.fromordinal(ordinal))
        for ordinal in range(args.from_date.toordinal(), args.to_date.toordinal() + 1)
    ]
    if args.json:
        print(json.dumps(schedules_as_json(days), ensure_ascii=False, indent=2))
    else:
        print(schedules_as_table(days))
    return EXIT_OK


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    """Apply the database migrations up to the newest."""
    from dialer.db import current_revision, upgrade

    upgrade(settings.database_url)
    print(f"database at revision {current_revision(settings.database_url)}")
    return EXIT_OK


def _add_campaigns_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--campaigns",
        metavar="PATH",
        help="campaign file (default: $DIALER_CAMPAIGNS, then ./campaigns.yaml)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree; each leaf sets `handler`."""
    parser = argparse.ArgumentParser(prog="dialer", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="validate campaigns.yaml")
    check.add_argument("path", nargs="?", help="campaign file to check")
    _add_campaigns_option(check)
    check.set_defaults(handler=cmd_check)

    calendar = commands.add_parser("calendar", help="open calling intervals per date")
    calendar.add_argument("campaign", help="campaign id")
    calendar.add_argument("--from", dest="from_date", type=_parse_date, required=True)
    calendar.add_argument("--to", dest="to_date", type=_parse_date, required=True)
    calendar.add_argument("--json", action="store_true", help="machine-readable output")
    _add_campaigns_option(calendar)
    calendar.set_defaults(handler=cmd_calendar)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    db_upgrade = db_commands.add_parser("upgrade", help="apply migrations up to the newest")
    db_upgrade.set_defaults(handler=cmd_db_upgrade)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `dialer` console script."""
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    handler: Handler = args.handler
    try:
        return handler(args, settings)
    except DialerError as error:
        print(f"dialer {args.command}: {error}", file=sys.stderr)
        return EXIT_USAGE
