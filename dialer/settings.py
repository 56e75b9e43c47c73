"""Process settings, read from the environment in exactly one place.

Everything else receives a `Settings` object; nothing else reads `os.environ`. Secrets are kept
out of `repr()` so that logging a `Settings` never leaks them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///dialer.sqlite3"
DEFAULT_CAMPAIGNS = "campaigns.yaml"
TWILIO_DEFAULT_BASE_URL = "https://api.twilio.com"


@dataclass(frozen=True)
class Settings:
    """The environment contract of DESIGN.md, typed and with its defaults."""

    database_url: str = DEFAULT_DATABASE_URL
    campaigns_path: Path = Path(DEFAULT_CAMPAIGNS)
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = field(default=None, repr=False)
    twilio_api_base_url: str = TWILIO_DEFAULT_BASE_URL
    public_base_url: str | None = None
    secret_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `env` (the process environment when omitted)."""
        env = os.environ if env is None else env
        return cls(
            database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            campaigns_path=Path(env.get("DIALER_CAMPAIGNS") or DEFAULT_CAMPAIGNS),
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
            twilio_api_base_url=env.get("TWILIO_API_BASE_URL") or TWILIO_DEFAULT_BASE_URL,
            public_base_url=env.get("PUBLIC_BASE_URL") or None,
            secret_key=env.get("SECRET_KEY") or None,
        )
