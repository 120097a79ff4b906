"""Assembly: which component lots are loaded, and what went into each unit.

Reads of the loading scanners (`assembly.loading_scanners`) are *loads*: the label of a
reel, bin or tray put on a feeder. A load is refused (reject, line stop, alarm) when its
lot is not released by incoming inspection (still quarantined, rejected, or never booked
in), is expired, is on the hold list, or its DI is not in the active work order's bill of
materials; an accepted load replaces the lot loaded for that component, durably, before
the pass output. A window of loads only is all-or-nothing: one refused label refuses them
all. A load does not emit an event: the lots show in each unit's `unit.assembled`.

Each unit then records `unit.assembled`: the loaded lot of every BOM line with its
`quantity_per_unit`, and the serialised components scanned in the unit's own window (a
read whose DI is a BOM component, not a product). A BOM component with neither is a hold
(`component_not_loaded`), as is a loaded lot that has expired since (`component_expired`).
Units and loads are decided one at a time under the engine's decide lock, so a reel change
is exact: units decided before the new reel's scan consumed the old lot. A load read in a
unit's window (the feeder scanned while a unit passed the photo-eye) is applied after that
unit: the unit was seen before the scan.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import zoneinfo
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from edge.checkpoint.facts import Facts, HoldMatch
from edge.checkpoint.roles.assembly_feed import MaterialsFeed, feed_subscriber
from edge.checkpoint.roles.assembly_store import (
    AssemblyStore,
    LoadedLot,
    LotStatus,
    assembly_store_path,
)
from edge.checkpoint.roles.base import StationRole, StationScan
from edge.checkpoint.roles.context import RoleContext
from edge.checkpoint.roles.goods_receipt_label import SupplierLabel, read_label
from edge.reads import CodeRead
from protocols.commands import BomLine, WorkOrder
from protocols.events import Event, LotQuantity, Reason, UnitAssembled, UnitRef
from protocols.ids import uuid7
from protocols.parts import Decision

log = logging.getLogger("edge.checkpoint.assembly")

_LABELS_CACHED = 512


def _reason(code: str, text: str) -> Reason:
    return Reason(code=code, text=text[:4096])


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadFacts:
    """What a load is judged on, gathered before the (pure) judgement."""

    label: SupplierLabel
    order: WorkOrder | None
    status: LotStatus | None
    """None when the label names no lot."""
    hold_matches: tuple[HoldMatch, ...] = ()
    today: dt.date


def load_reasons(facts: LoadFacts) -> tuple[Reason, ...]:
    """Why a load is refused; empty: it may be loaded (pure)."""
    label, order, status = facts.label, facts.order, facts.status
    name = f"lot {label.di}/{label.lot}" if label.lot else f"label {label.text!r}"
    if label.di is None or label.problems:
        code = "no_lot" if label.di is not None and not label.lot else "invalid_label"
        return (_reason(code, " ".join(label.problems) or f"Unreadable label {label.text!r}."),)
    if label.serial is not None:
        return (
            _reason(
                "component_without_unit",
                f"Serialised component {label.di} serial {label.serial} scanned without its"
                " unit: scan it with the unit, or load its lot's label.",
            ),
        )
    reasons: list[Reason] = []
    bom = {line.di for line in order.bom} if order is not None else set()
    if order is None:
        reasons.append(_reason("no_work_order", f"No work order is active: {name} refused."))
    elif label.di not in bom:
        reasons.append(
            _reason(
                "not_in_bom",
                f"GTIN {label.di} is not in the bill of materials of work order"
                f" {order.work_order} (components: {', '.join(sorted(bom)) or 'none'}).",
            )
        )
    state = status.state if status is not None else "unknown"
    if state == "quarantined":
        reasons.append(
            _reason("lot_quarantined", f"{name} is in incoming quarantine, not released.")
        )
    elif state == "rejected":
        who = f" by {status.signed_by}" if status is not None and status.signed_by else ""
        reasons.append(_reason("lot_rejected", f"{name} was rejected{who}."))
    elif state == "unknown":
        reasons.append(
            _reason(
                "lot_not_received",
                f"{name} was never booked in at goods receipt nor released by inspection.",
            )
        )
    expiry = label.expiry or (status.expiry if status is not None else None)
    if expiry is not None and expiry < facts.today:
        reasons.append(_reason("expired", f"{name} expired on {expiry.isoformat()}."))
    for match in facts.hold_matches:
        reasons.append(
            _reason("on_hold_list", f"{name} is on hold {match.hold_id}: {match.reason}")
        )
    return tuple(reasons)


class AssemblyRole(StationRole):
    """Loads component lots and records each unit's components."""

    name = "assembly"

    def __init__(self, context: RoleContext) -> None:
        self._context = context
        checkpoint, plant = context.checkpoint, context.plant
        config = checkpoint.assembly
        self._loading = frozenset(config.loading_scanners if config is not None else ())
        path = (config.store_path if config is not None else None) or assembly_store_path(
            checkpoint.state_path
        )
        self.store = AssemblyStore.open_now(path)
        self._loaded: dict[str, LoadedLot] = self.store.loaded_now()
        receipts = (config.receipt_checkpoints if config is not None else None) or tuple(
            cp.id for cp in plant.checkpoints if cp.role == "goods_receipt"
        )
        mqtt = plant.mqtt_for(checkpoint.id)
        self.feed = MaterialsFeed(
            self.store,
            site=plant.site.id,
            line=plant.line.id,
            checkpoint=checkpoint.id,
            receipt_checkpoints=receipts,
            topic_prefix=mqtt.topic_prefix,
        )
        self._subscriber = feed_subscriber(
            mqtt, client_id=f"tracegate-edge-{checkpoint.device_id}-materials", feed=self.feed
        )
        self._timezone = zoneinfo.ZoneInfo(plant.site.timezone)
        self._labels: OrderedDict[str, SupplierLabel] = OrderedDict()

    @property
    def loaded(self) -> Mapping[str, LoadedLot]:
        """Component DI -> the lot on its feeder."""
        return dict(self._loaded)

    @property
    def subscriber_ready(self) -> Callable[..., Awaitable[None]]:
        """`await role.subscriber_ready(timeout_s=...)`: the feed's subscriptions are in."""
        return self._subscriber.wait_subscribed

    # --- reads ----------------------------------------------------------------------------

    def claims(self, read: CodeRead) -> bool:
        if read.source_name in self._loading:
            return True
        order = self._context.state.work_order
        if order is None or not order.bom:
            return False
        label = self._label(read.text)
        return (
            label.serial is not None
            and label.di in {line.di for line in order.bom}
            and label.di not in order.products
        )

    def _label(self, text: str) -> SupplierLabel:
        label = self._labels.get(text)
        if label is None:
            label = read_label(text)
            self._labels[text] = label
            while len(self._labels) > _LABELS_CACHED:
                self._labels.popitem(last=False)
        return label

    # --- loads ----------------------------------------------------------------------------

    async def station_scan(self, reads: Sequence[CodeRead]) -> StationScan:
        labels = [self._label(t) for t in dict.fromkeys(r.text for r in reads if not r.problem)]
        if not labels:
            reason = _reason("invalid_label", "Unreadable load label.")
            return StationScan(label="unreadable load", reasons=(reason,), line_stop="bad load")
        judged = [(label, await self._judge_load(label)) for label in labels]
        names = ", ".join(_name(label) for label in labels)[:200]
        reasons = tuple(r for _, found in judged for r in found)
        if reasons:
            codes = ", ".join(dict.fromkeys(r.code for r in reasons))
            return StationScan(
                label=f"load {names}", reasons=reasons, line_stop=f"load {names} refused: {codes}"
            )
        for label, _ in judged:
            await self._load(label)
        return StationScan(label=f"load {names}")

    async def _judge_load(self, label: SupplierLabel) -> tuple[Reason, ...]:
        status = None
        matches: tuple[HoldMatch, ...] = ()
        if label.di is not None and label.lot and not label.problems:
            status = await self.store.lot_status(label.di, label.lot)
            if label.udi is not None:
                matches = await self._context.state.hold_matches(label.udi)
        return load_reasons(
            LoadFacts(
                label=label,
                order=self._context.state.work_order,
                status=status,
                hold_matches=matches,
                today=dt.datetime.now(self._timezone).date(),
            )
        )

    async def _load(self, label: SupplierLabel) -> None:
        assert label.di is not None and label.lot is not None
        loaded = LoadedLot(
            component_di=label.di,
            lot=label.lot,
            expiry=label.expiry,
            label=label.text,
            loaded_at=time.time(),
        )
        await self.store.load(loaded)
        before = self._loaded.get(label.di)
        self._loaded[label.di] = loaded
        log.info("loaded %s lot %s (was %s)", label.di, label.lot, before.lot if before else "none")

    # --- units ----------------------------------------------------------------------------

    def unit_reasons(self, facts: Facts, claimed: Sequence[CodeRead]) -> tuple[Reason, ...]:
        order = facts.work_order
        if facts.identification.udi is None or order is None or not order.bom:
            return ()
        serialised = self._serialised(claimed)
        bom = {line.di: line for line in order.bom}
        reasons: list[Reason] = []
        for component in serialised:
            if component.di not in bom:
                reasons.append(
                    _reason(
                        "component_not_in_bom",
                        f"Component {component.di} serial {component.serial} is not in the bill"
                        f" of materials of work order {order.work_order}.",
                    )
                )
        scanned = {component.di for component in serialised}
        for line in order.bom:
            if line.di in scanned:
                continue
            loaded = self._loaded.get(line.di)
            if loaded is None:
                reasons.append(
                    _reason(
                        "component_not_loaded",
                        f"Component {line.di} of work order {order.work_order} is not loaded"
                        " (no lot scanned onto its feeder, nor a serialised part with the unit).",
                    )
                )
            elif loaded.expiry is not None and loaded.expiry < facts.today:
                reasons.append(
                    _reason(
                        "component_expired",
                        f"Loaded lot {loaded.lot} of {line.di} expired on"
                        f" {loaded.expiry.isoformat()}.",
                    )
                )
        return tuple(reasons)

    async def unit_events(
        self, facts: Facts, decision: Decision, claimed: Sequence[CodeRead]
    ) -> tuple[Event, ...]:
        events = self._assembled(facts, claimed)
        # Loads read while this unit was at the station come after it: it was seen first.
        loads = [
            label
            for label in (self._label(r.text) for r in claimed if r.source_name in self._loading)
            if label.serial is None
        ]
        if loads:
            await self._load_beside_unit(loads)
        return events

    def _assembled(self, facts: Facts, claimed: Sequence[CodeRead]) -> tuple[Event, ...]:
        udi, order = facts.identification.udi, facts.work_order
        if udi is None:
            return ()
        serialised = self._serialised(claimed)
        scanned = {component.di for component in serialised}
        components: list[UnitRef | LotQuantity] = list(serialised)
        for line in order.bom if order is not None else ():
            loaded = self._loaded.get(line.di)
            if line.di not in scanned and loaded is not None:
                components.append(_consumed(line, loaded))
        if not components:
            return ()
        station = self._context.station
        return (
            UnitAssembled(
                event_id=uuid7(),
                device_id=station.device_id,
                occurred_at=dt.datetime.now(dt.UTC),
                site=station.site,
                line=station.line,
                checkpoint=station.checkpoint,
                parent=UnitRef(di=udi.di, serial=udi.serial, lot=udi.lot),
                components=tuple(components),
                work_order=order.work_order if order is not None else None,
            ),
        )

    def _serialised(self, claimed: Sequence[CodeRead]) -> list[UnitRef]:
        found: dict[tuple[str, str], UnitRef] = {}
        for read in claimed:
            label = self._label(read.text)
            if label.di is None or label.serial is None or label.problems:
                continue
            found.setdefault(
                (label.di, label.serial),
                UnitRef(di=label.di, serial=label.serial, lot=label.lot, raw=read.text[:8192]),
            )
        return list(found.values())

    async def _load_beside_unit(self, labels: list[SupplierLabel]) -> None:
        judged = [(label, await self._judge_load(label)) for label in labels]
        refused = [(label, reasons) for label, reasons in judged if reasons]
        if not refused:
            for label, _ in judged:
                await self._load(label)
            return
        names = ", ".join(_name(label) for label, _ in refused)
        codes = ", ".join(dict.fromkeys(r.code for _, reasons in refused for r in reasons))
        self._context.alarm(refused[0][1][0].code, f"load {names} refused ({codes})")
        interlock = self._context.interlock
        if interlock is not None:
            await interlock.request_line_stop(f"load {names} refused: {codes}")

    # --- background -----------------------------------------------------------------------

    def tasks(self) -> Mapping[str, Callable[[], Awaitable[None]]]:
        return {"materials feed": self._subscriber.run, "store": self._keep_store}

    async def _keep_store(self) -> None:
        """Holds the store open while the agent runs; closes it when the agent stops."""
        try:
            await asyncio.Event().wait()
        finally:
            await self.store.close()


def _consumed(line: BomLine, loaded: LoadedLot) -> LotQuantity:
    return LotQuantity(
        di=line.di,
        lot=loaded.lot,
        quantity=line.quantity_per_unit,
        unit_of_measure=line.unit_of_measure,
    )


def _name(label: SupplierLabel) -> str:
    return f"{label.di}/{label.lot}" if label.lot else repr(label.text[:40])
