"""Pacing accuracy: three workers at cps=5 on PostgreSQL for 60 s; the busiest second, and the rate.

    python bench/bench_pacing.py [--seconds 60] [--workers 3] [--cps 5] [--postgres-url URL]

Each worker is a process running the real worker (`dialer.worker.Worker.serve`: APScheduler,
the dispatch job every second, reconciliation), with its own engine and Twilio provider. Twilio
is the instant fake of `bench_dispatch.py`, which notes when each create arrives. The clock
starts at an open calling instant and runs at real speed, so the calendar is open throughout.

Printed: the most calls in any one-second window, by the instant each create reached Twilio
and by the slot each attempt was given (both must be ≤ cps), and the achieved rate from the
first call to the last, as a share of cps (target ≥ 95 %).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_dispatch import (
    CAMPAIGNS_YAML,
    DEFAULT_POSTGRES_URL,
    BenchClock,
    arrivals,
    fake_twilio,
    fresh_postgres,
    seed_entries,
    settings_for,
)

from dialer.db import make_engine
from dialer.dispatch import DispatchOptions
from dialer.log import configure_logging
from dialer.models import Attempt
from dialer.settings import Settings
from dialer.telephony.twilio import TwilioProvider
from dialer.worker import ConfigWatcher, Worker


def _run_worker(settings: Settings, started: float, seconds: float) -> None:
    configure_logging(settings, level=logging.WARNING)
    clock = BenchClock(started)
    engine = make_engine(settings.database_url)
    worker = Worker(
        settings=settings,
        engine=engine,
        config=ConfigWatcher.load(settings.campaigns_path),
        dispatch_provider=TwilioProvider.from_settings(settings),
        reconcile_provider=TwilioProvider.from_settings(settings),
        clock=clock,
        options=DispatchOptions(wait_until=clock.wait_until),
    )
    stop = threading.Event()
    threading.Timer(max(0.0, started + seconds - time.time()), stop.set).start()
    try:
        worker.serve(stop)
    finally:
        engine.dispose()


def busiest_second(instants: Sequence[float]) -> int:
    """The most instants in any half-open window one second long."""
    ordered = sorted(instants)
    best, start = 0, 0
    for end, instant in enumerate(ordered):
        while instant - ordered[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--cps", type=float, default=5.0)
    parser.add_argument(
        "--postgres-url", default=os.environ.get("TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments(argv)
    entries = int(args.cps * args.seconds * 1.5) + 20
    with (
        fake_twilio() as twilio_base_url,
        fresh_postgres(args.postgres_url) as url,
        tempfile.TemporaryDirectory() as directory,
    ):
        seed_entries(url, entries)
        campaigns = Path(directory) / "campaigns.yaml"
        campaigns.write_text(CAMPAIGNS_YAML.format(cps=args.cps, concurrent=10_000), "utf-8")
        settings = Settings(
            **{**vars(settings_for(url, twilio_base_url)), "campaigns_path": campaigns}
        )
        started = time.time() + 1.0  # every worker starts its clock at the same instant
        workers = [
            multiprocessing.Process(target=_run_worker, args=(settings, started, args.seconds))
            for _ in range(args.workers)
        ]
        for process in workers:
            process.start()
        for process in workers:
            process.join()
        arrived = [at for at, _to in arrivals(twilio_base_url)]
        engine = make_engine(url)
        with engine.connect() as connection:
            slots: list[datetime] = list(connection.scalars(sa.select(Attempt.started_at)))
        engine.dispose()
    slot_seconds = sorted(slot.timestamp() for slot in slots)
    span = max(arrived) - min(arrived) if len(arrived) > 1 else 0.0
    rate = (len(arrived) - 1) / span if span else 0.0
    print(f"pacing, {args.workers} workers, cps={args.cps:g}, {args.seconds:g} s, PostgreSQL")
    print(f"  calls placed                  {len(arrived):>8}")
    print(f"  busiest second (at Twilio)    {busiest_second(arrived):>8}   (limit {args.cps:g})")
    print(f"  busiest second (slots)        {busiest_second(slot_seconds):>8}")
    print(f"  achieved rate                 {rate:>8.3f} calls/s")
    print(f"  share of the limit            {100 * rate / args.cps:>7.1f} %   (target >= 95 %)")


if __name__ == "__main__":
    main()
