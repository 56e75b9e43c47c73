"""The one-command demo against its target: at least 500 calls in under two minutes.

    python bench/bench_demo.py [--runs 1] [demo options, e.g. --customers 2000 --speed 150]

Runs `dialer demo --exit` with the README's defaults (plus whatever options are passed on) in a
temporary directory, as a new user would, and prints per run: the wall time of the whole
command (set-up, dialling, report), the calls placed (from the demo's `summary.json`), calls
per real second, and both against the target as ratios (calls / 500, seconds / 120).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_CALLS = 500
TARGET_SECONDS = 120.0


def run_once(extra: list[str]) -> tuple[float, dict[str, object]]:
    with tempfile.TemporaryDirectory(prefix="dialer-demo-") as scratch:
        directory = Path(scratch) / "demo"
        command = [sys.executable, "-m", "dialer", "demo", "--exit", "--port", "0"]
        command += ["--dir", str(directory), "--campaigns", str(ROOT / "campaigns.yaml"), *extra]
        began = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        seconds = time.perf_counter() - began
        summary: dict[str, object] = json.loads((directory / "summary.json").read_text())
    return seconds, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    args, extra = parser.parse_known_args()
    for number in range(1, args.runs + 1):
        seconds, summary = run_once(extra)
        totals = summary["totals"]
        assert isinstance(totals, dict)
        calls = int(totals["dialled"])
        print(
            f"run {number}: {calls} calls in {seconds:.1f} s wall "
            f"({summary['real_seconds']} s dialling, speed {summary['speed']}), "
            f"{calls / seconds:.1f} calls/s; calls/target {calls / TARGET_CALLS:.2f}, "
            f"seconds/target {seconds / TARGET_SECONDS:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
