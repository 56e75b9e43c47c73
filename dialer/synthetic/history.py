"""One customer's orders: on which days (counted back from `as_of`) and of what.

The shapes are the ones the campaigns look for. A one-time buyer has a single order, recent or
not; a repeater reorders roughly every one to two months, either still (last order within
half a year) or no longer (lapsed: the dormant campaign's pool); a subscriber is delivered every
cycle, often after starting with the trial size. Orders come out oldest first.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

from dialer.synthetic.catalogue import LINES, ProductLine, amount_variants, draw_line
from dialer.synthetic.plan import (
    LAPSED_AFTER_DAYS,
    ONE_RECENT_DAYS,
    WINDOW_DAYS,
    SubscriptionPlan,
)

Random = Callable[[], float]
#: (sku, amount as text) of one order.
Item = tuple[str, str]

_MEAN_ACTIVE_RECENCY_DAYS: Final = 40.0
_TRIAL_FIRST: Final = {"one_time": 0.65, "repeat": 0.55, "subscription": 0.5}


def one_time_day(random: Random, *, recent: bool) -> int:
    """The single order of a one-time buyer: within `ONE_RECENT_DAYS`, or any time before."""
    if recent:
        return 1 + int(random() * ONE_RECENT_DAYS)
    return ONE_RECENT_DAYS + 1 + int(random() * (WINDOW_DAYS - 1 - ONE_RECENT_DAYS))


def repeat_days(random: Random, count: int, *, active: bool) -> list[int]:
    """`count` (at least two) orders about a personal interval apart, ending active or lapsed."""
    gap = 25.0 + random() * 45.0
    if active:
        recency = -math.log(1.0 - random()) * _MEAN_ACTIVE_RECENCY_DAYS
        last = min(LAPSED_AFTER_DAYS, 1 + int(recency))
    else:
        room = WINDOW_DAYS - 2 - LAPSED_AFTER_DAYS
        span = min(room, (count - 1) * gap)
        last = LAPSED_AFTER_DAYS + 1 + int(random() * (room - span + 1))
    gap = min(gap, (WINDOW_DAYS - 1 - last) / (count - 1))
    first = last + (count - 1) * gap
    jitter = 0.6 * gap
    middle = [int(first - k * gap + (random() - 0.5) * jitter) for k in range(1, count - 1)]
    return [int(first), *middle, last]


def subscription_days(plan: SubscriptionPlan) -> list[int]:
    """One delivery per cycle, the last one `plan.last_days_ago`."""
    first = plan.first_days_ago
    return [first - k * plan.cycle_days for k in range(plan.deliveries)]


class Shelf:
    """A product line's orders as ready-made text, so that picking an order is a lookup."""

    def __init__(self, line: ProductLine) -> None:
        self.line = line
        self.trial: Item = (line.trial.sku, str(line.trial.price))
        self._regular = tuple(
            (line.regular.sku, str(a)) for a in amount_variants(line.regular.price)
        )
        bulk = line.bulk or line.regular
        self._bulk: Item = (bulk.sku, str(bulk.price))

    def regular(self, random: Random) -> Item:
        return self._regular[int(random() * len(self._regular))]

    def reorder(self, random: Random) -> Item:
        """Mostly the same product again, sometimes the three-month pack or another line."""
        draw = random()
        if draw < 0.80:
            return self.regular(random)
        if draw < 0.88:
            return self._bulk
        return SHELVES[draw_line(random)].regular(random)

    def subscription(self, cycle_days: int) -> Item:
        product = self.line.subscription_product(cycle_days)
        return product.sku, str(self.line.subscription_amount(cycle_days))


SHELVES: Final = {line: Shelf(line) for line in LINES}


def draw_shelf(random: Random) -> Shelf:
    return SHELVES[draw_line(random)]


def one_time_item(random: Random, shelf: Shelf) -> Item:
    return shelf.trial if random() < _TRIAL_FIRST["one_time"] else shelf.regular(random)


def repeat_items(random: Random, shelf: Shelf, count: int) -> list[Item]:
    first = shelf.trial if random() < _TRIAL_FIRST["repeat"] else shelf.regular(random)
    return [first, *(shelf.reorder(random) for _ in range(count - 1))]


def subscription_items(random: Random, shelf: Shelf, plan: SubscriptionPlan) -> list[Item]:
    delivery = shelf.subscription(plan.cycle_days)
    first = shelf.trial if random() < _TRIAL_FIRST["subscription"] else delivery
    return [first, *([delivery] * (plan.deliveries - 1))]
