"""Dashboard: user accounts, campaign pause switches, customer notes, reporting indexes.

Revision ID: 0003_dashboard
Revises: 0002_pacing
Create Date: 2026-11-24

Written out by hand like 0001. The DNC list needs no table of its own for its audit: removals
were already soft (`removed_at`, `removed_by`, `removed_reason`).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_dashboard"
down_revision: str | None = "0002_pacing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("CURRENT_TIMESTAMP")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.CheckConstraint("role IN ('supervisor', 'operator')", name=op.f("ck_users_user_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "campaign_controls",
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(100), nullable=False),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_campaign_controls")),
    )
    op.create_table(
        "customer_notes",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", BIG_ID, nullable=True),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_notes_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["attempts.id"],
            name=op.f("fk_customer_notes_attempt_id_attempts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_notes")),
    )
    op.create_index(
        "ix_customer_notes_customer_id_created_at", "customer_notes", ["customer_id", "created_at"]
    )
    op.create_index("ix_attempts_started_at_id", "attempts", ["started_at", "id"])
    op.create_index("ix_attempts_operator_id_started_at", "attempts", ["operator_id", "started_at"])
    op.create_index(
        "ix_call_list_entries_campaign_id_state", "call_list_entries", ["campaign_id", "state"]
    )
    op.create_index(
        "ix_attempts_phone_tail",
        "attempts",
        [sa.text("substr(phone, length(phone) - 3)"), "started_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_attempts_phone_tail", table_name="attempts")
    op.drop_index("ix_call_list_entries_campaign_id_state", table_name="call_list_entries")
    op.drop_index("ix_attempts_operator_id_started_at", table_name="attempts")
    op.drop_index("ix_attempts_started_at_id", table_name="attempts")
    op.drop_index("ix_customer_notes_customer_id_created_at", table_name="customer_notes")
    op.drop_table("customer_notes")
    op.drop_table("campaign_controls")
    op.drop_table("users")
