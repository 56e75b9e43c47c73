"""Twilio's REST API (2010-04-01) as a `TelephonyProvider`, through the official SDK.

The base URL comes from the settings: the SDK builds every request URL, list pages included,
from its `api` domain's `base_url`, so setting that one attribute points all of it at the
sandbox or a contract-test server. Edge and region routing, which the SDK would take from
`TWILIO_EDGE`/`TWILIO_REGION` in the process environment and splice into the host, is switched
off: the base URL says exactly where requests go.

Error answers are turned into `TelephonyError`s inside the HTTP client, where the status and the
`Retry-After` header are still at hand; the SDK's own exceptions keep neither for list pages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

import requests  # type: ignore[import-untyped,unused-ignore]
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from dialer.errors import DialerError
from dialer.settings import Settings
from dialer.telephony._twilio_http import AnswerError, Transport
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
)

T = TypeVar("T")

RATE_LIMIT_CODE: Final = 20429
AUTHENTICATION_CODE: Final = 20003
# Twilio's "this number cannot be called" family: retrying such a number never helps. The 132xx
# codes arrive as a status callback's ErrorCode rather than as a REST answer.
INVALID_NUMBER_CODES: Final = frozenset({13223, 13224, 21211, 21214, 21217, 21401, 21614})


class TwilioConfigError(DialerError):
    """The Twilio settings are missing or unusable."""


class _MalformedAnswerError(Exception):
    """A 2xx answer that does not describe a call."""


_FAILURES: Final = (
    AnswerError,
    requests.RequestException,
    TwilioException,
    json.JSONDecodeError,
    _MalformedAnswerError,
)


class TwilioProvider:
    """Places and manages calls on Twilio (or anything that speaks its API at `base_url`)."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        base_url: str,
        *,
        timeout_seconds: float = 10,
    ) -> None:
        if timeout_seconds <= 0:
            raise ValueError(f"timeout_seconds must be positive, not {timeout_seconds}")
        self.account_sid = account_sid
        self.base_url = _checked_base_url(base_url)
        client = Client(account_sid, auth_token, http_client=Transport(timeout=timeout_seconds))
        client.edge = None
        client.region = None
        client.api.base_url = self.base_url
        self._calls = client.api.v2010.accounts(account_sid).calls

    @classmethod
    def from_settings(cls, settings: Settings, *, timeout_seconds: float = 10) -> TwilioProvider:
        """The provider the environment describes; refuses to start without credentials."""
        if not settings.twilio_account_sid or not settings.twilio_auth_token:
            raise TwilioConfigError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must both be set")
        return cls(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_api_base_url,
            timeout_seconds=timeout_seconds,
        )

    def __repr__(self) -> str:
        return f"TwilioProvider(account_sid={self.account_sid!r}, base_url={self.base_url!r})"

    def place_call(self, request: CallRequest) -> CallInfo:
        """Create the call; a failure that may have left it placed is `AmbiguousOutcomeError`."""
        return _guarded(
            lambda: _call_info(self._calls.create(**_create_params(request))), creating=True
        )

    def fetch_call(self, sid: str) -> CallInfo:
        """The call's current state."""
        return _guarded(lambda: _call_info(self._calls(sid).fetch()))

    def list_calls(self, to: str, started_after: datetime) -> list[CallInfo]:
        """Calls to `to` created at or after `started_after`, oldest first.

        `StartTime>` cannot see a call Twilio still holds in its queue (no start time yet), so
        queued calls are listed too, and first: a call that leaves the queue between the two
        requests then shows up in the second. Twilio's times have whole seconds, hence the
        truncation. Pass an instant a little before the attempt began to absorb clock skew.
        """
        since = _utc_seconds(started_after)
        queued = _guarded(lambda: self._list(to=to, status="queued"))
        started = _guarded(lambda: self._list(to=to, start_time_after=since))
        by_sid = {call.sid: call for call in queued + started if call.date_created >= since}
        return sorted(by_sid.values(), key=lambda call: (call.date_created, call.sid))

    def hangup(self, sid: str) -> CallInfo:
        """End the call in whatever state; unlike `canceled`, `completed` also ends a live call."""
        return _guarded(lambda: _call_info(self._calls(sid).update(status="completed")))

    def redirect(self, sid: str, url: str) -> CallInfo:
        """Make the live call fetch its next TwiML from `url` (POST)."""
        return _guarded(lambda: _call_info(self._calls(sid).update(url=url, method="POST")))

    def _list(self, **filters: Any) -> list[CallInfo]:
        """Every page of one filtered listing (the SDK follows `next_page_uri`)."""
        return [_call_info(instance) for instance in self._calls.stream(**filters)]


def _create_params(request: CallRequest) -> dict[str, Any]:
    """The SDK's `calls.create` arguments; every callback is asked for by POST."""
    params: dict[str, Any] = {
        "to": request.to,
        "from_": request.from_,
        "url": request.url,
        "method": "POST",
        "status_callback": request.status_callback,
        "status_callback_event": list(request.status_callback_events),
        "status_callback_method": "POST",
        "timeout": request.timeout,
    }
    if request.machine_detection is not None:
        params["machine_detection"] = request.machine_detection
    if request.machine_detection_timeout is not None:
        params["machine_detection_timeout"] = request.machine_detection_timeout
    if request.async_amd:
        params["async_amd"] = "true"
    if request.async_amd_status_callback is not None:
        params["async_amd_status_callback"] = request.async_amd_status_callback
        params["async_amd_status_callback_method"] = "POST"
    return params


def _guarded(operation: Callable[[], T], *, creating: bool = False) -> T:
    """Run one SDK operation, turning its failures into the dispatcher's errors."""
    try:
        return operation()
    except _FAILURES as exc:
        raise _translate(exc, creating=creating) from exc


def _translate(exc: Exception, *, creating: bool) -> TelephonyError:
    """The error class that tells the dispatcher what to do after `exc`."""
    if isinstance(exc, AnswerError):
        return _from_answer(exc, creating=creating)
    if isinstance(exc, requests.RequestException):
        message = f"no complete answer from Twilio ({type(exc).__name__})"
    else:
        message = f"unreadable answer from Twilio ({type(exc).__name__})"
    return AmbiguousOutcomeError(message) if creating else ProviderUnavailableError(message)


def _from_answer(answer: AnswerError, *, creating: bool) -> TelephonyError:
    """Classify an HTTP error answer by its status and Twilio error code."""
    message = _redact_numbers(str(answer))
    status, code = answer.status, answer.code
    if status == 429 or code == RATE_LIMIT_CODE:
        return RateLimitError(message, retry_after=answer.retry_after)
    if status == 401 or code == AUTHENTICATION_CODE:
        return AuthenticationError(message)
    if status >= 500:
        if creating:
            return AmbiguousOutcomeError(message, status=status)
        return ProviderUnavailableError(message, status=status)
    if code in INVALID_NUMBER_CODES:
        return InvalidNumberError(message, status=status, code=code)
    return RejectedError(message, status=status, code=code)


def _call_info(instance: Any) -> CallInfo:
    """Read the SDK's `CallInstance` (dates already parsed to aware UTC) into a `CallInfo`."""
    return CallInfo(
        sid=_required_text(instance.sid, "sid"),
        to=_required_text(instance.to, "to"),
        from_=_required_text(instance._from, "from"),
        status=_required_text(instance.status, "status"),
        date_created=_required_time(instance.date_created),
        start_time=instance.start_time,
        end_time=instance.end_time,
        duration=_optional_int(instance.duration),
        answered_by=instance.answered_by or None,
        queue_time_ms=_optional_int(instance.queue_time),
    )


def _required_text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise _MalformedAnswerError(f"call without {name}")
    return value


def _required_time(value: object) -> datetime:
    if not isinstance(value, datetime):
        raise _MalformedAnswerError("call without date_created")
    return value


def _optional_int(value: object) -> int | None:
    """Twilio sends counts as strings ("15"); empty means not known yet."""
    if value is None or value == "":
        return None
    try:
        return int(str(value))
    except ValueError as exc:
        raise _MalformedAnswerError(f"not a whole number: {value!r}") from exc


def _utc_seconds(at: datetime) -> datetime:
    """`at` in UTC to the whole second; the SDK formats datetimes as UTC without converting."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: pass a timezone-aware instant")
    return at.astimezone(UTC).replace(microsecond=0)


def _checked_base_url(base_url: str) -> str:
    """The base URL without its trailing slash; it is shown in reprs, so no credentials in it."""
    parts = urlsplit(base_url)
    if parts.username is not None or parts.password is not None:
        raise TwilioConfigError("TWILIO_API_BASE_URL must not carry credentials")
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise TwilioConfigError(f"TWILIO_API_BASE_URL is not an http(s) base URL: {base_url!r}")
    return base_url.rstrip("/")


_NUMBER = re.compile(r"\+?\d[\d\- ]{5,}\d")


def _redact_numbers(text: str) -> str:
    """Twilio's messages quote the number dialled; keep only its last four digits."""
    return _NUMBER.sub(lambda match: "****" + re.sub(r"\D", "", match.group())[-4:], text)
