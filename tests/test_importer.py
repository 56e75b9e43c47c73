"""`import_file` on SQLite and PostgreSQL: each kind lands, re-imports change nothing, Japanese
exports (Shift_JIS/CP932, BOM, Japanese headers and values) read as well as canonical files."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dialer.importer import (
    ImportSummary,
    UnknownKindError,
    import_file,
    summary_lines,
)
from dialer.models import Customer, CustomerPhone, Mailing, Order, Subscription
from tests.factories import JST, make_customer, make_order

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=JST)

CUSTOMERS = """\
customer_id,name,name_kana,phone,birthday,opt_in
C001,山田 太郎,ヤマダ タロウ,090-1234-5678,1980-05-17,1
C002,佐藤 花子,サトウ ハナコ,03-1234-5678,,0
C003,鈴木 一郎,,,1975/1/5,
"""

ORDERS = """\
order_id,customer_id,ordered_at,amount,sku,channel
O1,C001,2026-11-01 10:30,3980,AOJIRU-30,web
O2,C001,2026-11-20,"¥12,800",AOJIRU-90,
O3,C002,2026-10-05T09:00:00+09:00,1980,KOSO-TRIAL,tv
"""

SUBSCRIPTIONS = """\
subscription_id,customer_id,sku,cycle_days,status,next_delivery
S1,C001,AOJIRU-30,30,active,2026-12-01
S2,C002,KOSO-30,60日,休止,
S3,C002,AOJIRU-30,30,解約申請,2026/12/10
"""

MAILINGS = """\
customer_id,mailing,sent_at
C001,winter-dm-2026,2026-11-16
C002,winter-dm-2026,2026-11-16 12:00
C001,autumn-dm-2026,2026-10-01
"""


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run(engine: Engine, kind: str, path: Path, **options: Any) -> ImportSummary:
    return import_file(engine, kind, path, now=NOW, **options)


def counts(summary: ImportSummary) -> tuple[int, int, int, int, int]:
    """(inserted, updated, unchanged, rejected, warnings)."""
    return (
        summary.inserted,
        summary.updated,
        summary.unchanged,
        summary.rejected,
        summary.warnings,
    )


def customers_in(session: Session, *ids: str) -> None:
    for external_id in ids:
        make_customer(session, external_id=external_id)
    session.commit()


def snapshot(session: Session, model: type[Any]) -> list[tuple[Any, ...]]:
    """Every column of every row, to prove a re-import left rows exactly as they were.

    Ends its transaction: on SQLite an open one would hold the write lock against the import.
    """
    session.expire_all()
    columns = list(model.__table__.columns)
    rows = [tuple(row) for row in session.execute(sa.select(*columns).order_by(columns[0]))]
    session.rollback()
    return rows


def test_customers_land_with_phones_birthdays_and_consent(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    summary = run(engine, "customers", write(tmp_path, "customers.csv", CUSTOMERS))

    assert counts(summary) == (3, 0, 0, 0, 0)
    customers = session.scalars(sa.select(Customer).order_by(Customer.external_id)).all()
    assert [(c.external_id, c.name, c.name_kana, c.birthday, c.opt_in) for c in customers] == [
        ("C001", "山田 太郎", "ヤマダ タロウ", date(1980, 5, 17), True),
        ("C002", "佐藤 花子", "サトウ ハナコ", None, False),
        ("C003", "鈴木 一郎", None, date(1975, 1, 5), None),
    ]
    assert [(p.preference, p.raw, p.e164, p.phone_class) for p in customers[0].phones] == [
        (1, "090-1234-5678", "+819012345678", "mobile")
    ]
    assert customers[1].dialable_phone == "+81312345678"
    assert customers[2].phones == []


def test_orders_land_on_their_customers_in_utc(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    customers_in(session, "C001", "C002")

    summary = run(engine, "orders", write(tmp_path, "orders.csv", ORDERS))

    assert counts(summary) == (3, 0, 0, 0, 0)
    orders = session.scalars(sa.select(Order).order_by(Order.external_id)).all()
    assert [
        (o.external_id, o.customer.external_id, o.ordered_at, o.amount, o.sku, o.channel)
        for o in orders
    ] == [
        ("O1", "C001", datetime(2026, 11, 1, 1, 30, tzinfo=UTC), 3980, "AOJIRU-30", "web"),
        ("O2", "C001", datetime(2026, 11, 19, 15, 0, tzinfo=UTC), 12800, "AOJIRU-90", None),
        ("O3", "C002", datetime(2026, 10, 5, 0, 0, tzinfo=UTC), 1980, "KOSO-TRIAL", "tv"),
    ]


def test_subscriptions_land_with_statuses_in_either_language(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    customers_in(session, "C001", "C002")

    summary = run(engine, "subscriptions", write(tmp_path, "subs.csv", SUBSCRIPTIONS))

    assert counts(summary) == (3, 0, 0, 0, 0)
    rows = session.scalars(sa.select(Subscription).order_by(Subscription.external_id)).all()
    assert [(s.external_id, s.cycle_days, s.status.value, s.next_delivery) for s in rows] == [
        ("S1", 30, "active", date(2026, 12, 1)),
        ("S2", 60, "paused", None),
        ("S3", 30, "cancel_requested", date(2026, 12, 10)),
    ]


def test_mailings_land_once_per_customer_and_mailing(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    customers_in(session, "C001", "C002")

    summary = run(engine, "mailings", write(tmp_path, "mailings.csv", MAILINGS))

    assert counts(summary) == (3, 0, 0, 0, 0)
    rows = session.scalars(sa.select(Mailing).order_by(Mailing.sent_at, Mailing.id)).all()
    assert [(m.customer.external_id, m.mailing, m.sent_at) for m in rows] == [
        ("C001", "autumn-dm-2026", datetime(2026, 9, 30, 15, 0, tzinfo=UTC)),
        ("C001", "winter-dm-2026", datetime(2026, 11, 15, 15, 0, tzinfo=UTC)),
        ("C002", "winter-dm-2026", datetime(2026, 11, 16, 3, 0, tzinfo=UTC)),
    ]


@pytest.mark.parametrize(
    ("kind", "text", "models"),
    [
        ("customers", CUSTOMERS, (Customer, CustomerPhone)),
        ("orders", ORDERS, (Order,)),
        ("subscriptions", SUBSCRIPTIONS, (Subscription,)),
        ("mailings", MAILINGS, (Mailing,)),
    ],
)
@pytest.mark.parametrize("writers", [1, 2], ids=["one-writer", "two-writers"])
def test_importing_the_same_file_again_changes_nothing(
    engine: Engine,
    session: Session,
    tmp_path: Path,
    kind: str,
    text: str,
    models: tuple[type[Any], ...],
    writers: int,
) -> None:
    """Two writers (PostgreSQL) apply each chunk's rows in two shares by key."""
    if kind != "customers":
        customers_in(session, "C001", "C002")
    path = write(tmp_path, f"{kind}.csv", text)
    run(engine, kind, path, writers=writers, chunk_rows=2)
    before = [snapshot(session, model) for model in models]

    again = run(engine, kind, path, writers=writers, chunk_rows=2)

    assert counts(again) == (0, 0, 3, 0, 0)
    assert [snapshot(session, model) for model in models] == before


def test_a_changed_value_counts_as_an_update(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    run(engine, "customers", write(tmp_path, "customers.csv", CUSTOMERS))
    changed = CUSTOMERS.replace("山田 太郎", "山田 太朗").replace("03-1234-5678", "03-9999-0000")

    summary = run(engine, "customers", write(tmp_path, "customers.csv", changed))

    assert counts(summary) == (0, 2, 1, 0, 0)
    c002 = session.scalars(sa.select(Customer).filter_by(external_id="C002")).one()
    assert c002.dialable_phone == "+81399990000"
    assert session.scalar(sa.select(sa.func.count()).select_from(CustomerPhone)) == 2


@pytest.mark.parametrize("learned", ["reported_invalid", "wrong_number"])
def test_a_reimport_keeps_what_calling_taught_about_an_unchanged_number(
    engine: Engine, session: Session, tmp_path: Path, learned: str
) -> None:
    """The shop's export knows nothing of a number the carrier refused or that reached someone
    else: bringing the same number again (however written) keeps the mark; a new one drops it."""
    run(engine, "customers", write(tmp_path, "customers.csv", CUSTOMERS))
    number = CustomerPhone.e164 == "+819012345678"
    session.execute(sa.update(CustomerPhone).where(number).values(refusal_reason=learned))
    session.commit()

    respelled = CUSTOMERS.replace("090-1234-5678", "09012345678")
    again = run(engine, "customers", write(tmp_path, "customers.csv", respelled))

    assert counts(again) == (0, 1, 2, 0, 0)  # the raw spelling changed, the mark did not
    assert session.scalars(sa.select(CustomerPhone.refusal_reason).where(number)).all() == [learned]
    session.rollback()
    renumbered = CUSTOMERS.replace("090-1234-5678", "090-8765-4321")
    run(engine, "customers", write(tmp_path, "customers.csv", renumbered))
    c001 = session.scalars(sa.select(Customer).filter_by(external_id="C001")).one()
    assert c001.dialable_phone == "+819087654321"


def test_an_absent_column_keeps_what_the_database_has(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    run(engine, "customers", write(tmp_path, "customers.csv", CUSTOMERS))
    names_only = "customer_id,name\nC001,山田 太郎\n"

    summary = run(engine, "customers", write(tmp_path, "names.csv", names_only))

    assert counts(summary) == (0, 0, 1, 0, 0)
    c001 = session.scalars(sa.select(Customer).filter_by(external_id="C001")).one()
    assert (c001.birthday, c001.opt_in, c001.dialable_phone) == (
        date(1980, 5, 17),
        True,
        "+819012345678",
    )


def test_a_second_number_and_its_removal(engine: Engine, session: Session, tmp_path: Path) -> None:
    two = "customer_id,name,phone,phone2\nC001,山田 太郎,03-1234-5678,090-1234-5678\n"
    run(engine, "customers", write(tmp_path, "c.csv", two))
    session.expire_all()
    c001 = session.scalars(sa.select(Customer)).one()
    assert [(p.preference, p.e164) for p in c001.phones] == [
        (1, "+81312345678"),
        (2, "+819012345678"),
    ]
    session.rollback()

    summary = run(engine, "customers", write(tmp_path, "c.csv", two.replace("090-1234-5678", "")))

    assert counts(summary) == (0, 1, 0, 0, 0)
    session.expire_all()
    assert [p.preference for p in session.scalars(sa.select(Customer)).one().phones] == [1]


def test_shift_jis_export_with_japanese_headers_and_values(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    text = (
        "顧客番号,氏名,フリガナ,電話番号,生年月日,電話連絡同意\r\n"
        "C001,髙橋 一郎,ﾀｶﾊｼ ｲﾁﾛｳ,０９０－１２３４－５６７８,昭和55年5月17日,同意\r\n"
        "C002,①商事㈱,,03(1234)5678,S60.1.2,拒否\r\n"
    )
    path = write(tmp_path, "顧客.csv", text, encoding="cp932")

    summary = run(engine, "customers", path)

    assert summary.encoding == "Shift_JIS (CP932)"
    assert counts(summary) == (2, 0, 0, 0, 0)
    rows = session.scalars(sa.select(Customer).order_by(Customer.external_id)).all()
    assert [(c.name, c.name_kana, c.birthday, c.opt_in, c.dialable_phone) for c in rows] == [
        ("髙橋 一郎", "タカハシ イチロウ", date(1980, 5, 17), True, "+819012345678"),
        ("①商事㈱", None, date(1985, 1, 2), False, "+81312345678"),
    ]


def test_shift_jis_orders_with_yen_amounts_and_era_dates(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    customers_in(session, "C001")
    text = (
        "受注番号,顧客ID,注文日,合計金額,商品コード,販路\n"
        "Ｏ１,C001,令和8年11月1日,￥１２，８００,AOJIRU-30,電話\n"
    )

    summary = run(engine, "orders", write(tmp_path, "受注.csv", text, encoding="cp932"))

    assert counts(summary) == (1, 0, 0, 0, 0)
    order = session.scalars(sa.select(Order)).one()
    assert (order.external_id, order.amount, order.ordered_at, order.channel) == (
        "O1",
        12800,
        datetime(2026, 10, 31, 15, 0, tzinfo=UTC),
        "電話",
    )


def test_utf8_with_bom_reads_its_first_column(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    path = write(tmp_path, "customers.csv", CUSTOMERS, encoding="utf-8-sig")

    summary = run(engine, "customers", path)

    assert summary.encoding == "UTF-8 with BOM"
    assert counts(summary) == (3, 0, 0, 0, 0)


def test_header_aliases_case_spacing_and_extra_columns(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    text = (
        "Customer ID , お名前 ,TEL,誕生日,opt-in,会員ランク,備考\n"
        "C001,山田 太郎,090-1234-5678,1980/5/17,yes,gold,\n"
    )

    summary = run(engine, "customers", write(tmp_path, "c.csv", text))

    assert counts(summary) == (1, 0, 0, 0, 0)
    assert summary.ignored_columns == ("会員ランク", "備考")
    customer = session.scalars(sa.select(Customer)).one()
    assert (customer.name, customer.birthday, customer.opt_in) == (
        "山田 太郎",
        date(1980, 5, 17),
        True,
    )


def test_tab_separated_text_is_read_too(engine: Engine, session: Session, tmp_path: Path) -> None:
    text = CUSTOMERS.replace(",", "\t")

    summary = run(engine, "customers", write(tmp_path, "customers.txt", text))

    assert counts(summary) == (3, 0, 0, 0, 0)


def test_progress_is_reported_after_every_chunk(engine: Engine, tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []

    run(
        engine,
        "customers",
        write(tmp_path, "customers.csv", CUSTOMERS),
        chunk_rows=2,
        progress=lambda done, total: calls.append((done, total)),
    )

    assert calls == [(2, 3), (3, 3)]


def test_the_summary_reads_as_the_cli_prints_it(engine: Engine, tmp_path: Path) -> None:
    text = CUSTOMERS.replace("birthday,opt_in", "birthday,opt_in,備考").replace("\n", ",x\n")
    text = text.replace("opt_in,備考,x", "opt_in,備考")
    path = write(tmp_path, "customers.csv", text)

    lines = summary_lines(run(engine, "customers", path))

    assert lines[0].startswith(f"{path} (customers, UTF-8): 3 rows in ")
    assert lines[1:6] == [
        "  inserted   3",
        "  updated    0",
        "  unchanged  0",
        "  rejected   0",
        "  warnings   0",
    ]
    assert lines[6:] == ["  ignored columns: 備考"]


def test_an_unknown_kind_is_a_user_error(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(UnknownKindError, match="one of: customers, orders"):
        run(engine, "refunds", write(tmp_path, "r.csv", CUSTOMERS))


def test_the_clock_must_be_aware(engine: Engine, tmp_path: Path) -> None:
    naive = datetime(2026, 11, 23, 10, 0)  # noqa: DTZ001  (the point of the test)
    with pytest.raises(ValueError, match="aware"):
        import_file(engine, "customers", write(tmp_path, "c.csv", CUSTOMERS), now=naive)


def test_rows_written_by_the_application_are_recognised_as_unchanged(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    customer = make_customer(
        session,
        external_id="C001",
        name="山田 太郎",
        name_kana="ヤマダ タロウ",
        phones=["+819012345678"],
        birthday=date(1980, 5, 17),
        opt_in=True,
    )
    customer.phones[0].raw = "090-1234-5678"
    make_order(
        session,
        customer,
        external_id="O1",
        ordered_at=datetime(2026, 11, 1, 10, 30, tzinfo=JST),
        amount=3980,
        sku="AOJIRU-30",
        channel="web",
    )
    session.commit()
    customers = write(tmp_path, "customers.csv", CUSTOMERS.splitlines(keepends=True)[0])
    customers.write_text(customers.read_text() + CUSTOMERS.splitlines(keepends=True)[1])
    orders = write(tmp_path, "orders.csv", "\n".join(ORDERS.splitlines()[:2]) + "\n")

    assert counts(run(engine, "customers", customers)) == (0, 0, 1, 0, 0)
    assert counts(run(engine, "orders", orders)) == (0, 0, 1, 0, 0)
