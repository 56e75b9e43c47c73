"""Twilio's request signature, required on every /twilio/* webhook.

Twilio signs each request with the account's auth token over the URL it called and the POST
fields (`X-Twilio-Signature`); the SDK's `RequestValidator` checks it. The URL must be the one
Twilio called, which behind a proxy or load balancer is not the one the app sees (another
scheme, host or port): it is rebuilt as `PUBLIC_BASE_URL` + the request path + its query
string. `PUBLIC_BASE_URL` is therefore the public URL of the app's root, the same base the
dispatcher puts in front of the webhook paths it gives Twilio.

A missing or wrong signature gets 403 before the view runs, so nothing is stored. Without an
auth token or a public base URL no signature can be checked, and every webhook gets 403: unsigned
traffic is never accepted. The reason is logged once.
"""

from __future__ import annotations

import hmac
import logging
import threading

from flask import Flask, Request, current_app, request
from flask.typing import ResponseReturnValue
from twilio.request_validator import RequestValidator

from dialer.log import log_event
from dialer.settings import Settings

EXTENSION = "dialer.twilio_auth"
SIGNATURE_HEADER = "X-Twilio-Signature"

logger = logging.getLogger(__name__)


def public_url(base_url: str, path: str, query_string: bytes = b"") -> str:
    """The URL Twilio called: the public base, the path, and the query string as received."""
    url = base_url.rstrip("/") + path
    if query_string:
        url += "?" + query_string.decode("ascii", errors="replace")
    return url


class TwilioSignature:
    """Checks requests against the auth token and the public base URL of the settings."""

    def __init__(self, auth_token: str | None, public_base_url: str | None) -> None:
        self._validator = RequestValidator(auth_token) if auth_token else None
        self._public_base_url = public_base_url
        self.unusable_because = _missing(auth_token, public_base_url)
        self._reported = threading.Event()

    def is_signed(self, incoming: Request) -> bool:
        """Whether `incoming` carries Twilio's valid signature for its public URL and fields."""
        if self._validator is None or self._public_base_url is None:
            self._report_unusable()
            return False
        signature = incoming.headers.get(SIGNATURE_HEADER)
        if not signature:
            return False
        url = public_url(self._public_base_url, incoming.path, incoming.query_string)
        form = incoming.form
        # Twilio signs the URL the dispatcher gave it, which is this one: one HMAC settles the
        # common case. The SDK's own check (with and without the port, since Twilio is not
        # consistent about it) runs only when that fails.
        expected = self._validator.compute_signature(url, form)
        if hmac.compare_digest(expected.encode(), signature.encode()):
            return True
        return bool(self._validator.validate(url, form, signature))

    def _report_unusable(self) -> None:
        if not self._reported.is_set():
            self._reported.set()
            log_event(
                logger,
                "twilio_webhooks_refused",
                level=logging.ERROR,
                reason=self.unusable_because,
            )


def _missing(auth_token: str | None, public_base_url: str | None) -> str | None:
    missing = [
        name
        for name, value in (("TWILIO_AUTH_TOKEN", auth_token), ("PUBLIC_BASE_URL", public_base_url))
        if not value
    ]
    if not missing:
        return None
    return f"{' and '.join(missing)} not set, so no signature can be checked"


def init_app(app: Flask, settings: Settings) -> None:
    """Attach the signature check configured by `settings` to `app`."""
    app.extensions[EXTENSION] = TwilioSignature(
        settings.twilio_auth_token, settings.public_base_url
    )


def require_twilio_signature() -> ResponseReturnValue | None:
    """`before_request` hook for the Twilio blueprint: 403 unless Twilio signed the request."""
    checker: TwilioSignature = current_app.extensions[EXTENSION]
    if checker.is_signed(request):
        return None
    log_event(
        logger,
        "twilio_signature_invalid",
        level=logging.WARNING,
        method=request.method,
        path=request.path,
    )
    return "", 403
