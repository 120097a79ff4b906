"""`tracegate edge run`: one agent in this process until SIGTERM or SIGINT.

`python -m edge.checkpoint.run_agent CONFIG --checkpoint NAME --software-version V` is what
`tracegate edge run` becomes once it has checked its options: the CLI replaces itself with
this module (exec, same PID), so that typer, click and rich (about 3.5 MB of the agent's
60 MB budget, bench/checkpoint_rss.py) are not loaded in the agent's process.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from edge.checkpoint.agent import Agent, AgentOptions
from edge.checkpoint.logs import LogFormat, configure_logging
from protocols.config import load_plant_file

log = logging.getLogger("edge.checkpoint.agent")

GIL_SWITCH_INTERVAL_S = 0.0005
"""How long a thread may hold the GIL while another waits (Python's default is 5 ms). The
event loop shares the GIL with the outbox writer, the local-state worker, the scanner
readers and paho's network threads; each handoff on a unit's path (commit result, state
answer, a read) could otherwise wait up to 5 ms behind a busy thread. bench/checkpoint.py
measured 100 units/s sustained at 0.2 ms and missed outputs at 5 ms, on a quiet host."""


class AgentStartError(Exception):
    """The agent could not start: its state or outbox file, its PLC map or its broker
    credentials are unusable."""


def run_agent(
    config: Path,
    checkpoint: str,
    *,
    software_version: str,
    log_format: LogFormat = "json",
    log_level: str = "INFO",
) -> None:
    """Run the agent of `checkpoint`; raises ConfigError / KeyError for a bad config and
    AgentStartError naming what could not be opened."""
    from edge.adapters.plc_codec import RegisterMapError
    from edge.checkpoint.state import LocalStateError
    from edge.outbox import OutboxError
    from edge.publish import CredentialsError, TlsConfigError

    configure_logging(log_format=log_format, level=log_level)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    plant = load_plant_file(config)
    agent = Agent(plant, checkpoint, options=AgentOptions(software_version=software_version))
    settle_after_start()
    try:
        asyncio.run(_serve(agent))
    except (
        LocalStateError,
        OutboxError,
        RegisterMapError,
        CredentialsError,
        TlsConfigError,
    ) as exc:
        raise AgentStartError(f"the agent of {checkpoint} cannot start: {exc}") from exc


def settle_after_start() -> None:
    """Load now what the agent keeps for good, and give back what it needed only to start.

    - The UDI parsers' tables (biip's: about 0.3 s on first use) are loaded before the line
      is watched; biip's company prefix table, which nothing here reads, is dropped.
    - Every object alive now (modules, config, tables) lives as long as the process: frozen
      out of the cyclic GC, it is never scanned again. A full collection over them took
      20-40 ms here, longer than a decision's deadline at 100 units/s.
    - glibc keeps what Python freed (config validation, biip's decompressed tables) in its
      heap unless asked to give it back: about 10 MB of the agent's 60 MB budget
      (DESIGN.md; bench/checkpoint_rss.py).
    """
    from edge.checkpoint.identify import warm_up_parsers
    from protocols.gs1 import release_unused_tables

    gc.collect()
    _return_free_heap()  # the config's validation, before biip's tables add to the peak
    warm_up_parsers()
    release_unused_tables()
    gc.collect()
    gc.freeze()
    _return_free_heap()


def _return_free_heap() -> None:
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except AttributeError:  # not glibc (musl has no malloc_trim): nothing to ask
        return
    trim(0)


async def _serve(agent: Agent) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, _stopper(stop, signum))
    await agent.run(stop)


def _stopper(stop: asyncio.Event, signum: int) -> Callable[[], None]:
    def handler() -> None:
        name = signal.Signals(signum).name
        if stop.is_set():
            # A second signal while stopping: leave at once. Every record is in the outbox
            # already; what is lost is the flush to the broker and the offline status.
            log.error("%s received again while stopping; exiting now", name)
            os._exit(3)
        log.info("%s received", name)
        stop.set()

    return handler


def main(argv: Sequence[str] | None = None) -> int:
    """The agent's process: its options as `tracegate edge run` checked them; errors are
    reported as the CLI reports them (exit 2 for the config, 1 for what cannot be opened)."""
    from protocols.config import ConfigError

    parser = argparse.ArgumentParser(
        prog="tracegate edge run", description="Run the agent of one checkpoint."
    )
    parser.add_argument("config", type=Path)
    parser.add_argument("--checkpoint", "-c", required=True)
    parser.add_argument("--log-format", choices=("json", "logfmt"), default="json")
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--software-version", required=True)
    args = parser.parse_args(argv)
    try:
        run_agent(
            args.config,
            args.checkpoint,
            software_version=args.software_version,
            log_format=args.log_format,
            log_level=args.log_level,
        )
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except KeyError as exc:
        print(f"Error: --checkpoint: {exc.args[0]}", file=sys.stderr)
        return 2
    except AgentStartError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
