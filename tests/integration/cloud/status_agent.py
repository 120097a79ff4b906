"""An edge agent's publisher alone, in a process of its own, for tests that kill it.

    python status_agent.py PORT PREFIX DEVICE SITE LINE CHECKPOINT OUTBOX_PATH

Opens an outbox and runs the real edge `Publisher` (birth, heartbeats every 0.3 s, the last
will) with fixed adapter states; prints "connected" once the broker accepted it, then runs
until killed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys

from edge.outbox import Outbox
from edge.publish import Publisher
from protocols.parts import AdapterState

SINCE = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)
ADAPTERS = (
    AdapterState(name="plc", kind="plc", state="up", since=SINCE),
    AdapterState(name="scanner-1", kind="scanner", state="down", since=SINCE, detail="no reply"),
)


async def main(
    port: int, prefix: str, device: str, site: str, line: str, cp: str, path: str
) -> None:
    outbox = await Outbox.open(
        path, device_id=device, max_bytes=10_000_000, max_age_s=3600, topic_prefix=prefix
    )
    publisher = Publisher(
        outbox,
        host="127.0.0.1",
        port=port,
        site=site,
        line=line,
        checkpoint=cp,
        software_version="0.1.0-agent",
        config_hash="cfg-agent",
        topic_prefix=prefix,
        client_id=f"{device}-{prefix}",
        heartbeat_interval_s=0.3,
        adapter_states=lambda: ADAPTERS,
    )
    await publisher.start()
    # The publisher offers its state to poll, not an event to await.
    while publisher.status().state != "connected":  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    print("connected", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    port, prefix, device, site, line, cp, path = sys.argv[1:8]
    asyncio.run(main(int(port), prefix, device, site, line, cp, path))
