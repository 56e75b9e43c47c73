"""Initial schema: customers and their data, DNC list, call lists, attempts, callback log.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Written out by hand rather than importing the models, so that this revision keeps creating the
same schema whatever the models become. Names follow `dialer.models.base.NAMING_CONVENTION`.
Enumerations are VARCHAR(32) with a named CHECK, identical on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("CURRENT_TIMESTAMP")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_PAYLOAD = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _instant(name: str, *, nullable: bool = True, now: bool = False) -> sa.Column[Any]:
    return sa.Column(
        name, sa.DateTime(timezone=True), nullable=nullable, server_default=NOW if now else None
    )


def _timestamps() -> list[sa.Column[Any]]:
    return [
        _instant("created_at", nullable=False, now=True),
        _instant("updated_at", nullable=False, now=True),
    ]


def _one_of(table: str, column: str, name: str, values: Sequence[str]) -> sa.CheckConstraint:
    quoted = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({quoted})", name=op.f(f"ck_{table}_{name}"))


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def _unique(table: str, *columns: str) -> sa.UniqueConstraint:
    return sa.UniqueConstraint(*columns, name=op.f(f"uq_{table}_{'_'.join(columns)}"))


def _index(table: str, *columns: str) -> None:
    op.create_index(op.f(f"ix_{table}_{'_'.join(columns)}"), table, list(columns))


def upgrade() -> None:
    _create_customer_tables()
    _create_dnc_entries()
    _create_call_tables()


def _create_customer_tables() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_kana", sa.String(200), nullable=True),
        sa.Column("birthday", sa.Date(), nullable=True),
        sa.Column("opt_in", sa.Boolean(), nullable=True),
        *_timestamps(),
        _pk("customers"),
        _unique("customers", "external_id"),
    )
    op.create_table(
        "customer_phones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("preference", sa.SmallInteger(), nullable=False),
        sa.Column("raw", sa.String(64), nullable=False),
        sa.Column("e164", sa.String(16), nullable=True),
        sa.Column("phone_class", sa.String(24), nullable=True),
        sa.Column("refusal_reason", sa.String(200), nullable=True),
        sa.CheckConstraint(
            "e164 IS NOT NULL OR refusal_reason IS NOT NULL",
            name=op.f("ck_customer_phones_judged"),
        ),
        sa.CheckConstraint("preference >= 1", name=op.f("ck_customer_phones_preference_positive")),
        _fk("customer_phones", "customer_id", "customers", "CASCADE"),
        _pk("customer_phones"),
        _unique("customer_phones", "customer_id", "preference"),
    )
    _index("customer_phones", "e164")
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        _instant("ordered_at", nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_orders_amount_not_negative")),
        _fk("orders", "customer_id", "customers", "CASCADE"),
        _pk("orders"),
        _unique("orders", "external_id"),
    )
    _index("orders", "customer_id", "ordered_at")
    _index("orders", "sku", "customer_id")
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("cycle_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("next_delivery", sa.Date(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("cycle_days > 0", name=op.f("ck_subscriptions_cycle_days_positive")),
        _one_of(
            "subscriptions",
            "status",
            "subscription_status",
            ["active", "paused", "cancel_requested", "cancelled"],
        ),
        _fk("subscriptions", "customer_id", "customers", "CASCADE"),
        _pk("subscriptions"),
        _unique("subscriptions", "external_id"),
    )
    _index("subscriptions", "customer_id")
    _index("subscriptions", "status")
    op.create_table(
        "mailings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("mailing", sa.String(100), nullable=False),
        _instant("sent_at", nullable=False),
        _fk("mailings", "customer_id", "customers", "CASCADE"),
        _pk("mailings"),
        _unique("mailings", "customer_id", "mailing"),
    )
    _index("mailings", "mailing", "sent_at")


def _create_dnc_entries() -> None:
    op.create_table(
        "dnc_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(16), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        _instant("added_at", nullable=False, now=True),
        sa.Column("added_by", sa.String(100), nullable=True),
        _instant("expires_at"),
        _instant("removed_at"),
        sa.Column("removed_by", sa.String(100), nullable=True),
        sa.Column("removed_reason", sa.String(200), nullable=True),
        sa.CheckConstraint(
            "phone IS NOT NULL OR customer_id IS NOT NULL", name=op.f("ck_dnc_entries_has_key")
        ),
        sa.CheckConstraint(
            "removed_at IS NULL OR (removed_by IS NOT NULL AND removed_reason IS NOT NULL)",
            name=op.f("ck_dnc_entries_removal_audited"),
        ),
        _one_of("dnc_entries", "source", "dnc_source", ["import", "ivr", "operator", "supervisor"]),
        _fk("dnc_entries", "customer_id", "customers", "RESTRICT"),
        _pk("dnc_entries"),
    )
    _index("dnc_entries", "phone")
    _index("dnc_entries", "customer_id")


def _create_call_tables() -> None:
    _create_call_list_entries()
    _create_attempts()
    op.create_table(
        "key_presses",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("attempt_id", BIG_ID, nullable=False),
        _instant("pressed_at", nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("digits", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32), nullable=True),
        _fk("key_presses", "attempt_id", "attempts", "CASCADE"),
        _pk("key_presses"),
    )
    _index("key_presses", "attempt_id")
    op.create_table(
        "call_events",
        sa.Column("id", BIG_ID, nullable=False),
        _instant("received_at", nullable=False, now=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("call_sid", sa.String(64), nullable=True),
        sa.Column("attempt_id", BIG_ID, nullable=True),
        sa.Column("sequence_number", sa.Integer(), nullable=True),
        sa.Column("payload", JSON_PAYLOAD, nullable=False),
        _instant("applied_at"),
        _fk("call_events", "attempt_id", "attempts", "SET NULL"),
        _pk("call_events"),
    )
    _index("call_events", "call_sid")
    _index("call_events", "attempt_id")


def _create_call_list_entries() -> None:
    table = "call_list_entries"
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.Column("attempt_count", sa.Integer(), server_default="0", nullable=False),
        _instant("next_attempt_at"),
        _instant("last_attempt_at"),
        sa.Column("last_outcome", sa.String(32), nullable=True),
        sa.Column("phone", sa.String(16), nullable=True),
        sa.Column("suppressed_reason", sa.String(32), nullable=True),
        sa.Column("closed_reason", sa.String(32), nullable=True),
        _instant("closed_at"),
        *_timestamps(),
        _one_of(
            table,
            "state",
            "entry_state",
            ["pending", "in_progress", "suppressed", "retired", "done"],
        ),
        sa.CheckConstraint(
            "attempt_count >= 0", name=op.f(f"ck_{table}_attempt_count_not_negative")
        ),
        sa.CheckConstraint(
            "state <> 'pending' OR next_attempt_at IS NOT NULL",
            name=op.f(f"ck_{table}_pending_scheduled"),
        ),
        sa.CheckConstraint(
            "state NOT IN ('pending', 'in_progress') OR phone IS NOT NULL",
            name=op.f(f"ck_{table}_active_has_phone"),
        ),
        sa.CheckConstraint(
            "state <> 'suppressed' OR suppressed_reason IS NOT NULL",
            name=op.f(f"ck_{table}_suppressed_has_reason"),
        ),
        sa.CheckConstraint(
            "state NOT IN ('retired', 'done') OR closed_reason IS NOT NULL",
            name=op.f(f"ck_{table}_closed_has_reason"),
        ),
        _fk(table, "customer_id", "customers", "CASCADE"),
        _pk(table),
        _unique(table, "campaign_id", "customer_id"),
    )
    _index(table, "state", "next_attempt_at")
    _index(table, "customer_id")


def _create_attempts() -> None:
    op.create_table(
        "attempts",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("attempt_number", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(16), nullable=False),
        sa.Column("caller_id", sa.String(16), nullable=True),
        _instant("started_at", nullable=False),
        sa.Column("call_sid", sa.String(64), nullable=True),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("last_sequence_number", sa.Integer(), nullable=True),
        sa.Column("answered_by", sa.String(32), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("sip_response_code", sa.Integer(), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("queue_result", sa.String(32), nullable=True),
        sa.Column("queue_time_seconds", sa.Integer(), nullable=True),
        sa.Column("disposition", sa.String(32), nullable=True),
        sa.Column("operator_id", sa.String(64), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        _instant("dispositioned_at"),
        _instant("ended_at"),
        sa.CheckConstraint("attempt_number >= 1", name=op.f("ck_attempts_attempt_number_positive")),
        _one_of(
            "attempts",
            "status",
            "call_status",
            [
                "queued",
                "initiated",
                "ringing",
                "in-progress",
                "completed",
                "busy",
                "no-answer",
                "failed",
                "canceled",
            ],
        ),
        _fk("attempts", "entry_id", "call_list_entries", "CASCADE"),
        _fk("attempts", "customer_id", "customers", "CASCADE"),
        _pk("attempts"),
        _unique("attempts", "entry_id", "attempt_number"),
        _unique("attempts", "call_sid"),
    )
    _index("attempts", "customer_id", "started_at")
    _index("attempts", "campaign_id", "started_at")


def downgrade() -> None:
    for table in (
        "call_events",
        "key_presses",
        "attempts",
        "call_list_entries",
        "dnc_entries",
        "mailings",
        "subscriptions",
        "orders",
        "customer_phones",
        "customers",
    ):
        op.drop_table(table)
