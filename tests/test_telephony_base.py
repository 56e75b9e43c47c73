"""The provider interface's value types refuse what Twilio would reject, and the error classes
sort failures into what the dispatcher does next."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from dialer.telephony import (
    AmbiguousOutcomeError,
    CallInfo,
    CallRequest,
    InvalidNumberError,
    ProviderUnavailableError,
    RateLimitError,
    RejectedError,
    TransientError,
)

PUBLIC = "https://dialer.example.jp"


def call_request(**overrides: Any) -> CallRequest:
    fields: dict[str, Any] = {
        "to": "+819012345678",
        "from_": "+81312345678",
        "url": f"{PUBLIC}/twilio/voice/1",
        "status_callback": f"{PUBLIC}/twilio/status",
    }
    return CallRequest(**(fields | overrides))


def test_call_request_asks_for_every_status_event_by_default() -> None:
    assert call_request().status_callback_events == (
        "initiated",
        "ringing",
        "answered",
        "completed",
    )


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": 601}, "timeout"),
        ({"status_callback_events": ("initiated", "hungup")}, "unknown status callback events"),
        ({"async_amd": True}, "need machine_detection"),
        ({"machine_detection_timeout": 30}, "need machine_detection"),
        (
            {"machine_detection": "Enable", "async_amd_status_callback": f"{PUBLIC}/twilio/amd"},
            "needs async_amd",
        ),
        ({"machine_detection": "Enable", "machine_detection_timeout": 60}, "3-59"),
    ],
    ids=[
        "no-ring",
        "ring-too-long",
        "unknown-event",
        "async-without-amd",
        "amd-timeout-without-amd",
        "amd-callback-without-async",
        "amd-timeout-too-long",
    ],
)
def test_call_request_refuses_what_twilio_would_reject(
    overrides: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        call_request(**overrides)


def test_call_request_accepts_async_amd_with_its_callback() -> None:
    request = call_request(
        machine_detection="DetectMessageEnd",
        machine_detection_timeout=30,
        async_amd=True,
        async_amd_status_callback=f"{PUBLIC}/twilio/amd",
    )
    assert request.async_amd


@pytest.mark.parametrize(
    ("status", "final"),
    [
        ("queued", False),
        ("ringing", False),
        ("in-progress", False),
        ("completed", True),
        ("busy", True),
        ("failed", True),
        ("no-answer", True),
        ("canceled", True),
    ],
)
def test_call_info_knows_when_a_call_has_ended(status: str, final: bool) -> None:
    created = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    call = CallInfo(
        sid="CA1", to="+819012345678", from_="+81312345678", status=status, date_created=created
    )
    assert call.is_final is final


def test_only_rate_limits_and_outages_are_plain_retries() -> None:
    assert issubclass(RateLimitError, TransientError)
    assert issubclass(ProviderUnavailableError, TransientError)
    assert not issubclass(AmbiguousOutcomeError, TransientError)
    assert not issubclass(RejectedError, TransientError)


def test_an_invalid_number_is_a_rejection_with_its_code() -> None:
    error = InvalidNumberError("no such number", status=400, code=21211)
    assert isinstance(error, RejectedError)
    assert (error.status, error.code) == (400, 21211)
