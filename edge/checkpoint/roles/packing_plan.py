"""What packing does, without I/O: which case a unit goes into, when a case or a pallet
closes, which SSCC a new container gets, and the `unit.packed` / `unit.unpacked` records.

`Packer` holds the open case and pallet. Each change is first worked out on a `Plan` (a
copy); the role writes the plan's step to the store, then `Packer.adopt(plan)` makes it
the state, so a store that refuses the step leaves the state as it was.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

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
    opened: list[Container] = field(default_factory=list)
    added: list[tuple[str, Child]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    parents: list[tuple[str, str]] = field(default_factory=list)
    repack_allowed: list[str] = field(default_factory=list)
    repacked: list[str] = field(default_factory=list)
    counter_changed: bool = False

    def step(self) -> PackStep:
        return PackStep(
            opened=tuple(self.opened),
            added=tuple(self.added),
            removed=tuple(self.removed),
            closed=tuple(self.closed),
            parents=tuple(self.parents),
            repack_allowed=tuple(self.repack_allowed),
            repacked=tuple(self.repacked),
            sscc_counter=self.counter if self.counter_changed else None,
        )


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
        self.case = snapshot.open_case
        self.pallet = snapshot.open_pallet
        self.counter = snapshot.sscc_counter
        self.repack = set(snapshot.repack)

    @property
    def palletised(self) -> bool:
        return self.config.cases_per_pallet is not None

    def plan(self) -> Plan:
        return Plan(case=_copy(self.case), pallet=_copy(self.pallet), counter=self.counter)

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
            case = Container(sscc=self._new_sscc(plan), level="case")
            plan.opened.append(replace(case, members=[]))
            plan.case = case
        case.members.append(ref)
        plan.added.append((case.sscc, ref))
        key = child_key(ref)
        if key in self.repack:
            plan.repacked.append(key)
        if len(case.members) >= self.config.case_size:
            self.close_case(plan)

    def remove(self, plan: Plan, key: str) -> bool:
        """Take a member out of the open case or pallet; False if it is not in either."""
        for container in (plan.case, plan.pallet):
            if container is None:
                continue
            kept = [m for m in container.members if child_key(m) != key]
            if len(kept) != len(container.members):
                container.members = kept
                plan.removed.append(key)
                return True
        return False

    # --- closing -----------------------------------------------------------------------------

    def close_case(self, plan: Plan) -> None:
        """Record the open case with its units; onto the open pallet (started if SSCCs are
        generated), which closes when full."""
        case = plan.case
        if case is None or not case.members:
            raise PackingError("no case with units is open")
        pallet = plan.pallet
        if self.palletised and pallet is None and self.config.sscc_source == "generated":
            pallet = Container(sscc=self._new_sscc(plan), level="pallet")
            plan.opened.append(replace(pallet, members=[]))
            plan.pallet = pallet
        parent = pallet.sscc if pallet is not None else None
        if parent is not None and case.parent != parent:
            plan.parents.append((case.sscc, parent))
        plan.events.append(self.packed(case.sscc, parent, case.members))
        plan.closed.append(case.sscc)
        plan.case = None
        if pallet is None:
            return
        ref = ContainerRef(sscc=case.sscc)
        pallet.members.append(ref)
        plan.added.append((pallet.sscc, ref))
        limit = self.config.cases_per_pallet
        if limit is not None and len(pallet.members) >= limit:
            self.close_pallet(plan)

    def close_pallet(self, plan: Plan) -> None:
        pallet = plan.pallet
        if pallet is None or not pallet.members:
            raise PackingError("no pallet with cases is open")
        plan.events.append(self.packed(pallet.sscc, None, pallet.members))
        plan.closed.append(pallet.sscc)
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
        parent = plan.pallet.sscc if level == "case" and plan.pallet is not None else None
        container = Container(sscc=sscc, level=level, parent=parent)
        plan.opened.append(replace(container, members=[]))
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
        st = self.station
        return UnitUnpacked(
            event_id=uuid7(),
            device_id=st.device_id,
            occurred_at=dt.datetime.now(dt.UTC),
            site=st.site,
            line=st.line,
            checkpoint=st.checkpoint,
            container=container.sscc,
            parent_container=container.parent,
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
        return make_sscc(
            extension_digit=self.config.sscc_extension_digit,
            company_prefix=self.company_prefix,
            serial=plan.counter % room,
        )


def _copy(container: Container | None) -> Container | None:
    return None if container is None else replace(container, members=list(container.members))
