"""A minimal edge agent for the kill tests: commits events and publishes them, until killed.

Prints each committed seq on its own line, flushed, only after `commit` returned (durable):
whatever it printed must never be lost, however it is killed. Prints `online` once its
publisher is connected (its will is then with the broker).

    producer.py --outbox PATH --port PORT --prefix PREFIX --device ID [--drain-only]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2] / "integration" / "outbox"))

from outbox_helpers import make_event, publisher_options, wait_until

from edge.outbox import Outbox
from edge.publish import Publisher


async def run(args: argparse.Namespace) -> None:
    outbox = await Outbox.open(
        args.outbox,
        device_id=args.device,
        max_bytes=1_000_000_000,
        max_age_s=3600,
        topic_prefix=args.prefix,
    )
    options = publisher_options(args.port, args.prefix) | {
        "client_id": f"edge-{args.device}",
        "heartbeat_interval_s": 0.5,
    }
    publisher = Publisher(outbox, **options)
    await publisher.start()
    if args.drain_only:
        await wait_until(lambda: outbox.metrics().depth == 0, timeout_s=60, what="drain")
        await publisher.stop()
        await outbox.close()
        print("drained", flush=True)
        return

    async def tell_online() -> None:
        await publisher.wait_connected(timeout_s=60)
        sys.stdout.write("online\n")
        sys.stdout.flush()

    announcing = asyncio.create_task(tell_online())
    n = 0
    while True:
        committed = await outbox.commit(make_event(args.device, n))
        sys.stdout.write(f"{committed.seq}\n")
        sys.stdout.flush()
        n += 1
        if announcing.done() and announcing.exception() is not None:
            raise RuntimeError("the publisher never connected") from announcing.exception()
        if n % 20 == 0:
            await asyncio.sleep(0.005)  # a busy line, not a benchmark: let the publisher run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--outbox", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--device", required=True)
    parser.add_argument("--drain-only", action="store_true")
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
