"""Migration 0006: the numbers the dialer marked invalid become marks a re-import keeps."""

from __future__ import annotations

import sqlalchemy as sa

from dialer.db import current_revision, make_engine, upgrade

BEFORE = "0005_operator_calls"
REVISION = "0006_number_marks"
AT = "2026-11-02 01:00:00+00:00"
REFUSED = "+819011112222"  # the carrier refused it on a call
READ_INVALID = "+819033334444"  # the importer's verdict, never called


def test_only_numbers_a_call_failed_on_as_invalid_are_carried_over(
    empty_database_url: str,
) -> None:
    upgrade(empty_database_url, BEFORE)
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as connection:
            run = connection.execute
            run(sa.text("INSERT INTO customers (id, external_id, name) VALUES (1, 'C1', '山田')"))
            phones = (
                "INSERT INTO customer_phones (customer_id, preference, raw, e164, refusal_reason) "
                "VALUES (1, 1, :e164, :e164, 'invalid'), (1, 2, :other, :other, 'invalid'), "
                "(1, 3, '090-1234', NULL, 'invalid')"
            )
            run(sa.text(phones), {"e164": REFUSED, "other": READ_INVALID})
            run(
                sa.text(
                    "INSERT INTO call_list_entries (id, campaign_id, customer_id, state, phone) "
                    "VALUES (1, 'f2-followup', 1, 'in_progress', :e164)"
                ),
                {"e164": REFUSED},
            )
            run(
                sa.text(
                    "INSERT INTO attempts (id, entry_id, attempt_number, campaign_id, "
                    "customer_id, phone, started_at, status, outcome, error_code) VALUES "
                    "(1, 1, 1, 'f2-followup', 1, :e164, :at, 'failed', 'failed', 21211)"
                ),
                {"e164": REFUSED, "at": AT},
            )

        upgrade(empty_database_url, REVISION)

        assert current_revision(empty_database_url) == REVISION
        with engine.connect() as connection:
            reasons = connection.execute(
                sa.text("SELECT preference, refusal_reason FROM customer_phones ORDER BY 1")
            ).all()
        assert [tuple(row) for row in reasons] == [
            (1, "reported_invalid"),
            (2, "invalid"),
            (3, "invalid"),
        ]
    finally:
        engine.dispose()
