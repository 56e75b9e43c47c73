"""campaigns.yaml as the web app sees it: read on first use, re-read when the file changes.

Applying a status callback needs the campaign's retry policy and calendar. The file is read
lazily, so that the app starts (and answers its health check) without it, and re-read when its
modification time or size changes, so that an edit reaches the web processes without a
restart. A change that does not validate is logged once and the last good configuration stays
in force, as in the worker; before any good one, the error reaches the caller.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from flask import Flask, current_app

from dialer.campaigns import Config, ConfigError, load_config
from dialer.settings import Settings

EXTENSION = "dialer.campaigns"

logger = logging.getLogger(__name__)

_Stamp = tuple[int, int] | None


class CampaignFile:
    """The configuration in one campaigns file, kept current."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._config: Config | None = None
        self._stamp: _Stamp = None

    def current(self) -> Config:
        """The configuration now in force; `ConfigError` when the file never validated."""
        stamp = _stamp(self.path)
        with self._lock:
            if self._config is not None and stamp == self._stamp:
                return self._config
            try:
                config = load_config(self.path)
            except ConfigError as error:
                if self._config is None:
                    raise
                # Not re-read until it changes again, so the warning appears once per change.
                self._stamp = stamp
                error.log_refused(logger, self.path, level=logging.WARNING)
                return self._config
            self._config, self._stamp = config, stamp
            return config


def init_app(app: Flask, settings: Settings) -> None:
    """Attach the campaigns file named by the settings to `app`."""
    app.extensions[EXTENSION] = CampaignFile(settings.campaigns_path)


def current_config() -> Config:
    """The current app's campaign configuration."""
    source: CampaignFile = current_app.extensions[EXTENSION]
    return source.current()


def _stamp(path: Path) -> _Stamp:
    try:
        status = path.stat()
    except OSError:
        return None
    return (status.st_mtime_ns, status.st_size)
