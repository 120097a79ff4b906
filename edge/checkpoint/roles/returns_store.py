"""The return authorisation in force at a returns bench: the RMA or recall that goods
coming back are received under, who sends them, and (optionally) which units are expected.

Set with `tracegate edge return-authorisation` into the returns store beside the agent's
local state; the running agent picks the newest one up within a fraction of a second. Each
change is a new row, so the store also keeps which authorisation was in force when.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from pathlib import Path
from typing import Literal, Self

import msgspec

from edge.checkpoint.roles.sqlite_store import SqliteStore, role_store_path
from protocols.config import Checkpoint
from protocols.parts import Party, UnitRef

_SCHEMA = """
CREATE TABLE IF NOT EXISTS authorisations (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    body BLOB,
    set_at REAL NOT NULL
);
"""


class ReturnAuthorisationError(ValueError):
    """Options that do not make a return authorisation."""


class ReturnAuthorisation(msgspec.Struct, frozen=True, kw_only=True):
    """Goods come back under this reference."""

    kind: Literal["rma", "recall"]
    reference: str
    """The RMA number, or the recall's reference."""
    returned_by: Party
    reason: str = ""
    """Why the goods come back, in words."""
    units: tuple[UnitRef, ...] = ()
    """Units expected back; empty: any."""
    set_at: dt.datetime

    def describe(self) -> str:
        what = "RMA" if self.kind == "rma" else "recall"
        return f"{what} {self.reference} from {self.returned_by.name}"


_DECODE = msgspec.json.Decoder(ReturnAuthorisation)


def authorisation(
    *,
    rma: str | None,
    recall: str | None,
    returned_by: str | None,
    country: str | None,
    address_lines: list[str],
    reason: str,
    units: list[str],
) -> ReturnAuthorisation:
    """Build an authorisation from CLI options; `ReturnAuthorisationError` names the option."""
    if (rma is None) == (recall is None):
        raise ReturnAuthorisationError("expected exactly one of --rma and --recall")
    if not returned_by:
        raise ReturnAuthorisationError("--from: expected who sends the goods back")
    if not country:
        raise ReturnAuthorisationError("--country: expected their ISO 3166 code, such as IE")
    refs = []
    for value in units:
        di, sep, serial = value.partition(":")
        if not sep or not di or not serial:
            raise ReturnAuthorisationError(
                f"--unit: expected DI:SERIAL such as 09506000134352:SN1, got {value!r}"
            )
        refs.append({"di": di, "serial": serial})
    raw = {
        "kind": "rma" if rma is not None else "recall",
        "reference": rma if rma is not None else recall,
        "returned_by": {
            "name": returned_by,
            "country_code": country,
            "address_lines": address_lines,
        },
        "reason": reason,
        "units": refs,
        "set_at": dt.datetime.now(dt.UTC),
    }
    try:
        return msgspec.convert(raw, ReturnAuthorisation)
    except msgspec.ValidationError as exc:
        raise ReturnAuthorisationError(f"return authorisation: {exc}") from None


class ReturnsStore:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    @classmethod
    async def open(cls, path: Path) -> Self:
        return cls(await SqliteStore.open(path, _SCHEMA))

    @classmethod
    def open_now(cls, path: Path) -> Self:
        return cls(SqliteStore.open_now(path, _SCHEMA))

    async def close(self) -> None:
        await self._store.close()

    async def set(self, chosen: ReturnAuthorisation | None) -> None:
        """Make `chosen` the authorisation in force (None: none)."""
        body = None if chosen is None else msgspec.json.encode(chosen)

        def write(db: sqlite3.Connection) -> None:
            with db:
                db.execute(
                    "INSERT INTO authorisations (body, set_at) VALUES (?, ?)", (body, time.time())
                )

        await self._store.run(write)

    async def active(self) -> ReturnAuthorisation | None:
        def read(db: sqlite3.Connection) -> bytes | None:
            row = db.execute("SELECT body FROM authorisations ORDER BY n DESC LIMIT 1").fetchone()
            return None if row is None or row[0] is None else bytes(row[0])

        body = await self._store.run(read)
        return None if body is None else _DECODE.decode(body)


def returns_store_file(checkpoint: Checkpoint) -> Path:
    return role_store_path(checkpoint.state_path, "returns")


async def set_authorisation(checkpoint: Checkpoint, chosen: ReturnAuthorisation | None) -> str:
    """Write the authorisation for the checkpoint's agent; what was done, in words."""
    store = await ReturnsStore.open(returns_store_file(checkpoint))
    try:
        await store.set(chosen)
    finally:
        await store.close()
    if chosen is None:
        return f"no return authorisation in force at {checkpoint.id}"
    return f"returns at {checkpoint.id} are received under {chosen.describe()}"
