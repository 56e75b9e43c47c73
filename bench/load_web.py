"""The load run's web app: gunicorn with sync workers, as the Procfile runs it, on the demo clock.

The production `web:create_app()` reads the system clock; the load run needs the simulated one
that the sandbox and the dialer workers share, so each gunicorn worker builds the app itself
(`load`, after the fork) with `create_app(settings, clock=DemoClock.clock())`. The master is
started with `spawn`: the bench process runs the sandbox's threads and must not be forked.
"""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from dialer.demo.clock import DemoClock
from dialer.log import configure_logging
from dialer.settings import Settings

HOST = "127.0.0.1"
_spawn = multiprocessing.get_context("spawn")


class LoadWebApp(BaseApplication):  # type: ignore[misc]
    """gunicorn serving `web.create_app` on the demo clock; one app per worker process."""

    def __init__(
        self, settings: Settings, clock: DemoClock, port: int, logs: Path, workers: int
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.options: dict[str, Any] = {
            "bind": f"{HOST}:{port}",
            "workers": workers,
            "worker_class": "sync",
            "timeout": 60,
            "loglevel": "warning",
            "errorlog": str(logs / "gunicorn.log"),
        }
        self.logs = logs
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from web import create_app

        stream = (self.logs / f"web-{os.getpid()}.log").open("a", encoding="utf-8")
        configure_logging(self.settings, stream=stream)
        return create_app(self.settings, clock=self.clock.clock())


def serve(settings: Settings, clock: DemoClock, port: int, logs: Path, workers: int) -> None:
    """Run the gunicorn master until SIGTERM (graceful: running requests finish)."""
    LoadWebApp(settings, clock, port, logs, workers).run()


def start_web(
    settings: Settings, clock: DemoClock, port: int, logs: Path, workers: int = 2
) -> BaseProcess:
    """The gunicorn master in a spawned process of its own."""
    process = _spawn.Process(
        target=serve, args=(settings, clock, port, logs, workers), name="load-web", daemon=False
    )
    process.start()
    return process
