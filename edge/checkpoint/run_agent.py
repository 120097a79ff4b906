"""`tracegate edge run`: one agent in this process until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from pathlib import Path

from edge.checkpoint.agent import Agent, AgentOptions
from edge.checkpoint.logs import LogFormat, configure_logging
from protocols.config import load_plant_file

log = logging.getLogger("edge.checkpoint.agent")


def run_agent(
    config: Path,
    checkpoint: str,
    *,
    software_version: str,
    log_format: LogFormat = "json",
    log_level: str = "INFO",
) -> None:
    """Run the agent of `checkpoint`; raises ConfigError / KeyError for a bad config."""
    configure_logging(log_format=log_format, level=log_level)
    plant = load_plant_file(config)
    agent = Agent(plant, checkpoint, options=AgentOptions(software_version=software_version))
    asyncio.run(_serve(agent))


async def _serve(agent: Agent) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, _stopper(stop, signum))
    await agent.run(stop)


def _stopper(stop: asyncio.Event, signum: int) -> Callable[[], None]:
    def handler() -> None:
        log.info("%s received", signal.Signals(signum).name)
        stop.set()

    return handler
