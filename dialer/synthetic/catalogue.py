"""The synthetic shop's products: four lines, each a trial size, a regular size and a 定期便 price.

Repeat-purchase shops sell one hero product (here 青汁) on a cheap first-order trial and convert
buyers to a subscription at a discount; the campaigns' segments (`bought_sku`, order values,
RFM monetary scores) only make sense against prices shaped like that, so amounts are drawn
around these list prices (tax included, whole yen).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

Random = Callable[[], float]

SHIPPING_YEN: Final = 550
COUPON_YEN: Final = 500


@dataclass(frozen=True)
class Product:
    """One SKU as the shop lists it."""

    sku: str
    name: str
    price: int


@dataclass(frozen=True)
class ProductLine:
    """A product in its sizes; `bulk` is a three-month pack where the shop offers one."""

    trial: Product
    regular: Product
    bulk: Product | None
    subscription_price: int
    share: int

    def subscription_product(self, cycle_days: int) -> Product:
        """What a 定期便 of this cycle delivers: the three-month pack for a 90-day cycle."""
        return self.bulk if cycle_days >= 90 and self.bulk is not None else self.regular

    def subscription_amount(self, cycle_days: int) -> int:
        """定期便 price per delivery: the regular discount, scaled up for a three-month pack."""
        if cycle_days >= 90 and self.bulk is not None:
            return self.bulk.price * self.subscription_price // self.regular.price // 10 * 10
        return self.subscription_price


LINES: Final = (
    ProductLine(
        trial=Product("AOJIRU-TRIAL", "国産大麦若葉の青汁 お試し7包", 980),
        regular=Product("AOJIRU-30", "国産大麦若葉の青汁 30包", 3980),
        bulk=Product("AOJIRU-90", "国産大麦若葉の青汁 90包（3か月分）", 10800),
        subscription_price=3580,
        share=50,
    ),
    ProductLine(
        trial=Product("KOSO-TRIAL", "熟成生酵素サプリ お試し10粒", 1480),
        regular=Product("KOSO-60", "熟成生酵素サプリ 60粒", 4980),
        bulk=None,
        subscription_price=3980,
        share=20,
    ),
    ProductLine(
        trial=Product("COLLAGEN-TRIAL", "美容コラーゲン お試し7包", 1280),
        regular=Product("COLLAGEN-30", "美容コラーゲン 30包", 5980),
        bulk=None,
        subscription_price=4780,
        share=18,
    ),
    ProductLine(
        trial=Product("GEL-TRIAL", "オールインワン美容ゲル ミニ20g", 1980),
        regular=Product("GEL-100", "オールインワン美容ゲル 100g", 8800),
        bulk=None,
        subscription_price=6980,
        share=12,
    ),
)

PRODUCTS: Final = tuple(
    product
    for line in LINES
    for product in (line.trial, line.regular, line.bulk)
    if product is not None
)

_LINE_TABLE: Final = tuple(line for line in LINES for _ in range(line.share))


def draw_line(random: Random) -> ProductLine:
    """A product line in proportion to its share of first orders."""
    return _LINE_TABLE[int(random() * len(_LINE_TABLE))]


def amount_variants(price: int) -> tuple[int, ...]:
    """Twenty equally likely totals for one order of a regular product.

    Mostly the list price; sometimes with shipping (under ¥5,000), two units, or a coupon.
    """
    shipped = price + SHIPPING_YEN if price < 5000 else price
    return (price,) * 14 + (shipped,) * 3 + (price * 2,) * 2 + (price - COUPON_YEN,)
