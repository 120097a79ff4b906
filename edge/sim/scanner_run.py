"""`tracegate sim scanner`: a simulated scanner that runs until its reads are done or it is
interrupted, printing each read.

It follows the line of a `tracegate sim plc` YAML file (same units, same line start when the
file sets `epoch_s`), a line made from a seed, or a fixed list of texts.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from edge.adapters.framing import Framing
from edge.sim.scanner import FaultPlan, SentRead, SimScanner
from edge.sim.units import LineClock, SimLine


@dataclass(frozen=True, slots=True, kw_only=True)
class SimScannerPlan:
    """What the scanner says: a line's units, or `texts` in a loop, `count` reads in all."""

    line: SimLine | None = None
    clock: LineClock | None = None
    texts: Sequence[str] = ()
    interval_s: float = 1.0
    count: int | None = None
    wait_clients: int = 0
    """TCP: clients to wait for before the first read."""
    with_symbology_ids: bool = True


def describe_sent(read: SentRead) -> str:
    """One line per read for the console, GS shown as `<GS>`.

    >>> from edge.sim.scanner import SentRead
    >>> print(describe_sent(SentRead(number=3, text="A", outcome="read", wire=b"]d2A\\x1dB\\r",
    ...     receivers=1, monotonic_s=0.0, unit_index=2)))
         3  unit      2  read       b']d2A<GS>B\\r'
    """
    unit = "-" if read.unit_index is None else str(read.unit_index)
    shown = repr(read.wire).replace("\\x1d", "<GS>")
    return f"{read.number:6d}  unit {unit:>6}  {read.outcome:<9}  {shown}"


async def serve_sim_scanner(
    sim: SimScanner, plan: SimScannerPlan, *, show: Callable[[str], None] = print
) -> None:
    """Start `sim`, announce its address, say what `plan` says, stop."""
    async with sim:
        show(f"sim scanner: {sim.url}")
        if plan.wait_clients:
            await sim.wait_for_clients(plan.wait_clients, timeout_s=3600.0)
        if plan.line is not None:
            await sim.follow(
                plan.line,
                clock=plan.clock,
                units=plan.count,
                with_symbology_ids=plan.with_symbology_ids,
            )
        else:
            texts = itertools.islice(itertools.cycle(plan.texts), plan.count)
            await sim.play(texts, interval_s=plan.interval_s)


def run_sim_scanner(
    plan: SimScannerPlan,
    *,
    tcp: tuple[str, int] | None,
    pty: Path | None,
    framing: Framing,
    symbology_id: str | None,
    no_read_text: str | None,
    faults: FaultPlan,
) -> None:
    """Run until the plan is done or Ctrl-C."""

    def show(read: SentRead) -> None:
        print(describe_sent(read), flush=True)

    sim: SimScanner
    if pty is not None:
        sim = SimScanner.over_pty(
            link_path=pty,
            framing=framing,
            symbology_id=symbology_id,
            no_read_text=no_read_text,
            faults=faults,
            on_sent=show,
        )
    else:
        host, port = tcp or ("127.0.0.1", 0)
        sim = SimScanner.over_tcp(
            host=host,
            port=port,
            framing=framing,
            symbology_id=symbology_id,
            no_read_text=no_read_text,
            faults=faults,
            on_sent=show,
        )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_sim_scanner(sim, plan, show=lambda text: print(text, flush=True)))
