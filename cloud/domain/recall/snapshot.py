"""The frozen list of a recall and its hash: pure functions over what is stored.

The hash covers the recall's number, its scope, every affected unit as it
stood (status, containers, shipment) and every recipient, each list in a fixed
order; recomputing it from the stored rows shows whether they drifted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cloud.domain.audit.canonical import canonical_json, sha256_hex

UnitLine = tuple[int, str, str | None, str | None, str, str | None, str | None, int | None]
"""(unit_id, di, serial, lot, status, container, outer_container, shipment_id)."""
RecipientLine = tuple[int, str, str, str, str, str, str | None, int]
"""(shipment_id, shipment, name, address, country, region, ship_date ISO, quantity)."""


def snapshot_hash(
    *,
    number: str,
    scope: Mapping[str, Any],
    units: Iterable[UnitLine],
    recipients: Iterable[RecipientLine],
) -> str:
    document = {
        "recall": number,
        "scope": scope,
        "units": sorted(units, key=lambda u: u[0]),
        "recipients": sorted(recipients, key=lambda r: r[0]),
    }
    return sha256_hex(canonical_json(document))
