"""Reading structured log events (`dialer.log.log_event`) back from pytest's `caplog`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pytest

from dialer.log import FIELDS_ATTRIBUTE


def logged(
    caplog: pytest.LogCaptureFixture, event: str, level: int = logging.INFO
) -> list[Mapping[str, Any]]:
    """The fields of every `event` that `caplog` captured at `level`, in the order logged."""
    return [
        getattr(record, FIELDS_ATTRIBUTE)
        for record in caplog.records
        if record.getMessage() == event and record.levelno == level
    ]
