"""Bad rows are reported with their physical line and reason while good rows land; a file that
is not an import file at all is one clear error with nothing written."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dialer.errors import DialerError
from dialer.importer import ImportSummary, NotCsvError, import_file
from dialer.models import Customer, CustomerPhone, Order
from tests.factories import JST, make_customer

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=JST)

#: One bad row of every kind, each on a known line (the header is line 1).
BAD_ORDERS = """\
order_id,customer_id,ordered_at,amount,sku
O1,C001,2026-11-01,3980,AOJIRU-30
O2,C001,2026-02-30,3980,AOJIRU-30
O3,C001,2026-11-01,¥3.980,AOJIRU-30
O4,C404,2026-11-01,3980,AOJIRU-30
O1,C001,2026-11-02,100,AOJIRU-30
O5,C001,,3980,AOJIRU-30
O6,C001,2026-11-01,3980
O7,C001,2026-11-01,3980,"AOJIRU
-30"
O8,C001,2026-11-01,-500,AOJIRU-30
O9,C001,2026-11-03,1980,KOSO-TRIAL
"""

EXPECTED_ORDER_REJECTS = [
    ("3", "ordered_at: not a date: '2026-02-30'"),
    ("4", "amount: not an amount in yen: '¥3.980'"),
    ("5", "unknown customer C404"),
    ("6", "duplicate order_id (first on line 2)"),
    ("7", "missing ordered_at (注文日)"),
    ("8", "wrong column count: 4 fields, the header has 5"),
    ("11", "amount: negative amount '-500'"),
]

CUSTOMERS_WITH_BAD_PHONES = """\
customer_id,name,phone,birthday,opt_in
C001,山田 太郎,090-1234-5678,1980-05-17,1
C002,フリーダイヤル商会,0120-123-456,,
C003,佐藤 花子,不明,,
,名無し,090-1111-2222,,
C004,鈴木 一郎,090-1234-567,1990/13/01,たぶん
"""


def write(tmp_path: Path, name: str, data: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def run(engine: Engine, kind: str, path: Path, **options: Any) -> ImportSummary:
    return import_file(engine, kind, path, now=NOW, **options)


def report(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


#: One connection, or two applying shares of each chunk by key (PostgreSQL; SQLite has one).
WRITERS = pytest.mark.parametrize("writers", [1, 2], ids=["one-writer", "two-writers"])


@WRITERS
def test_every_kind_of_bad_order_is_reported_at_its_line_and_good_ones_land(
    engine: Engine, session: Session, tmp_path: Path, writers: int
) -> None:
    make_customer(session, external_id="C001")
    session.commit()
    path = write(tmp_path, "orders.csv", BAD_ORDERS)

    summary = run(engine, "orders", path, writers=writers, chunk_rows=3)

    assert (summary.inserted, summary.rejected, summary.rows) == (3, 7, 10)
    rows = report(tmp_path / "orders.rejects.csv")
    assert rows[0] == [
        "line",
        "status",
        "reason",
        "order_id",
        "customer_id",
        "ordered_at",
        "amount",
        "sku",
    ]
    assert [(row[0], row[2]) for row in rows[1:]] == EXPECTED_ORDER_REJECTS
    assert {row[1] for row in rows[1:]} == {"rejected"}
    assert rows[4][3:] == ["O1", "C001", "2026-11-02", "100", "AOJIRU-30"]
    landed = session.scalars(sa.select(Order.external_id).order_by(Order.external_id)).all()
    assert landed == ["O1", "O7", "O9"]
    assert session.scalars(sa.select(Order.sku).filter_by(external_id="O7")).one() == "AOJIRU\n-30"


@WRITERS
def test_duplicates_across_chunks_name_the_first_line(
    engine: Engine, session: Session, tmp_path: Path, writers: int
) -> None:
    make_customer(session, external_id="C001")
    session.commit()
    text = "order_id,customer_id,ordered_at,amount,sku\n" + "".join(
        f"O{n},C001,2026-11-01,100,A\n" for n in (1, 2, 3, 1, 2, 1)
    )

    summary = run(
        engine, "orders", write(tmp_path, "orders.csv", text), chunk_rows=2, writers=writers
    )

    assert (summary.inserted, summary.rejected) == (3, 3)
    reasons = [(row[0], row[2]) for row in report(tmp_path / "orders.rejects.csv")[1:]]
    assert reasons == [
        ("5", "duplicate order_id (first on line 2)"),
        ("6", "duplicate order_id (first on line 3)"),
        ("7", "duplicate order_id (first on line 2)"),
    ]


def test_refused_phones_are_stored_as_refused_and_reported_as_warnings(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    path = write(tmp_path, "customers.csv", CUSTOMERS_WITH_BAD_PHONES)

    summary = run(engine, "customers", path)

    assert (summary.inserted, summary.rejected, summary.warnings) == (4, 1, 3)
    rows = [(row[0], row[1], row[2]) for row in report(tmp_path / "customers.rejects.csv")[1:]]
    assert rows == [
        ("3", "warning", "phone: フリーダイヤル（0120・0800） [toll_free]"),
        ("4", "warning", "phone: 電話番号として読めません [unparseable]"),
        ("5", "rejected", "missing customer_id (顧客ID)"),
        (
            "6",
            "warning",
            "birthday: not a date: '1990/13/01' (left empty); "
            "opt_in: not a yes/no value: 'たぶん' (left empty); "
            "phone: 無効な番号（桁数・番号帯） [invalid]",
        ),
    ]
    phones = session.execute(
        sa.select(Customer.external_id, CustomerPhone.raw, CustomerPhone.e164)
        .add_columns(CustomerPhone.phone_class, CustomerPhone.refusal_reason)
        .join(CustomerPhone.customer)
        .order_by(Customer.external_id)
    ).all()
    assert [tuple(row) for row in phones] == [
        ("C001", "090-1234-5678", "+819012345678", "mobile", None),
        ("C002", "0120-123-456", "+81120123456", "toll_free", "toll_free"),
        ("C003", "不明", None, None, "unparseable"),
        ("C004", "090-1234-567", None, None, "invalid"),
    ]
    c004 = session.scalars(sa.select(Customer).filter_by(external_id="C004")).one()
    assert (c004.birthday, c004.opt_in, c004.dialable_phone) == (None, None, None)


def test_a_quoted_field_spanning_lines_keeps_later_line_numbers_right(
    engine: Engine, tmp_path: Path
) -> None:
    text = (
        "customer_id,name,phone\r\n"
        'C001,"山田\r\n太郎\r\n(三行)",090-1234-5678\r\n'
        "\r\n"
        "C002,佐藤 花子,0570-000-123\r\n"
    )

    run(engine, "customers", write(tmp_path, "customers.csv", text))

    rows = report(tmp_path / "customers.rejects.csv")
    assert [(row[0], row[2]) for row in rows[1:]] == [
        ("6", "phone: ナビダイヤル（0570） [navi_dial]")
    ]


def test_the_report_goes_where_it_is_asked_and_is_kept_even_when_clean(
    engine: Engine, tmp_path: Path
) -> None:
    target = tmp_path / "reports" / "out.csv"
    target.parent.mkdir()
    clean = "customer_id,name\nC001,山田 太郎\n"

    summary = run(engine, "customers", write(tmp_path, "c.csv", clean), report_path=target)

    assert summary.report_path == target
    assert report(target) == [["line", "status", "reason", "customer_id", "name"]]
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")
    assert not (tmp_path / "c.rejects.csv").exists()


def test_a_clean_import_leaves_no_report_and_removes_a_stale_one(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(tmp_path, "customers.csv", "customer_id,name\n,no id\n")
    assert run(engine, "customers", path).report_path == tmp_path / "customers.rejects.csv"

    write(tmp_path, "customers.csv", "customer_id,name\nC001,山田 太郎\n")
    summary = run(engine, "customers", path)

    assert summary.report_path is None
    assert not (tmp_path / "customers.rejects.csv").exists()


def test_an_unwritable_report_fails_before_anything_is_imported(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    path = write(tmp_path, "customers.csv", "customer_id,name\nC001,山田 太郎\n")

    with pytest.raises(DialerError, match="cannot write the rejects report"):
        run(engine, "customers", path, report_path=tmp_path / "missing" / "r.csv")

    assert session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 0


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (PNG, "customers.csv: not a CSV file (binary content, such as an image)"),
        (b"PK\x03\x04\x14\x00\x06\x00", "not a CSV file but a ZIP archive, such as an Excel"),
        ("customer_id,name\n".encode("utf-16"), "UTF-16 text (Excel's Unicode text)"),
        (b"", "customers.csv: the file is empty"),
        (b"\n\n\n", "customers.csv: the file has no rows"),
        (b"\x81\x20\xff\xfe\x80", "not a text file in UTF-8 or Shift_JIS (CP932)"),
        (
            b"Dear customer,\nplease find our price list attached.\n",
            "customers.csv: not a CSV with the customers columns: "
            "missing customer_id (顧客ID), name (氏名)",
        ),
        (
            "顧客ID,電話番号\nC001,090-1234-5678\n".encode("cp932"),
            "missing name (氏名) (read as Shift_JIS (CP932); first row: 顧客ID, 電話番号)",
        ),
    ],
    ids=["png", "xlsx", "utf-16", "empty", "blank", "undecodable", "prose", "no-name-column"],
)
def test_a_file_that_is_not_an_import_file_is_one_clear_error(
    engine: Engine, session: Session, tmp_path: Path, data: bytes, message: str
) -> None:
    path = write(tmp_path, "customers.csv", data)

    with pytest.raises(NotCsvError) as error:
        run(engine, "customers", path)

    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 0
    assert not (tmp_path / "customers.rejects.csv").exists()


def test_a_file_broken_part_way_keeps_the_chunks_before_the_break(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    giant = "x" * 200_000
    text = f'customer_id,name\nC001,山田 太郎\nC002,佐藤 花子\nC003,"{giant}"\nC004,鈴木\n'

    with pytest.raises(DialerError) as error:
        run(engine, "customers", write(tmp_path, "customers.csv", text), chunk_rows=1)

    assert "customers.csv:4: unreadable CSV (field larger than field limit" in str(error.value)
    assert "the 2 rows before it were imported" in str(error.value)
    names = session.scalars(sa.select(Customer.external_id).order_by(Customer.external_id))
    assert names.all() == ["C001", "C002"]
