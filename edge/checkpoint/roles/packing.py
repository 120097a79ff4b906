"""The packing role: units that pass go into the open case, cases onto the open pallet.

- A unit that passes is added to the open case; the unit that fills it closes it, and the
  case's `unit.packed` (its units, and the pallet it goes onto) is committed with that
  unit's records, before its pass output. A pallet filled by that case is recorded too.
- The case's SSCC comes from a pre-printed label scanned before its first unit
  (``sscc_source: label``; with ``cases_per_pallet`` the pallet's label is scanned first,
  then each case's) or is made from ``site.gs1_company_prefix`` with a counter kept in the
  store (``generated``).
- The PLC's close-case input (``close_case_input``) closes a short case at the end of a
  run; so do `tracegate edge close-case` and `tracegate edge close-pallet`.
- `tracegate edge unpack` takes a unit out of its case (or a case off its pallet) for
  rework: `unit.unpacked`, and the unit may pass packing again (into another case).
- A unit already packed and not unpacked since is held (``already_packed``): the role's
  check replaces the duplicate-serial rule here, which must be off for repacking.
- A unit whose pass becomes a hold (its pass output did not verify) is taken back out of
  the open case; if it had closed its case, `unit.unpacked` records it (the case is one
  short, an alarm says so).

What is open persists in the role's store (`packing_store`), written before each pass.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from edge.adapters.plc_types import PlcError
from edge.checkpoint.facts import Facts
from edge.checkpoint.roles.base import StationRole, StationScan
from edge.checkpoint.roles.context import RoleContext
from edge.checkpoint.roles.packing_plan import Packer, PackingError, Plan, unit_ref
from edge.checkpoint.roles.packing_sscc import (
    ContainerLabel,
    SsccLabelError,
    looks_like_container_label,
)
from edge.checkpoint.roles.packing_store import (
    AnyRequest,
    CloseCase,
    ClosePallet,
    PackingStore,
    UnpackContainer,
    UnpackUnit,
    child_key,
)
from edge.checkpoint.roles.sqlite_store import role_store_path
from edge.checkpoint.state import unit_key
from edge.reads import CodeRead
from protocols.config.roles import PackingConfig
from protocols.events import Event, Reason
from protocols.parts import Decision, UnitRef
from protocols.udi import Udi

if TYPE_CHECKING:
    from edge.checkpoint.verdict import Outcome

log = logging.getLogger("edge.checkpoint.packing")

CLOSE_CASE = "close_case"
"""The close-case input's name in the PLC adapter's register map."""


@dataclass(frozen=True, slots=True)
class _Tentative:
    """A unit put into a case whose pass is not final yet."""

    case: str


class PackingRole(StationRole):
    name = "packing"

    def __init__(
        self, context: RoleContext, *, store: PackingStore, request_period_s: float = 0.2
    ) -> None:
        config = context.checkpoint.packing
        if config is None:
            raise ValueError(f"checkpoint {context.checkpoint.id}: role packing needs `packing`")
        self.config: PackingConfig = config
        self.context = context
        self.store = store
        self.packer = Packer(
            config,
            station=context.station,
            company_prefix=context.plant.site.gs1_company_prefix,
            snapshot=store.snapshot_now(),
        )
        self.request_period_s = request_period_s
        self._lock = asyncio.Lock()
        self._tentative: dict[str, _Tentative] = {}

    @classmethod
    def build(cls, context: RoleContext) -> PackingRole:
        path = role_store_path(context.checkpoint.state_path, "packing")
        return cls(context, store=PackingStore.open_now(path))

    # --- station scans: container labels ----------------------------------------------------

    def claims(self, read: CodeRead) -> bool:
        return looks_like_container_label(read.text)

    async def station_scan(self, reads: Sequence[CodeRead]) -> StationScan:
        labels: dict[str, ContainerLabel] = {}
        for read in reads:
            try:
                label = ContainerLabel.parse(read.text)
            except SsccLabelError as exc:
                return _refused(f"label {read.text!r}", "invalid_sscc", str(exc))
            labels[label.sscc] = label
        if len(labels) > 1:
            return _refused(
                "labels",
                "conflicting_labels",
                f"Labels of {len(labels)} different SSCCs in one scan: {', '.join(labels)}.",
            )
        (sscc,) = labels
        what = f"SSCC {sscc}"
        if self.config.sscc_source == "generated":
            return _refused(
                what,
                "label_not_used",
                f"This station makes its own SSCCs (sscc_source: generated); {sscc} is not used.",
            )
        async with self._lock:
            if await self.store.container(sscc) is not None:
                return _refused(what, "sscc_reused", f"SSCC {sscc} was already used here.")
            plan = self.packer.plan()
            try:
                level = self.packer.open_by_label(plan, sscc)
            except PackingError as exc:
                return _refused(what, "case_open", f"Label {sscc} not taken: {exc}.")
            await self._adopt(plan)
        log.info("%s %s started", level, sscc)
        return StationScan(label=f"{level} {sscc}")

    # --- units -------------------------------------------------------------------------------

    def unit_reasons(self, facts: Facts, claimed: Sequence[CodeRead]) -> tuple[Reason, ...]:
        udi = facts.identification.udi
        if udi is None:
            return ()
        reasons = []
        if claimed:
            # A label read with the unit cannot say whether it was meant before or after it.
            labels = ", ".join(read.text for read in claimed)
            reasons.append(
                Reason(
                    code="label_with_unit",
                    text=f"A container label ({labels}) was read with the unit: scan labels"
                    " between units.",
                )
            )
        if self.config.sscc_source == "label" and self.packer.case is None:
            first = (
                "the pallet's SSCC label, then the case's"
                if self.packer.palletised and self.packer.pallet is None
                else "the case's SSCC label"
            )
            reasons.append(Reason(code="no_open_case", text=f"No case is open: scan {first}."))
        if (
            udi.serial is not None
            and facts.duplicate_of_seq is not None
            and unit_key(udi) not in self.packer.repack
        ):
            reasons.append(
                Reason(
                    code="already_packed",
                    text=f"Serial {udi.serial} of {udi.di} already passed packing (event seq"
                    f" {facts.duplicate_of_seq}) and was not unpacked since.",
                )
            )
        return tuple(reasons)

    async def unit_events(
        self, facts: Facts, decision: Decision, claimed: Sequence[CodeRead]
    ) -> tuple[Event, ...]:
        udi = facts.identification.udi
        if decision != "pass" or udi is None:
            return ()
        async with self._lock:
            plan = self.packer.plan()
            self.packer.add_unit(plan, unit_ref(udi))
            await self._adopt(plan)
            case = plan.added[0][0]
            self._tentative[unit_key(udi)] = _Tentative(case=case)
        return tuple(plan.events)

    async def settled(self, facts: Facts | None, outcome: Outcome) -> None:
        udi = facts.identification.udi if facts is not None else None
        if udi is None:
            return
        tentative = self._tentative.pop(unit_key(udi), None)
        if tentative is None or outcome.decision == "pass":
            return
        async with self._lock:
            await self._take_back(udi, tentative, outcome.reasons)

    async def _take_back(self, udi: Udi, tentative: _Tentative, codes: Sequence[str]) -> None:
        """A unit put into a case was held after all (its output failed): out it goes."""
        key = unit_key(udi)
        plan = self.packer.plan()
        if self.packer.remove(plan, key):
            await self._adopt(plan)
            log.warning("unit %s held after all (%s): out of case %s", key, codes, tentative.case)
            return
        placement = await self.store.placement(key)
        if placement is None:
            return
        reason = Reason(
            code="held_after_packing",
            text=f"The unit's pass became a hold ({', '.join(codes)}) after case"
            f" {placement.container.sscc} was recorded with it; it was diverted.",
        )
        event = self.packer.unpacked(placement.container, placement.child, reason=reason)
        try:
            await self.context.outbox.commit(event)
        except Exception as exc:
            self.context.alarm("outbox_error", f"unit.unpacked of {key} not recorded: {exc}")
            return
        plan.removed.append(key)
        await self._adopt(plan)
        self.context.alarm(
            "held_after_packing",
            f"Case {placement.container.sscc} was closed with unit {key}, held after all:"
            " the case is one short.",
        )

    # --- closing and unpacking ---------------------------------------------------------------

    async def close_case(self, *, cause: str) -> tuple[bool, str]:
        """Close the open case (short): its `unit.packed` is recorded first."""
        async with self._lock:
            plan = self.packer.plan()
            try:
                self.packer.close_case(plan)
            except PackingError as exc:
                return False, f"Nothing closed: {exc}."
            return await self._record_and_adopt(plan, f"closed by {cause}")

    async def close_pallet(self, *, cause: str) -> tuple[bool, str]:
        async with self._lock:
            plan = self.packer.plan()
            try:
                self.packer.close_pallet(plan)
            except PackingError as exc:
                return False, f"Nothing closed: {exc}."
            return await self._record_and_adopt(plan, f"closed by {cause}")

    async def unpack(self, request: UnpackUnit | UnpackContainer) -> tuple[bool, str]:
        """Take a unit out of its case, or a case off its pallet."""
        if isinstance(request, UnpackUnit):
            key = child_key(UnitRef(di=request.di, serial=request.serial, lot=request.lot))
            what = f"unit {key}"
        else:
            key, what = request.sscc, f"container {request.sscc}"
        async with self._lock:
            plan = self.packer.plan()
            if isinstance(request, UnpackUnit):
                plan.repack_allowed.append(key)
            if self.packer.remove(plan, key):
                await self._adopt(plan)
                return True, f"{what} taken out of the open container (no record yet named it)."
            placement = await self.store.placement(key)
            if placement is None:
                here = self.context.station.checkpoint
                return False, f"{what} is in no container packed at {here}."
            text = request.note or f"Unpacked for {request.reason}."
            reason = Reason(code=request.reason, text=text)
            plan.events.append(
                self.packer.unpacked(placement.container, placement.child, reason=reason)
            )
            plan.removed.append(key)
            return await self._record_and_adopt(plan, f"out of {placement.container.sscc}")

    async def _record_and_adopt(self, plan: Plan, done: str) -> tuple[bool, str]:
        seqs = []
        for event in plan.events:
            try:
                seqs.append((await self.context.outbox.commit(event)).seq)
            except Exception as exc:
                self.context.alarm("outbox_error", f"packing record refused: {exc}")
                return False, f"Not done, the record was refused: {exc}"
        await self._adopt(plan)
        kinds = ", ".join(f"{e.kind} seq {s}" for e, s in zip(plan.events, seqs, strict=True))
        return True, f"{done}: {kinds}."

    async def _adopt(self, plan: Plan) -> None:
        await self.store.apply(plan.step())
        self.packer.adopt(plan)

    # --- background work ---------------------------------------------------------------------

    def tasks(self) -> Mapping[str, Callable[[], Awaitable[None]]]:
        tasks: dict[str, Callable[[], Awaitable[None]]] = {
            "store": self._keep_store,
            "requests": self._run_requests,
        }
        if self.config.close_case_input is not None and self.context.plc is not None:
            tasks["close-case signal"] = self._watch_close_signal
        return tasks

    async def _keep_store(self) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await self.store.close()

    async def _run_requests(self) -> None:
        """Requests queued by the CLI in the store, done in order."""
        while True:
            for pending in await self.store.pending():
                ok, result = await self._do(pending.request)
                log.info("request %d: %s", pending.n, result)
                await self.store.finish(pending.n, ok=ok, result=result)
            await asyncio.sleep(self.request_period_s)

    async def _do(self, request: AnyRequest) -> tuple[bool, str]:
        if isinstance(request, CloseCase):
            return await self.close_case(cause="tracegate edge close-case")
        if isinstance(request, ClosePallet):
            return await self.close_pallet(cause="tracegate edge close-pallet")
        return await self.unpack(request)

    async def _watch_close_signal(self) -> None:
        """Poll the close-case input; its configured edge closes the open case."""
        signal, plc = self.config.close_case_input, self.context.plc
        assert signal is not None and plc is not None
        period_s = signal.poll_period_ms / 1000
        wanted = signal.edge == "rising"
        level: bool | None = None
        while True:
            try:
                sample = await plc.read(CLOSE_CASE)
            except PlcError:
                # A press while the link is down is not seen: the case stays open.
                level = None
                await asyncio.sleep(max(period_s, 0.2))
                continue
            now = bool(sample.value)
            if level is not None and now != level and now == wanted:
                _, result = await self.close_case(cause="the PLC's close-case signal")
                log.info("close-case signal: %s", result)
            level = now
            await asyncio.sleep(period_s)


def _refused(label: str, code: str, text: str) -> StationScan:
    return StationScan(label=label, reasons=(Reason(code=code, text=text),))
