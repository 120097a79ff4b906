"""Outbox and publisher figures, each beside a baseline measured in the same run.

    .venv/bin/python bench/outbox.py [--commits 3000] [--big-rows 1000000] [--drain 20000]
                                     [--outage 100000] [--dir /var/tmp]

1. Durable commits/s, one at a time and from 32 concurrent producers, against raw SQLite
   single-row transactions with the same settings (WAL, synchronous=FULL, same payload).
2. Cost per commit with 1k and with 1M events stored (the ratio should stay near 1), and how
   long opening a 1M-event outbox takes with and without the integrity check.
3. Drain rate to the Mosquitto on 127.0.0.1:1883 against a bare paho QoS 1 publish loop.
4. An outage: events buffered while the broker is down, then drained when it is back.

The events are realistic unit.inspected messages (about 1.1 kB encoded), made by the same
factory as the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "integration" / "outbox"))
from outbox_helpers import (
    CHECKPOINT,
    LINE,
    SITE,
    OwnBroker,
    make_event,
    unique_prefix,
)

from edge.outbox import Outbox
from edge.outbox.schema import CONNECTION_PRAGMAS
from edge.publish import Publisher
from protocols.codec import encode_event

DEVICE = "dev-bench"
BROKER_PORT = 1883


def line(label: str, value: str) -> None:
    print(f"  {label:<52} {value}")


def pct(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# --- 1. commits ---------------------------------------------------------------------------------


def raw_sqlite_commits(path: Path, payload: bytes, count: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in CONNECTION_PRAGMAS:
        conn.execute(pragma)
    conn.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY, topic TEXT, payload BLOB, at INTEGER)")
    began = time.perf_counter()
    for seq in range(1, count + 1):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (?, ?, ?, ?)", (seq, "t/o/p/i/c", payload, seq))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - began
    conn.close()
    return count / elapsed


async def open_outbox(path: Path, **options: object) -> Outbox:
    return await Outbox.open(
        path,
        device_id=DEVICE,
        max_bytes=10**12,
        max_age_s=10**7,
        **options,  # type: ignore[arg-type]
    )


async def sequential_commits(box: Outbox, count: int) -> tuple[float, list[float]]:
    events = [make_event(DEVICE, n) for n in range(count)]
    latencies: list[float] = []
    began = time.perf_counter()
    for event in events:
        t0 = time.perf_counter()
        await box.commit(event)
        latencies.append(time.perf_counter() - t0)
    return count / (time.perf_counter() - began), latencies


async def concurrent_commits(box: Outbox, count: int, producers: int) -> tuple[float, list[float]]:
    per_producer = count // producers
    latencies: list[float] = []

    async def producer(p: int) -> None:
        for n in range(per_producer):
            event = make_event(DEVICE, p * per_producer + n)
            t0 = time.perf_counter()
            await box.commit(event)
            latencies.append(time.perf_counter() - t0)

    began = time.perf_counter()
    await asyncio.gather(*(producer(p) for p in range(producers)))
    return per_producer * producers / (time.perf_counter() - began), latencies


async def bench_commits(work: Path, count: int, *, rounds: int = 3) -> None:
    print("\n1. Durable commits (WAL, synchronous=FULL)")
    payload = encode_event(make_event(DEVICE, 1))
    raw: list[float] = []
    single: list[float] = []
    single_latencies: list[float] = []
    concurrent: list[float] = []
    concurrent_latencies: list[float] = []
    per_transaction: list[float] = []
    # Interleaved rounds, medians: the disk is shared, and its fsync time drifts.
    for n in range(rounds):
        raw.append(raw_sqlite_commits(work / f"raw-{n}.db", payload, count))
        box = await open_outbox(work / f"seq-{n}.db")
        rate, latencies = await sequential_commits(box, count)
        await box.close()
        single.append(rate)
        single_latencies.extend(latencies)
        box = await open_outbox(work / f"conc-{n}.db")
        rate, latencies = await concurrent_commits(box, count * 4, producers=32)
        metrics = box.metrics()
        await box.close()
        concurrent.append(rate)
        concurrent_latencies.extend(latencies)
        per_transaction.append(metrics.commits_total / metrics.transactions_total)
    base = statistics.median(raw)
    line("raw SQLite, one INSERT per transaction (baseline)", f"{base:8.0f} tx/s  ({_runs(raw)})")
    line("  (building + encoding + validating one event)", f"{_encode_cost_us(count):8.1f} µs")
    rate = statistics.median(single)
    line("outbox.commit, one at a time", f"{rate:8.0f} commits/s  ({rate / base:.2f}x raw)")
    line("  latency p50 / p99", _p50_p99(single_latencies))
    rate = statistics.median(concurrent)
    line(
        "outbox.commit, 32 concurrent producers",
        f"{rate:8.0f} commits/s  ({rate / base:.2f}x raw)",
    )
    line("  latency p50 / p99", _p50_p99(concurrent_latencies))
    line("  events per transaction (one fsync each)", f"{statistics.median(per_transaction):8.1f}")


def _p50_p99(latencies: list[float]) -> str:
    return f"{pct(latencies, 0.5) * 1e3:.2f} / {pct(latencies, 0.99) * 1e3:.2f} ms"


def _encode_cost_us(count: int) -> float:
    began = time.perf_counter()
    for n in range(count):
        encode_event(make_event(DEVICE, n))
    return (time.perf_counter() - began) / count * 1e6


# --- 2. cost at 1k and 1M stored ------------------------------------------------------------------


def bulk_fill(path: Path, rows: int) -> None:
    """Append filler rows straight into the outbox file (as a long outage would leave it).

    The filler's chain is not real; the cost of a commit does not depend on it.
    """
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in CONNECTION_PRAGMAS:
        conn.execute(pragma)
    last_seq, stored = conn.execute(
        "SELECT last_seq, stored_bytes FROM outbox_meta WHERE singleton = 1"
    ).fetchone()
    payload = encode_event(make_event(DEVICE, 0))
    now_ms = int(time.time() * 1000)
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO outbox_events (seq, topic, payload, committed_at_ms) VALUES (?, ?, ?, ?)",
        (
            (seq, "bench/filler", payload, now_ms)
            for seq in range(last_seq + 1, last_seq + rows + 1)
        ),
    )
    conn.execute(
        "UPDATE outbox_meta SET last_seq = ?, head_hash = ?, depth = depth + ?, "
        "stored_bytes = ? WHERE singleton = 1",
        (last_seq + rows, hashlib.sha256(payload).hexdigest(), rows, stored + rows * len(payload)),
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


async def bench_growth(work: Path, big_rows: int, count: int, *, rounds: int = 3) -> None:
    print(f"\n2. Cost per commit with 1k and with {big_rows:,} events stored")
    small_path, big_path = work / "small.db", work / "big.db"
    for path in (small_path, big_path):
        box = await open_outbox(path)
        await asyncio.gather(*(box.commit(make_event(DEVICE, n)) for n in range(1000)))
        await box.close()
    began = time.perf_counter()
    bulk_fill(big_path, big_rows - 1000)
    os.sync()  # let the fill's writeback finish before timing anything
    fill_s = time.perf_counter() - began
    size_mb = big_path.stat().st_size / 1e6

    began = time.perf_counter()
    big = await open_outbox(big_path, integrity_check_max_bytes=10**15)
    open_checked_s = time.perf_counter() - began
    small = await open_outbox(small_path)
    small_us: list[float] = []
    big_us: list[float] = []
    small_all: list[float] = []
    big_all: list[float] = []
    # Alternating rounds on the two files, so the disk's drift hits both alike.
    for _ in range(rounds):
        for box, means, everything in ((small, small_us, small_all), (big, big_us, big_all)):
            _, latencies = await sequential_commits(box, count)
            means.append(statistics.mean(latencies) * 1e6)
            everything.extend(latencies)
    stored = big.metrics().depth
    await big.close()
    await small.close()
    began = time.perf_counter()
    box = await open_outbox(big_path)  # the default: too big to check first, so in background
    open_fast_s = time.perf_counter() - began
    await box.wait_for_integrity_check()
    background_s = time.perf_counter() - began
    await box.close()

    s, b = statistics.median(small_us), statistics.median(big_us)
    line("mean commit, ~1k stored", f"{s:8.0f} µs  (rounds {_runs(small_us)}; {_p99(small_all)})")
    line(
        f"mean commit, {stored:,} stored ({size_mb:,.0f} MB file)",
        f"{b:8.0f} µs  (rounds {_runs(big_us)}; {_p99(big_all)})",
    )
    line("ratio (1M / 1k)", f"{b / s:8.2f}")
    line("open at 1M, quick_check before returning", f"{open_checked_s * 1e3:8.0f} ms")
    line("open at 1M, quick_check in background (default)", f"{open_fast_s * 1e3:8.0f} ms")
    line("  (the background check took)", f"{background_s * 1e3:8.0f} ms")
    line("  (filling the file took)", f"{fill_s:8.1f} s")


def _p99(latencies: list[float]) -> str:
    return f"p99 {pct(latencies, 0.99) * 1e3:.2f} ms"


# --- 3. drain vs bare paho ----------------------------------------------------------------------


def bare_paho(payload: bytes, topic: str, count: int, port: int) -> float:
    done = threading.Event()
    acked = [0]

    def on_publish(*_: object) -> None:
        acked[0] += 1
        if acked[0] == count:
            done.set()

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=unique_prefix("bare"), protocol=mqtt.MQTTv5
    )
    client.on_publish = on_publish
    client.connect("127.0.0.1", port, 30)
    client.loop_start()
    time.sleep(0.2)
    began = time.perf_counter()
    for _ in range(count):
        client.publish(topic, payload, qos=1)
    done.wait(120)
    elapsed = time.perf_counter() - began
    client.disconnect()
    client.loop_stop()
    return count / elapsed


async def fill(box: Outbox, count: int) -> None:
    for start in range(0, count, 1000):
        await asyncio.gather(
            *(box.commit(make_event(DEVICE, n)) for n in range(start, min(count, start + 1000)))
        )


async def drain_rate(box: Outbox, *, port: int, prefix: str) -> float:
    count = box.metrics().depth
    publisher = Publisher(
        box,
        host="127.0.0.1",
        port=port,
        site=SITE,
        line=LINE,
        checkpoint=CHECKPOINT,
        software_version="bench",
        config_hash="bench",
        topic_prefix=prefix,
        client_id=unique_prefix("edge"),
        reconnect_initial_s=0.05,
        reconnect_max_s=0.5,
    )
    await publisher.start()
    await publisher.wait_connected(timeout_s=10)
    began = time.perf_counter()
    await _until(lambda: box.metrics().depth == 0)
    elapsed = time.perf_counter() - began
    await publisher.stop()
    return count / elapsed


async def _until(predicate: Callable[[], bool]) -> None:
    while not predicate():  # noqa: ASYNC110 - polling the outbox depth is what is measured
        await asyncio.sleep(0.005)


async def bench_drain(work: Path, count: int) -> None:
    print(
        f"\n3. Drain {count:,} events to Mosquitto 127.0.0.1:{BROKER_PORT} (QoS 1, no subscriber)"
    )
    payload = encode_event(make_event(DEVICE, 1))
    ours: list[float] = []
    bare: list[float] = []
    for attempt in range(2):  # interleaved, so machine noise hits both alike
        prefix = unique_prefix("bench")
        bare.append(
            await asyncio.to_thread(bare_paho, payload, f"{prefix}/bare", count, BROKER_PORT)
        )
        box = await open_outbox(work / f"drain-{attempt}.db", topic_prefix=prefix)
        await fill(box, count)
        ours.append(await drain_rate(box, port=BROKER_PORT, prefix=prefix))
        await box.close()
    b, o = statistics.median(bare), statistics.median(ours)
    line("bare paho loop_start + publish loop (baseline)", f"{b:8.0f} msg/s  (runs {_runs(bare)})")
    line("outbox -> publisher, PUBACK -> delete", f"{o:8.0f} msg/s  (runs {_runs(ours)})")
    line("ratio (target >= 0.5)", f"{o / b:8.2f}")


def _runs(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values)


# --- 4. outage ----------------------------------------------------------------------------------


async def bench_outage(work: Path, count: int) -> None:
    print(f"\n4. Outage: {count:,} events buffered with the broker down, then drained")
    broker = OwnBroker(work / "broker")
    prefix = unique_prefix("outage")
    box = await open_outbox(work / "outage.db", topic_prefix=prefix)
    began = time.perf_counter()
    await fill(box, count)
    buffer_s = time.perf_counter() - began
    broker.start()
    try:
        rate = await drain_rate(box, port=broker.port, prefix=prefix)
    finally:
        broker.stop()
        await box.close()
    line("buffered (1000 concurrent commits at a time)", f"{count / buffer_s:8.0f} commits/s")
    line("drained after the broker came back", f"{rate:8.0f} msg/s")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=3000)
    parser.add_argument("--big-rows", type=int, default=1_000_000)
    parser.add_argument("--drain", type=int, default=20_000)
    parser.add_argument("--outage", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: tmp)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="outbox-bench-", dir=args.dir))
    steps: list[Awaitable[None]] = [
        bench_commits(work, args.commits),
        bench_growth(work, args.big_rows, args.commits),
        bench_drain(work, args.drain),
        bench_outage(work, args.outage),
    ]
    try:
        for step in steps:
            await step
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
