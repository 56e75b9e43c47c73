"""Write the synthetic shop as the importer's canonical CSV files, one customer at a time.

Every row of every file is written as soon as it is drawn: a customer, their orders, their
subscription, the mailings they received and, rarely, their do-not-call entry. Only the plan
(a few bytes per customer) stays in memory, so five million orders take no more memory than
five thousand. One seeded generator drives all draws, in a fixed order: the same seed and sizes
give byte-identical files.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from random import Random
from typing import Final, TextIO

from dialer.models.customers import SubscriptionStatus
from dialer.synthetic.history import (
    draw_shelf,
    one_time_day,
    one_time_item,
    repeat_days,
    repeat_items,
    subscription_days,
    subscription_items,
)
from dialer.synthetic.people import Person, draw_person
from dialer.synthetic.plan import WINDOW_DAYS, Kind, ShopPlan, SubscriptionPlan, plan_shop
from dialer.synthetic.stamps import Stamps

#: A Monday inside the sample campaigns' dates, so that the default shop feeds all of them.
DEFAULT_AS_OF: Final = date(2026, 12, 7)

HEADERS: Final = {
    "customers": "customer_id,name,name_kana,phone,birthday,opt_in",
    "orders": "order_id,customer_id,ordered_at,amount,sku",
    "subscriptions": "subscription_id,customer_id,sku,cycle_days,status,next_delivery",
    "mailings": "customer_id,mailing,sent_at",
    "dnc": "phone,customer_id,reason",
}

DNC_SHARE: Final = 0.005
DNC_REASONS: Final = (
    "本人より今後の電話お断り",
    "本人より今後の電話お断り",
    "家族より申し出",
    "苦情（電話勧誘）",
    "高齢のためご家族の希望",
)
#: Customers who ordered within this many days are the DMs' main audience.
_MAILING_AUDIENCE_DAYS: Final = 540
_PAUSED_WITH_RESUME_DATE: Final = 0.5
_RUNNING: Final = (SubscriptionStatus.ACTIVE, SubscriptionStatus.CANCEL_REQUESTED)
IdFormat = Callable[[int], str]


@dataclass(frozen=True)
class Mailing:
    """A direct mail sent `days_before` as_of to a share of the customers at the time."""

    days_before: int
    share_recent: float
    share_other: float


MAILINGS: Final = (Mailing(6, 0.45, 0.08), Mailing(48, 0.30, 0.05))


@dataclass(frozen=True)
class ShopFile:
    path: Path
    rows: int


@dataclass(frozen=True)
class ShopFiles:
    """What was written: each file with its number of data rows (the header not counted)."""

    customers: ShopFile
    orders: ShopFile
    subscriptions: ShopFile
    mailings: ShopFile
    dnc: ShopFile
    as_of: date
    mailing_names: tuple[str, ...]

    @property
    def files(self) -> tuple[ShopFile, ...]:
        return self.customers, self.orders, self.subscriptions, self.mailings, self.dnc


#: A DM is named for the season it sells, which starts about a month after it is posted.
_MAILING_LEAD: Final = timedelta(days=30)


def mailing_name(sent: date) -> str:
    """`winter-dm-2026` for a DM posted from early November 2026 to January 2027: the winter
    catalogue goes out in November (so the sample `dm-followup` finds it in December)."""
    season_day = sent + _MAILING_LEAD
    season = ("winter", "spring", "summer", "autumn")[season_day.month % 12 // 3]
    year = season_day.year - 1 if season_day.month < 3 else season_day.year
    return f"{season}-dm-{year}"


def write_shop_csvs(
    directory: Path,
    *,
    customers: int,
    orders: int | None = None,
    subscriptions: int | None = None,
    seed: int = 0,
    as_of: date = DEFAULT_AS_OF,
    bad_row_rate: float = 0.01,
) -> ShopFiles:
    """Generate a shop of `customers` (five orders each and a subscription per ten customers
    unless told otherwise) whose history ends the day before `as_of`; write its five CSV files.

    `bad_row_rate` is the exact share of customers whose phone cannot be dialled (blank, free
    dial, navi dial, too short, ...); every other row is valid for the importer.
    """
    orders = 5 * customers if orders is None else orders
    subscriptions = customers // 10 if subscriptions is None else subscriptions
    rng = Random(f"dialer.synthetic/{seed}")
    plan = plan_shop(
        rng,
        customers=customers,
        orders=orders,
        subscriptions=subscriptions,
        bad_row_rate=bad_row_rate,
    )
    directory.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        sinks = {name: _Sink.open(directory, name, stack) for name in HEADERS}
        writer = _ShopWriter(sinks, plan, rng, as_of, customers=customers, orders=orders)
        for index in range(customers):
            writer.customer(index)
    return ShopFiles(
        customers=sinks["customers"].result(),
        orders=sinks["orders"].result(),
        subscriptions=sinks["subscriptions"].result(),
        mailings=sinks["mailings"].result(),
        dnc=sinks["dnc"].result(),
        as_of=as_of,
        mailing_names=tuple(mailing_name(as_of - timedelta(m.days_before)) for m in MAILINGS),
    )


class _Sink:
    """One CSV file being written, with its row count."""

    def __init__(self, path: Path, handle: TextIO) -> None:
        self.path = path
        self.handle = handle
        self.rows = 0

    @classmethod
    def open(cls, directory: Path, name: str, stack: ExitStack) -> _Sink:
        path = directory / f"{name}.csv"
        handle = stack.enter_context(
            path.open("w", encoding="utf-8", newline="", buffering=1 << 20)
        )
        handle.write(HEADERS[name] + "\n")
        return cls(path, handle)

    def write(self, line: str) -> None:
        self.handle.write(line)
        self.rows += 1

    def write_all(self, lines: list[str]) -> None:
        self.handle.write("".join(lines))
        self.rows += len(lines)

    def result(self) -> ShopFile:
        return ShopFile(self.path, self.rows)


class _ShopWriter:
    """Draws and writes one customer's rows in every file, in a fixed order of draws."""

    def __init__(
        self,
        sinks: dict[str, _Sink],
        plan: ShopPlan,
        rng: Random,
        as_of: date,
        *,
        customers: int,
        orders: int,
    ) -> None:
        self._sinks = sinks
        self._plan = plan
        self._random = rng.random
        self._as_of = as_of
        self._stamps = Stamps(as_of, WINDOW_DAYS)
        self._repeat_counts = iter(plan.repeat_orders)
        self._subscriptions = iter(plan.subscriptions)
        self._customer_id = _id_format("C", 7, customers)
        self._order_id = _id_format("O", 8, orders)
        self._subscription_id = _id_format("S", 7, len(plan.subscriptions))
        self._orders_written = 0
        self._mailings = [
            (
                m,
                mailing_name(as_of - timedelta(days=m.days_before)),
                self._stamps.at(m.days_before, 10),
            )
            for m in MAILINGS
        ]

    def customer(self, index: int) -> None:
        random = self._random
        customer_id = self._customer_id(index + 1)
        person = draw_person(random, self._as_of, dialable=not self._plan.bad_phones[index])
        self._sinks["customers"].write(
            f"{customer_id},{person.name},{person.name_kana},{person.phone},"
            f"{person.birthday},{person.opt_in}\n"
        )
        days = self._orders(customer_id, self._plan.kinds[index])
        if days:
            self._mailing_rows(customer_id, first_days_ago=days[0], last_days_ago=days[-1])
        if random() < DNC_SHARE:
            self._dnc_row(customer_id, person)

    def _orders(self, customer_id: str, kind: int) -> list[int]:
        """Write the customer's orders (and subscription); return their days, oldest first."""
        random = self._random
        shelf = draw_shelf(random)
        if kind == Kind.NO_ORDER:
            return []
        if kind == Kind.ONE_RECENT or kind == Kind.ONE_EARLIER:
            days = [one_time_day(random, recent=kind == Kind.ONE_RECENT)]
            items = [one_time_item(random, shelf)]
        elif kind == Kind.SUBSCRIBER:
            plan = next(self._subscriptions)
            days = subscription_days(plan)
            items = subscription_items(random, shelf, plan)
            self._subscription_row(customer_id, plan, shelf.subscription(plan.cycle_days)[0])
        else:
            count = next(self._repeat_counts)
            days = repeat_days(random, count, active=kind == Kind.REPEAT_ACTIVE)
            items = repeat_items(random, shelf, count)
        ordered_at, order_id, first = self._stamps.ordered_at, self._order_id, self._orders_written
        self._sinks["orders"].write_all(
            [
                f"{order_id(first + n)},{customer_id},{ordered_at(ago, random)},{amount},{sku}\n"
                for n, (ago, (sku, amount)) in enumerate(zip(days, items, strict=True), start=1)
            ]
        )
        self._orders_written += len(days)
        return days

    def _subscription_row(self, customer_id: str, plan: SubscriptionPlan, sku: str) -> None:
        sink = self._sinks["subscriptions"]
        subscription_id = self._subscription_id(sink.rows + 1)
        sink.write(
            f"{subscription_id},{customer_id},{sku},{plan.cycle_days},{plan.status.value},"
            f"{self._next_delivery(plan)}\n"
        )

    def _next_delivery(self, plan: SubscriptionPlan) -> str:
        """The coming delivery while the contract runs; a resume date for some paused ones."""
        if plan.status in _RUNNING:
            return self._stamps.after(plan.cycle_days - plan.last_days_ago)
        if plan.status is SubscriptionStatus.PAUSED and self._random() < _PAUSED_WITH_RESUME_DATE:
            return self._stamps.after(7 + int(self._random() * 84))
        return ""

    def _mailing_rows(self, customer_id: str, *, first_days_ago: int, last_days_ago: int) -> None:
        """DMs go to people who were customers when they were sent, mostly the recent ones."""
        for mailing, name, sent_at in self._mailings:
            recent = last_days_ago - mailing.days_before <= _MAILING_AUDIENCE_DAYS
            share = mailing.share_recent if recent else mailing.share_other
            if first_days_ago > mailing.days_before and self._random() < share:
                self._sinks["mailings"].write(f"{customer_id},{name},{sent_at}\n")

    def _dnc_row(self, customer_id: str, person: Person) -> None:
        """By customer and number, by customer only, or by number only; the number in plain
        digits, not as the customer file spells it, so that matching must normalise both."""
        random = self._random
        reason = DNC_REASONS[int(random() * len(DNC_REASONS))]
        keys = random()
        phone = person.phone_digits or ""
        if keys < 0.5 or not phone:
            row = f"{phone},{customer_id},{reason}\n"
        elif keys < 0.8:
            row = f",{customer_id},{reason}\n"
        else:
            row = f"{phone},,{reason}\n"
        self._sinks["dnc"].write(row)


def _id_format(prefix: str, width: int, count: int) -> IdFormat:
    """`C0000001`-style ids, wider only when the count needs more digits."""
    return f"{prefix}{{:0{max(width, len(str(count)))}d}}".format
