"""The outbox's SQLite schema and connection settings."""

from __future__ import annotations

__all__ = ["CONNECTION_PRAGMAS", "CREATE_STATEMENTS", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1
"""Stored in `PRAGMA user_version`; a file from a newer version is refused, not touched."""

# WAL + synchronous=FULL: a commit is on disk when COMMIT returns (DESIGN.md measured about
# 6,000 single-event transactions/s and 20 of 20 kills survived). The WAL is truncated back to
# 64 MB after a checkpoint so a long outage does not leave a huge WAL behind.
CONNECTION_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA journal_size_limit=67108864",
    "PRAGMA busy_timeout=2000",
)

# `seq INTEGER PRIMARY KEY` is the rowid: a commit appends at the right edge of one B-tree and
# an ack deletes at the left edge, so both cost O(log n) with no secondary index to maintain
# (flat from 1k to millions of rows, see bench/outbox.py). The meta row keeps the chain head
# and the counters in the same transaction as the events, so seq survives a restart even when
# every event has been acknowledged and deleted.
CREATE_STATEMENTS = (
    """
    CREATE TABLE outbox_meta (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        device_id TEXT NOT NULL,
        last_seq INTEGER NOT NULL,
        head_hash TEXT NOT NULL,
        depth INTEGER NOT NULL,
        stored_bytes INTEGER NOT NULL
    )
    """,
    """
    CREATE TABLE outbox_events (
        seq INTEGER PRIMARY KEY,
        topic TEXT NOT NULL,
        payload BLOB NOT NULL,
        committed_at_ms INTEGER NOT NULL
    )
    """,
)
