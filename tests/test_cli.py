"""The `dialer` commands end to end on a real database: what a campaign manager types.

A small seeded shop is imported through the CLI, lists are built, and `plan` / `why` read them
back; every step goes through `dialer.cli.main` exactly as the console script does.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from dialer.cli import main
from dialer.synthetic import write_shop_csvs

CAMPAIGNS = Path(__file__).resolve().parents[1] / "campaigns.yaml"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DIALER_CAMPAIGNS", str(CAMPAIGNS))


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    write_shop_csvs(tmp_path, customers=300, seed=3, as_of=date(2026, 11, 23))
    return tmp_path


def _import_shop(shop: Path) -> None:
    for kind in ("customers", "orders", "subscriptions", "mailings", "dnc"):
        assert main(["import", kind, str(shop / f"{kind}.csv")]) == 0


@pytest.mark.usefixtures("env")
def test_import_then_build_then_plan_and_why(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _import_shop(shop)
    capsys.readouterr()
    assert main(["lists", "build", "--json"]) == 0
    built = json.loads(capsys.readouterr().out)
    assert {item["campaign"] for item in built} >= {"f2-followup", "cancel-save"}

    assert main(["plan", "cancel-save", "--json", "--limit", "3"]) == 0
    planned = json.loads(capsys.readouterr().out)
    assert planned["campaign"] == "cancel-save"
    assert len(planned["calls"]) <= 3

    assert main(["why", "C0000001", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["customer"]["id"] == "C0000001"
    assert {item["campaign"] for item in report["campaigns"]} >= {"f2-followup"}


@pytest.mark.usefixtures("env")
def test_reimport_changes_nothing(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _import_shop(shop)
    capsys.readouterr()
    assert main(["import", "customers", str(shop / "customers.csv")]) == 0
    words = " ".join(capsys.readouterr().out.split())
    assert "inserted 0 updated 0 unchanged 300 rejected 0" in words


@pytest.mark.usefixtures("env")
def test_unknown_customer_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["why", "NOPE-1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dialer why: ") and "NOPE-1" in err
    assert "Traceback" not in err


@pytest.mark.usefixtures("env")
def test_unknown_campaign_in_plan_suggests_the_right_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plan", "f2-folowup"]) == 2
    assert "f2-followup" in capsys.readouterr().err


def test_commands_refuse_an_unmigrated_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    monkeypatch.setenv("DIALER_CAMPAIGNS", str(CAMPAIGNS))
    assert main(["lists", "build"]) == 2
    assert "dialer db upgrade" in capsys.readouterr().err
    assert main(["db", "upgrade"]) == 0
    assert main(["lists", "build"]) == 0


def test_a_broken_campaign_file_lists_its_problems(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "campaigns.yaml"
    broken.write_text(CAMPAIGNS.read_text(encoding="utf-8").replace("windows:", "windws:", 1))
    monkeypatch.setenv("DIALER_CAMPAIGNS", str(broken))
    assert main(["calendar", "f2-followup", "--from", "2026-12-01", "--to", "2026-12-02"]) == 2
    assert f"{broken}:" in capsys.readouterr().err


def test_sandbox_needs_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    assert main(["sandbox"]) == 2
    assert "TWILIO_AUTH_TOKEN" in capsys.readouterr().err
