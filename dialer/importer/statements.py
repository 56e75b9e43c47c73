"""The set-based SQL of an import, written once for both engines.

Each chunk of good rows is loaded into a temporary staging table, then checked and applied with a
handful of statements that the database runs over the whole chunk:

1. Its keys go into a temporary table of the keys seen so far; a key an earlier chunk had makes
   the row a duplicate. Memory stays flat however long the file.
2. Customer ids are resolved by one join against `customers` (no id map in Python); rows naming
   an unknown customer are rejected.
3. One INSERT … SELECT … ON CONFLICT DO UPDATE per table, updating only rows whose values
   differ, so that a re-import leaves rows (and their `updated_at`) alone. RETURNING tells
   inserted rows from updated ones. A customer's phones are written by joining the staged
   customers to `customers` for their ids (step 2 would rewrite every staged row for them),
   and keep what calling taught about an unchanged number (`dialer.number_marks`).

A few fragments differ between the engines (`Dialect`). An optional column absent from the
file's header is left out of the INSERT and the UPDATE, so the database keeps what it had.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final

from dialer.importer.formats import FileFormat, Header
from dialer.phones import LEARNED_BY_CALLING

STAGE: Final = "import_stage"
SEEN: Final = "import_seen"

#: The staging table of each kind in the order of `rows.Record`, with logical types. A kind
#: whose rows name a customer (`customer_ext`) also has `customer_id`, the customer's internal
#: id, filled in the database.
STAGE_COLUMNS: Final[Mapping[str, tuple[tuple[str, str], ...]]] = {
    "customers": (
        ("line", "int"),
        ("key", "text"),
        ("name", "text"),
        ("name_kana", "text"),
        ("birthday", "date"),
        ("opt_in", "bool"),
        *((f"phone_{part}", "text") for part in ("raw", "e164", "class", "refusal")),
        *((f"phone2_{part}", "text") for part in ("raw", "e164", "class", "refusal")),
    ),
    "orders": (
        ("line", "int"),
        ("key", "text"),
        ("customer_ext", "text"),
        ("ordered_at", "instant"),
        ("amount", "int"),
        ("sku", "text"),
        ("channel", "text"),
    ),
    "subscriptions": (
        ("line", "int"),
        ("key", "text"),
        ("customer_ext", "text"),
        ("sku", "text"),
        ("cycle_days", "int"),
        ("status", "text"),
        ("next_delivery", "date"),
    ),
    "mailings": (
        ("line", "int"),
        ("key", "text"),
        ("customer_ext", "text"),
        ("mailing", "text"),
        ("sent_at", "instant"),
    ),
    "dnc": (
        ("line", "int"),
        ("key", "text"),
        ("phone", "text"),
        ("customer_ext", "text"),
        ("reason", "text"),
    ),
}
_TABLES: Final[Mapping[str, tuple[str, ...]]] = {
    "customers": ("customers", "customer_phones"),
    "orders": ("orders",),
    "subscriptions": ("subscriptions",),
    "mailings": ("mailings",),
    "dnc": ("dnc_entries",),
}


@dataclass(frozen=True)
class Dialect:
    """The fragments of SQL that differ between SQLite and PostgreSQL."""

    name: str
    param: str
    #: Null-safe "differs" and "equals".
    differs: str
    same: str
    #: True in RETURNING for a row the INSERT created rather than updated. SQLite has no
    #: system column for it, but hands out ids above the current maximum (no AUTOINCREMENT)
    #: and the write lock is held: the writer passes that maximum as the parameter.
    is_new: str
    is_new_takes_max_id: bool
    types: Mapping[str, str]
    #: Empties the staging table. PostgreSQL must TRUNCATE: autovacuum never visits temporary
    #: tables, so deleted rows would pile up and every chunk would scan all earlier ones.
    clear: str
    #: The collation of the keys seen so far: they are only ever compared for equality, which
    #: the database's own collation would make slower on PostgreSQL (SQLite's is bytewise).
    key_collation: str = ""
    #: Run at the start of every chunk's transaction.
    chunk_settings: tuple[str, ...] = ()
    seen_options: str = ""
    #: Refresh planner statistics after a large import (see `Statements.analyze`).
    analyzes: bool = False
    #: Apply a chunk in a database thread while the next one is parsed. Only where the
    #: apply step waits for the server: sqlite3 does SQLite's work in the calling process and
    #: hands the GIL over at every row it returns, which a parsing thread would make crawl.
    overlaps: bool = False
    #: Connections that apply a chunk's rows side by side, each the rows of its share of the
    #: keys (`dialer.importer.pipeline`): one server process per connection does the work.
    writers: int = 1


SQLITE: Final = Dialect(
    name="sqlite",
    param="?",
    differs="IS NOT",
    same="IS",
    is_new="id > ?",
    is_new_takes_max_id=True,
    types={"int": "INTEGER", "text": "TEXT", "date": "TEXT", "instant": "TEXT", "bool": "INTEGER"},
    clear=f"DELETE FROM {STAGE}",
    seen_options=" WITHOUT ROWID",
)
POSTGRESQL: Final = Dialect(
    name="postgresql",
    param="%s",
    differs="IS DISTINCT FROM",
    same="IS NOT DISTINCT FROM",
    is_new="xmax = 0",
    is_new_takes_max_id=False,
    types={
        "int": "integer",
        "text": "text",
        "date": "date",
        "instant": "timestamptz",
        "bool": "boolean",
    },
    clear=f"TRUNCATE {STAGE}",
    key_collation=' COLLATE "C"',
    # A chunk is at most tens of thousands of rows and every join probes a unique index, but
    # the planner prices those probes as disk reads and would rather hash the whole customers
    # table for every chunk: a cost that grows with the shop, where the probes' does not.
    chunk_settings=("SET LOCAL enable_hashjoin = off", "SET LOCAL enable_mergejoin = off"),
    analyzes=True,
    overlaps=True,
    writers=2,
)


class Returns(Enum):
    """What a `Write` returns, one row per row it inserted or changed."""

    #: (id, is_new); takes the dialect's `is_new` parameter, if any, last.
    NEW_IDS = "new_ids"
    #: (customer_id,): a change to a customer's phones counts as an update of the customer.
    CUSTOMER_IDS = "customer_ids"
    NOTHING = "nothing"


@dataclass(frozen=True)
class Write:
    """A statement of the apply step. `params` names parameters ("now": the import's clock)."""

    sql: str
    returns: Returns
    table: str
    params: tuple[str, ...] = ()


@dataclass(frozen=True)
class Statements:
    """Everything a chunk runs, for one kind, dialect and header."""

    setup: tuple[str, ...]
    teardown: tuple[str, ...]
    #: Refreshes planner statistics of the tables written, so that the next import and the
    #: segment queries are not planned for empty tables (PostgreSQL only: SQLite's nested-loop
    #: joins need none, and its ANALYZE reads every index in full).
    analyze: tuple[str, ...]
    load_columns: tuple[str, ...]
    #: Adds the staged keys to the seen ones; its row count is the number of new keys.
    remember: str
    #: (line, line of the first occurrence) of staged rows whose key an earlier chunk had.
    find_earlier: str
    drop_earlier: str
    #: Fills `customer_id` from `customer_ext` (None for the customers file itself).
    resolve: str | None
    #: (line, customer_ext, kept) of rows naming an unknown customer; kept rows are imported
    #: without the customer (a DNC entry that still has its number).
    find_unknown: str | None
    drop_unknown: str | None
    writes: tuple[Write, ...]
    clear: str


def statements_for(dialect: Dialect, file_format: FileFormat, header: Header) -> Statements:
    """The statements of an import of `file_format` files with this `header`."""
    kind = file_format.kind
    columns = STAGE_COLUMNS[kind]
    typed = ", ".join(f"{name} {dialect.types[logical]}" for name, logical in columns)
    refs = "customer_ext" in dict(columns)
    drops = (f"DROP TABLE IF EXISTS {STAGE}", f"DROP TABLE IF EXISTS {SEEN}")
    if refs:
        typed += f", customer_id {dialect.types['int']}"
    earlier = f"seen.key = s.key{dialect.key_collation} AND seen.line <> s.line"
    return Statements(
        setup=(
            *drops,
            f"CREATE TEMPORARY TABLE {STAGE} ({typed})",
            f"CREATE TEMPORARY TABLE {SEEN} (key TEXT{dialect.key_collation} PRIMARY KEY, "
            f"line INTEGER){dialect.seen_options}",
        ),
        teardown=drops,
        analyze=tuple(f"ANALYZE {t}" for t in _TABLES[kind]) if dialect.analyzes else (),
        load_columns=tuple(name for name, _ in columns),
        remember=(
            f"INSERT INTO {SEEN} (key, line) SELECT key, line FROM {STAGE} WHERE true "
            "ON CONFLICT (key) DO NOTHING"
        ),
        find_earlier=f"SELECT s.line, seen.line FROM {STAGE} s JOIN {SEEN} seen ON {earlier}",
        drop_earlier=(
            f"DELETE FROM {STAGE} AS s WHERE EXISTS (SELECT 1 FROM {SEEN} seen WHERE {earlier})"
        ),
        resolve=_resolve("customer_ext") if refs else None,
        find_unknown=_find_unknown(kind) if refs else None,
        drop_unknown=_drop_unknown(kind) if refs else None,
        writes=_WRITES[kind](dialect, _present(file_format, header)),
        clear=dialect.clear,
    )


def _present(file_format: FileFormat, header: Header) -> frozenset[str]:
    return frozenset(file_format.columns[position].name for _, position in header.plan)


def _resolve(external: str) -> str:
    """Fills the staged rows' `customer_id`: one probe of `customers` per row, which the
    checks for unknown customers and the write then read for free."""
    return (
        f"UPDATE {STAGE} AS s SET customer_id = c.id FROM customers AS c "
        f"WHERE c.external_id = s.{external}"
    )


_UNKNOWN: Final = "s.customer_ext IS NOT NULL AND s.customer_id IS NULL"


def _find_unknown(kind: str) -> str:
    kept = "s.phone IS NOT NULL" if kind == "dnc" else "1 = 0"
    return f"SELECT s.line, s.customer_ext, {kept} FROM {STAGE} s WHERE {_UNKNOWN}"


def _drop_unknown(kind: str) -> str:
    kept = " AND s.phone IS NULL" if kind == "dnc" else ""
    return f"DELETE FROM {STAGE} AS s WHERE {_UNKNOWN}{kept}"


def _upsert(
    dialect: Dialect,
    table: str,
    conflict: Sequence[str],
    columns: Sequence[tuple[str, str]],
    *,
    timestamps: bool,
    returning: str,
    where: str = "true",
    source: str = f"{STAGE} s",
    merged: Mapping[str, str] | None = None,
) -> str:
    """INSERT … SELECT … FROM `source` (the stage) ON CONFLICT DO UPDATE, only where values
    differ. `merged`: the value an update gives a column, where it is not simply the file's
    (`excluded.<column>`), as SQL over the stored row and `excluded`."""
    names = [name for name, _ in columns]
    updated = [name for name in names if name not in conflict]
    values = {name: (merged or {}).get(name, f"excluded.{name}") for name in updated}
    assignments = [f"{name} = {value}" for name, value in values.items()]
    if timestamps:
        assignments.append("updated_at = CURRENT_TIMESTAMP")
    differs = " OR ".join(
        f"{table}.{name} {dialect.differs} {value}" for name, value in values.items()
    )
    return (
        f"INSERT INTO {table} ({', '.join(names)}) "
        f"SELECT {', '.join(expression for _, expression in columns)} FROM {source} "
        f"WHERE {where} "
        f"ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {', '.join(assignments)} "
        f"WHERE {differs} RETURNING {returning}"
    )


def _optional(present: frozenset[str], *names: str) -> list[tuple[str, str]]:
    return [(name, f"s.{name}") for name in names if name in present]


def _customer_writes(dialect: Dialect, present: frozenset[str]) -> tuple[Write, ...]:
    columns = [
        ("external_id", "s.key"),
        ("name", "s.name"),
        *_optional(present, "name_kana", "birthday", "opt_in"),
    ]
    upsert = _upsert(
        dialect,
        "customers",
        ["external_id"],
        columns,
        timestamps=True,
        returning=f"id, {dialect.is_new}",
    )
    writes = [Write(upsert, Returns.NEW_IDS, "customers")]
    numbers = [column for column in ("phone", "phone2") if column in present]
    for column in numbers:
        writes.extend(_phone_writes(dialect, column, preference=1 if column == "phone" else 2))
    return tuple(writes)


def _phone_writes(dialect: Dialect, column: str, preference: int) -> tuple[Write, Write]:
    """The file's number at `preference`: stored or replaced, or removed when the cell is empty.

    Runs after the customers' upsert, so that every staged customer is found by its shop's id:
    one probe per number and statement, where filling an id column in the staging table would
    rewrite every staged row first."""
    customers = f"{STAGE} s JOIN customers c ON c.external_id = s.key"
    targets = ("raw", "e164", "phone_class", "refusal_reason")
    parts = ("raw", "e164", "class", "refusal")
    upsert = _upsert(
        dialect,
        "customer_phones",
        ["customer_id", "preference"],
        [
            ("customer_id", "c.id"),
            ("preference", str(preference)),
            *((target, f"s.{column}_{part}") for target, part in zip(targets, parts, strict=True)),
        ],
        timestamps=False,
        returning="customer_id",
        where=f"s.{column}_raw IS NOT NULL",
        source=customers,
        merged={"refusal_reason": _learned_refusal_kept(dialect)},
    )
    remove = (
        f"DELETE FROM customer_phones WHERE preference = {preference} AND customer_id IN "
        f"(SELECT c.id FROM {customers} WHERE s.{column}_raw IS NULL) "
        "RETURNING customer_id"
    )
    return (
        Write(upsert, Returns.CUSTOMER_IDS, "customer_phones"),
        Write(remove, Returns.CUSTOMER_IDS, "customer_phones"),
    )


def _learned_refusal_kept(dialect: Dialect) -> str:
    """A refusal learned by calling (`dialer.number_marks`) stays while the file brings the
    same number; the file's own verdict otherwise."""
    learned = ", ".join(f"'{refusal.value}'" for refusal in sorted(LEARNED_BY_CALLING))
    return (
        f"CASE WHEN customer_phones.refusal_reason IN ({learned}) "
        f"AND customer_phones.e164 {dialect.same} excluded.e164 "
        "THEN customer_phones.refusal_reason ELSE excluded.refusal_reason END"
    )


def _keyed_upsert(
    dialect: Dialect, table: str, columns: list[tuple[str, str]], *, timestamps: bool
) -> tuple[Write, ...]:
    """Upsert by the shop's id (`external_id`) of rows belonging to a customer."""
    columns = [("external_id", "s.key"), ("customer_id", "s.customer_id"), *columns]
    sql = _upsert(
        dialect,
        table,
        ["external_id"],
        columns,
        timestamps=timestamps,
        returning=f"id, {dialect.is_new}",
    )
    return (Write(sql, Returns.NEW_IDS, table),)


def _order_writes(dialect: Dialect, present: frozenset[str]) -> tuple[Write, ...]:
    columns = [
        ("ordered_at", "s.ordered_at"),
        ("amount", "s.amount"),
        ("sku", "s.sku"),
        *_optional(present, "channel"),
    ]
    return _keyed_upsert(dialect, "orders", columns, timestamps=False)


def _subscription_writes(dialect: Dialect, present: frozenset[str]) -> tuple[Write, ...]:
    columns = [
        ("sku", "s.sku"),
        ("cycle_days", "s.cycle_days"),
        ("status", "s.status"),
        *_optional(present, "next_delivery"),
    ]
    return _keyed_upsert(dialect, "subscriptions", columns, timestamps=True)


def _mailing_writes(dialect: Dialect, present: frozenset[str]) -> tuple[Write, ...]:
    columns = [("customer_id", "s.customer_id"), ("mailing", "s.mailing"), ("sent_at", "s.sent_at")]
    sql = _upsert(
        dialect,
        "mailings",
        ["customer_id", "mailing"],
        columns,
        timestamps=False,
        returning=f"id, {dialect.is_new}",
    )
    return (Write(sql, Returns.NEW_IDS, "mailings"),)


def _dnc_writes(dialect: Dialect, present: frozenset[str]) -> tuple[Write, ...]:
    """New entries only: an entry in force for the same number and customer is not repeated.

    Entries are an audit trail (never updated or deleted by an import), so a repeated row with
    another reason leaves the existing entry as it is. The equality on either key lets the
    database use the indexes on `phone` and `customer_id`.
    """
    now = dialect.param
    sql = (
        "INSERT INTO dnc_entries (phone, customer_id, reason, source, added_at) "
        f"SELECT s.phone, s.customer_id, s.reason, 'import', {now} FROM {STAGE} s "
        "WHERE NOT EXISTS (SELECT 1 FROM dnc_entries d "
        "WHERE (d.phone = s.phone OR d.customer_id = s.customer_id) "
        f"AND d.phone {dialect.same} s.phone AND d.customer_id {dialect.same} s.customer_id "
        f"AND d.removed_at IS NULL AND (d.expires_at IS NULL OR d.expires_at > {now})) "
        f"RETURNING id, {dialect.is_new}"
    )
    return (Write(sql, Returns.NEW_IDS, "dnc_entries", params=("now", "now")),)


_WRITES = {
    "customers": _customer_writes,
    "orders": _order_writes,
    "subscriptions": _subscription_writes,
    "mailings": _mailing_writes,
    "dnc": _dnc_writes,
}
