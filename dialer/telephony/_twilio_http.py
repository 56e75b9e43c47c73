"""The HTTP client under the Twilio SDK: bounded waits, error answers kept whole, quiet logs.

The SDK turns an error answer into `TwilioRestException` without its headers (so without
`Retry-After`), and into a bare `TwilioException` without even the status when it is a list page.
Raising `AnswerError` here, where the response is still whole, keeps both. The SDK's own request
log writes query strings, which carry the number being reconciled, at INFO; this one logs the
method and path at DEBUG.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from twilio.http.http_client import TwilioHttpClient

_logger = logging.getLogger(__name__)


class AnswerError(Exception):
    """Twilio answered with an HTTP error; `code` and `message` come from its error JSON."""

    def __init__(
        self, status: int, code: int | None, message: str, retry_after: float | None
    ) -> None:
        super().__init__(status, code, message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after

    @classmethod
    def from_response(cls, status: int, text: str, headers: Mapping[str, str]) -> AnswerError:
        """Read Twilio's `{"code", "message", "more_info", "status"}` body when there is one."""
        body = _json_object(text)
        code = body.get("code")
        message = body.get("message")
        return cls(
            status,
            code if isinstance(code, int) and not isinstance(code, bool) else None,
            message if isinstance(message, str) else "",
            _retry_after(headers),
        )

    def __str__(self) -> str:
        code = f", error {self.code}" if self.code is not None else ""
        message = f": {self.message}" if self.message else ""
        return f"Twilio answered HTTP {self.status}{code}{message}"


class Transport(TwilioHttpClient):  # type: ignore[misc]
    """`TwilioHttpClient` with a timeout on every request and errors raised as `AnswerError`.

    No retries are mounted: a create sent twice is a customer called twice, so whether to try
    again is the dispatcher's decision, after reconciliation.
    """

    def __init__(self, *, timeout: float) -> None:
        super().__init__(pool_connections=True, timeout=timeout, logger=_logger)

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Any:
        response = super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )
        if response.status_code >= 400:
            raise AnswerError.from_response(
                response.status_code, response.text, response.headers or {}
            )
        return response

    def log_request(self, kwargs: dict[str, Any]) -> None:
        _logger.debug("Twilio request %s %s", kwargs["method"], urlsplit(kwargs["url"]).path)

    def log_response(self, status_code: int, response: Any) -> None:
        _logger.debug("Twilio answered %s", status_code)


def _json_object(text: str) -> dict[str, Any]:
    try:
        body = json.loads(text)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait, from a `Retry-After` in seconds; an HTTP-date form is ignored."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
