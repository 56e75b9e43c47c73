"""The scalar value types of campaigns.yaml, each with the message its author needs to fix it.

Every type here is an `Annotated` pydantic type: the models only name them, so one spelling
rule (what a duration, a phone number or a spoken text looks like) lives in exactly one place.
"""

from __future__ import annotations

import re
import string
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from pydantic import AfterValidator, PlainValidator, StrictStr, StringConstraints

from dialer.campaigns.problems import closest, describe, did_you_mean
from dialer.durations import parse_duration

PLACEHOLDERS = ("company", "purpose", "customer_name", "campaign")
JAPANESE_VOICES = ("Polly.Mizuki", "Polly.Takumi", "Polly.Kazuha", "Polly.Tomoko")
_NEURAL = re.compile(r"Polly\.(Mizuki|Takumi|Kazuha|Tomoko)-Neural")
_GOOGLE_JA = re.compile(r"Google\.ja-JP-[A-Za-z0-9-]+")
_E164 = re.compile(r"\+[1-9]\d{1,14}")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

Text = Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1)]
"""Free text that must not be empty."""


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"{value} has no unit; write a duration such as 30s, 30m, 2h or 1d")
    if not isinstance(value, str):
        raise ValueError(f"expected a duration such as 30m, got {describe(value)}")
    return parse_duration(value)


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than 0s")
    return value


Duration = Annotated[timedelta, PlainValidator(_duration)]
PositiveDuration = Annotated[timedelta, PlainValidator(_duration), AfterValidator(_positive)]


def _retry_delay(value: Any) -> timedelta | None:
    if value == "never":
        return None
    try:
        delay = _duration(value)
    except ValueError as error:
        raise ValueError(f"{error}, or never") from None
    if delay < timedelta(minutes=1):
        raise ValueError("a retry sooner than 1m only annoys the customer; use 1m or more")
    return delay


RetryDelay = Annotated[timedelta | None, PlainValidator(_retry_delay)]
"""How long to wait before the next attempt, or None for `never` (no retry)."""


def _phone(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(
            f'write phone numbers in quotes, e.g. "+{value}"; unquoted, YAML reads them as numbers'
        )
    if not isinstance(value, str):
        raise ValueError(f'expected a phone number such as "+81312345678", got {describe(value)}')
    if not _E164.fullmatch(value):
        raise ValueError(f"'{value}' is not in E.164 form{_e164_hint(value)}")
    if not _is_valid(value):
        raise ValueError(f"'{value}' is not a valid phone number")
    return value


def _is_valid(e164: str) -> bool:
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(e164, None)))
    except phonenumbers.NumberParseException:
        return False


def _e164_hint(value: str) -> str:
    try:
        number = phonenumbers.parse(value, "JP")
    except phonenumbers.NumberParseException:
        return ' ("+" and country code, digits only, e.g. "+81312345678")'
    if not phonenumbers.is_valid_number(number):
        return ' ("+" and country code, digits only, e.g. "+81312345678")'
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f'; write it as "{e164}"'


PhoneNumber = Annotated[str, PlainValidator(_phone)]
"""A valid phone number in E.164 form (`+81312345678`)."""


def _timezone(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a time zone name such as Asia/Tokyo, got {describe(value)}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        hint = did_you_mean(value, available_timezones()) or " (Japan is Asia/Tokyo)"
        raise ValueError(f"unknown time zone '{value}'{hint}") from None
    return value


TimeZoneName = Annotated[str, PlainValidator(_timezone)]
"""An IANA time zone name that `zoneinfo` knows."""


def placeholders(text: str) -> list[str]:
    """The `{name}` placeholders used in a spoken text, in order."""
    return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]


def _spoken(value: str) -> str:
    try:
        names = placeholders(value)
    except ValueError:
        raise ValueError("unbalanced { or }; placeholders look like {company}") from None
    allowed = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
    for name in names:
        if name not in PLACEHOLDERS:
            match = closest(name, PLACEHOLDERS)
            hint = f" (did you mean {{{match}}}?)" if match else ""
            raise ValueError(f"unknown placeholder {{{name}}}{hint}; allowed: {allowed}")
    return value


SpokenText = Annotated[Text, AfterValidator(_spoken)]
"""Text read to the customer; may use {company}, {purpose}, {customer_name}, {campaign}."""


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"'{value}' is not an http(s) URL Twilio can fetch")
    return value


HttpUrl = Annotated[Text, AfterValidator(_http_url)]


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise ValueError(
            f"'{value}' is not a valid id: use lowercase letters, digits and hyphens "
            f"(e.g. f2-followup)"
        )
    return value


Slug = Annotated[StrictStr, AfterValidator(_slug)]


def _voice(value: str) -> str:
    if value in JAPANESE_VOICES or _NEURAL.fullmatch(value) or _GOOGLE_JA.fullmatch(value):
        return value
    raise ValueError(
        f"voice '{value}' does not speak Japanese{did_you_mean(value, JAPANESE_VOICES)}; use "
        f"{', '.join(JAPANESE_VOICES)} (or their -Neural variants), or a Google.ja-JP-* voice"
    )


Voice = Annotated[StrictStr, AfterValidator(_voice)]
