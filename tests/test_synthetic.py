"""The synthetic shop: deterministic, canonical CSV files whose data feeds every sample campaign."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dialer.phones import check_phone
from dialer.synthetic import (
    DEFAULT_AS_OF,
    HEADERS,
    LINES,
    PRODUCTS,
    ShopFiles,
    ShopSizeError,
    mailing_name,
    write_shop_csvs,
)
from dialer.synthetic.__main__ import main
from dialer.synthetic.names import FEMALE_GIVEN_NAMES, MALE_GIVEN_NAMES, SURNAMES

TOKYO = ZoneInfo("Asia/Tokyo")
CUSTOMERS = 2000
KATAKANA = re.compile(r"[ァ-ヶー]+")


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def days_before(as_of: date, stamp: str) -> int:
    return (as_of - datetime.fromisoformat(stamp).astimezone(TOKYO).date()).days


@dataclass
class History:
    """One customer's orders as the segments see them."""

    days_ago: list[int] = field(default_factory=list)
    amounts: list[int] = field(default_factory=list)
    skus: set[str] = field(default_factory=set)

    @property
    def count(self) -> int:
        return len(self.days_ago)


def histories(files: ShopFiles) -> dict[str, History]:
    result: dict[str, History] = defaultdict(History)
    for order in read(files.orders.path):
        history = result[order["customer_id"]]
        history.days_ago.append(days_before(files.as_of, order["ordered_at"]))
        history.amounts.append(int(order["amount"]))
        history.skus.add(order["sku"])
    return result


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> ShopFiles:
    return write_shop_csvs(tmp_path_factory.mktemp("shop"), customers=CUSTOMERS, seed=7)


@pytest.fixture(scope="module", params=[DEFAULT_AS_OF, date(2025, 6, 30)], ids=str)
def dated_shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> ShopFiles:
    as_of: date = request.param
    return write_shop_csvs(tmp_path_factory.mktemp("dated"), customers=CUSTOMERS, as_of=as_of)


def file_bytes(files: ShopFiles) -> list[bytes]:
    return [shop_file.path.read_bytes() for shop_file in files.files]


def test_same_seed_and_sizes_write_identical_bytes(tmp_path: Path) -> None:
    first = write_shop_csvs(tmp_path / "a", customers=500, seed=3)
    second = write_shop_csvs(tmp_path / "b", customers=500, seed=3)
    assert file_bytes(first) == file_bytes(second)


def test_output_does_not_depend_on_the_process(tmp_path: Path) -> None:
    """Hash randomisation differs between processes; nothing written may depend on it."""
    for hash_seed in ("1", "2"):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "dialer.synthetic",
                str(tmp_path / hash_seed),
                "--customers",
                "300",
                "--seed",
                "5",
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
    for name in HEADERS:
        assert (tmp_path / "1" / f"{name}.csv").read_bytes() == (
            tmp_path / "2" / f"{name}.csv"
        ).read_bytes()


def test_another_seed_writes_another_shop(tmp_path: Path) -> None:
    first = write_shop_csvs(tmp_path / "a", customers=500, seed=3)
    second = write_shop_csvs(tmp_path / "b", customers=500, seed=4)
    assert first.customers.path.read_bytes() != second.customers.path.read_bytes()
    assert first.orders.path.read_bytes() != second.orders.path.read_bytes()


def test_every_file_starts_with_its_canonical_header(shop: ShopFiles) -> None:
    for name, shop_file in zip(HEADERS, shop.files, strict=True):
        assert shop_file.path.name == f"{name}.csv"
        with shop_file.path.open(encoding="utf-8") as handle:
            assert handle.readline() == HEADERS[name] + "\n"


def test_headers_are_the_importers_columns() -> None:
    assert HEADERS == {
        "customers": "customer_id,name,name_kana,phone,birthday,opt_in",
        "orders": "order_id,customer_id,ordered_at,amount,sku",
        "subscriptions": "subscription_id,customer_id,sku,cycle_days,status,next_delivery",
        "mailings": "customer_id,mailing,sent_at",
        "dnc": "phone,customer_id,reason",
    }


def test_every_row_has_as_many_fields_as_the_header(shop: ShopFiles) -> None:
    for shop_file in shop.files:
        with shop_file.path.open(encoding="utf-8", newline="") as handle:
            widths = {len(row) for row in csv.reader(handle)}
        assert len(widths) == 1


def test_defaults_are_five_orders_per_customer_and_a_subscription_per_ten(shop: ShopFiles) -> None:
    assert (shop.customers.rows, shop.orders.rows, shop.subscriptions.rows) == (2000, 10000, 200)


@pytest.mark.parametrize(
    ("customers", "orders", "subscriptions"),
    [(1, 1, 0), (3, 3, 0), (10, 10, 1), (100, 50, 10), (5, 100, 5), (300, 4000, 7), (750, 0, 0)],
)
def test_row_counts_are_exactly_as_requested(
    tmp_path: Path, customers: int, orders: int, subscriptions: int
) -> None:
    files = write_shop_csvs(
        tmp_path, customers=customers, orders=orders, subscriptions=subscriptions
    )
    assert (files.customers.rows, files.orders.rows, files.subscriptions.rows) == (
        customers,
        orders,
        subscriptions,
    )
    for shop_file in files.files:
        assert len(read(shop_file.path)) == shop_file.rows


@pytest.mark.parametrize(
    ("customers", "orders", "subscriptions"),
    [(5, 10, 6), (10, 3, 5), (-1, 0, 0), (2, 5000, 2)],
    ids=[
        "more-subscriptions-than-customers",
        "fewer-orders-than-subscriptions",
        "negative",
        "orders-beyond-three-years-of-deliveries",
    ],
)
def test_sizes_that_make_no_shop_are_refused(
    tmp_path: Path, customers: int, orders: int, subscriptions: int
) -> None:
    with pytest.raises(ShopSizeError):
        write_shop_csvs(tmp_path, customers=customers, orders=orders, subscriptions=subscriptions)


def test_ids_are_unique(shop: ShopFiles) -> None:
    for shop_file, key in [
        (shop.customers, "customer_id"),
        (shop.orders, "order_id"),
        (shop.subscriptions, "subscription_id"),
    ]:
        ids = [row[key] for row in read(shop_file.path)]
        assert len(set(ids)) == len(ids)


def test_every_reference_names_an_existing_customer(shop: ShopFiles) -> None:
    customers = {row["customer_id"] for row in read(shop.customers.path)}
    for shop_file in (shop.orders, shop.subscriptions, shop.mailings):
        assert {row["customer_id"] for row in read(shop_file.path)} <= customers
    dnc = read(shop.dnc.path)
    assert dnc
    assert {row["customer_id"] for row in dnc if row["customer_id"]} <= customers


def test_names_are_kanji_with_their_katakana_reading(shop: ShopFiles) -> None:
    readings = dict(SURNAMES), dict(FEMALE_GIVEN_NAMES + MALE_GIVEN_NAMES)
    for row in read(shop.customers.path):
        surname, given = row["name"].split(" ")
        surname_kana, given_kana = row["name_kana"].split(" ")
        assert KATAKANA.fullmatch(surname_kana) and KATAKANA.fullmatch(given_kana)
        assert readings[0][surname] == surname_kana
        assert readings[1][given] == given_kana


@pytest.mark.parametrize("bad_row_rate", [0.0, 0.01, 0.05])
def test_the_share_of_undialable_phones_is_the_bad_row_rate(
    tmp_path: Path, bad_row_rate: float
) -> None:
    files = write_shop_csvs(tmp_path, customers=CUSTOMERS, bad_row_rate=bad_row_rate)
    phones = [row["phone"] for row in read(files.customers.path)]
    undialable = [phone for phone in phones if not check_phone(phone).dialable]
    assert len(undialable) == round(CUSTOMERS * bad_row_rate)


def test_dialable_phones_come_in_the_forms_people_type(shop: ShopFiles) -> None:
    phones = [row["phone"] for row in read(shop.customers.path)]
    assert any(re.fullmatch(r"0[789]0-\d{4}-\d{4}", phone) for phone in phones)
    assert any(
        re.fullmatch(r"0\d{1,3}-\d{2,4}-\d{4}", phone) and phone[1] != "9" for phone in phones
    )
    assert any(phone.startswith("050") for phone in phones)
    assert any(phone.startswith("+81") for phone in phones)
    assert any(re.search(r"[０-９]", phone) for phone in phones)


def test_dnc_entries_carry_a_dialable_number_or_a_customer(shop: ShopFiles) -> None:
    for row in read(shop.dnc.path):
        assert row["reason"]
        assert row["customer_id"] or check_phone(row["phone"]).dialable


def test_orders_are_aware_japan_times_within_three_years_before_as_of(shop: ShopFiles) -> None:
    start_of_as_of = datetime.combine(shop.as_of, time(), tzinfo=TOKYO)
    for row in read(shop.orders.path):
        ordered_at = datetime.fromisoformat(row["ordered_at"])
        assert ordered_at.utcoffset() == timedelta(hours=9)
        assert start_of_as_of - timedelta(days=3 * 365) <= ordered_at < start_of_as_of


def test_amounts_are_around_the_product_prices(shop: ShopFiles) -> None:
    prices = {product.sku: product.price for product in PRODUCTS}
    for row in read(shop.orders.path):
        price = prices[row["sku"]]
        assert price // 2 <= int(row["amount"]) <= price * 2


def test_subscriptions_have_the_usual_cycles_and_every_status(shop: ShopFiles) -> None:
    rows = read(shop.subscriptions.path)
    assert {int(row["cycle_days"]) for row in rows} == {30, 45, 60, 90}
    statuses = [row["status"] for row in rows]
    assert set(statuses) == {"active", "paused", "cancel_requested", "cancelled"}
    assert statuses.count("active") > len(rows) / 2
    assert 0 < statuses.count("cancel_requested") < len(rows) / 10


def test_subscriptions_deliver_a_regular_size(shop: ShopFiles) -> None:
    regular = {line.regular.sku for line in LINES} | {"AOJIRU-90"}
    assert {row["sku"] for row in read(shop.subscriptions.path)} <= regular


def test_running_subscriptions_have_their_next_delivery_ahead(shop: ShopFiles) -> None:
    for row in read(shop.subscriptions.path):
        if row["status"] in ("active", "cancel_requested"):
            days_ahead = (date.fromisoformat(row["next_delivery"]) - shop.as_of).days
            assert 0 <= days_ahead < int(row["cycle_days"])
        elif row["status"] == "cancelled":
            assert row["next_delivery"] == ""


def test_subscribers_order_every_cycle(shop: ShopFiles) -> None:
    orders = histories(shop)
    for row in read(shop.subscriptions.path):
        days = orders[row["customer_id"]].days_ago
        assert {a - b for a, b in pairwise(days)} <= {int(row["cycle_days"])}


def test_the_dm_went_out_a_few_days_before_as_of(shop: ShopFiles) -> None:
    sent = {
        row["mailing"]: days_before(shop.as_of, row["sent_at"]) for row in read(shop.mailings.path)
    }
    assert set(sent) == set(shop.mailing_names)
    assert 3 <= sent["winter-dm-2026"] <= 10


@pytest.mark.parametrize(
    ("sent", "name"),
    [
        (date(2026, 11, 25), "winter-dm-2026"),  # the winter catalogue goes out in November
        (date(2026, 12, 1), "winter-dm-2026"),
        (date(2027, 1, 20), "winter-dm-2026"),
        (date(2027, 2, 10), "spring-dm-2027"),
        (date(2026, 10, 20), "autumn-dm-2026"),
        (date(2025, 6, 24), "summer-dm-2025"),
        (date(2025, 3, 1), "spring-dm-2025"),
    ],
)
def test_mailings_are_named_after_the_season_they_sell(sent: date, name: str) -> None:
    assert mailing_name(sent) == name


def test_f2_follow_up_finds_one_time_buyers_of_two_to_six_weeks_ago(dated_shop: ShopFiles) -> None:
    running = {
        row["customer_id"]
        for row in read(dated_shop.subscriptions.path)
        if row["status"] in ("active", "paused")
    }
    members = [
        customer
        for customer, history in histories(dated_shop).items()
        if history.count == 1 and 14 <= history.days_ago[0] <= 45 and customer not in running
    ]
    assert len(members) >= 20


def test_dormant_finds_repeaters_silent_for_half_a_year(dated_shop: ShopFiles) -> None:
    members = [h for h in histories(dated_shop).values() if h.count >= 2 and min(h.days_ago) > 180]
    assert len(members) >= 100


def test_best_customers_order_often_spend_much_and_ordered_lately(dated_shop: ShopFiles) -> None:
    members = [
        h
        for h in histories(dated_shop).values()
        if h.count >= 6 and sum(h.amounts) > 15000 and min(h.days_ago) <= 90
    ]
    assert len(members) >= 50
    assert any(h.count >= 12 for h in members)


@pytest.mark.parametrize("months_ahead", [0, 1], ids=["current-month", "next-month"])
def test_birthday_month_has_recent_buyers(dated_shop: ShopFiles, months_ahead: int) -> None:
    month = (dated_shop.as_of.month - 1 + months_ahead) % 12 + 1
    orders = histories(dated_shop)
    members = [
        row
        for row in read(dated_shop.customers.path)
        if row["birthday"]
        and date.fromisoformat(row["birthday"]).month == month
        and orders[row["customer_id"]].count
        and min(orders[row["customer_id"]].days_ago) <= 365
    ]
    assert len(members) >= 30


def test_cancel_save_has_cancel_requests(dated_shop: ShopFiles) -> None:
    statuses = [row["status"] for row in read(dated_shop.subscriptions.path)]
    assert statuses.count("cancel_requested") >= 5


def test_dm_follow_up_finds_aojiru_buyers_who_got_the_dm(dated_shop: ShopFiles) -> None:
    dm = dated_shop.mailing_names[0]
    orders = histories(dated_shop)
    members = [
        row
        for row in read(dated_shop.mailings.path)
        if row["mailing"] == dm
        and 3 <= days_before(dated_shop.as_of, row["sent_at"]) <= 10
        and orders[row["customer_id"]].skus & {"AOJIRU-30", "AOJIRU-90"}
    ]
    assert len(members) >= 50


def test_small_shops_still_have_a_member_in_each_seed(tmp_path: Path) -> None:
    files = write_shop_csvs(tmp_path, customers=200)
    orders = histories(files)
    assert any(h.count == 1 and 14 <= h.days_ago[0] <= 45 for h in orders.values())
    assert any(h.count >= 2 and min(h.days_ago) > 180 for h in orders.values())
    assert "cancel_requested" in {row["status"] for row in read(files.subscriptions.path)}


def test_the_command_writes_the_files_and_reports_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path), "--customers", "50", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "customers.csv" in out and "250 rows" in out
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(f"{n}.csv" for n in HEADERS)


def test_the_command_reports_impossible_sizes_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path), "--customers", "3", "--subscriptions", "5"]) == 2
    assert "subscriptions" in capsys.readouterr().err
