"""Requests to the app, signed as Twilio signs them.

`X-Twilio-Signature` is computed by the SDK's `RequestValidator` over the URL as the app gave it
(its public URL) and the POST fields, keyed by the auth token. `routes` stand in for a tunnel: a
URL under a public base is sent to another base (where the app really listens) while the
signature still covers the public URL, as the app behind a tunnel or proxy sees it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

import requests  # type: ignore[import-untyped,unused-ignore]
from twilio.request_validator import RequestValidator

from dialer.sandbox.calls import Webhook

SIGNATURE_HEADER = "X-Twilio-Signature"
USER_AGENT = "TwilioProxy/1.1"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """The app's answer to one webhook request."""

    status: int
    body: bytes
    content_type: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        """The body as text; TwiML is parsed from `body`, which XML says how to decode."""
        return self.body.decode("utf-8", errors="replace")


class WebhookError(Exception):
    """The app could not be reached, or did not answer in time."""


class WebhookClient:
    """Sends signed form requests; one HTTP session per thread, so connections are reused."""

    def __init__(
        self, auth_token: str, *, timeout_seconds: float, routes: Mapping[str, str] | None = None
    ) -> None:
        self._validator = RequestValidator(auth_token)
        self._timeout = timeout_seconds
        self._routes = {
            public.rstrip("/"): actual.rstrip("/") for public, actual in (routes or {}).items()
        }
        self._local = threading.local()

    def signature(self, url: str, params: Mapping[str, str]) -> str:
        signature: str = self._validator.compute_signature(url, dict(params))
        return signature

    def send(self, hook: Webhook, params: Mapping[str, str]) -> Answer:
        """Request `hook` with `params` (form fields for POST, the query for GET)."""
        if hook.method == "GET":
            separator = "&" if "?" in hook.url else "?"
            url = hook.url + separator + urlencode(params) if params else hook.url
            signed, body = url, {}
        else:
            url, signed, body = hook.url, hook.url, dict(params)
        headers = {SIGNATURE_HEADER: self.signature(signed, body), "User-Agent": USER_AGENT}
        try:
            response = self._session().request(
                hook.method,
                self.route(url),
                data=body or None,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise WebhookError(f"{hook.method} {hook.url}: {type(exc).__name__}") from exc
        return Answer(
            response.status_code, response.content, response.headers.get("Content-Type", "")
        )

    def route(self, url: str) -> str:
        """Where a request for `url` is actually sent."""
        for public, actual in self._routes.items():
            if url == public or url.startswith(public + "/") or url.startswith(public + "?"):
                return actual + url[len(public) :]
        return url

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session
