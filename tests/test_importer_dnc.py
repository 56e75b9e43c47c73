"""Do-not-call imports: by number, by customer or both; never a second entry while one is in
force; a refusal is not lost because its customer link is."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dialer.importer import ImportSummary, import_file
from dialer.models import Customer, DncEntry, DncSource
from tests.factories import JST, make_customer, make_dnc_entry

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=JST)


def run(engine: Engine, tmp_path: Path, text: str) -> ImportSummary:
    path = tmp_path / "dnc.csv"
    path.write_text(text, encoding="utf-8")
    return import_file(engine, "dnc", path, now=NOW)


def entries(session: Session) -> list[tuple[Any, ...]]:
    """(phone, customer external id, reason) of every entry, in insertion order."""
    rows = session.execute(
        sa.select(DncEntry.phone, Customer.external_id, DncEntry.reason)
        .outerjoin(Customer, Customer.id == DncEntry.customer_id)
        .order_by(DncEntry.id)
    ).all()
    session.rollback()
    return [tuple(row) for row in rows]


def reasons(tmp_path: Path) -> list[tuple[str, str, str]]:
    with (tmp_path / "dnc.rejects.csv").open(encoding="utf-8-sig", newline="") as handle:
        return [(row[0], row[1], row[2]) for row in list(csv.reader(handle))[1:]]


def given_customers(session: Session, *ids: str) -> None:
    for external_id in ids:
        make_customer(session, external_id=external_id)
    session.commit()


def test_entries_by_number_only_by_customer_only_and_by_both(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    given_customers(session, "C001", "C002")
    text = (
        "電話番号,顧客ID,理由\n"
        "090-1234-5678,,本人より今後の電話お断り\n"
        ",C001,家族より申し出\n"
        "03-1234-5678,C002,苦情\n"
    )

    summary = run(engine, tmp_path, text)

    assert (summary.inserted, summary.rejected, summary.warnings) == (3, 0, 0)
    assert entries(session) == [
        ("+819012345678", None, "本人より今後の電話お断り"),
        (None, "C001", "家族より申し出"),
        ("+81312345678", "C002", "苦情"),
    ]
    first = session.scalars(sa.select(DncEntry).order_by(DncEntry.id)).first()
    assert first is not None
    assert (first.source, first.added_at, first.added_by) == (
        DncSource.IMPORT,
        NOW.astimezone(UTC),
        None,
    )


def test_a_file_with_only_a_phone_column(engine: Engine, session: Session, tmp_path: Path) -> None:
    summary = run(engine, tmp_path, "phone\n0120-123-456\n+81 90 1234 5678\n")

    assert summary.inserted == 2
    assert entries(session) == [
        ("+81120123456", None, "imported from dnc.csv"),
        ("+819012345678", None, "imported from dnc.csv"),
    ]


def test_reimport_does_not_repeat_entries_in_force(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    given_customers(session, "C001")
    text = "phone,customer_id,reason\n090-1234-5678,,a\n,C001,b\n090-1234-5678,C001,c\n"
    run(engine, tmp_path, text)

    again = run(engine, tmp_path, text.replace(",a\n", ",another reason\n"))

    assert (again.inserted, again.unchanged) == (0, 3)
    assert [reason for *_, reason in entries(session)] == ["a", "b", "c"]


def test_an_expired_or_lifted_entry_does_not_block_a_new_one(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    make_dnc_entry(session, phone="+819012345678", expires_at=NOW - timedelta(days=1))
    lifted = make_dnc_entry(session, phone="+81312345678")
    lifted.removed_at = NOW - timedelta(days=2)
    lifted.removed_by = "supervisor"
    lifted.removed_reason = "entered by mistake"
    make_dnc_entry(session, phone="+815012345678", expires_at=NOW + timedelta(days=30))
    session.commit()

    summary = run(engine, tmp_path, "phone\n090-1234-5678\n03-1234-5678\n050-1234-5678\n")

    assert (summary.inserted, summary.unchanged) == (2, 1)


def test_an_unknown_customer_is_rejected_unless_the_number_can_carry_the_entry(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    text = "phone,customer_id,reason\n,C404,a\n090-1234-5678,C405,b\n"

    summary = run(engine, tmp_path, text)

    assert (summary.inserted, summary.rejected, summary.warnings) == (1, 1, 1)
    assert reasons(tmp_path) == [
        ("2", "rejected", "unknown customer C404"),
        ("3", "warning", "unknown customer C405 (added for the number only)"),
    ]
    assert entries(session) == [("+819012345678", None, "b")]


def test_an_unreadable_number_is_rejected_unless_a_customer_carries_the_entry(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    given_customers(session, "C001")
    text = "phone,customer_id,reason\n不明,,a\n不明,C001,\n,,no key at all\n"

    summary = run(engine, tmp_path, text)

    assert (summary.inserted, summary.rejected, summary.warnings) == (1, 2, 1)
    assert reasons(tmp_path) == [
        ("2", "rejected", "phone: 電話番号として読めません [unparseable]"),
        (
            "3",
            "warning",
            "phone: 電話番号として読めません [unparseable] (added for the customer only)",
        ),
        ("4", "rejected", "missing phone (電話番号) or customer_id (顧客ID)"),
    ]
    assert entries(session) == [(None, "C001", "imported from dnc.csv")]


def test_the_same_number_twice_in_a_file_is_a_duplicate(engine: Engine, tmp_path: Path) -> None:
    summary = run(engine, tmp_path, "phone\n090-1234-5678\n09012345678\n")

    assert (summary.inserted, summary.rejected) == (1, 1)
    assert reasons(tmp_path) == [
        ("3", "rejected", "duplicate phone + customer_id (first on line 2)")
    ]
