"""`run_sandbox`, the blocking server behind `dialer sandbox`: it serves, then stops cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import requests

from tests.test_sandbox_app import ACCOUNT_SID, AUTH_TOKEN

SERVE = textwrap.dedent(
    f"""
    from dialer.sandbox import run_sandbox
    run_sandbox(
        "127.0.0.1", 0, account_sid={ACCOUNT_SID!r}, auth_token={AUTH_TOKEN!r}, seed=3,
        speed=10, on_ready=lambda url: print(url, flush=True),
    )
    print("stopped", flush=True)
    """
)


def test_run_sandbox_serves_until_sigterm_then_shuts_down() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        answer = requests.get(
            f"{base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json",
            auth=(ACCOUNT_SID, AUTH_TOKEN),
            timeout=5,
        )

        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        process.kill()

    assert answer.status_code == 200 and answer.json()["calls"] == []
    assert out.strip() == "stopped" and process.returncode == 0, err
