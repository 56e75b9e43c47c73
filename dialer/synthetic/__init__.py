"""A seeded, deterministic synthetic 単品リピート通販 shop, written as the importer's CSV files.

For the demo (a few thousand customers), the benchmarks (a million customers and five million
orders, streamed in bounded memory) and tests that need realistic data: kanji names with katakana
readings, phones as people type them, one-time buyers, repeaters, lapsed customers and 定期便
subscribers, a DM mailing and a do-not-call list, all relative to a reference date `as_of` so
that every sample campaign finds members.
"""

from dialer.synthetic.catalogue import LINES, PRODUCTS, Product, ProductLine
from dialer.synthetic.plan import ShopSizeError
from dialer.synthetic.shop import (
    DEFAULT_AS_OF,
    HEADERS,
    ShopFile,
    ShopFiles,
    mailing_name,
    write_shop_csvs,
)

__all__ = [
    "DEFAULT_AS_OF",
    "HEADERS",
    "LINES",
    "PRODUCTS",
    "Product",
    "ProductLine",
    "ShopFile",
    "ShopFiles",
    "ShopSizeError",
    "mailing_name",
    "write_shop_csvs",
]
