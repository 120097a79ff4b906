"""SIGKILL the agent at random moments, 20 times: no loss, no seq gap, the chain verifies."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from outbox_helpers import (
    CHECKPOINT,
    LINE,
    SITE,
    Collector,
    decode_event,
    own_broker,
    unique_prefix,
    verify_chain,
)

from protocols.events import DeviceStatus
from protocols.topics import status_topic

pytestmark = pytest.mark.mosquitto

PRODUCER = Path(__file__).with_name("producer.py")
DEVICE = "dev-chaos"
KILLS = 20


def _producer(outbox: Path, port: int, prefix: str, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            str(PRODUCER),
            "--outbox",
            str(outbox),
            "--port",
            str(port),
            "--prefix",
            prefix,
            "--device",
            DEVICE,
            *extra,
        ],
        stdout=subprocess.PIPE,
    )


def _printed_seqs(output: bytes) -> list[int]:
    """Seqs the producer reported durable: complete lines only (a kill may cut the last)."""
    text = output.decode()
    lines = text.split("\n")[:-1] if not text.endswith("\n") else text.split("\n")
    return [int(line) for line in lines if line.isdigit()]


def test_agent_sigkilled_20_times_while_producing_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(4)
    prefix = unique_prefix("kill")
    outbox = tmp_path / "outbox.db"
    acknowledged: list[int] = []
    came_online = 0
    with own_broker(tmp_path / "broker") as broker:
        collector = Collector(port=broker.port, topic_filter=f"{prefix}/#")
        try:
            for _ in range(KILLS):
                process = _producer(outbox, broker.port, prefix)
                # From during start-up (before the first commit) to well into producing.
                time.sleep(rng.uniform(0.2, 1.2))
                process.send_signal(signal.SIGKILL)
                output, _ = process.communicate(timeout=10)
                assert process.returncode == -signal.SIGKILL
                acknowledged.extend(_printed_seqs(output))
                came_online += b"online\n" in output

            drain = _producer(outbox, broker.port, prefix, "--drain-only")
            output, _ = drain.communicate(timeout=60)
            assert output == b"drained\n"
            last = max(acknowledged)
            received = collector.wait_for_events(last, timeout_s=30)
            statuses = [
                decode_event(p)
                for t, p, _ in collector.messages
                if t == status_topic(SITE, LINE, CHECKPOINT, prefix=prefix)
            ]
        finally:
            collector.close()

    assert len(acknowledged) > 1000, f"too little produced to mean anything: {len(acknowledged)}"
    assert acknowledged == sorted(set(acknowledged))  # each run went on from the last seq
    events = verify_chain(received)  # seq 1..n, no gap, in order, prev_hash links up
    assert {e.seq for e in events} >= set(acknowledged)  # nothing reported durable was lost
    # The will: every run killed after its publisher connected left an offline status (a
    # kill during start-up may come before the connection, and leaves none).
    offline = sum(1 for s in statuses if isinstance(s, DeviceStatus) and not s.online)
    assert came_online >= 3, f"only {came_online} of {KILLS} runs connected: too few to mean much"
    assert offline >= came_online, f"{offline} offline statuses for {came_online} connected kills"
