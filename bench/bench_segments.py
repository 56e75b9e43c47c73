"""Segment SQL against hand-written SQL: the F2 and dormant member sets on SQLite and PostgreSQL.

    python bench/bench_segments.py [--customers 200000] [--orders 1000000] [--engines ...]
                                   [--workdir DIR] [--keep] [--repeat 3] [--explain]

Builds a seeded synthetic shop (`dialer.synthetic`, imported with `dialer.importer`) once per
engine, runs ANALYZE (and VACUUM on PostgreSQL, as autovacuum would), then, for each case, times
`segment_query` against hand-written statements computing the same ordered member set (a person
might write either form; the faster one is the baseline): the best of `--repeat` runs, taking
turns in one fresh process so that a change in the machine's load hits them alike, and the ratio
(target ≤ 2×); then the peak RSS of a fresh process running the segment's query (target
< 300 MB). Every answer must be identical, or the line says MEMBERS DIFFER.
With `--keep`, the databases stay in `--workdir` (an SQLite file, a PostgreSQL schema named
after the sizes) and later runs with the same sizes reuse them.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import yaml
from shop_db import (
    HAND_SQL,
    customers_in,
    in_child,
    load_shop,
    peak_rss_mb,
    shop_arguments,
    shop_database,
)

from dialer.campaigns.schema import Rfm
from dialer.campaigns.segment_parser import parse_segment
from dialer.db import make_engine
from dialer.models import UTCDateTime
from dialer.segment_sql import segment_query
from dialer.segment_sql.days import DayCounter
from dialer.synthetic import DEFAULT_AS_OF

NAME = "bench_segments"
KINDS = ("customers", "orders", "subscriptions", "mailings")
JST = ZoneInfo("Asia/Tokyo")
AS_OF = datetime.combine(DEFAULT_AS_OF, clock_time(9, 0), tzinfo=JST)


@dataclass(frozen=True)
class Case:
    """A segment, and the statement a person would write for the same ordered member set."""

    name: str
    segment: str
    hand_sql: tuple[str, ...]
    params: Callable[[DayCounter], dict[str, datetime]]


F2 = Case(
    name="f2-followup",
    segment="""
        all:
          - orders_count: 1
          - first_order_days_ago: {between: [14, 45]}
          - not: {subscription_status: {in: [active, paused]}}
        order_by: [first_order_value desc]
    """,
    hand_sql=HAND_SQL["f2-followup"],
    params=lambda days: {
        "oldest": days.start_of_day(45),  # the first instant of the day 45 days ago
        "newest": days.start_of_day(13),  # the first instant of the day 13 days ago
    },
)
DORMANT = Case(
    name="dormant-reactivation",
    segment="""
        all:
          - orders_count: {gte: 2}
          - last_order_days_ago: {gt: 180}
          - not: {subscription_status: active}
        order_by: [lifetime_value desc, last_order_days_ago]
        limit: 1000
    """,
    hand_sql=HAND_SQL["dormant-reactivation"],
    params=lambda days: {"cutoff": days.start_of_day(180)},
)
FIRST_VALUE = Case(
    name="first_order_value filter",
    segment="first_order_value: {gte: 5000}",
    # The alternative to a correlated subquery: number every order, keep each customer's first.
    hand_sql=(
        """
        SELECT customer_id FROM (
            SELECT customer_id, amount, row_number() OVER (
                PARTITION BY customer_id ORDER BY ordered_at, id) AS position
            FROM orders) AS numbered
        WHERE position = 1 AND amount >= 5000
        ORDER BY customer_id
        """,
    ),
    params=lambda days: {},
)
CASES = {case.name: case for case in (F2, DORMANT, FIRST_VALUE)}


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated case names")
    parser.add_argument("--explain", action="store_true", help="print the query plans")


@dataclass(frozen=True)
class Timing:
    """The best time of one statement over the runs, and the member ids it returned."""

    seconds: float
    members: tuple[int, ...]


COMPILED = -1
"""The variant number of `segment_query`; 0, 1, … are the case's hand-written statements."""


def _query(case: Case, variant: int) -> tuple[Any, dict[str, Any]]:
    if variant == COMPILED:
        segment = parse_segment(yaml.safe_load(case.segment))
        return segment_query(segment, rfm=Rfm(), as_of=AS_OF, timezone=JST), {}
    params = case.params(DayCounter(AS_OF, JST))
    statement = sa.text(case.hand_sql[variant]).bindparams(
        *(sa.bindparam(name, type_=UTCDateTime) for name in params)
    )
    return statement, params


def _time_in_child(url: str, case_name: str, repeat: int) -> dict[int, Timing]:
    """Runs in a fresh process: every variant `repeat` times, taking turns so that a change in
    the machine's load hits them alike; the best time of each."""
    case = CASES[case_name]
    variants = [COMPILED, *range(len(case.hand_sql))]
    best = dict.fromkeys(variants, float("inf"))
    members: dict[int, tuple[int, ...]] = {}
    engine = make_engine(url)
    try:
        for _ in range(repeat):
            for variant in variants:
                statement, params = _query(case, variant)
                with engine.connect() as connection:
                    started = time.perf_counter()
                    members[variant] = tuple(
                        row[0] for row in connection.execute(statement, params)
                    )
                    best[variant] = min(best[variant], time.perf_counter() - started)
    finally:
        engine.dispose()
    return {variant: Timing(best[variant], members[variant]) for variant in variants}


def _peak_of_segment_query_in_child(url: str, case_name: str) -> float:
    """Runs in a fresh process: the peak RSS of running the segment's query once, in MB."""
    engine = make_engine(url)
    statement, params = _query(CASES[case_name], COMPILED)
    try:
        with engine.connect() as connection:
            connection.execute(statement, params).fetchall()
    finally:
        engine.dispose()
    return peak_rss_mb()


def _explain(url: str, case: Case, variant: int) -> None:
    engine = make_engine(url)
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN ANALYZE "
    statement, params = _query(case, variant)
    if params:
        statement = statement.bindparams(**params)
    compiled = statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
    try:
        with engine.connect() as connection:
            print(f"    -- {'segment_query' if variant == COMPILED else f'hand-written {variant}'}")
            for row in connection.exec_driver_sql(prefix + str(compiled)):
                print(f"    {row[-1]}")
    finally:
        engine.dispose()


def _bench_case(engine_name: str, url: str, case: Case, args: argparse.Namespace) -> None:
    """One line: segment_query against the fastest of the hand-written statements."""
    timings: dict[int, Timing] = in_child(_time_in_child, url, case.name, args.repeat)
    peak: float = in_child(_peak_of_segment_query_in_child, url, case.name)
    compiled = timings.pop(COMPILED)
    best = min(timings, key=lambda variant: timings[variant].seconds)
    same = all(timing.members == compiled.members for timing in timings.values())
    print(
        f"{engine_name:<10} {case.name:<25} {len(compiled.members):>8,} members  "
        f"segment_query {compiled.seconds:6.3f} s  hand-written {timings[best].seconds:6.3f} s "
        f"(#{best}; all: {', '.join(f'{timing.seconds:.3f}' for timing in timings.values())})  "
        f"ratio {compiled.seconds / timings[best].seconds:4.2f}  peak RSS {peak:4.0f} MB  "
        f"{'same members' if same else 'MEMBERS DIFFER'}",
        flush=True,
    )
    if args.explain:
        for variant in (COMPILED, *timings):
            _explain(url, case, variant)


def _bench_engine(engine_name: str, args: argparse.Namespace, directory: Path) -> None:
    with shop_database(NAME, engine_name, args, directory) as url:
        if customers_in(url) != args.customers:
            print(f"{engine_name}: loading the shop", flush=True)
            load_shop(url, NAME, args, directory, KINDS)
        for name in args.cases.split(","):
            _bench_case(engine_name, url, CASES[name], args)


def main(argv: Sequence[str] | None = None) -> int:
    args = shop_arguments((__doc__ or "").splitlines()[0], argv, _add_arguments)
    print(
        f"shop: {args.customers:,} customers, {args.orders:,} orders, "
        f"{args.subscriptions:,} subscriptions (seed {args.seed}); as of {AS_OF:%Y-%m-%d %H:%M %Z}"
    )
    with tempfile.TemporaryDirectory(prefix=f"{NAME}_") as temporary:
        directory = args.workdir or Path(temporary)
        directory.mkdir(parents=True, exist_ok=True)
        for engine_name in args.engines.split(","):
            _bench_engine(engine_name, args, directory)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
