"""Load many rows fast: COPY on PostgreSQL, executemany elsewhere, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table

CHUNK = 20_000


def bulk_insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> int:
    """Insert rows (dicts keyed by column name) into the table and return how many were written."""
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        return _copy_postgres(conn, table, rows)
    for start in range(0, len(rows), CHUNK):
        conn.execute(table.insert(), list(rows[start : start + CHUNK]))
    return len(rows)


def _copy_postgres(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> int:
    """Stream rows through COPY FROM STDIN, adapting JSON and UTC columns like SQLAlchemy would."""
    from psycopg.types.json import Jsonb

    columns = list(rows[0].keys())
    json_columns = {c.name for c in table.columns if c.type._type_affinity.__name__ == "JSON"}
    binds = {c.name: c.type for c in table.columns}
    dialect = conn.dialect
    processors = {
        name: binds[name].bind_processor(dialect)
        for name in columns
        if name not in json_columns and hasattr(binds[name], "process_bind_param")
    }
    quoted = ", ".join(f'"{name}"' for name in columns)
    cursor = conn.connection.driver_connection.cursor()
    # Identifiers cannot be bound; table and column names come from our own metadata.
    with cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(_adapt(row, columns, json_columns, processors, Jsonb))
    return len(rows)


def _adapt(
    row: dict[str, Any], columns: Iterable[str], json_columns: set[str], processors, jsonb
) -> list:
    """Return one row's values ready for COPY."""
    values = []
    for name in columns:
        value = row[name]
        if value is not None and name in json_columns:
            value = jsonb(value)
        elif name in processors and processors[name] is not None:
            value = processors[name](value)
        values.append(value)
    return values
