"""Goods receipt: every scan is a supplier lot label, booked in as `lot.received`.

A label is accepted when it names a material of the config's list, carries a lot, a count
(AI 30 or 37, or the material's `default_quantity`), is not expired (nor short of the
checkpoint's `rules.expiry.min_shelf_life_days`) and is not on the hold list; the lot is
then recorded in the incoming-inspection state `goods_receipt.initial_state`.

A refused label is held (reject output, alarm) with its reasons. An identified lot of a
known material that is refused (expired, short-dated, on hold) is also recorded, as
`lot.received` with inspection state "rejected": the lot did reach the dock, and the
record keeps anyone from accepting and using it later by mistake. A label of an unknown
material, or one without a DI or lot, is not recorded as a lot: there is no material master
to say its supplier and unit of measure, and a record with invented values would put a lot
that is not ours into the genealogy. The alarm and the log name the label.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from edge.checkpoint.facts import Facts, Identification
from edge.checkpoint.roles.base import StationRole, StationScan
from edge.checkpoint.roles.context import RoleContext
from edge.checkpoint.roles.goods_receipt_label import SupplierLabel, read_label
from edge.checkpoint.rules import expiry as expiry_rule
from edge.checkpoint.rules import hold_list as hold_list_rule
from edge.checkpoint.state import LocalStateError
from edge.reads import CodeRead
from protocols.config.roles import GoodsReceiptConfig, MaterialConfig
from protocols.config.rules import RulesConfig
from protocols.events import LotReceived, Reason
from protocols.ids import uuid7


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelVerdict:
    """One label's judgement: the reasons it is refused, and its record, if any."""

    label: SupplierLabel
    reasons: tuple[Reason, ...]
    record: LotReceived | None


def _reason(code: str, text: str) -> Reason:
    return Reason(code=code, text=text[:4096])


def label_reasons(
    label: SupplierLabel,
    material: MaterialConfig | None,
    *,
    rules: RulesConfig,
    today: dt.date,
    known: Sequence[str],
) -> tuple[Reason, ...]:
    """Why `label` cannot be booked in as it is (pure; the hold list is checked apart)."""
    if label.di is None or label.problems:
        code = "no_lot" if label.di is not None and not label.lot else "invalid_label"
        return (_reason(code, " ".join(label.problems) or f"Unreadable label {label.text!r}."),)
    reasons: list[Reason] = []
    if material is None:
        reasons.append(
            _reason(
                "unknown_material",
                f"GTIN {label.di} is not a material of this bench"
                f" (materials: {', '.join(known) or 'none configured'}).",
            )
        )
    elif label.quantity is None and material.default_quantity is None:
        reasons.append(
            _reason(
                "no_quantity",
                f"The label of lot {label.lot} has no count (AI 30 or 37) and {material.name}"
                " has no default_quantity.",
            )
        )
    if rules.expiry.enabled:
        facts = Facts(reads=(), identification=Identification(udi=label.udi), today=today)
        reasons.extend(expiry_rule(facts, rules))
    return tuple(reasons)


class GoodsReceiptRole(StationRole):
    """Books supplier lots in from their labels."""

    name = "goods_receipt"

    def __init__(self, context: RoleContext) -> None:
        self._context = context
        config = context.checkpoint.goods_receipt or GoodsReceiptConfig()
        self._initial_state = config.initial_state
        self._materials = {m.di: m for m in config.materials}
        self._rules = context.checkpoint.rules
        self._timezone = zoneinfo.ZoneInfo(context.plant.site.timezone)

    def claims(self, read: CodeRead) -> bool:
        return True

    async def station_scan(self, reads: Sequence[CodeRead]) -> StationScan:
        texts = list(dict.fromkeys(read.text for read in reads if read.problem is None))
        unreadable = [read for read in reads if read.problem is not None]
        if not texts:
            problem = unreadable[0].problem if unreadable else "no read"
            reason = _reason("invalid_label", f"Unreadable label: {problem}.")
            return StationScan(label="unreadable label", reasons=(reason,))
        verdicts = [await self._judge(read_label(text)) for text in texts]
        reasons = tuple(r for verdict in verdicts for r in verdict.reasons)
        events = tuple(v.record for v in verdicts if v.record is not None)
        label = ", ".join(
            f"lot {v.label.di}/{v.label.lot}" if v.label.lot else f"label {v.label.text!r}"
            for v in verdicts
        )
        return StationScan(label=label[:200], reasons=reasons, events=events)

    async def _judge(self, label: SupplierLabel) -> LabelVerdict:
        material = self._materials.get(label.di) if label.di is not None else None
        today = dt.datetime.now(self._timezone).date()
        reasons = label_reasons(
            label, material, rules=self._rules, today=today, known=sorted(self._materials)
        )
        if label.udi is not None and label.lot and self._rules.hold_list.enabled:
            try:
                matches = await self._context.state.hold_matches(label.udi)
            except LocalStateError as exc:
                reasons = (*reasons, _reason("state_error", str(exc)))
            else:
                held = Facts(
                    reads=(),
                    identification=Identification(udi=label.udi),
                    hold_matches=matches,
                    today=today,
                )
                reasons = (*reasons, *hold_list_rule(held, self._rules))
        record = None
        if material is not None and label.lot and not label.problems:
            quantity = label.quantity or material.default_quantity
            if quantity is not None:
                state = "rejected" if reasons else self._initial_state
                record = self._received(label, material, quantity, state)
        return LabelVerdict(label=label, reasons=reasons, record=record)

    def _received(
        self,
        label: SupplierLabel,
        material: MaterialConfig,
        quantity: float,
        state: Literal["quarantined", "accepted", "rejected"],
    ) -> LotReceived:
        station = self._context.station
        assert label.di is not None and label.lot is not None
        return LotReceived(
            event_id=uuid7(),
            device_id=station.device_id,
            occurred_at=dt.datetime.now(dt.UTC),
            site=station.site,
            line=station.line,
            checkpoint=station.checkpoint,
            di=label.di,
            lot=label.lot,
            expiry=label.expiry,
            quantity=quantity,
            unit_of_measure=material.unit_of_measure,
            supplier=material.supplier,
            inspection_state=state,
        )
