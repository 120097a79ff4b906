"""`tracegate demo`: the whole plant on this machine, in one process tree.

Everything the demo needs (edge, cloud, simulators) is imported inside the command body:
`tracegate --help` stays light on an edge device.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from tracegate.demo import DemoOptions, DemoReport


def demo_command(
    units: Annotated[
        int, typer.Option("--units", min=20, help="Units to run down the line.")
    ] = 200,
    broker: Annotated[
        str | None,
        typer.Option(
            "--broker",
            help="Use this MQTT broker (mqtt://HOST:PORT) instead of starting one; the topics"
            " get a prefix of this run's own.",
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Use this (fresh) database, e.g. postgresql+asyncpg://postgres@127.0.0.1/demo;"
            " default: SQLite in the working directory.",
        ),
    ] = None,
    workdir: Annotated[
        Path | None,
        typer.Option(
            "--workdir",
            help="Where every file of the run goes (emptied first if an earlier demo made it);"
            " default: tracegate-demo in the system's temporary directory.",
        ),
    ] = None,
    keep_running: Annotated[
        bool,
        typer.Option(
            "--keep-running/--exit",
            help="After the summary, keep the web API up until Ctrl-C, or exit at once.",
        ),
    ] = True,
    live: Annotated[
        bool | None,
        typer.Option("--live/--no-live", help="The live table (default: on a terminal)."),
    ] = None,
    plant: Annotated[
        Path | None,
        typer.Option(
            "--plant", exists=True, dir_okay=False, help="The line's plant config to simulate."
        ),
    ] = None,
    rate: Annotated[
        float,
        typer.Option(
            "--rate",
            min=0.5,
            max=10.0,
            help="Units per second on the line (the gap between two units must exceed the"
            " checkpoints' decision deadlines).",
        ),
    ] = 2.0,
) -> None:
    """Run a whole plant here: broker, cloud, simulated PLCs, scanners and camera, one edge
    agent per checkpoint; units with realistic trouble; then what the cloud knows."""
    import asyncio

    from rich.console import Console
    from rich.markup import escape

    from tracegate.demo import DemoError, DemoOptions
    from tracegate.demo.api import ApiError
    from tracegate.demo.plant import EXAMPLE_PLANT

    console = Console()
    options = DemoOptions(
        workdir=workdir or Path(tempfile.gettempdir()) / "tracegate-demo",
        units=units,
        broker_url=broker,
        database_url=db,
        plant_file=plant or EXAMPLE_PLANT,
        rate_per_s=rate,
    )
    show_live = console.is_terminal if live is None else live
    try:
        ok = asyncio.run(_demo(options, console, live=show_live, keep_running=keep_running))
    except (DemoError, ApiError) as exc:
        console.print(f"[red]demo failed:[/] {escape(str(exc))}")
        console.print(f"the logs of every part are under {options.workdir / 'logs'}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        console.print("interrupted; everything stopped")
        raise typer.Exit(130) from None
    raise typer.Exit(0 if ok else 1)


async def _demo(options: DemoOptions, console: Console, *, live: bool, keep_running: bool) -> bool:
    import asyncio
    import signal

    from tracegate.demo import DemoPlantRun
    from tracegate.demo.summary import render_report

    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    stop_waiting = asyncio.Event()
    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        if stop_waiting.is_set() or interrupted:
            return
        if keep_running and main is not None and report_ready.is_set():
            stop_waiting.set()
            return
        interrupted = True
        if main is not None:
            main.cancel()

    report_ready = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, interrupt)
    console.print(f"working directory: {options.workdir}")
    try:
        async with DemoPlantRun(options) as demo:
            _log_to(demo.workdir / "logs" / "demo.log")
            report = await _run(demo, console, live=live)
            render_report(report, console)
            _print_access(report, console)
            report_ready.set()
            if keep_running:
                console.print(
                    f"\nThe web API stays up at [bold]{report.cloud_url}[/] (OpenAPI:"
                    f" {report.cloud_url}/schema/swagger), the web console at"
                    f" [bold]{report.cloud_url}/console[/]; Ctrl-C stops everything."
                )
                await stop_waiting.wait()
            console.print("stopping: agents, simulators, cloud, broker ...")
        console.print(f"stopped; every file of the run is under {options.workdir}")
        return report.ok
    except asyncio.CancelledError:
        if interrupted:
            raise KeyboardInterrupt from None
        raise
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _run(demo: object, console: Console, *, live: bool) -> DemoReport:
    import asyncio

    from rich.live import Live

    from tracegate.demo import DemoPlantRun

    assert isinstance(demo, DemoPlantRun)
    if not live:
        return await demo.run()
    task = asyncio.create_task(demo.run())
    view = None
    with Live(console=console, refresh_per_second=4, transient=False) as screen:
        while not task.done():
            if view is None and demo.plan is not None:
                view = demo.view()
            if view is not None:
                screen.update(view.render())
            await asyncio.wait({task}, timeout=0.5)
        if view is not None:
            screen.update(view.render())
    return await task


def _log_to(path: Path) -> None:
    """The demo process's own log (simulators, pymodbus, paho) goes to a file: the terminal
    has the live view."""
    import logging

    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def _print_access(report: DemoReport, console: Console) -> None:
    console.print(
        f"\nweb API: {report.cloud_url}  user [bold]{report.username}[/] password"
        f" [bold]{report.password}[/]  (POST /api/auth/login for a bearer token)\n"
        f"try: curl -s -X POST {report.cloud_url}/api/auth/login"
        " -H 'Content-Type: application/json'"
        f' -d \'{{"username": "{report.username}", "password": "{report.password}"}}\''
    )
