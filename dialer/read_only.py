"""A read-only unit of work for the dashboard's read models.

Each read model runs in a transaction of its own that is rolled back at the end, so that no
transaction stays open while a page renders (on SQLite every transaction holds the write lock
the worker needs). On PostgreSQL the query JIT is turned off for that transaction: the
dashboard's aggregates touch tens of thousands of rows, where compiling the query costs far
more (over a second) than running it (tens of milliseconds).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.orm import Session

__all__ = ["read_only"]


@contextmanager
def read_only(session: Session) -> Iterator[Session]:
    """Read in a transaction of its own, unless the caller has one open (then in theirs)."""
    opened = not session.in_transaction()
    try:
        if opened and session.get_bind().dialect.name == "postgresql":
            session.execute(sa.text("SET LOCAL jit = off"))
        yield session
    finally:
        if opened:
            session.rollback()
