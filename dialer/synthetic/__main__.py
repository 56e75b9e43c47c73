"""`python -m dialer.synthetic DIR --customers N --seed S`: write a synthetic shop's CSV files.

For benchmarks and for trying the importer by hand; prints each file with its rows and size.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from dialer.synthetic.plan import ShopSizeError
from dialer.synthetic.shop import DEFAULT_AS_OF, ShopFiles, write_shop_csvs


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dialer.synthetic",
        description="Write a seeded synthetic Japanese repeat-purchase shop as CSV files.",
    )
    parser.add_argument("directory", type=Path, help="where to write the five CSV files")
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--orders", type=int, help="default: five per customer")
    parser.add_argument("--subscriptions", type=int, help="default: one per ten customers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=DEFAULT_AS_OF,
        help=f"the day the history leads up to (default {DEFAULT_AS_OF})",
    )
    parser.add_argument("--bad-row-rate", type=float, default=0.01, help="share of bad phones")
    return parser


def _report(files: ShopFiles, seconds: float) -> str:
    width = max(len(str(shop_file.path)) for shop_file in files.files)
    lines = [
        f"{shop_file.path!s:<{width}}  {shop_file.rows:>11,} rows"
        f"  {shop_file.path.stat().st_size:>13,} bytes"
        for shop_file in files.files
    ]
    lines.append(f"as of {files.as_of}, mailings {', '.join(files.mailing_names)}")
    lines.append(f"written in {seconds:.1f} s")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    try:
        files = write_shop_csvs(
            args.directory,
            customers=args.customers,
            orders=args.orders,
            subscriptions=args.subscriptions,
            seed=args.seed,
            as_of=args.as_of,
            bad_row_rate=args.bad_row_rate,
        )
    except ShopSizeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(_report(files, time.perf_counter() - started))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
