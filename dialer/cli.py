"""The `dialer` command line: the command tree, and domain errors turned into exit codes.

No logic lives here or in `dialer.commands`. A mistake a user can make ends as clear lines on
stderr and exit code 2; a traceback means a bug.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from dialer import commands
from dialer.campaigns import ConfigError
from dialer.errors import DialerError
from dialer.settings import Settings

EXIT_USAGE = 2

Handler = Callable[[argparse.Namespace, Settings], int]


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _campaigns_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--campaigns",
        metavar="PATH",
        help="campaign file (default: $DIALER_CAMPAIGNS, then ./campaigns.yaml)",
    )


def _json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _command(
    commands_: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: Handler,
    help_text: str,
) -> argparse.ArgumentParser:
    parser = commands_.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(handler=handler)
    return parser


def _add_campaign_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = _command(sub, "check", commands.cmd_check, "validate campaigns.yaml")
    check.add_argument("path", nargs="?", help="campaign file to check")
    _campaigns_option(check)

    calendar = _command(
        sub, "calendar", commands.cmd_calendar, "open calling intervals of a campaign per date"
    )
    calendar.add_argument("campaign", help="campaign id")
    calendar.add_argument("--from", dest="from_date", type=_parse_date, required=True)
    calendar.add_argument("--to", dest="to_date", type=_parse_date, required=True)
    _json_option(calendar)
    _campaigns_option(calendar)


def _add_data_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    _command(db_sub, "upgrade", commands.cmd_db_upgrade, "apply migrations up to the newest")

    imp = _command(sub, "import", commands.cmd_import, "import a CSV file (UTF-8 or Shift_JIS)")
    imp.add_argument("kind", choices=["customers", "orders", "subscriptions", "mailings", "dnc"])
    imp.add_argument("file", help="the CSV file")
    imp.add_argument("--report", metavar="PATH", help="rejects report (default: FILE.rejects.csv)")


def _add_list_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lists = sub.add_parser("lists", help="call lists")
    lists_sub = lists.add_subparsers(dest="lists_command", required=True, metavar="COMMAND")
    build = _command(
        lists_sub, "build", commands.cmd_lists_build, "evaluate segments and refresh call lists"
    )
    build.add_argument("campaign", nargs="?", help="one campaign id (default: all)")
    _json_option(build)
    _campaigns_option(build)

    plan = _command(sub, "plan", commands.cmd_plan, "dry run: who would be called, and when")
    plan.add_argument("campaign", help="campaign id")
    plan.add_argument("--limit", type=int, metavar="N", help="show the first N calls")
    _json_option(plan)
    _campaigns_option(plan)

    why = _command(sub, "why", commands.cmd_why, "why a customer is or is not called")
    why.add_argument("customer_id", help="the shop's customer id")
    _json_option(why)
    _campaigns_option(why)


def _add_service_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = _command(sub, "run", commands.cmd_run, "the worker: list refresh, dispatch, reconcile")
    run.add_argument("--once", action="store_true", help="one reconciliation and dispatch tick")

    sandbox = _command(sub, "sandbox", commands.cmd_sandbox, "local Twilio-compatible sandbox")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument("--seed", type=int, default=0, help="seed of the simulated callees")
    sandbox.add_argument("--speed", type=float, default=1.0, help="time compression factor")

    demo = _command(
        sub, "demo", commands.cmd_demo, "a campaign afternoon end to end on the local sandbox"
    )
    _campaigns_option(demo)
    demo.add_argument("--dir", type=Path, default=Path("demo"), help="its directory (./demo)")
    demo.add_argument("--customers", type=int, default=2000, help="size of the sample shop")
    demo.add_argument("--seed", type=int, default=0, help="seed of the shop and the callees")
    demo.add_argument("--speed", type=float, default=150.0, help="simulated seconds per second")
    demo.add_argument("--hours", type=float, default=4.0, help="simulated hours of dialling")
    demo.add_argument("--port", type=int, default=8000, help="the dashboard's port (0: any)")
    demo.add_argument("--date", type=date.fromisoformat, help="the day to simulate (YYYY-MM-DD)")
    demo.add_argument("--exit", action="store_true", help="stop after the report (for CI)")

    users = sub.add_parser("users", help="dashboard accounts")
    users_sub = users.add_subparsers(dest="users_command", required=True, metavar="COMMAND")
    add = _command(users_sub, "add", commands.cmd_users_add, "create a dashboard account")
    add.add_argument("name", help="login name")
    add.add_argument("--role", required=True, choices=["supervisor", "operator"])
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree; each leaf sets `handler`."""
    parser = argparse.ArgumentParser(
        prog="dialer", description="Outbound dialer campaign orchestrator."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_campaign_commands(sub)
    _add_data_commands(sub)
    _add_list_commands(sub)
    _add_service_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `dialer` console script."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args, Settings.from_env())
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
    except DialerError as error:
        print(f"dialer {args.command}: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"dialer {args.command}: interrupted", file=sys.stderr)
    return EXIT_USAGE
