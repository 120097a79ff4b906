"""CSV of a recall's frozen lists, for the 21 CFR 806 report and for the people who call."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from cloud.domain.recall.schemas import ImpactUnit, RecipientOut

RECIPIENT_COLUMNS = (
    "recipient_id",
    "shipment",
    "name",
    "address",
    "country",
    "region",
    "ship_date",
    "quantity",
    "udis",
    "notice_sent_at",
    "acknowledged_at",
    "acknowledged_by",
)
UNIT_COLUMNS = (
    "unit_id",
    "udi",
    "di",
    "serial",
    "lot",
    "status",
    "stage",
    "container",
    "outer_container",
    "shipment",
)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    isoformat = getattr(value, "isoformat", None)
    return str(isoformat()) if callable(isoformat) else str(value)


def recipients_csv(recipients: Sequence[RecipientOut]) -> str:
    """One line per consignee; the UDIs separated by spaces (a UDI has none)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(RECIPIENT_COLUMNS)
    for r in recipients:
        writer.writerow([_text(getattr(r, c)) for c in RECIPIENT_COLUMNS])
    return buffer.getvalue()


def units_csv(units: Sequence[ImpactUnit]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(UNIT_COLUMNS)
    for u in units:
        writer.writerow([_text(getattr(u, c)) for c in UNIT_COLUMNS])
    return buffer.getvalue()
