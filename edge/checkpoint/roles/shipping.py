"""The shipping role: pallets and cases scanned by their SSCC at the dock door are shipped
on the active shipment, or refused.

The active shipment is the newest one the checkpoint was given (`cmd/shipment` from the
cloud, or `tracegate edge shipment`). A scanned container is refused (reject output, an
alarm, nothing recorded) when:

- its label is not a valid SSCC (``invalid_sscc``), or no shipment is active
  (``no_shipment``);
- it, or a container it sits in, was shipped already (``already_shipped``);
- the shipment lists its containers and this is not one of them (``not_on_shipment``);
- no packing record of it has reached this checkpoint (``unknown_container``): what is
  inside cannot be checked;
- a unit inside, at any depth, is held: at a followed checkpoint (its last decision there
  is a hold) or on this checkpoint's hold list (``held_unit_inside``).

Otherwise `container.shipped` is recorded before the pass output. What is inside each
container comes from the followed checkpoints' events (`shipping_feed`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from edge.checkpoint.facts import Facts
from edge.checkpoint.roles.base import StationRole, StationScan
from edge.checkpoint.roles.context import RoleContext
from edge.checkpoint.roles.packing_sscc import (
    ContainerLabel,
    SsccLabelError,
    looks_like_container_label,
)
from edge.checkpoint.roles.shipping_feed import (
    ContainmentFeed,
    broker_address,
    followed_checkpoints,
)
from edge.checkpoint.roles.shipping_store import Contents, ShippingStore
from edge.checkpoint.roles.sqlite_store import role_store_path
from edge.checkpoint.subscriber import MqttSubscriber
from edge.reads import CodeRead
from protocols.commands import Shipment
from protocols.events import ContainerShipped, Reason
from protocols.ids import uuid7
from protocols.parts import UnitRef
from protocols.udi import Udi

if TYPE_CHECKING:
    from edge.checkpoint.verdict import Outcome

log = logging.getLogger("edge.checkpoint.shipping")

_NAMED = 5
"""Held units named in a refusal; the rest are counted."""


class ShippingRole(StationRole):
    name = "shipping"

    def __init__(self, context: RoleContext, *, store: ShippingStore) -> None:
        self.context = context
        self.store = store
        plant, cp = context.plant, context.checkpoint
        self.feed = ContainmentFeed(
            store,
            site=plant.site.id,
            line=plant.line.id,
            followed=followed_checkpoints(plant, cp),
            topic_prefix=plant.mqtt_for(cp.id).topic_prefix,
        )
        self.subscriber = MqttSubscriber(
            broker_address(plant.mqtt_for(cp.id), checkpoint=cp.id),
            client_id=f"tracegate-edge-{cp.device_id}-containment",
            handlers=dict.fromkeys(self.feed.topics, self.feed.on_event),
        )
        self._pending: dict[str, tuple[str, str]] = {}
        """Station-scan label -> (SSCC, shipment) recorded, until its output is settled."""

    @classmethod
    def build(cls, context: RoleContext) -> ShippingRole:
        path = role_store_path(context.checkpoint.state_path, "shipping")
        return cls(context, store=ShippingStore.open_now(path))

    def claims(self, read: CodeRead) -> bool:
        return looks_like_container_label(read.text)

    async def station_scan(self, reads: Sequence[CodeRead]) -> StationScan:
        ssccs: set[str] = set()
        for read in reads:
            try:
                ssccs.add(ContainerLabel.parse(read.text).sscc)
            except SsccLabelError as exc:
                return _refused(f"label {read.text!r}", "invalid_sscc", str(exc))
        if len(ssccs) > 1:
            text = f"Labels of {len(ssccs)} containers in one scan: {', '.join(sorted(ssccs))}."
            return _refused("labels", "conflicting_labels", text)
        (sscc,) = ssccs
        label = f"SSCC {sscc}"
        shipment = await self._active()
        if shipment is None:
            return _refused(label, "no_shipment", "No shipment is active at this door.")
        shipped = await self.store.shipped_as(sscc)
        in_flight = [s for s, _ in self._pending.values() if s == sscc]
        if shipped is not None or in_flight:
            container, on = shipped if shipped is not None else (sscc, shipment.shipment_id)
            return _refused(
                label, "already_shipped", f"Container {container} was shipped on shipment {on}."
            )
        expected = shipment.expected_containers
        if expected and sscc not in expected:
            return _refused(
                label,
                "not_on_shipment",
                f"SSCC {sscc} is not on shipment {shipment.shipment_id} (expected:"
                f" {', '.join(expected)}).",
            )
        contents = await self.store.contents(sscc)
        if not contents.units:
            return _refused(
                label,
                "unknown_container",
                f"No packing record of SSCC {sscc} (with units in it) has reached this"
                " checkpoint: its contents cannot be checked.",
            )
        held = await self._held(contents)
        if held:
            more = f" and {len(held) - _NAMED} more" if len(held) > _NAMED else ""
            return _refused(
                label,
                "held_unit_inside",
                f"SSCC {sscc} holds {len(held)} held unit(s): {'; '.join(held[:_NAMED])}{more}.",
            )
        self._pending[label] = (sscc, shipment.shipment_id)
        return StationScan(label=label, events=(self._shipped(shipment, sscc),))

    async def settled(self, facts: Facts | None, outcome: Outcome) -> None:
        pending = self._pending.pop(outcome.unit or "", None)
        if pending is not None and outcome.decision == "pass":
            sscc, shipment_id = pending
            await self.store.mark_shipped(sscc, shipment_id)
            log.info("shipped %s on %s", sscc, shipment_id)

    async def _active(self) -> Shipment | None:
        shipments = await self.context.state.shipments()
        return max(shipments, key=lambda s: s.issued_at, default=None)

    async def _held(self, contents: Contents) -> list[str]:
        """Each held unit inside, with why."""
        held = [
            f"{_name(h.unit)} held at {h.checkpoint} ({h.reasons or 'hold'})" for h in contents.held
        ]
        for unit in contents.units:
            matches = await self.context.state.hold_matches(_udi(unit))
            held.extend(f"{_name(unit)} on hold {m.hold_id} ({m.reason})" for m in matches)
        return held

    def _shipped(self, shipment: Shipment, sscc: str) -> ContainerShipped:
        st = self.context.station
        return ContainerShipped(
            event_id=uuid7(),
            device_id=st.device_id,
            occurred_at=dt.datetime.now(dt.UTC),
            site=st.site,
            line=st.line,
            checkpoint=st.checkpoint,
            shipment_id=shipment.shipment_id,
            order=shipment.order,
            recipient=shipment.recipient,
            containers=(sscc,),
        )

    # --- background work ---------------------------------------------------------------------

    def tasks(self) -> Mapping[str, Callable[[], Awaitable[None]]]:
        return {"containment feed": self._run_feed}

    async def _run_feed(self) -> None:
        try:
            await self.subscriber.run()
        except asyncio.CancelledError:
            await self.store.close()
            raise


def _udi(unit: UnitRef) -> Udi:
    # The hold list matches by DI, lot and serial; the issuer only names the syntax.
    gs1 = unit.di.isdigit() and len(unit.di) == 14
    return Udi(issuer="GS1" if gs1 else "HIBCC", di=unit.di, lot=unit.lot, serial=unit.serial)


def _name(unit: UnitRef) -> str:
    return f"{unit.di} {'serial ' + unit.serial if unit.serial else 'lot ' + (unit.lot or '')}"


def _refused(label: str, code: str, text: str) -> StationScan:
    return StationScan(label=label, reasons=(Reason(code=code, text=text),))
