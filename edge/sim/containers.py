"""Simulated logistics: pre-printed SSCC labels, the case packer that boxes the units the PLC
lets through, and the operator's close-case button.

`SimPacker` is what really happens on the simulated line, independent of the agent: it
watches the simulated PLC's outputs (`SimPlc(on_write=packer.on_write)`), puts each unit
that gets the pass output into the case in front of it, closes the case after `case_size`
units or a press of the close-case button, and stacks closed cases onto pallets. Tests
compare it with the containment rebuilt from the agent's events.

>>> labels = sscc_labels(company_prefix="5391234", extension_digit=3)
>>> next(labels), next(labels)
('353912340000000017', '353912340000000024')
>>> label_text("353912340000000017")
'00353912340000000017'
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field

from edge.sim.plc import OutputWrite
from protocols.sscc import sscc_check_digit

CONTAINER_AIM = "]C1"
"""Logistic labels are GS1-128: the AIM identifier a scanner prefixes."""


def sscc_labels(*, company_prefix: str, extension_digit: int = 0, start: int = 1) -> Iterator[str]:
    """SSCCs as a label printer's roll has them: consecutive serial references from
    `start`, each with its check digit."""
    room = 16 - len(company_prefix)
    serial = start
    while True:
        body = f"{extension_digit}{company_prefix}{serial:0{room}d}"
        yield body + str(sscc_check_digit(body))
        serial += 1


def label_text(sscc: str) -> str:
    """What a scanner reads off an SSCC label: AI (00) and the SSCC (GS1-128 element string)."""
    return f"00{sscc}"


def misprinted(sscc: str) -> str:
    """The same label with a wrong check digit."""
    return sscc[:-1] + str((int(sscc[-1]) + 1) % 10)


@dataclass(slots=True)
class SimCase:
    units: list[int] = field(default_factory=list)
    """Unit indexes in the order they went in."""


@dataclass(slots=True)
class SimPacker:
    """The packing machine: units that get the pass output go into the open case."""

    case_size: int
    cases_per_pallet: int | None = None
    cases: list[SimCase] = field(default_factory=list)
    """Closed cases, in closing order."""
    pallets: list[list[int]] = field(default_factory=list)
    """Closed pallets: indexes into `cases`."""
    open_case: SimCase = field(default_factory=SimCase)
    open_pallet: list[int] = field(default_factory=list)
    _decided: set[int] = field(default_factory=set)
    """Units whose first output came: boxed (pass) or diverted (reject)."""

    def on_write(self, write: OutputWrite) -> None:
        """A unit whose first output is the pass output is boxed; one whose first output is
        the reject is diverted, and stays out. A later output while it is still in front is
        not its own (a label scanned between units)."""
        index = write.unit_index
        if write.name not in ("pass", "reject") or not write.value or index is None:
            return
        if index in self._decided:
            return
        self._decided.add(index)
        if write.name == "reject":
            return
        self.open_case.units.append(index)
        if len(self.open_case.units) >= self.case_size:
            self.close_case()

    def close_case(self) -> None:
        """Close the open case if it has units (the button, or the count)."""
        if not self.open_case.units:
            return
        self.cases.append(self.open_case)
        self.open_case = SimCase()
        self.open_pallet.append(len(self.cases) - 1)
        if self.cases_per_pallet is not None and len(self.open_pallet) >= self.cases_per_pallet:
            self.pallets.append(self.open_pallet)
            self.open_pallet = []

    def close_pallet(self) -> None:
        """Close the open pallet if it has cases (the end of a run)."""
        if self.open_pallet:
            self.pallets.append(self.open_pallet)
            self.open_pallet = []

    def take_out(self, index: int) -> None:
        """A unit taken out for rework: it may be boxed again."""
        for case in [*self.cases, self.open_case]:
            if index in case.units:
                case.units.remove(index)
        self._decided.discard(index)


async def press_button(
    host: str, port: int, *, coil: int, device_id: int = 1, hold_s: float = 0.15
) -> None:
    """Press and release a push button wired to a PLC coil: the PLC program (here, a Modbus
    client) sets the coil for `hold_s`, as the close-case button on the packer does."""
    from pymodbus.client import AsyncModbusTcpClient

    client = AsyncModbusTcpClient(host, port=port, timeout=1, retries=0)
    if not await client.connect():
        raise ConnectionError(f"button: no PLC at {host}:{port}")
    try:
        await client.write_coil(coil, True, device_id=device_id)
        await asyncio.sleep(hold_s)
        await client.write_coil(coil, False, device_id=device_id)
    finally:
        client.close()
