"""`tracegate edge run`: one agent in this process until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
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
