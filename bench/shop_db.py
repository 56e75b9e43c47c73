"""The seeded synthetic shop the benchmarks share: arguments, database, loading, child processes.

Each benchmark names its databases after itself (`prefix`) and the shop's sizes: an SQLite file
in the work directory, or a PostgreSQL schema of its own, dropped at the end unless `--keep`.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa

from dialer.db import make_engine, normalize_url, upgrade
from dialer.importer import import_file
from dialer.models import Customer
from dialer.synthetic import write_shop_csvs

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T = TypeVar("T")


def shop_arguments(
    description: str,
    argv: Sequence[str] | None,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """The shop's sizes, engines, runs and databases; `add_arguments` adds a script's own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--orders", type=int, help="default: 5 per customer")
    parser.add_argument("--subscriptions", type=int, help="default: 1 per 10 customers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, help="where the databases live (with --keep)")
    parser.add_argument("--keep", action="store_true", help="keep and reuse the databases")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    )
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    args.orders = 5 * args.customers if args.orders is None else args.orders
    args.subscriptions = args.customers // 10 if args.subscriptions is None else args.subscriptions
    return args


def shop_name(prefix: str, args: argparse.Namespace) -> str:
    return f"{prefix}_{args.customers}_{args.orders}_{args.subscriptions}_{args.seed}"


@contextmanager
def shop_database(
    prefix: str, engine_name: str, args: argparse.Namespace, directory: Path
) -> Iterator[str]:
    """The shop's database URL: an SQLite file, or a PostgreSQL schema of its own."""
    if engine_name == "sqlite":
        yield f"sqlite:///{directory / (shop_name(prefix, args) + '.sqlite3')}"
        return
    server = normalize_url(args.postgres_url)
    schema = shop_name(prefix, args)
    admin = make_engine(server)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    try:
        url = server.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        if not args.keep:
            with admin.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def customers_in(url: str) -> int:
    """How many customers the database holds; 0 if it has no tables yet."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(Customer)).scalar_one()
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):
        return 0
    finally:
        engine.dispose()


def load_shop(
    url: str,
    prefix: str,
    args: argparse.Namespace,
    directory: Path,
    kinds: Sequence[str],
    after_import: Callable[[sa.Engine], None] | None = None,
) -> None:
    """Generate the CSV files (once per run), import the `kinds` of them, run `after_import`,
    then refresh the statistics."""
    upgrade(url)
    csv_directory = directory / f"{shop_name(prefix, args)}_csv"
    if not (csv_directory / "dnc.csv").exists():
        write_shop_csvs(
            csv_directory,
            customers=args.customers,
            orders=args.orders,
            subscriptions=args.subscriptions,
            seed=args.seed,
        )
    engine = make_engine(url)
    try:
        for kind in kinds:
            started = time.perf_counter()
            path = csv_directory / f"{kind}.csv"
            summary = import_file(
                engine, kind, path, now=datetime.now(UTC), report_path=path.with_suffix(".rej")
            )
            seconds = time.perf_counter() - started
            print(f"  imported {summary.rows:>10,} {kind:<13} in {seconds:6.1f} s", flush=True)
        if after_import is not None:
            after_import(engine)
        analyze(engine)
    finally:
        engine.dispose()


def analyze(engine: sa.Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
            # Flush the import's dirty pages now rather than during the first timed run.
            connection.exec_driver_sql("CHECKPOINT")
        return
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM; ru_maxrss would include the parent's at fork)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_child(function: Callable[..., T], *args: object) -> T:
    """`function(*args)` in a fresh process, so that its memory and caches start empty."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


#: The F2 and dormant member sets as a person would write them, in two forms each; the faster
#: one in the same run is the baseline of both the segment and the list-build benchmarks. With
#: one order, the first order's amount is the only amount, so F2's max() needs no subquery.
HAND_SQL: dict[str, tuple[str, ...]] = {
    "f2-followup": (
        """
        SELECT o.customer_id FROM orders o
        GROUP BY o.customer_id
        HAVING count(*) = 1 AND min(o.ordered_at) >= :oldest AND min(o.ordered_at) < :newest
           AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.customer_id = o.customer_id
                           AND s.status IN ('active', 'paused'))
        ORDER BY max(o.amount) DESC, o.customer_id
        """,
        """
        SELECT t.customer_id FROM (
            SELECT customer_id, count(*) AS n, min(ordered_at) AS first_at, max(amount) AS amount
            FROM orders GROUP BY customer_id) AS t
        WHERE t.n = 1 AND t.first_at >= :oldest AND t.first_at < :newest
          AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.customer_id = t.customer_id
                          AND s.status IN ('active', 'paused'))
        ORDER BY t.amount DESC, t.customer_id
        """,
    ),
    "dormant-reactivation": (
        """
        SELECT o.customer_id FROM orders o
        GROUP BY o.customer_id
        HAVING count(*) >= 2 AND max(o.ordered_at) < :cutoff
           AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.customer_id = o.customer_id
                           AND s.status = 'active')
        ORDER BY sum(o.amount) DESC, max(o.ordered_at) DESC, o.customer_id
        LIMIT 1000
        """,
        """
        SELECT t.customer_id FROM (
            SELECT customer_id, count(*) AS n, sum(amount) AS total, max(ordered_at) AS last_at
            FROM orders GROUP BY customer_id) AS t
        WHERE t.n >= 2 AND t.last_at < :cutoff
          AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.customer_id = t.customer_id
                          AND s.status = 'active')
        ORDER BY t.total DESC, t.last_at DESC, t.customer_id
        LIMIT 1000
        """,
    ),
}
