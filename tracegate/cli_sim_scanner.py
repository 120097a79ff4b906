"""`tracegate sim scanner`: a simulated barcode scanner on TCP or a pty.

The reads follow the line of a `tracegate sim plc` YAML file (`--config`: the same units, at
the same line times when the file sets `epoch_s`), a line made from `--seed`, `--rate-per-s`
and `--units`, or the `--text` values in a loop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

_FRAMINGS = ("cr", "lf", "crlf", "etx")


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise typer.BadParameter(
            f"expected HOST:PORT such as 127.0.0.1:17011, got {value!r}", param_hint="--tcp"
        )
    return host, int(port)


def sim_scanner_command(
    tcp: Annotated[
        str | None,
        typer.Option(help="Serve reads over TCP on HOST:PORT (port 0: any free port)."),
    ] = None,
    pty: Annotated[
        Path | None,
        typer.Option(help="Write reads to a pty and make PATH a symlink to it, instead of TCP."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", exists=True, dir_okay=False, help="The `sim plc` YAML file (its line)."
        ),
    ] = None,
    text: Annotated[
        list[str] | None,
        typer.Option("--text", help="Read these texts in a loop instead of a line's units."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Line seed (without --config).")] = 0,
    rate_per_s: Annotated[float, typer.Option(help="Units per second (without --config).")] = 1.0,
    units: Annotated[
        int | None, typer.Option(help="Reads to make, then exit (default: the line's units).")
    ] = None,
    interval_ms: Annotated[float, typer.Option(help="Time between --text reads.")] = 1000.0,
    framing: Annotated[str, typer.Option(help=f"Read terminator: {', '.join(_FRAMINGS)}.")] = "cr",
    symbology_ids: Annotated[
        bool, typer.Option(help="Prefix the AIM symbology identifier (]d2, ]C1, ...).")
    ] = True,
    symbology_id: Annotated[str, typer.Option(help="The identifier of --text reads.")] = "]d2",
    no_read_text: Annotated[
        str | None, typer.Option(help="Message sent on a no-read (default: silence).")
    ] = None,
    no_read_rate: Annotated[float, typer.Option(help="Share of reads lost.")] = 0.0,
    misread_rate: Annotated[float, typer.Option(help="Share of reads corrupted.")] = 0.0,
    duplicate_rate: Annotated[float, typer.Option(help="Share of reads sent twice.")] = 0.0,
    garbage_rate: Annotated[float, typer.Option(help="Share of reads replaced by noise.")] = 0.0,
    wait_clients: Annotated[
        int, typer.Option(help="With --tcp: clients to wait for before the first read.")
    ] = 0,
) -> None:
    """Run a simulated scanner until its reads are done or it is interrupted."""
    from edge.adapters.framing import Framing
    from edge.sim.scanner import FaultPlan
    from edge.sim.scanner_run import SimScannerPlan, run_sim_scanner
    from edge.sim.units import SimLine

    if tcp is not None and pty is not None:
        raise typer.BadParameter("give --tcp or --pty, not both", param_hint="--pty")
    if framing not in _FRAMINGS:
        raise typer.BadParameter(
            f"expected one of {', '.join(_FRAMINGS)}, got {framing!r}", param_hint="--framing"
        )
    if text and config is not None:
        raise typer.BadParameter("give --text or --config, not both", param_hint="--text")
    try:
        faults = FaultPlan(
            no_read_rate=no_read_rate,
            misread_rate=misread_rate,
            duplicate_rate=duplicate_rate,
            garbage_rate=garbage_rate,
            seed=seed,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    prefix = symbology_id if symbology_ids else ""
    if text:
        plan = SimScannerPlan(
            texts=text, interval_s=interval_ms / 1000, count=units, wait_clients=wait_clients
        )
    elif config is not None:
        from edge.sim.plc_config import SimConfigError, load_sim_plc_config

        try:
            settings = load_sim_plc_config(config)
        except SimConfigError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        plan = SimScannerPlan(
            line=settings.line,
            clock=settings.clock(),
            count=units,
            wait_clients=wait_clients,
            with_symbology_ids=symbology_ids,
        )
    else:
        try:
            line = SimLine(seed=seed, rate_per_s=rate_per_s, unit_count=units)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--rate-per-s") from exc
        plan = SimScannerPlan(
            line=line,
            wait_clients=wait_clients,
            with_symbology_ids=symbology_ids,
        )
    run_sim_scanner(
        plan,
        tcp=_host_port(tcp) if tcp is not None else None,
        pty=pty,
        framing=Framing.named(framing),
        symbology_id=prefix,
        no_read_text=no_read_text,
        faults=faults,
    )
