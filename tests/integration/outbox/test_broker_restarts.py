"""Broker restarts while the line produces: every event arrives, in seq order after dedupe."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from outbox_helpers import (
    Collector,
    OwnBroker,
    dedupe,
    make_event,
    publisher_options,
    verify_chain,
    wait_until,
)

from edge.outbox import Outbox
from edge.publish import Publisher

pytestmark = pytest.mark.mosquitto

DEVICE = "dev-test"
EVENTS = 5000


async def test_broker_restarted_three_times_while_5000_events_are_produced(
    tmp_path: Path, outbox: Outbox, prefix: str
) -> None:
    broker = OwnBroker(tmp_path / "broker")
    broker.start()
    collector = Collector(port=broker.port, topic_filter=f"{prefix}/#")
    committed_at_restart: list[int] = []
    try:
        async with Publisher(outbox, **publisher_options(broker.port, prefix)) as publisher:

            async def produce() -> None:
                for n in range(EVENTS):
                    await outbox.commit(make_event(DEVICE, n))

            producer = asyncio.create_task(produce())
            for _ in range(3):
                await asyncio.sleep(0.4)
                committed_at_restart.append(outbox.last_seq)
                await asyncio.to_thread(broker.restart)
            await producer
            await wait_until(lambda: outbox.metrics().depth == 0, timeout_s=30, what="drain")
            disconnects = publisher.status().disconnects_total
        distinct = await asyncio.to_thread(collector.wait_for_events, EVENTS, timeout_s=30)
        total = len(collector.payloads())
    finally:
        collector.close()
        broker.stop()

    assert all(0 < n < EVENTS for n in committed_at_restart), committed_at_restart
    assert disconnects >= 3  # the publisher saw each restart
    assert len(distinct) == EVENTS
    verify_chain(distinct)  # seq 1..5000 in order, prev_hash chain intact
    assert dedupe(collector.payloads()) == distinct
    assert total >= EVENTS  # duplicates are allowed on the wire (at least once)
