"""Settings that only some checkpoint roles have."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from protocols.config._base import (
    ConfigModel,
    Float,
    Int,
    Name,
    Problems,
    Slug,
    describe_value,
    invalid,
)
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


def _check_gtin(value: str) -> str:
    digits = value.isascii() and value.isdigit() and len(value) == 14
    if not digits:
        raise invalid(f"expected a GTIN-14 (14 digits), got {describe_value(value)}")
    body, check = value[:-1], int(value[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    expected = (10 - total % 10) % 10
    if check != expected:
        raise invalid(f"invalid GTIN check digit for '{value}': expected {expected}, got {check}")
    return value


Gtin14 = Annotated[str, AfterValidator(_check_gtin)]
"""A GS1 GTIN-14 whose check digit is right."""


class MaterialConfig(ConfigModel):
    """A purchased material or component that goods receipt may book in."""

    di: Gtin14
    """The GTIN on the supplier's label (AI 01)."""
    name: str = Field(min_length=1, max_length=200)
    """What it is, for the operators ("PVC tubing 3 mm")."""
    supplier: str = Field(min_length=1, max_length=256)
    """The approved supplier's name or number, recorded with each received lot."""
    unit_of_measure: str = Field("EA", min_length=1, max_length=16)
    """Unit of the label's count (AI 30 or 37) and of the bill of materials ("EA", "m")."""
    default_quantity: Float | None = Field(None, gt=0)
    """Quantity of a lot whose label carries no count (AI 30/37); none: such a label is
    held."""


class GoodsReceiptConfig(ConfigModel):
    """Supplier lots arriving at goods receipt."""

    initial_state: Literal["quarantined", "accepted"] = "quarantined"
    """Incoming-inspection state of a received lot; a quarantined lot cannot be loaded
    at assembly until it is released."""
    materials: tuple[MaterialConfig, ...] = ()
    """The materials this bench may receive; a label of any other DI is held."""

    @model_validator(mode="after")
    def _unique_dis(self) -> GoodsReceiptConfig:
        problems = Problems()
        seen: set[str] = set()
        for i, material in enumerate(self.materials):
            if material.di in seen:
                problems.add(("materials", i, "di"), f"'{material.di}' is listed twice")
            seen.add(material.di)
        problems.raise_if_any()
        return self


class AssemblyConfig(ConfigModel):
    """Component lots loaded at an assembly station."""

    loading_scanners: tuple[Name, ...] = Field(min_length=1)
    """Scanners that read the reels, bins and trays as they are loaded: their reads are
    loads, never the unit's own code."""
    receipt_checkpoints: tuple[Slug, ...] | None = None
    """Goods-receipt checkpoints of this line whose ``lot.received`` events tell which lots
    exist and their incoming-inspection state; none: every ``goods_receipt`` checkpoint."""
    store_path: Path | None = None
    """SQLite file of the loaded lots and the known supplier lots; none: beside
    ``state_path`` (``<state>-assembly.sqlite3``)."""


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
    retention_days: Float = Field(7.0, gt=0)
    """How long the agent keeps what went into each closed container (to unpack a unit
    for rework, to refuse a label scanned twice); older ones are pruned from its store.
    A week at 10 units/s is about 6 million placements."""


class ShippingConfig(ConfigModel):
    """Containers loaded at a dock door against the active shipment."""

    follow: tuple[Slug, ...] | None = None
    """Checkpoints of this line whose events tell what is in each container
    (``unit.packed``, ``unit.unpacked``) and which units are held (``unit.inspected``
    holds); none: every ``packing`` checkpoint and their predecessors."""
