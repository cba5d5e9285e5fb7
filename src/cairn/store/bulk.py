"""Bulk loading for tables of millions of rows (hash sets): the drivers' fastest paths.

SQLAlchemy's executemany spends more time per row building parameters than SQLite spends
storing it (measured: 40 µs against 13 µs per known-hash row). Here rows are plain tuples:
SQLite takes them through the DB-API executemany, PostgreSQL through COPY.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection


def bulk_insert(
    connection: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert `rows` (tuples in `columns` order) inside the connection's transaction."""
    if not rows:
        return
    names = ", ".join(f'"{c}"' for c in columns)
    raw = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    cursor = raw.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)
    finally:
        cursor.close()
