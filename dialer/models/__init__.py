"""The database schema: SQLAlchemy models, the single source the migrations must reproduce.

Import models from here; the submodules group them by what they describe.
"""

from dialer.models.base import NAMING_CONVENTION, Base
from dialer.models.calls import Attempt, CallEvent, CallListEntry, CallStatus, EntryState, KeyPress
from dialer.models.campaign_controls import CampaignControl
from dialer.models.customers import (
    Customer,
    CustomerPhone,
    Mailing,
    Order,
    Subscription,
    SubscriptionStatus,
)
from dialer.models.dnc import DncEntry, DncSource
from dialer.models.notes import CustomerNote
from dialer.models.operators import OperatorCall
from dialer.models.pacing import ACCOUNT_SCOPE, PacingScope, campaign_scope
from dialer.models.reporting import REPORTING_INDEXES
from dialer.models.types import NaiveDatetimeError, UTCDateTime
from dialer.models.users import User, UserRole

__all__ = [
    "ACCOUNT_SCOPE",
    "NAMING_CONVENTION",
    "REPORTING_INDEXES",
    "Attempt",
    "Base",
    "CallEvent",
    "CallListEntry",
    "CallStatus",
    "CampaignControl",
    "Customer",
    "CustomerNote",
    "CustomerPhone",
    "DncEntry",
    "DncSource",
    "EntryState",
    "KeyPress",
    "Mailing",
    "NaiveDatetimeError",
    "OperatorCall",
    "Order",
    "PacingScope",
    "Subscription",
    "SubscriptionStatus",
    "UTCDateTime",
    "User",
    "UserRole",
    "campaign_scope",
]
