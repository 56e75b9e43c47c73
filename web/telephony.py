"""The app's own Twilio REST client, for the webhooks that must act on a live call.

Only the AMD callback does today (`dialer.amd_followup`): a redirect to leave a message after the
beep, or a hang-up on a machine or a fax. The client is built on first use from the settings,
so an app without Twilio credentials still serves everything else; the follow-up is then
logged as impossible and the call plays on as if detection had not answered.
"""

from __future__ import annotations

from flask import Flask, current_app

from dialer.settings import Settings
from dialer.telephony import TelephonyProvider
from dialer.telephony.twilio import TwilioProvider

EXTENSION = "dialer.telephony"


def init_app(app: Flask, provider: TelephonyProvider | None = None) -> None:
    app.extensions[EXTENSION] = provider


def provider() -> TelephonyProvider:
    """The app's provider; `TwilioConfigError` when the settings lack the credentials."""
    found: TelephonyProvider | None = current_app.extensions.get(EXTENSION)
    if found is None:
        settings: Settings = current_app.config["DIALER_SETTINGS"]
        found = TwilioProvider.from_settings(settings)
        current_app.extensions[EXTENSION] = found
    return found
