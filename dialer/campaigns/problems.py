"""What `dialer check` reports: problems located by file and line, gathered all at once.

Validation first locates a mistake by its key path in the document (`Issue`), because that is
what the schema knows; the loader then turns the path into a line (`Problem`), because that is
what the person editing the file needs.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from dialer.errors import DialerError
from dialer.log import log_event

Loc = tuple[str | int, ...]
"""A key path into the document: mapping keys (str) and list indexes (int)."""

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Problem:
    """One mistake in a configuration file, ready to print as `PATH:LINE: message`."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"


class ConfigError(DialerError):
    """The configuration cannot be used; `problems` lists every mistake found, sorted by line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(problems, key=lambda problem: problem.line or 0)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    def log_refused(self, logger: logging.Logger, path: object, *, level: int) -> None:
        """Log why the file at `path` was refused: each problem, then the refusal (the worker
        and the web app keep their last good configuration, and say so the same way)."""
        for problem in self.problems:
            log_event(logger, "config_problem", level=level, problem=str(problem))
        log_event(
            logger, "config_refused", level=level, path=str(path), problems=len(self.problems)
        )


@dataclass(frozen=True)
class Issue:
    """A mistake located by key path; `line` is set only when no key path can say where."""

    loc: Loc
    message: str
    line: int | None = None


def dotted(loc: Loc) -> str:
    """`('campaigns', 0, 'ivr', 'menu', '*')` → `campaigns[0].ivr.menu["*"]`, for messages."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f'["{part}"]'
    return text


def closest(word: object, candidates: Iterable[str]) -> str | None:
    """The candidate `word` is most likely a misspelling of, if any."""
    if not isinstance(word, str):
        return None
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: object, candidates: Iterable[str]) -> str:
    """A ` (did you mean 'x'?)` suffix when `word` looks like a misspelt candidate, else ``."""
    match = closest(word, candidates)
    return f" (did you mean '{match}'?)" if match else ""


def describe(value: Any) -> str:
    """Name a YAML value the way its author sees it, for "expected X, got Y" messages."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
