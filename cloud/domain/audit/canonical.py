"""Canonical JSON of audited values and the hash that chains audit rows: pure functions.

The hash of a row covers exactly the text stored in it (values are serialised
once, when the row is written), so verifying never depends on how a database
returns a float or a timestamp.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import enum
import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

REDACTED = "<redacted>"
SECRET_COLUMNS = frozenset({"password_hash", "token_hash"})
"""Never copied into the audit trail: only the fact that they changed is."""


def jsonable(value: Any) -> Any:
    """A value JSON can carry, the same on SQLite and PostgreSQL.

    >>> jsonable(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    '2026-01-02T03:04:05.000000+00:00'
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return (
            value if value == value and value not in (float("inf"), float("-inf")) else str(value)
        )
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=canonical_json) if isinstance(value, set | frozenset) else items
    return str(value)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept: one text per value.

    >>> canonical_json({"b": 1, "a": [1.5, None]})
    '{"a":[1.5,null],"b":1}'
    """
    return json.dumps(jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def redact(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (REDACTED if k in SECRET_COLUMNS else v) for k, v in values.items()}


def row_content(
    *,
    seq: int,
    at: str,
    actor: str,
    actor_kind: str,
    action: str,
    record_type: str,
    record_id: str,
    old: str,
    new: str,
    reason: str,
    request: str,
) -> str:
    """The text an audit row's hash covers: every column but the hashes themselves."""
    return canonical_json(
        {
            "seq": seq,
            "at": at,
            "actor": actor,
            "actor_kind": actor_kind,
            "action": action,
            "record_type": record_type,
            "record_id": record_id,
            "old": old,
            "new": new,
            "reason": reason,
            "request": request,
        }
    )


def chain_hash(prev_hash: str, content: str) -> str:
    """sha256(prev_hash + content), hex: each row's hash depends on every row before it.

    >>> chain_hash("", "x")[:16]
    '2d711642b726b044'
    """
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
