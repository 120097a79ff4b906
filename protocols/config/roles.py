"""Settings that only some checkpoint roles have."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from protocols.config._base import ConfigModel, Int
from protocols.config.plc import PlcInput

Role = Literal[
    "goods_receipt", "assembly", "sealing", "inspection", "packing", "shipping", "returns"
]
"""What a checkpoint does on the line; it decides which events it emits."""

ROLES: tuple[str, ...] = (
    "goods_receipt",
    "assembly",
    "sealing",
    "inspection",
    "packing",
    "shipping",
    "returns",
)

ROLES_NEEDING_A_READER: frozenset[str] = frozenset(ROLES)
"""Every role identifies what passes it by a barcode, so every role needs a scanner or a
camera."""


class GoodsReceiptConfig(ConfigModel):
    """Supplier lots arriving at goods receipt."""

    initial_state: Literal["quarantined", "accepted"] = "quarantined"
    """Incoming-inspection state of a received lot; a quarantined lot cannot be loaded
    at assembly until it is released."""


class PackingConfig(ConfigModel):
    """Units into cases, cases onto pallets."""

    case_size: Int = Field(ge=1)
    """Units per case; the case closes when it is reached."""
    sscc_source: Literal["label", "generated"] = "label"
    """``label``: a pre-printed SSCC label is scanned to start each case; ``generated``:
    the agent makes SSCCs from ``site.gs1_company_prefix``."""
    sscc_extension_digit: Int = Field(0, ge=0, le=9)
    """First digit of generated SSCCs (the packer's choice, often per station)."""
    cases_per_pallet: Int | None = Field(None, ge=1)
    """Cases per pallet; none: cases are not palletised at this checkpoint."""
    close_case_input: PlcInput | None = None
    """A PLC signal that closes the open case before it is full (end of run)."""
