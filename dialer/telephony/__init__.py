"""Telephony providers: the interface in `base`, one module per implementation.

Import an implementation from its module (`dialer.telephony.twilio`); the names the dispatcher
uses to talk about calls and failures are re-exported here.
"""

from dialer.telephony.base import (
    AmbiguousOutcomeError,
    AuthenticationError,
    CallInfo,
    CallRequest,
    InvalidNumberError,
    ProviderUnavailableError,
    RateLimitError,
    RejectedError,
    TelephonyError,
    TelephonyProvider,
    TransientError,
)

__all__ = [
    "AmbiguousOutcomeError",
    "AuthenticationError",
    "CallInfo",
    "CallRequest",
    "InvalidNumberError",
    "ProviderUnavailableError",
    "RateLimitError",
    "RejectedError",
    "TelephonyError",
    "TelephonyProvider",
    "TransientError",
]
