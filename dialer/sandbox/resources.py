"""The JSON the REST API answers with: the Call resource, list pages and error bodies.

Shaped as Twilio's OpenAPI description has them (`api.v2010.account.call`, `ListCallResponse`):
every property present, dates in RFC 2822 with `+0000`, counts as strings, `queue_time` in
milliseconds. Error bodies are Twilio's `{"code", "message", "more_info", "status"}`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Final

from dialer.sandbox.calls import API_VERSION, DIRECTION, Call

PRICE_UNIT: Final = "USD"
SUBRESOURCES: Final = (
    "notifications",
    "recordings",
    "payments",
    "events",
    "siprec",
    "streams",
    "transcriptions",
    "user_defined_message_subscriptions",
    "user_defined_messages",
)
_SUBRESOURCE_PATHS: Final = {
    "notifications": "Notifications",
    "recordings": "Recordings",
    "payments": "Payments",
    "events": "Events",
    "siprec": "Siprec",
    "streams": "Streams",
    "transcriptions": "Transcriptions",
    "user_defined_message_subscriptions": "UserDefinedMessageSubscriptions",
    "user_defined_messages": "UserDefinedMessages",
}


def rfc2822(at: datetime | None) -> str | None:
    """`Tue, 31 Aug 2010 20:36:28 +0000`, as Twilio writes its dates."""
    if at is None:
        return None
    return format_datetime(at.astimezone(UTC).replace(microsecond=0))


def calls_path(account_sid: str) -> str:
    return f"/2010-04-01/Accounts/{account_sid}/Calls"


def call_resource(call: Call, now_real: float) -> dict[str, Any]:
    """The Call resource of `call` as it stands (read it under the store's lock)."""
    base = f"{calls_path(call.account_sid)}/{call.sid}"
    duration = call.duration_seconds()
    options = call.options
    return {
        "sid": call.sid,
        "date_created": rfc2822(call.date_created),
        "date_updated": rfc2822(call.date_updated),
        "parent_call_sid": None,
        "account_sid": call.account_sid,
        "to": options.to,
        "to_formatted": formatted(options.to),
        "from": options.from_,
        "from_formatted": formatted(options.from_),
        "phone_number_sid": "PN" + hashlib.sha256(options.from_.encode()).hexdigest()[:32],
        "status": call.status.resource_value,
        "start_time": rfc2822(call.start_time),
        "end_time": rfc2822(call.end_time),
        "duration": None if duration is None else str(duration),
        "price": None,
        "price_unit": PRICE_UNIT,
        "direction": DIRECTION,
        "answered_by": call.answered_by(now_real),
        "api_version": API_VERSION,
        "forwarded_from": None,
        "group_sid": None,
        "caller_name": None,
        "queue_time": str(call.queue_time_ms),
        "trunk_sid": None,
        "uri": f"{base}.json",
        "subresource_uris": {
            name: f"{base}/{_SUBRESOURCE_PATHS[name]}.json" for name in SUBRESOURCES
        },
    }


def formatted(number: str) -> str:
    """Twilio's display form: `(415) 867-5309` in North America, E.164 elsewhere."""
    digits = number[2:]
    if number.startswith("+1") and len(digits) == 10 and digits.isdigit():
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return number


def error_body(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class ApiError(Exception):
    """An error answer: HTTP `status` with Twilio's error `code`."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.code, self.message)
