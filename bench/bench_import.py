"""Import throughput on SQLite and PostgreSQL: rows/s per kind and peak memory.

    python bench/bench_import.py [--customers 200000] [--orders 1000000]
                                 [--engines sqlite,postgresql] [--chunk-rows 20000]

Writes a seeded synthetic shop (`dialer.synthetic`) to a temporary directory, then imports its
five files in dependency order into a fresh database per engine (an SQLite file; a schema of its
own on PostgreSQL, dropped afterwards), and imports the customers and orders a second time to
time the idempotent re-import. Each import runs in a fresh process, so the peak RSS printed is
that import's own. The issue's targets: ≥ 50,000 rows/s on PostgreSQL, ≥ 20,000 on SQLite.

Besides wall-clock rows/s, each line shows rows per CPU second: the importing process's CPU
time plus, on PostgreSQL, its server backends' (read from /proc, so the server must run on this
machine; a large file is applied over two connections, whose backends both count). The client
parses while the server applies, so on this machine both compete for the same cores; on a
shared one, the CPU figure is the one that does not depend on what else is running.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from sqlalchemy import event

from dialer.db import make_engine, normalize_url, upgrade
from dialer.importer import DEFAULT_CHUNK_ROWS, import_file
from dialer.synthetic import write_shop_csvs

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ORDER = ("customers", "orders", "subscriptions", "mailings", "dnc")
REIMPORTED = ("customers", "orders")


@dataclass(frozen=True)
class Result:
    engine: str
    kind: str
    rows: int
    inserted: int
    seconds: float
    client_cpu: float
    server_cpu: float
    peak_rss_mb: float

    @property
    def cpu_seconds(self) -> float:
        return self.client_cpu + self.server_cpu

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def rows_per_cpu_second(self) -> float:
        return self.rows / self.cpu_seconds if self.cpu_seconds else 0.0


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)
    parser.add_argument(
        "--postgres-url", default=os.environ.get("TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    )
    return parser.parse_args(argv)


def _import_in_child(url: str, kind: str, path: Path, chunk_rows: int) -> Result:
    """Runs in a fresh process, whose peak RSS is then this import's."""
    engine = make_engine(url)
    backends: list[int] = []
    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", lambda connection, _: backends.append(_backend(connection)))
    client_before = _own_cpu()
    try:
        summary = import_file(
            engine,
            kind,
            path,
            now=datetime.now(UTC),
            report_path=path.with_suffix(".rejects.csv"),
            chunk_rows=chunk_rows,
        )
        client = _own_cpu() - client_before
        server = sum(_process_cpu(pid) for pid in backends)
    finally:
        engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Result(
        engine.dialect.name,
        kind,
        summary.rows,
        summary.inserted,
        summary.seconds,
        client,
        server,
        peak,
    )


def _backend(connection: Any) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid: int = cursor.fetchone()[0]
    connection.commit()
    return pid


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _process_cpu(pid: int) -> float:
    """User and system CPU seconds of another process on this machine (a server backend)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed_import(url: str, kind: str, path: Path, chunk_rows: int) -> Result:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_import_in_child, url, kind, path, chunk_rows).result()


@contextmanager
def _database(engine_name: str, directory: Path, postgres_url: str) -> Iterator[str]:
    if engine_name == "sqlite":
        yield f"sqlite:///{directory / 'bench.sqlite3'}"
        return
    server = normalize_url(postgres_url)
    schema = f"bench_import_{uuid.uuid4().hex[:8]}"
    admin = make_engine(server)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        url = server.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def _bench_engine(
    engine_name: str, files: dict[str, Path], directory: Path, args: argparse.Namespace
) -> list[Result]:
    results = []
    with _database(engine_name, directory, args.postgres_url) as url:
        upgrade(url)
        for kind in ORDER:
            results.append(_timed_import(url, kind, files[kind], args.chunk_rows))
            print(_line(results[-1]), flush=True)
        for kind in REIMPORTED:
            result = _timed_import(url, kind, files[kind], args.chunk_rows)
            results.append(replace(result, kind=f"{kind} (again)"))
            print(_line(results[-1]), flush=True)
    return results


def _line(result: Result) -> str:
    return (
        f"{result.engine:<10} {result.kind:<19} {result.rows:>10,} rows "
        f"{result.inserted:>10,} new {result.seconds:>7.1f} s "
        f"{result.rows_per_second:>8,.0f} rows/s {result.rows_per_cpu_second:>8,.0f} rows/cpu-s "
        f"(µs/row: client {_micros(result.client_cpu, result.rows):4.1f}, "
        f"server {_micros(result.server_cpu, result.rows):4.1f}) "
        f"peak RSS {result.peak_rss_mb:>4.0f} MB"
    )


def _micros(seconds: float, rows: int) -> float:
    return seconds / rows * 1e6 if rows else 0.0


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    with tempfile.TemporaryDirectory(prefix="bench_import_") as temporary:
        directory = Path(temporary)
        started = time.perf_counter()
        shop = write_shop_csvs(
            directory, customers=args.customers, orders=args.orders, seed=args.seed
        )
        files = {shop_file.path.stem: shop_file.path for shop_file in shop.files}
        print(
            f"generated {args.customers:,} customers, {args.orders:,} orders "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        for engine_name in args.engines.split(","):
            _bench_engine(engine_name, files, directory, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
