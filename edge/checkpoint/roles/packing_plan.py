"""What packing does, without I/O: which case a unit goes into, when a case or a pallet
closes, which SSCC a new container gets, and the `unit.packed` / `unit.unpacked` records.

`Packer` holds the open case and pallet. Each change is first worked out on a `Plan` (copies
of what it touches); the role writes the plan's step to the store, then `Packer.adopt(plan)`
makes it the state, so a store that refuses the step leaves the state as it was.

The packer on the line boxes the units that get the pass output, `case_size` to a case (or
fewer, when the close-case signal closes it). A unit whose pass became a hold after its case
was recorded was diverted: that case is one unit short on the packer, which boxes the next
unit into it. `Packer.refill` makes the records say the same (see there).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from edge.checkpoint.record import Station
from edge.checkpoint.roles.packing_sscc import make_sscc
from edge.checkpoint.roles.packing_store import (
    Child,
    Container,
    Level,
    PackingSnapshot,
    PackStep,
    child_key,
)
from protocols.config.roles import PackingConfig
from protocols.events import Event, Reason, UnitPacked, UnitUnpacked
from protocols.ids import uuid7
from protocols.parts import ContainerRef, UnitRef
from protocols.udi import Udi


class PackingError(Exception):
    """A packing step that cannot be done (no case open in label mode, a full SSCC range)."""


def unit_ref(udi: Udi) -> UnitRef:
    """How a unit is named in containment records."""
    return UnitRef(di=udi.di, serial=udi.serial, lot=udi.lot, raw=udi.raw[:8192] or None)


@dataclass(slots=True)
class Plan:
    """A packing change being worked out: the next state, the store step, the records."""

    case: Container | None
    pallet: Container | None
    counter: int
    events: list[Event] = field(default_factory=list)
    touched: dict[str, Container] = field(default_factory=dict)
    """Containers whose new state the step writes, by SSCC."""
    opened: list[str] = field(default_factory=list)
    """SSCCs of containers started by the plan."""
    dropped: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    repack_allowed: list[str] = field(default_factory=list)
    repacked: list[str] = field(default_factory=list)
    counter_changed: bool = False

    def touch(self, container: Container) -> Container:
        self.touched[container.sscc] = container
        return container

    def step(self) -> PackStep:
        return PackStep(
            containers=tuple(c.copy() for c in self.touched.values()),
            opened=tuple(self.opened),
            dropped=tuple(self.dropped),
            removed=tuple(self.removed),
            repack_allowed=tuple(self.repack_allowed),
            repacked=tuple(self.repacked),
            sscc_counter=self.counter if self.counter_changed else None,
        )


@dataclass(frozen=True, slots=True)
class Removal:
    """A member taken out of a container."""

    container: Container
    child: Child
    recorded: bool
    """A record named it there: its `unit.unpacked` is needed."""


class Packer:
    """The packing station's open containers and its rules for filling them."""

    def __init__(
        self,
        config: PackingConfig,
        *,
        station: Station,
        company_prefix: str | None,
        snapshot: PackingSnapshot,
    ) -> None:
        self.config = config
        self.station = station
        self.company_prefix = company_prefix
        self.reset(snapshot)

    def reset(self, snapshot: PackingSnapshot) -> None:
        """Take the state the store holds."""
        self.case = snapshot.open_case
        self.pallet = snapshot.open_pallet
        self.counter = snapshot.sscc_counter
        self.repack = set(snapshot.repack)

    @property
    def palletised(self) -> bool:
        return self.config.cases_per_pallet is not None

    def plan(self) -> Plan:
        return Plan(
            case=self.case.copy() if self.case is not None else None,
            pallet=self.pallet.copy() if self.pallet is not None else None,
            counter=self.counter,
        )

    def adopt(self, plan: Plan) -> None:
        """Make a plan the state (after the store took its step)."""
        self.case, self.pallet, self.counter = plan.case, plan.pallet, plan.counter
        self.repack.update(plan.repack_allowed)
        self.repack.difference_update(plan.repacked)

    # --- units -----------------------------------------------------------------------------

    def add_unit(self, plan: Plan, ref: UnitRef) -> None:
        """Put a unit that passed into the open case (starting one if SSCCs are generated);
        a case it fills is closed."""
        case = plan.case
        if case is None:
            if self.config.sscc_source == "label":
                raise PackingError("no case is open: its SSCC label was not scanned")
            case = plan.case = Container(sscc=self._new_sscc(plan), level="case")
        case.members.append(ref)
        plan.touch(case)
        key = child_key(ref)
        if key in self.repack:
            plan.repacked.append(key)
        if len(case.members) >= self.config.case_size:
            self.close_case(plan)

    def remove(self, plan: Plan, key: str) -> Removal | None:
        """Take a member out of the open case or pallet; None if it is in neither."""
        for container in (plan.case, plan.pallet):
            if container is not None and (removal := self.take_out(plan, container, key)):
                return removal
        return None

    def take_out(self, plan: Plan, container: Container, key: str) -> Removal | None:
        """Take member `key` out of `container` (a copy the plan owns)."""
        for index, child in enumerate(container.members):
            if child_key(child) == key:
                del container.members[index]
                recorded = index < container.recorded
                container.recorded -= recorded
                plan.touch(container)
                plan.removed.append(key)
                return Removal(container=container, child=child, recorded=recorded)
        return None

    def refill(self, plan: Plan, chain: Sequence[Container], *, gap: str) -> list[str]:
        """The first case of `chain` lost a unit its record named (diverted after its case
        was recorded); `chain` holds it and every case started after it, oldest first, the
        open one (if any) last, as copies the plan may change.

        The packer boxed the next unit into that case's gap, so each full case takes the
        first unit of the case after it (`unit.unpacked` from there if a record named it
        there, `unit.packed` into the earlier case), until a case that is open or was closed
        short (its gap stays). A case with nobody after it to give a unit is open again:
        the next unit fills it, and its `unit.packed` names the new units only. An empty
        open case behind it is given up (its SSCC was never recorded). Returns the SSCCs
        given up.
        """
        given_up: list[str] = []
        for index, case in enumerate(chain):
            if case.state == "open" or case.short or len(case.members) >= self.config.case_size:
                break
            after = chain[index + 1] if index + 1 < len(chain) else None
            if after is not None and after.state == "open" and not after.members:
                plan.dropped.append(after.sscc)
                plan.touched.pop(after.sscc, None)
                given_up.append(after.sscc)
                plan.case = after = None
            if after is None:
                if plan.case is None:
                    case.state = "open"
                    plan.case = plan.touch(case)
                break
            if not after.members:
                break
            moved = self.take_out(plan, after, child_key(after.members[0]))
            assert moved is not None
            plan.removed.remove(child_key(moved.child))
            why = Reason(
                code="case_refilled",
                text=f"A unit of case {case.sscc} was diverted after the case was recorded;"
                f" the packer boxed the next unit into its place. {gap}"[:4096],
            )
            if moved.recorded:
                plan.events.append(self.unpacked(after, moved.child, reason=why))
            case.members.append(moved.child)
            case.recorded = len(case.members)
            plan.touch(case)
            plan.events.append(self.packed(case.sscc, None, [moved.child]))
        return given_up

    # --- closing -----------------------------------------------------------------------------

    def close_case(self, plan: Plan) -> None:
        """Record the open case with its units no record names yet, and put it onto the
        open pallet (started if SSCCs are generated), which closes when full. A case
        reopened after a diverted unit is on its pallet already."""
        case = plan.case
        if case is None or not case.members:
            raise PackingError("no case with units is open")
        plan.case = None
        case.state = "closed"
        case.short = len(case.members) < self.config.case_size
        plan.touch(case)
        new = case.members[case.recorded :]
        case.recorded = len(case.members)
        pallet = plan.pallet
        if case.parent is not None or not self.palletised:
            if new:
                plan.events.append(self.packed(case.sscc, None, new))
            return
        if pallet is None and self.config.sscc_source == "generated":
            pallet = plan.pallet = Container(sscc=self._new_sscc(plan), level="pallet")
        if pallet is None:
            plan.events.append(self.packed(case.sscc, None, new))
            return
        case.parent = pallet.sscc
        plan.events.append(self.packed(case.sscc, pallet.sscc, new))
        pallet.members.append(ContainerRef(sscc=case.sscc))
        plan.touch(pallet)
        limit = self.config.cases_per_pallet
        if limit is not None and len(pallet.members) >= limit:
            self.close_pallet(plan)

    def close_pallet(self, plan: Plan) -> None:
        pallet = plan.pallet
        if pallet is None or not pallet.members:
            raise PackingError("no pallet with cases is open")
        plan.events.append(self.packed(pallet.sscc, None, pallet.members[pallet.recorded :]))
        pallet.state = "closed"
        pallet.recorded = len(pallet.members)
        plan.touch(pallet)
        plan.pallet = None

    # --- labels ------------------------------------------------------------------------------

    def open_by_label(self, plan: Plan, sscc: str) -> Level:
        """A scanned label starts the pallet (when palletising and none is open), else the
        case; refused while a case is open."""
        if self.palletised and plan.pallet is None:
            level: Level = "pallet"
        elif plan.case is None:
            level = "case"
        else:
            case = plan.case
            raise PackingError(
                f"case {case.sscc} is open ({len(case.members)} of {self.config.case_size}"
                " units): it closes when full or on the close-case signal"
            )
        # A case's parent is set when it goes onto the pallet (when it closes).
        container = plan.touch(Container(sscc=sscc, level=level))
        plan.opened.append(sscc)
        if level == "case":
            plan.case = container
        else:
            plan.pallet = container
        return level

    # --- records -----------------------------------------------------------------------------

    def packed(self, container: str, parent: str | None, children: list[Child]) -> UnitPacked:
        st = self.station
        return UnitPacked(
            event_id=uuid7(),
            device_id=st.device_id,
            occurred_at=dt.datetime.now(dt.UTC),
            site=st.site,
            line=st.line,
            checkpoint=st.checkpoint,
            container=container,
            parent_container=parent,
            children=tuple(children),
        )

    def unpacked(self, container: Container, child: Child, *, reason: Reason) -> UnitUnpacked:
        # No parent_container: the container stays where it is, and a record that names
        # one reads as the container taken off it too.
        st = self.station
        return UnitUnpacked(
            event_id=uuid7(),
            device_id=st.device_id,
            occurred_at=dt.datetime.now(dt.UTC),
            site=st.site,
            line=st.line,
            checkpoint=st.checkpoint,
            container=container.sscc,
            children=(child,),
            reason=reason,
        )

    def _new_sscc(self, plan: Plan) -> str:
        if self.company_prefix is None:
            raise PackingError("generated SSCCs need site.gs1_company_prefix")
        plan.counter += 1
        plan.counter_changed = True
        room = 10 ** (16 - len(self.company_prefix))
        # The serial reference wraps after 10^(16 - prefix length) containers; GS1 asks
        # that an SSCC not be reused within a year, so a long company prefix needs a
        # distinct extension digit per packer (9 digits of room with a 7-digit prefix).
        sscc = make_sscc(
            extension_digit=self.config.sscc_extension_digit,
            company_prefix=self.company_prefix,
            serial=plan.counter % room,
        )
        plan.opened.append(sscc)
        return sscc
