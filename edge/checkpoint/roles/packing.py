"""The packing role: units that pass go into the open case, cases onto the open pallet.

- A unit that passes is added to the open case; the unit that fills it closes it, and the
  case's `unit.packed` (its units, and the pallet it goes onto) is committed with that
  unit's records, before its pass output. A pallet filled by that case is recorded too.
- The case's SSCC comes from a pre-printed label scanned before its first unit
  (``sscc_source: label``; with ``cases_per_pallet`` the pallet's label is scanned first,
  then each case's) or is made from ``site.gs1_company_prefix`` with a counter kept in the
  store (``generated``); an SSCC the store already knows is never used again.
- The PLC's close-case input (``close_case_input``) closes a short case at the end of a
  run; so do `tracegate edge close-case` and `tracegate edge close-pallet`.
- `tracegate edge unpack` takes a unit out of its case (or a case off its pallet) for
  rework: `unit.unpacked`, and the unit may pass packing again (into another case).
- A unit already packed and not unpacked since is held (``already_packed``): the role's
  check replaces the duplicate-serial rule here, which must be off for repacking.
- A unit whose pass becomes a hold (late, its output not verified, its record refused) was
  diverted by the reject output: it is taken back out of its case. If its case was recorded
  with it, `unit.unpacked` (``held_after_packing``) says so, and the case is short of one
  unit on the packer, which boxes the next unit into it: the case is open again (or the
  units boxed since move up, each with its records: `Packer.refill`).

What is open persists in the role's store (`packing_store`), written before each pass. A
store write is never cut off half way by a unit's deadline, and after a failed one the
role's memory is read back from the store: a store error holds one unit, not every later
one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

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
    PRUNE_BATCH,
    PackingStore,
    Pruned,
    UnpackContainer,
    UnpackUnit,
    child_key,
)
from edge.checkpoint.roles.packing_tasks import run_prune, run_requests, watch_close_signal
from edge.checkpoint.roles.sqlite_store import role_store_path
from edge.checkpoint.state import unit_key
from edge.reads import CodeRead
from protocols.config.roles import PackingConfig
from protocols.events import Event, Reason
from protocols.parts import Decision, UnitRef

if TYPE_CHECKING:
    from edge.checkpoint.verdict import Outcome

log = logging.getLogger("edge.checkpoint.packing")
T = TypeVar("T")

PRUNE_PERIOD_S = 3600.0
_STORE_TRIES = 3
_STORE_RETRY_S = 0.5
_SSCC_SKIPS = 1000
"""Known SSCCs a generated one may run into in a row (labels of a roll from the same
company prefix, scanned when the station used labels) before the unit is held."""


@dataclass(frozen=True, slots=True)
class _Placed:
    """A unit put into a case whose pass is not final yet."""

    events: tuple[Event, ...]
    """The records its step made (the case it closed), for the engine to commit."""


class PackingRole(StationRole):
    name = "packing"

    def __init__(
        self,
        context: RoleContext,
        *,
        store: PackingStore,
        request_period_s: float = 0.2,
        prune_period_s: float = PRUNE_PERIOD_S,
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
        self.prune_period_s = prune_period_s
        self._lock = asyncio.Lock()
        self._placing: dict[str, asyncio.Future[_Placed]] = {}

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
        return await asyncio.shield(await self._locked_step(lambda: self._open_by_label(sscc)))

    async def _open_by_label(self, sscc: str) -> StationScan:
        what = f"SSCC {sscc}"
        for open_now in (self.packer.case, self.packer.pallet):
            if open_now is not None and open_now.sscc == sscc:
                # Scanned again (its first scan was held late, or read twice): it stands.
                return StationScan(label=f"{open_now.level} {sscc} (open)")
        if await self.store.container(sscc) is not None:
            return _refused(what, "sscc_reused", f"SSCC {sscc} was already used here.")
        plan = self.packer.plan()
        try:
            level = self.packer.open_by_label(plan, sscc)
        except PackingError as exc:
            return _refused(what, "case_open", f"Label {sscc} not taken: {exc}.")
        await self._write(plan)
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
        # `settled` finds the step even if this call is cut off by the unit's deadline, and
        # takes the unit back out if it was held.
        placing = await self._locked_step(lambda: self._place(unit_ref(udi)))
        self._placing[unit_key(udi)] = placing
        placed = await asyncio.shield(placing)
        return placed.events

    async def _place(self, ref: UnitRef) -> _Placed:
        plan = await self._fresh_plan(lambda plan: self.packer.add_unit(plan, ref))
        await self._write(plan)
        return _Placed(events=tuple(plan.events))

    async def _locked_step(self, step: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
        """`step` started under the role's lock, to run to its end even if the caller is
        cut off (by a unit's deadline): its store write runs on in the store's thread, and
        the role's state must follow it. Waiting for the lock can be cut off (nothing is
        done yet)."""
        await self._lock.acquire()

        async def locked() -> T:
            try:
                return await step()
            finally:
                self._lock.release()

        try:
            task = asyncio.ensure_future(locked())
        except BaseException:
            self._lock.release()
            raise
        task.add_done_callback(_seen)
        return task

    async def settled(self, facts: Facts | None, outcome: Outcome) -> None:
        udi = facts.identification.udi if facts is not None else None
        # A unit held for its deadline has no facts; its outcome names it.
        key = unit_key(udi) if udi is not None else outcome.unit
        placing = self._placing.pop(key, None) if key is not None else None
        if key is None or placing is None:
            return
        try:
            placed = await placing
        except Exception as exc:
            log.warning("unit %s was not packed: %s", key, exc)
            return
        if outcome.decision == "pass":
            return
        async with self._lock:
            await self._take_back(key, placed, outcome)

    async def _take_back(self, key: str, placed: _Placed, outcome: Outcome) -> None:
        """A unit put into a case was held after all (too late, its pass output did not
        take, its record was refused): the reject output diverted it, so out of its case it
        goes. Its records the engine left out are committed first: the store has them."""
        codes = ", ".join(outcome.reasons)
        unrecorded = placed.events[outcome.role_recorded :]
        if unrecorded and not await self._commit(unrecorded, f"the packing records of {key}"):
            # The store keeps the unit in its case: the records say nothing else either.
            return
        plan = self.packer.plan()
        removal = self.packer.remove(plan, key)
        if removal is None:
            placement = await self.store.placement(key)
            if placement is not None:
                removal = self.packer.take_out(plan, placement.container, key)
        if removal is None:
            log.warning("unit %s held after all (%s): in no container any more", key, codes)
            return
        case = removal.container
        if not removal.recorded:
            await self._adopt(plan)
            log.warning("unit %s held after all (%s): out of case %s", key, codes, case.sscc)
            return
        why = Reason(
            code="held_after_packing",
            text=f"The unit's pass became a hold ({codes}) after case {case.sscc} was"
            " recorded with it; the reject output diverted it."[:4096],
        )
        plan.events.append(self.packer.unpacked(case, removal.child, reason=why))
        given_up: list[str] = []
        if case.state == "closed" and case.level == "case":
            chain = [case]
            for later in (await self.store.cases_from(case.sscc))[1:]:
                is_open = plan.case is not None and later.sscc == plan.case.sscc
                chain.append(plan.case if is_open and plan.case is not None else later)
            given_up = self.packer.refill(plan, chain, gap=f"Unit {key} was diverted ({codes}).")
        what = f"unit {key} out of case {case.sscc}"
        if not await self._commit(plan.events, what) or not await self._follow(plan, what):
            return
        now_open = plan.case.sscc if plan.case is not None else None
        filled = "open again for the next unit" if now_open == case.sscc else "refilled"
        dropped = ""
        if given_up:
            again = "scan its label again" if self.config.sscc_source == "label" else "skipped"
            dropped = f"; the empty case {', '.join(given_up)} after it is not used ({again})"
        self.context.alarm(
            "held_after_packing",
            f"Case {case.sscc} was recorded with unit {key}, held after all ({codes}): the"
            f" unit is recorded out of it and the case is {filled}{dropped}.",
        )

    # --- closing and unpacking ---------------------------------------------------------------

    async def close_case(self, *, cause: str) -> tuple[bool, str]:
        """Close the open case (short): its `unit.packed` is recorded first."""
        async with self._lock:
            try:
                plan = await self._fresh_plan(self.packer.close_case)
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
            removal = self.packer.remove(plan, key)
            if removal is None:
                placement = await self.store.placement(key)
                if placement is not None:
                    removal = self.packer.take_out(plan, placement.container, key)
            if removal is None:
                here = self.context.station.checkpoint
                return False, (
                    f"{what} is in no container packed at {here} (closed containers are kept"
                    f" {self.config.retention_days:g} days)."
                )
            if not removal.recorded:
                await self._adopt(plan)
                return True, f"{what} taken out of the open container (no record yet named it)."
            text = request.note or f"Unpacked for {request.reason}."
            reason = Reason(code=request.reason, text=text)
            plan.events.append(
                self.packer.unpacked(removal.container, removal.child, reason=reason)
            )
            return await self._record_and_adopt(plan, f"out of {removal.container.sscc}")

    async def _record_and_adopt(self, plan: Plan, done: str) -> tuple[bool, str]:
        seqs = []
        for event in plan.events:
            try:
                seqs.append((await self.context.outbox.commit(event)).seq)
            except Exception as exc:
                self.context.alarm("outbox_error", f"packing record refused: {exc}")
                return False, f"Not done, the record was refused: {exc}"
        if not await self._follow(plan, done):
            return False, f"{done}: recorded, but the packing store refused it (see the alarm)."
        kinds = ", ".join(f"{e.kind} seq {s}" for e, s in zip(plan.events, seqs, strict=True))
        return True, f"{done}: {kinds or 'nothing new to record'}."

    async def _commit(self, events: Sequence[Event], what: str) -> bool:
        """Commit records made outside a unit's path; an alarm if the outbox refuses."""
        for n, event in enumerate(events):
            try:
                await self.context.outbox.commit(event)
            except Exception as exc:
                self.context.alarm(
                    "outbox_error",
                    f"{what}: {len(events) - n} of {len(events)} records refused ({exc}); the"
                    " packing store keeps what it had, check that containment.",
                )
                return False
        return True

    # --- the store ----------------------------------------------------------------------------

    async def _follow(self, plan: Plan, what: str) -> bool:
        """The store takes a step whose records are committed: tried again while it is
        refused for a moment (the CLI holding its lock); an alarm if it never takes it."""
        for attempt in range(_STORE_TRIES):
            try:
                await self._adopt(plan)
                return True
            except Exception as exc:
                if attempt + 1 == _STORE_TRIES:
                    self.context.alarm(
                        "packing_store_error",
                        f"{what}: recorded, but the packing store refused it ({exc}); the"
                        " store does not match the records, check this container.",
                    )
                else:
                    await asyncio.sleep(_STORE_RETRY_S)
        return False

    async def _fresh_plan(self, build: Callable[[Plan], None]) -> Plan:
        """`build` on a plan; again, past them, while it starts containers whose generated
        SSCC the store already knows."""
        for _ in range(_SSCC_SKIPS):
            plan = self.packer.plan()
            build(plan)
            known = [s for s in plan.opened if await self.store.container(s) is not None]
            if not known:
                return plan
            log.warning("SSCC %s is used already: skipped", ", ".join(known))
            self.packer.counter = plan.counter
        raise PackingError(f"{_SSCC_SKIPS} generated SSCCs in a row are used already")

    async def _adopt(self, plan: Plan) -> None:
        """Write the plan's step, then make it the state, even if the caller is cut off
        meanwhile (a deadline): the write runs on in the store's thread, and the state must
        follow it."""
        await asyncio.shield(asyncio.ensure_future(self._write(plan)))

    async def _write(self, plan: Plan) -> None:
        try:
            await self.store.apply(plan.step())
        except Exception:
            await self._reload()
            raise
        self.packer.adopt(plan)

    async def _reload(self) -> None:
        """Take the state from the store again (after a step it refused)."""
        try:
            self.packer.reset(await self.store.snapshot())
        except Exception:
            log.exception("packing store unreadable, the role keeps its state")

    # --- background work ---------------------------------------------------------------------

    def tasks(self) -> Mapping[str, Callable[[], Awaitable[None]]]:
        tasks: dict[str, Callable[[], Awaitable[None]]] = {
            "store": self._keep_store,
            "requests": lambda: run_requests(self, period_s=self.request_period_s),
            "prune": lambda: run_prune(self, period_s=self.prune_period_s),
        }
        signal, plc = self.config.close_case_input, self.context.plc
        if signal is not None and plc is not None:
            tasks["close-case signal"] = lambda: watch_close_signal(self, signal, plc)
        return tasks

    async def _keep_store(self) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await self.store.close()

    async def prune(self) -> Pruned:
        """Forget containers closed more than `retention_days` ago, a batch at a time (the
        units' steps go on between batches)."""
        closed_before = time.time() - self.config.retention_days * 86400
        containers = members = requests = 0
        while True:
            async with self._lock:
                pruned = await self.store.prune(closed_before=closed_before)
            containers += pruned.containers
            members += pruned.members
            requests += pruned.requests
            if pruned.containers < PRUNE_BATCH:
                break
        if containers or requests:
            log.info(
                "pruned %d containers (%d placements) and %d requests older than %g days",
                containers,
                members,
                requests,
                self.config.retention_days,
            )
        return Pruned(containers=containers, members=members, requests=requests)


def _seen(step: asyncio.Future[Any]) -> None:
    # Retrieved here so that a step whose caller was cut off does not warn at exit;
    # `settled` reports a unit's.
    if not step.cancelled():
        step.exception()


def _refused(label: str, code: str, text: str) -> StationScan:
    return StationScan(label=label, reasons=(Reason(code=code, text=text),))
