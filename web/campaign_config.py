"""campaigns.yaml as the web app sees it: read on first use, re-read when the file changes.

Applying a call's final status needs the campaign's retry policy and calendar. The file is
read when the app starts, so that a bad edit made before anything used it still finds a last
good configuration, but the app starts (and answers its health check) without it: a file that
does not validate then is logged, and read again on first use. It is re-read when its
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
        self._refused: tuple[str, ...] = ()

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
                self._refused = tuple(str(problem) for problem in error.problems)
                error.log_refused(logger, self.path, level=logging.WARNING)
                return self._config
            self._config, self._stamp, self._refused = config, stamp, ()
            return config

    def refused(self) -> tuple[str, ...]:
        """The problems of the latest edit refused while an earlier configuration stays in
        force (call after `current`); empty when the file in force is the file on disk."""
        with self._lock:
            return self._refused


def init_app(app: Flask, settings: Settings) -> None:
    """Attach the campaigns file named by the settings to `app`, read if it validates."""
    source = CampaignFile(settings.campaigns_path)
    app.extensions[EXTENSION] = source
    try:
        source.current()
    except ConfigError as error:
        error.log_refused(logger, source.path, level=logging.WARNING)


def current_config() -> Config:
    """The current app's campaign configuration."""
    return _source().current()


def refused_edit() -> tuple[str, ...]:
    """The problems of a refused edit of the current app's campaigns file, while the last good
    configuration stays in force (`CampaignFile.refused`)."""
    return _source().refused()


def _source() -> CampaignFile:
    source: CampaignFile = current_app.extensions[EXTENSION]
    return source


def _stamp(path: Path) -> _Stamp:
    try:
        status = path.stat()
    except OSError:
        return None
    return (status.st_mtime_ns, status.st_size)
