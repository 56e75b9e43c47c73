"""Who the synthetic shop's customers are, decided before any row is written.

A repeat-purchase shop is mostly one-time buyers (F1), a long tail of repeaters and a core of
定期便 subscribers. The plan fixes, exactly, how many customers of each kind there are and how
many orders each one gets, so that the files hold precisely the requested number of rows and
every campaign seed (F2 follow-up, dormant, best customers, cancel-save) has members even in a
shop of a few hundred customers. It holds a byte per customer and a few numbers per repeater or
subscriber: a million customers plan in a few megabytes, and the writer streams from it.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, replace
from enum import IntEnum
from random import Random
from typing import Final

from dialer.errors import DialerError
from dialer.models.customers import SubscriptionStatus

#: Days of history before `as_of` (three years); every order falls inside.
WINDOW_DAYS: Final = 3 * 365
#: One-time buyers count as recent when their order is at most this many days old.
ONE_RECENT_DAYS: Final = 60
#: Repeaters whose last order is older than this are lapsed (the dormant campaign's pool).
LAPSED_AFTER_DAYS: Final = 180

ONE_TIME_SHARE: Final = 0.55  # of customers without a subscription
ONE_RECENT_SHARE: Final = 0.08  # of one-time buyers
ACTIVE_REPEAT_SHARE: Final = 0.45  # of repeaters
STATUS_SHARES: Final = {
    SubscriptionStatus.PAUSED: 0.08,
    SubscriptionStatus.CANCEL_REQUESTED: 0.04,
    SubscriptionStatus.CANCELLED: 0.18,
}
CYCLES: Final = (30,) * 50 + (45,) * 15 + (60,) * 25 + (90,) * 10
MEAN_TENURE_DAYS: Final = 420
# Active repeaters order more often than lapsed ones; see `_long_tail` for the counts' shape.
_ACTIVE_WEIGHT: Final = 1.6
_LAPSED_WEIGHT: Final = 0.6
_LIGHT_SHARE: Final = 0.55
_LIGHT_MEAN: Final = 1.0
_TAIL_CAP: Final = 12.0


class ShopSizeError(DialerError):
    """The requested sizes cannot make a shop (e.g. more subscriptions than customers)."""


class Kind(IntEnum):
    """What a customer's order history looks like; one byte per customer in the plan."""

    NO_ORDER = 0
    ONE_RECENT = 1
    ONE_EARLIER = 2
    REPEAT_ACTIVE = 3
    REPEAT_LAPSED = 4
    SUBSCRIBER = 5


@dataclass(frozen=True, slots=True)
class SubscriptionPlan:
    """A 定期便: one delivery (and order) every `cycle_days`, the last `last_days_ago`."""

    cycle_days: int
    status: SubscriptionStatus
    deliveries: int
    last_days_ago: int

    @property
    def first_days_ago(self) -> int:
        return self.last_days_ago + (self.deliveries - 1) * self.cycle_days

    @property
    def most_deliveries(self) -> int:
        """How many deliveries fit in the window without moving the last one."""
        return (WINDOW_DAYS - 1 - self.last_days_ago) // self.cycle_days + 1


@dataclass(frozen=True)
class ShopPlan:
    """Everything random about the shop's shape; the writer consumes it in customer order."""

    kinds: bytearray
    bad_phones: bytearray
    repeat_orders: array[int]
    subscriptions: tuple[SubscriptionPlan, ...]

    @property
    def order_count(self) -> int:
        one_time = self.kinds.count(Kind.ONE_RECENT) + self.kinds.count(Kind.ONE_EARLIER)
        delivered = sum(plan.deliveries for plan in self.subscriptions)
        return one_time + sum(self.repeat_orders) + delivered


def plan_shop(
    rng: Random, *, customers: int, orders: int, subscriptions: int, bad_row_rate: float
) -> ShopPlan:
    """Plan a shop with exactly these numbers of customers, orders and subscriptions."""
    _check_sizes(customers, orders, subscriptions, bad_row_rate)
    plans = _subscriptions(rng, subscriptions)
    plans = _fit_deliveries(plans, orders, only_subscribers=customers == subscriptions)
    pool = orders - sum(plan.deliveries for plan in plans)
    counts = _kind_counts(customers - subscriptions, pool)
    counts[Kind.SUBSCRIBER] = subscriptions
    kinds = _shuffled(rng, counts)
    one_time = counts[Kind.ONE_RECENT] + counts[Kind.ONE_EARLIER]
    bad = round(customers * bad_row_rate)
    return ShopPlan(
        kinds=kinds,
        bad_phones=_shuffled(rng, {1: bad, 0: customers - bad}),
        repeat_orders=_repeat_orders(rng, kinds, pool - one_time),
        subscriptions=tuple(plans),
    )


def _check_sizes(customers: int, orders: int, subscriptions: int, bad_row_rate: float) -> None:
    if customers < 0 or orders < 0 or subscriptions < 0:
        raise ShopSizeError("customers, orders and subscriptions cannot be negative")
    if subscriptions > customers:
        raise ShopSizeError(f"{subscriptions} subscriptions need at least as many customers")
    if orders < subscriptions:
        raise ShopSizeError(f"{subscriptions} subscriptions need at least as many orders")
    if not 0.0 <= bad_row_rate <= 1.0:
        raise ShopSizeError(f"bad_row_rate must be between 0 and 1, not {bad_row_rate}")


def _shuffled(rng: Random, counts: dict[int, int]) -> bytearray:
    """Each key repeated by its count, in random order: exact shares at any size."""
    values = bytearray()
    for value, count in counts.items():
        values.extend(bytes([value]) * count)
    rng.shuffle(values)
    return values


def _subscriptions(rng: Random, count: int) -> list[SubscriptionPlan]:
    """Exact status shares, with at least one cancel request for the cancel-save campaign."""
    counts = {status: round(count * share) for status, share in STATUS_SHARES.items()}
    if count and not counts[SubscriptionStatus.CANCEL_REQUESTED]:
        counts[SubscriptionStatus.CANCEL_REQUESTED] = 1
    counts[SubscriptionStatus.ACTIVE] = max(0, count - sum(counts.values()))
    statuses = [status for status, n in counts.items() for _ in range(n)][:count]
    rng.shuffle(statuses)
    return [_subscription(rng, status) for status in statuses]


def _subscription(rng: Random, status: SubscriptionStatus) -> SubscriptionPlan:
    """Cycle, tenure and timing; active ones delivered within the current cycle."""
    cycle = CYCLES[int(rng.random() * len(CYCLES))]
    low, high = _last_delivery_range(status, cycle)
    tenure = 1 + int(-math.log(1.0 - rng.random()) * MEAN_TENURE_DAYS / cycle)
    deliveries = min(tenure, (WINDOW_DAYS - 1 - low) // cycle + 1)
    high = min(high, WINDOW_DAYS - 1 - (deliveries - 1) * cycle)
    last = low + int(rng.random() * (high - low + 1))
    return SubscriptionPlan(cycle, status, deliveries, last)


def _last_delivery_range(status: SubscriptionStatus, cycle: int) -> tuple[int, int]:
    if status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.CANCEL_REQUESTED):
        return 1, cycle
    if status is SubscriptionStatus.PAUSED:
        return cycle + 1, cycle + 120
    return cycle + 1, WINDOW_DAYS - 1


def _fit_deliveries(
    plans: list[SubscriptionPlan], orders: int, *, only_subscribers: bool
) -> list[SubscriptionPlan]:
    """Shorten histories when subscriptions alone would exceed the orders; lengthen them only
    when no other customer could take the rest."""
    excess = sum(plan.deliveries for plan in plans) - orders
    if excess < 0 and not only_subscribers:
        return plans
    while excess:
        step = 1 if excess > 0 else -1
        changed = False
        for index, plan in enumerate(plans):
            if excess and 1 <= plan.deliveries - step <= plan.most_deliveries:
                plans[index] = replace(plan, deliveries=plan.deliveries - step)
                excess -= step
                changed = True
        if not changed:
            raise ShopSizeError(f"{orders} orders do not fit in three years of subscriptions")
    return plans


def _kind_counts(non_subscribers: int, pool: int) -> dict[int, int]:
    """Split the orders left after subscriptions between one-time buyers and repeaters."""
    if pool <= non_subscribers:
        one_time, repeaters = pool, 0
    else:
        wanted = max(1, round(non_subscribers * (1 - ONE_TIME_SHARE)))
        repeaters = min(wanted, pool - non_subscribers)
        one_time = non_subscribers - repeaters
    recent = min(one_time, max(1, round(one_time * ONE_RECENT_SHARE)))
    active = min(repeaters, max(1, round(repeaters * ACTIVE_REPEAT_SHARE)))
    if repeaters > 1 and active == repeaters:
        active -= 1  # keep at least one lapsed repeater for the dormant campaign
    return {
        Kind.NO_ORDER: non_subscribers - one_time - repeaters,
        Kind.ONE_RECENT: recent,
        Kind.ONE_EARLIER: one_time - recent,
        Kind.REPEAT_ACTIVE: active,
        Kind.REPEAT_LAPSED: repeaters - active,
    }


def _repeat_orders(rng: Random, kinds: bytearray, pool: int) -> array[int]:
    """Orders per repeater (at least two), in customer order, summing exactly to `pool`.

    Each draw targets the mean of what is left, so the running total cannot drift and the last
    repeater only absorbs ordinary noise.
    """
    active, lapsed = kinds.count(Kind.REPEAT_ACTIVE), kinds.count(Kind.REPEAT_LAPSED)
    counts: array[int] = array("I")
    for value in kinds:
        if value != Kind.REPEAT_ACTIVE and value != Kind.REPEAT_LAPSED:
            continue
        remaining = active + lapsed
        if remaining == 1:
            count = pool
        else:
            weight = _ACTIVE_WEIGHT if value == Kind.REPEAT_ACTIVE else _LAPSED_WEIGHT
            spread = active * _ACTIVE_WEIGHT + lapsed * _LAPSED_WEIGHT
            mean_extra = (pool - 2 * remaining) * weight / spread
            count = min(2 + _long_tail(rng, mean_extra), pool - 2 * (remaining - 1))
        counts.append(count)
        pool -= count
        if value == Kind.REPEAT_ACTIVE:
            active -= 1
        else:
            lapsed -= 1
    return counts


def _long_tail(rng: Random, mean: float) -> int:
    """A non-negative integer with this mean, shaped like reorder counts: mostly 0 or 1, and a
    heavy share of loyal customers who reorder many times.

    A mix of a geometric draw (mean at most `_LIGHT_MEAN`) and a capped exponential,
    stochastically rounded so that rounding adds no bias.
    """
    if mean <= 0:
        return 0
    light = min(mean, _LIGHT_MEAN)
    if light == mean or rng.random() < _LIGHT_SHARE:
        return int(-math.log(1.0 - rng.random()) / math.log1p(1.0 / light))
    heavy = (mean - _LIGHT_SHARE * light) / (1.0 - _LIGHT_SHARE)
    value = -math.log(1.0 - rng.random()) * heavy
    return int(min(value, _TAIL_CAP * mean) + rng.random())
