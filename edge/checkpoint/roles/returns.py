"""The returns role: goods coming back are recorded and always held.

A returned unit (its UDI) or container (its SSCC label) scanned at the returns bench is
held, whatever else is true of it: it waits for quality's disposition. Under the return
authorisation in force (an RMA or a recall, `returns_store`), it is recorded as
`unit.received` with the sender and the reference; without one it is held with reason
``no_return_authorisation`` and not received (the unit's own hold record names it), and
an alarm asks for the authorisation.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from edge.checkpoint.facts import Facts
from edge.checkpoint.roles.base import StationRole, StationScan
from edge.checkpoint.roles.context import RoleContext
from edge.checkpoint.roles.packing_plan import unit_ref
from edge.checkpoint.roles.packing_sscc import (
    ContainerLabel,
    SsccLabelError,
    looks_like_container_label,
)
from edge.checkpoint.roles.returns_store import (
    ReturnAuthorisation,
    ReturnsStore,
    returns_store_file,
)
from edge.checkpoint.roles.sqlite_store import RoleStoreError
from edge.reads import CodeRead
from protocols.events import Event, Reason, UnitReceived
from protocols.ids import uuid7
from protocols.parts import ContainerRef, Decision, UnitRef

log = logging.getLogger("edge.checkpoint.returns")


class ReturnsRole(StationRole):
    name = "returns"

    def __init__(
        self, context: RoleContext, *, store: ReturnsStore, refresh_period_s: float = 0.2
    ) -> None:
        self.context = context
        self.store = store
        self.refresh_period_s = refresh_period_s
        self.authorisation: ReturnAuthorisation | None = None
        """The authorisation in force, as last read from the store."""

    @classmethod
    def build(cls, context: RoleContext) -> ReturnsRole:
        return cls(context, store=ReturnsStore.open_now(returns_store_file(context.checkpoint)))

    # --- returned containers -----------------------------------------------------------------

    def claims(self, read: CodeRead) -> bool:
        return looks_like_container_label(read.text)

    async def station_scan(self, reads: Sequence[CodeRead]) -> StationScan:
        try:
            label = ContainerLabel.parse(reads[0].text)
        except SsccLabelError as exc:
            reason = Reason(code="invalid_sscc", text=str(exc))
            return StationScan(label=f"label {reads[0].text!r}", reasons=(reason,))
        current = await self._refresh()
        ref = ContainerRef(sscc=label.sscc)
        reasons = self._reasons(current, ref)
        events = () if current is None else (self._received(current, ref),)
        return StationScan(label=f"returned container {label.sscc}", reasons=reasons, events=events)

    # --- returned units ----------------------------------------------------------------------

    def unit_reasons(self, facts: Facts, claimed: Sequence[CodeRead]) -> tuple[Reason, ...]:
        udi = facts.identification.udi
        if udi is None:
            return ()
        return self._reasons(self.authorisation, unit_ref(udi))

    async def unit_events(
        self, facts: Facts, decision: Decision, claimed: Sequence[CodeRead]
    ) -> tuple[Event, ...]:
        udi = facts.identification.udi
        current = self.authorisation
        if udi is None or current is None:
            return ()
        return (self._received(current, unit_ref(udi)),)

    def _reasons(
        self, current: ReturnAuthorisation | None, item: UnitRef | ContainerRef
    ) -> tuple[Reason, ...]:
        if current is None:
            self.context.alarm(
                "no_return_authorisation",
                "A return was scanned with no RMA or recall in force: it is held, not"
                " received (tracegate edge return-authorisation).",
            )
            return (
                Reason(
                    code="no_return_authorisation",
                    text="Returned goods held; no RMA or recall is in force here, so they"
                    " are not received yet.",
                ),
            )
        reasons = [
            Reason(
                code="returned",
                text=f"Returned under {current.describe()}: held until quality disposes of it.",
            )
        ]
        if isinstance(item, UnitRef) and current.units and not _expected(current, item):
            reasons.append(
                Reason(
                    code="not_on_authorisation",
                    text=f"Unit {item.di} {item.serial or item.lot} is not among the units"
                    f" {current.describe()} names.",
                )
            )
        return tuple(reasons)

    def _received(self, current: ReturnAuthorisation, item: UnitRef | ContainerRef) -> UnitReceived:
        st = self.context.station
        label = "RMA" if current.kind == "rma" else "Recall"
        text = f"{label} {current.reference}" + (f": {current.reason}" if current.reason else "")
        return UnitReceived(
            event_id=uuid7(),
            device_id=st.device_id,
            occurred_at=dt.datetime.now(dt.UTC),
            site=st.site,
            line=st.line,
            checkpoint=st.checkpoint,
            items=(item,),
            returned_by=current.returned_by,
            reason=Reason(code=current.kind, text=text[:4096]),
            rma=current.reference if current.kind == "rma" else None,
        )

    # --- the authorisation in force ----------------------------------------------------------

    def tasks(self) -> Mapping[str, Callable[[], Awaitable[None]]]:
        return {"authorisation": self._follow}

    async def _follow(self) -> None:
        try:
            while True:
                try:
                    await self._refresh()
                except RoleStoreError as exc:
                    log.error("return authorisation not read: %s", exc)
                await asyncio.sleep(self.refresh_period_s)
        finally:
            await self.store.close()

    async def _refresh(self) -> ReturnAuthorisation | None:
        current = await self.store.active()
        if current != self.authorisation:
            log.info("returns now received under %s", current.describe() if current else "none")
        self.authorisation = current
        return current


def _expected(current: ReturnAuthorisation, unit: UnitRef) -> bool:
    return any(u.di == unit.di and u.serial == unit.serial for u in current.units)
