"""Campaign segments compiled to SQL: one SELECT per segment, the same on SQLite and PostgreSQL.

`dialer.campaigns.segments` is the language (the parsed tree); this package evaluates it in the
database, never by loading customers into Python. `segment_query` is what the list build runs,
`explain_customer` is what `dialer why` and the dashboard show.

Semantics, for campaign managers and for whoever reads the SQL:

- **Days** are whole calendar days in the campaign's time zone, between the local date of the
  event and the local date of `as_of`: an order at 23:30 yesterday is 1 day ago, one at 00:10
  today is 0. Internally each day range becomes a range of instants (`days`).
- **Customers without orders** have `orders_count` 0, `lifetime_value` 0, F and M scores for 0
  orders and ¥0, and no value at all for `average_order_value`, `first_order_value`,
  `first_order_days_ago`, `last_order_days_ago` and `rfm_r`.
- **A missing value fails every test**, and `not` is the exact complement: `not:
  {last_order_days_ago: {lt: 30}}` includes customers who never ordered. Every leaf compiles to
  a predicate that is true or false, never SQL's unknown.
- **Fields with many values** (`bought_sku`, `subscription_status`, `subscription_cycle_days`)
  hold when any of the customer's orders or subscriptions matches; under `not`, when none does.
  Two such leaves may be satisfied by different subscriptions.
- **`days_since_mailing`** counts from when the named mailing was sent to the customer; a
  customer it was never sent to has no value.
- **`customer_since_days`** counts from the first order or from the customer record's creation,
  whichever is earlier: an imported customer's record is as new as the import.
- **`birthday_month`** `current`/`next` is the month of `as_of` in the time zone, or the one
  after (December's next is January).
- **RFM** scores follow the `rfm:` thresholds: R from days since the last order, F from the
  number of orders, M from lifetime value (`dialer.campaigns.schema.Rfm`).
- **`order_by`** sorts customers without a value last, in either direction; ties go to the lower
  customer id. Day fields sort on the exact instant, so within the same day the more recent
  order counts as fewer days ago. `subscription_cycle_days` sorts on the shortest cycle.
"""

from dialer.segment_sql.compiler import segment_member_ids, segment_query
from dialer.segment_sql.explain import (
    Explanation,
    LeafCheck,
    UnknownCustomerError,
    explain_customer,
)

__all__ = [
    "Explanation",
    "LeafCheck",
    "UnknownCustomerError",
    "explain_customer",
    "segment_member_ids",
    "segment_query",
]
