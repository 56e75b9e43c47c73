"""Reading CreateCall and UpdateCall form fields, refused with Twilio's error codes."""

from __future__ import annotations

import re
from typing import Final, Literal
from urllib.parse import urlsplit

import phonenumbers
from werkzeug.datastructures import MultiDict

from dialer.sandbox.calls import CallOptions, HttpMethod, InlineTwiml, Instructions, Webhook
from dialer.sandbox.resources import ApiError

EVENTS: Final = frozenset({"initiated", "ringing", "answered", "completed"})
_E164 = re.compile(r"^\+[1-9]\d{1,14}$")

NO_TO: Final = 21201
INVALID_URL: Final = 21205
INVALID_TO: Final = 21211
INVALID_FROM: Final = 21212
NO_FROM: Final = 21213
INVALID_PARAMETER: Final = 20001


def create_options(form: MultiDict[str, str]) -> CallOptions:
    """The options of a CreateCall request; `ApiError` (400) names the first problem."""
    to = _number(form, "To", missing=NO_TO, invalid=INVALID_TO)
    from_ = _number(form, "From", missing=NO_FROM, invalid=INVALID_FROM)
    answer = instructions(form)
    if answer is None:
        raise ApiError(400, INVALID_URL, "A 'Url' or 'Twiml' parameter is required")
    return CallOptions(
        to=to,
        from_=from_,
        answer=answer,
        status_callback=_hook(form, "StatusCallback", "StatusCallbackMethod"),
        status_events=_events(form),
        timeout_seconds=_whole(form, "Timeout", 60, 1, 600),
        machine_detection=_machine_detection(form),
        machine_detection_timeout=_whole(form, "MachineDetectionTimeout", 30, 3, 59),
        async_amd=_boolean(form, "AsyncAmd"),
        amd_callback=_hook(form, "AsyncAmdStatusCallback", "AsyncAmdStatusCallbackMethod"),
    )


def _machine_detection(form: MultiDict[str, str]) -> Literal["Enable", "DetectMessageEnd"] | None:
    value = form.get("MachineDetection") or None
    if value is None:
        return None
    if value == "Enable":
        return "Enable"
    if value == "DetectMessageEnd":
        return "DetectMessageEnd"
    raise _invalid("MachineDetection", value)


def instructions(form: MultiDict[str, str]) -> Instructions | None:
    """`Twiml` if given, else `Url` with `Method`; None when neither is."""
    twiml = form.get("Twiml")
    if twiml:
        return InlineTwiml(twiml)
    return _hook(form, "Url", "Method")


def _number(form: MultiDict[str, str], name: str, *, missing: int, invalid: int) -> str:
    value = (form.get(name) or "").strip()
    if not value:
        raise ApiError(400, missing, f"No '{name}' number is specified")
    if not _E164.match(value) or not _possible(value):
        raise ApiError(400, invalid, f"Invalid '{name}' Phone Number: {value}")
    return value


def _possible(number: str) -> bool:
    try:
        return bool(phonenumbers.is_possible_number(phonenumbers.parse(number)))
    except phonenumbers.NumberParseException:
        return False


def _hook(form: MultiDict[str, str], url_field: str, method_field: str) -> Webhook | None:
    url = (form.get(url_field) or "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ApiError(400, INVALID_URL, f"{url_field} is not a valid URL: {url}")
    return Webhook(url, _method(form, method_field))


def _method(form: MultiDict[str, str], name: str) -> HttpMethod:
    value = (form.get(name) or "POST").upper()
    if value == "GET":
        return "GET"
    if value == "POST":
        return "POST"
    raise _invalid(name, value)


def _events(form: MultiDict[str, str]) -> frozenset[str]:
    events = frozenset(
        event.lower() for value in form.getlist("StatusCallbackEvent") for event in value.split()
    )
    unknown = events - EVENTS
    if unknown:
        raise _invalid("StatusCallbackEvent", " ".join(sorted(unknown)))
    return events or frozenset({"completed"})


def _whole(form: MultiDict[str, str], name: str, default: int, low: int, high: int) -> int:
    value = form.get(name)
    if not value:
        return default
    if not value.strip().isdigit() or not low <= int(value) <= high:
        raise _invalid(name, value)
    return int(value)


def _boolean(form: MultiDict[str, str], name: str) -> bool:
    value = (form.get(name) or "false").lower()
    if value not in ("true", "false"):
        raise _invalid(name, value)
    return value == "true"


def _invalid(name: str, value: str) -> ApiError:
    return ApiError(400, INVALID_PARAMETER, f"Invalid value for {name}: {value!r}")
