"""Structured logs: one JSON object per line, phone numbers masked, secrets never written.

Events are logged with `log_event(logger, "call_placed", attempt_id=12, phone=number)`: the
message is a stable snake_case event name and the details are fields, so a log shipper can
index them without parsing prose. Whatever reaches the formatter is scrubbed as a last line of
defence: numbers that look like phone numbers are masked the way `dialer.phones.mask` does
(+81 90-****-5678), and the configured secrets (auth token, secret key) and fields named like
secrets are replaced, wherever they appear.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import IO, Any, Final

from dialer.phones import mask
from dialer.settings import Settings

REDACTED: Final = "[redacted]"
FIELDS_ATTRIBUTE: Final = "dialer_fields"

# E.164 (+ and 8-15 digits), and Japanese national forms (0 and 9-10 digits, or with dashes),
# never inside a longer word such as a call SID or a timestamp.
_E164 = re.compile(r"(?<![\w+])\+\d{8,15}(?!\d)")
_NATIONAL = re.compile(r"(?<![\w+-])0\d{1,4}-?\d{1,4}-?\d{3,4}(?![\w-])")
_SECRET_NAMES = re.compile(r"token|secret|password|authorization|api_key", re.IGNORECASE)
# APScheduler reports every job run at INFO, and at WARNING every run it skips because the
# previous run of the same job is still going, which is how the dispatch job is meant to work
# (it dials for as long as there is work, and a run that fires meanwhile is not needed).
_QUIET_LOGGERS: Final = {"apscheduler": logging.ERROR}


def mask_numbers(text: str) -> str:
    """`text` with every phone number in it masked (E.164 and Japanese national forms)."""
    text = _E164.sub(lambda match: mask(match.group()), text)
    return _NATIONAL.sub(_mask_national, text)


def _mask_national(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    if len(digits) not in (10, 11):
        return match.group()
    return "0" + "*" * (len(digits) - 5) + digits[-4:]


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, event, then the event's fields."""

    def __init__(self, *, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self._secrets = sorted({secret for secret in secrets if secret}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields: Mapping[str, Any] = getattr(record, FIELDS_ATTRIBUTE, None) or {}
        for name, value in fields.items():
            payload[name] = REDACTED if _SECRET_NAMES.search(name) else _plain(value)
        if record.exc_info:
            payload["error"] = self.formatException(record.exc_info)
        return self._scrub(json.dumps(payload, ensure_ascii=False, default=str))

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return mask_numbers(text)


def _plain(value: Any) -> Any:
    """A JSON-ready value: datetimes as ISO 8601, everything unknown as its text."""
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    return str(value)


def log_event(
    logger: logging.Logger,
    event: str,
    *,
    level: int = logging.INFO,
    exc_info: bool = False,
    **fields: Any,
) -> None:
    """Log `event` (a snake_case name) with its fields; pass numbers in clear, they are masked.

    `exc_info`: attach the exception being handled (from an `except` block)."""
    if logger.isEnabledFor(level):
        logger.log(level, event, exc_info=exc_info, extra={FIELDS_ATTRIBUTE: fields})


def configure_logging(
    settings: Settings, *, level: int = logging.INFO, stream: IO[str] | None = None
) -> logging.Handler:
    """Send every log record of the process to `stream` (stderr) as JSON lines.

    Replaces the root logger's handlers, so calling it again does not double the output.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(secrets=(settings.twilio_auth_token, settings.secret_key)))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name, quiet_level in _QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(level, quiet_level))
    return handler
