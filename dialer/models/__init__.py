"""The database schema: SQLAlchemy models, the single source the migrations must reproduce.

Import models from here; the submodules group them by what they describe.
"""

from dialer.models.base import NAMING_CONVENTION, Base
from dialer.models.calls import Attempt, CallEvent, CallListEntry, CallStatus, EntryState, KeyPress
from dialer.models.customers import (
    Customer,
    CustomerPhone,
    Mailing,
    Order,
    Subscription,
    SubscriptionStatus,
)
from dialer.models.dnc import DncEntry, DncSource
from dialer.models.types import NaiveDatetimeError, UTCDateTime

__all__ = [
    "NAMING_CONVENTION",
    "Attempt",
    "Base",
    "CallEvent",
    "CallListEntry",
    "CallStatus",
    "Customer",
    "CustomerPhone",
    "DncEntry",
    "DncSource",
    "EntryState",
    "KeyPress",
    "Mailing",
    "NaiveDatetimeError",
    "Order",
    "Subscription",
    "SubscriptionStatus",
    "UTCDateTime",
]
