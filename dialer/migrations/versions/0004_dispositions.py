"""Dispositions: who recorded an operator's disposition, and the callback time asked for.

Revision ID: 0004_dispositions
Revises: 0003_dashboard
Create Date: 2026-11-23

Written out by hand like 0001. The disposition itself, its time, the operator and the notes
have had their columns since 0001. Both new columns are nullable and have no default, so both
engines add and drop them with a plain ALTER TABLE (SQLite 3.35 or later drops columns): no
batch copy of `attempts`, whose expression and partial indexes a copy would have to rebuild.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_dispositions"
down_revision: str | None = "0003_dashboard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("attempts", sa.Column("dispositioned_by", sa.String(64), nullable=True))
    op.add_column("attempts", sa.Column("callback_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("attempts", "callback_at")
    op.drop_column("attempts", "dispositioned_by")
