"""Simulated supplier material: lot labels for goods receipt, reel/bin/tray labels for
loading at assembly, and serialised components, as a scanner reads them.

Labels are GS1 element strings (GS after each variable-length field but the last), the
form a GS1-128 or GS1 DataMatrix reader sends after its AIM prefix (`]C1`, `]d2`).

>>> lot = SupplierLot(di="05391234000108", lot="TUB-1", expiry=date(2027, 12, 31), quantity=25)
>>> lot.label().replace(GS, "<GS>")
'01053912340001081727123110TUB-1<GS>3025'
>>> lot.hri()
'(01)05391234000108(17)271231(10)TUB-1(30)25'
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from edge.sim.units import gtin_check_digit

GS = "\x1d"


def material_gtin(company_prefix: str, item: int) -> str:
    """A GTIN-14 (indicator 0) for item `item` under `company_prefix`, check digit included.

    >>> material_gtin("5391234", 10)
    '05391234000108'
    """
    body = f"0{company_prefix}{item:0{12 - len(company_prefix)}d}"
    if len(body) != 13:
        raise ValueError(f"company prefix {company_prefix!r} and item {item}: too many digits")
    return body + gtin_check_digit(body)


@dataclass(frozen=True, slots=True, kw_only=True)
class SupplierLot:
    """A supplier's lot of one material, and the label on its cases or reels."""

    di: str
    lot: str
    expiry: date | None = None
    quantity: int | None = None
    """The count printed on the label (AI 30 or 37), if any."""
    count_ai: Literal["30", "37"] = "30"

    def label(self, *, quantity: int | None = None, with_lot: bool = True) -> str:
        """The label's element string; `quantity` overrides the count (a reel's own)."""
        count = self.quantity if quantity is None else quantity
        fixed = f"01{self.di}" + (f"17{self.expiry:%y%m%d}" if self.expiry else "")
        variable = [f"10{self.lot}"] if with_lot else []
        if count is not None:
            variable.append(f"{self.count_ai}{count}")
        return fixed + GS.join(variable)

    def hri(self) -> str:
        """The human-readable `(AI)` text of the label."""
        text = f"(01){self.di}" + (f"(17){self.expiry:%y%m%d}" if self.expiry else "")
        text += f"(10){self.lot}"
        return text + (f"({self.count_ai}){self.quantity}" if self.quantity is not None else "")

    def serialised(self, serial: str) -> str:
        """The label of one serialised piece of this lot (a component with its own UDI)."""
        fixed = f"01{self.di}" + (f"17{self.expiry:%y%m%d}" if self.expiry else "")
        return f"{fixed}10{self.lot}{GS}21{serial}"


class SimMaterials:
    """Deterministic supplier lots (from `seed`) of the given materials."""

    def __init__(self, *, seed: int = 0, today: date | None = None) -> None:
        self._rng = random.Random(f"tracegate-materials:{seed}")
        self._today = today or date.today()
        self._count = 0

    def lot(
        self,
        di: str,
        *,
        quantity: int | None = 100,
        shelf_life_days: int | None = 3 * 365,
        count_ai: Literal["30", "37"] = "30",
    ) -> SupplierLot:
        """A new lot of `di`, expiring `shelf_life_days` from today (None: no expiry; a
        negative number: already expired)."""
        self._count += 1
        letters = "".join(self._rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ", k=3))
        expiry = None
        if shelf_life_days is not None:
            expiry = date.fromordinal(self._today.toordinal() + shelf_life_days)
        return SupplierLot(
            di=di,
            lot=f"{letters}{self._count:05d}",
            expiry=expiry,
            quantity=quantity,
            count_ai=count_ai,
        )

    def expired(self, lot: SupplierLot, *, days_ago: int = 1) -> SupplierLot:
        """`lot` with an expiry `days_ago` days before today."""
        return replace(lot, expiry=date.fromordinal(self._today.toordinal() - days_ago))

    def reels(self, lot: SupplierLot, *, count: int, per_reel: int) -> Iterator[str]:
        """The labels of `count` reels (or bins, trays) cut from `lot`, `per_reel` each."""
        for _ in range(count):
            yield lot.label(quantity=per_reel)
