"""PLC adapter: one Modbus TCP connection per PLC, shared by polling, triggers and outputs.

The only edge module that imports pymodbus (the simulator in `edge/sim/plc.py` aside).
pymodbus errors are translated here into `PlcError` subclasses that name the PLC and
the address.

Why the options look as they do:
- pymodbus defaults (3 s timeout, 3 retries) block a read for 12 s when a PLC accepts
  the connection but never answers; here the timeout is short and retries are 0, and a
  timeout drops the connection.
- A late answer to a timed-out request must never be taken for the answer to the next
  one, so any timeout or mismatched answer closes the connection and opens a new one.
- pymodbus' own reconnect is disabled; `_maintain_link` reconnects with a capped,
  jittered backoff and keeps `link` (a LinkState) current.
- The link carries one request at a time: a unit's output and its read-back take one turn
  and go before polls waiting for it (`LinkTurns`, plc_turns.py); the trigger is polled on
  its period and, asked by `poll_trigger_soon`, at once (a read waits for that poll).
- A trigger with `edge="count"` is a unit counter the PLC increments on each photo-eye edge:
  each poll's increase is that many edges, and the first poll on a connection only sets the
  baseline (`UnitCounter`, plc_counter.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.pdu import ModbusPDU

from edge.adapters.plc_codec import (
    BIT_TABLES,
    WRITABLE_TABLES,
    ReadBlock,
    RegisterMapError,
    RegisterSpec,
    Value,
    decode,
    encode,
    plan_reads,
)
from edge.adapters.plc_config import plc_options
from edge.adapters.plc_counter import UnitCounter
from edge.adapters.plc_turns import LinkTurns
from edge.adapters.plc_types import (
    HeartbeatSpec,
    PlcDesyncError,
    PlcLinkError,
    PlcRefusedError,
    PlcTimeoutError,
    PlcTooLateError,
    PollGroup,
    Sample,
    TriggerEdge,
    TriggerSpec,
    WriteResult,
)
from edge.links import LinkState
from edge.tasks import stop_tasks

if TYPE_CHECKING:
    from protocols.config.plc import InterlockConfig, PlcConfig

log = logging.getLogger(__name__)

_READ_FC = {"coil": 1, "discrete_input": 2, "holding_register": 3, "input_register": 4}
_EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    6: "device busy",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}


class EdgeSubscription:
    """Trigger edges for one consumer, oldest first; a full queue drops its oldest edge."""

    def __init__(self, owner: ModbusPlc, *, max_queued: int) -> None:
        self._owner = owner
        self._queue: asyncio.Queue[TriggerEdge] = asyncio.Queue(maxsize=max_queued)
        self.dropped = 0
        """Edges dropped because this consumer fell behind by `max_queued` edges."""

    def _offer(self, edge: TriggerEdge) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(edge)

    async def get(self) -> TriggerEdge:
        return await self._queue.get()

    def __aiter__(self) -> AsyncIterator[TriggerEdge]:
        return self

    async def __anext__(self) -> TriggerEdge:
        return await self._queue.get()

    def close(self) -> None:
        self._owner._unsubscribe(self)


class ModbusPlc:
    """A PLC reached over Modbus TCP: named values, trigger edges, verified writes."""

    def __init__(
        self,
        name: str,
        *,
        host: str,
        port: int = 502,
        device_id: int = 1,
        registers: Sequence[RegisterSpec],
        poll_groups: Sequence[PollGroup] = (),
        trigger: TriggerSpec | None = None,
        heartbeat: HeartbeatSpec | None = None,
        timeout_s: float = 0.25,
        reconnect_min_s: float = 0.1,
        reconnect_max_s: float = 5.0,
        max_read_gap: int = 8,
    ) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.plc = f"{host}:{port}"
        self.device_id = device_id
        self.timeout_s = timeout_s
        self.reconnect_min_s = reconnect_min_s
        self.reconnect_max_s = reconnect_max_s
        self.link = LinkState(name=name, kind="plc")
        self._specs = _index_specs(registers)
        self._groups = [
            (g, plan_reads(self._lookup(n, f"poll group {g.name!r}") for n in g.registers))
            for g in poll_groups
        ]
        self._max_read_gap = max_read_gap
        self._trigger = trigger
        if trigger is not None:
            self._lookup(trigger.register, "trigger")
        self._heartbeat = heartbeat
        if heartbeat is not None:
            beat = self._lookup(heartbeat.register, "heartbeat")
            if beat.table not in WRITABLE_TABLES or beat.bit is not None:
                raise RegisterMapError(
                    f"heartbeat: {beat.describe()} cannot be written (expected a coil or a "
                    "holding register)"
                )
        self._latest: dict[str, Sample] = {}
        self._subscribers: list[EdgeSubscription] = []
        self._client: AsyncModbusTcpClient | None = None
        self._generation = 0
        self._turns = LinkTurns()
        self._trigger_waker: asyncio.Future[bool] | None = None
        self._up = asyncio.Event()
        self._lost = asyncio.Event()
        self._sent_tid = 0
        self._in_flight = False
        self._desync: str | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._answered = False
        self._edge_seq = 0
        self._reported: set[str] = set()
        self.reconnects = 0
        """Connections opened after the first."""
        self.desyncs = 0
        """Answers that did not belong to their request."""
        self.requests = 0
        """Requests answered by the PLC (reads and writes, read-backs included)."""
        self.trigger_polls = 0
        """Trigger polls made, periodic and asked for by `poll_trigger_soon`."""
        self.on_trigger_polled: Callable[[], None] = lambda: None
        """Called after each trigger poll the PLC answered (whoever waits for a poll after a
        read learns of it at once instead of looking again later)."""
        self.counter: UnitCounter | None = None
        """The baseline of a counter trigger (`edge="count"`); None for a signal's edges."""
        if trigger is not None and trigger.edge == "count":
            spec = self._specs[trigger.register]
            if spec.data_type not in ("uint16", "uint32") or spec.bit is not None:
                raise RegisterMapError(
                    f"trigger: a unit counter is a uint16 or uint32 register, got {spec.describe()}"
                )
            self.counter = UnitCounter(bits=16 * spec.words)
        self.units_unwatched = 0
        """Units a counter trigger counted while the link was down (or the agent away):
        they passed without a window."""
        self.counter_resets = 0
        """Times a counter trigger went back (a PLC restart) or jumped implausibly."""
        self.on_units_unwatched: Callable[[int], None] = lambda units: None
        """Called with the units a counter trigger counted while the agent was not
        watching, on the first poll after a reconnect (or a start that knew the last value)."""

    @classmethod
    def from_config(
        cls, name: str, plc: PlcConfig, *, interlock: InterlockConfig | None = None
    ) -> ModbusPlc:
        """The adapter for a checkpoint's `plc` section and its `interlock` outputs
        (register names: the config's, plus `trigger` and the interlock keys)."""
        o = plc_options(plc, interlock)
        return cls(
            name,
            host=o.host,
            port=o.port,
            device_id=o.device_id,
            registers=o.registers,
            poll_groups=o.poll_groups,
            trigger=o.trigger,
            heartbeat=o.heartbeat,
            timeout_s=o.timeout_s,
            reconnect_min_s=o.reconnect_min_s,
            reconnect_max_s=o.reconnect_max_s,
        )

    # lifecycle

    async def start(self) -> None:
        """Start connecting, polling, watching the trigger and beating the heartbeat.

        Returns at once: a PLC that is down leaves `link` down and is retried in the
        background. Use `wait_up` to wait for the first connection.
        """
        if self._tasks:
            return
        self._tasks.append(asyncio.create_task(self._maintain_link(), name=f"plc {self.plc}"))
        for group, blocks in self._groups:
            self._tasks.append(asyncio.create_task(self._poll(group.period_ms / 1000, blocks)))
        if self._trigger is not None:
            self._tasks.append(asyncio.create_task(self._watch_trigger(self._trigger)))
        if self._heartbeat is not None:
            self._tasks.append(asyncio.create_task(self._beat(self._heartbeat)))

    async def close(self) -> None:
        """Stop every task and close the connection."""
        tasks, self._tasks = self._tasks, []
        await stop_tasks(tasks, owner=f"PLC {self.plc}")
        self._close_client()
        self._up.clear()
        self.link.mark_down("closed")

    async def __aenter__(self) -> ModbusPlc:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def wait_up(self, *, timeout_s: float) -> bool:
        """Wait until the link is up; False if it is still down after `timeout_s`."""
        try:
            await asyncio.wait_for(self._up.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    # values

    def latest(self, name: str) -> Sample | None:
        """The last value read for `name` by any poll or read, or None if never read."""
        self._lookup(name, "latest")
        return self._latest.get(name)

    def snapshot(self, names: Iterable[str] | None = None) -> dict[str, Sample]:
        """Latest samples of `names` (default: every value read so far); missing ones left out."""
        if names is None:
            return dict(self._latest)
        return {n: s for n in names if (s := self.latest(n)) is not None}

    async def read(self, name: str) -> Sample:
        """Read one value now."""
        return (await self.read_many([name]))[name]

    async def read_many(self, names: Iterable[str]) -> dict[str, Sample]:
        """Read values now, in as few requests as their addresses allow."""
        specs = [self._lookup(n, "read") for n in names]
        samples: dict[str, Sample] = {}
        for block in plan_reads(specs, max_gap=self._max_read_gap):
            samples.update(await self._read_block(block))
        return samples

    # outputs

    async def write(
        self,
        name: str,
        value: Value,
        *,
        verify: bool = True,
        urgent: bool = False,
        not_after_s: float | None = None,
    ) -> WriteResult:
        """Write a coil or holding register(s), then read it back unless `verify` is False.

        A bool written to a register is written as 1 or 0. Raises a PlcLinkError subclass
        when the write itself fails (the PLC may or may not have applied it); a read-back
        that fails or differs gives `verified=False`. The write and its read-back follow each
        other on the link; an `urgent` write (the output that decides a unit) goes before
        polls waiting for it. A write whose link turn comes after `not_after_s` (monotonic)
        is not sent: PlcTooLateError.
        """
        spec = self._lookup(name, "write")
        if spec.table not in WRITABLE_TABLES:
            raise RegisterMapError(
                f"{spec.describe()}: only coils and holding registers can be written"
            )
        if isinstance(value, bool) and spec.data_type != "bool":
            value = int(value)
        raw = encode(spec, value)
        started = time.monotonic()
        what = f"writing {spec.describe()}"
        call: Callable[[AsyncModbusTcpClient], Awaitable[ModbusPDU]]
        if spec.table == "coil":
            fc = 5

            def call(c: AsyncModbusTcpClient) -> Awaitable[ModbusPDU]:
                return c.write_coil(spec.address, bool(raw[0]), device_id=self.device_id)

        elif len(raw) == 1:
            fc = 6

            def call(c: AsyncModbusTcpClient) -> Awaitable[ModbusPDU]:
                return c.write_register(spec.address, raw[0], device_id=self.device_id)

        else:
            fc = 16

            def call(c: AsyncModbusTcpClient) -> Awaitable[ModbusPDU]:
                return c.write_registers(spec.address, raw, device_id=self.device_id)

        read_back: Value | None = None
        problem: str | None = "read-back skipped"
        async with self._turns.take(urgent=urgent):
            if not_after_s is not None and time.monotonic() > not_after_s:
                late_ms = (time.monotonic() - not_after_s) * 1000
                raise PlcTooLateError(
                    self.plc, spec.describe(), f"not sent: {late_ms:.1f} ms past its deadline"
                )
            await self._request(what, fc, call, held=True)
            acked = time.monotonic()
            if verify:
                block = ReadBlock(spec.table, spec.address, spec.words, (spec,))
                try:
                    back_raw = await self._read_raw(block, held=True)
                except PlcLinkError as exc:
                    problem = f"read-back failed: {exc.reason}"
                else:
                    read_back = decode(spec, back_raw)
                    problem = (
                        None if back_raw == raw else f"read back {read_back!r}, wrote {value!r}"
                    )
        return WriteResult(
            name=name,
            value=value,
            raw=tuple(raw),
            verified=verify and problem is None,
            read_back=read_back,
            written_at=datetime.now(UTC),
            monotonic_s=acked,
            round_trip_ms=(time.monotonic() - started) * 1000,
            problem=problem,
        )

    def edges(self, *, max_queued: int = 1024) -> EdgeSubscription:
        """Subscribe to trigger edges from now on: `async for edge in plc.edges(): ...`."""
        if self._trigger is None:
            raise RegisterMapError(f"PLC {self.plc}: no trigger configured, so no edges")
        sub = EdgeSubscription(self, max_queued=max_queued)
        self._subscribers.append(sub)
        return sub

    def _unsubscribe(self, sub: EdgeSubscription) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(sub)

    # requests

    def _lookup(self, name: str, purpose: str) -> RegisterSpec:
        try:
            return self._specs[name]
        except KeyError:
            known = ", ".join(sorted(self._specs)) or "none"
            raise RegisterMapError(
                f"{purpose}: no register named {name!r} in the map of PLC {self.plc} "
                f"(known: {known})"
            ) from None

    async def _read_block(self, block: ReadBlock) -> dict[str, Sample]:
        raw = await self._read_raw(block)
        mono = time.monotonic()
        at = datetime.now(UTC)
        samples = {
            s.name: Sample(
                name=s.name,
                value=decode(s, block.slice_for(s, raw)),
                unit=s.unit,
                read_at=at,
                monotonic_s=mono,
            )
            for s in block.specs
        }
        self._latest.update(samples)
        return samples

    async def _read_raw(self, block: ReadBlock, *, held: bool = False) -> list[int]:
        what = f"reading {block.describe()}"
        fc = _READ_FC[block.table]
        address, count, dev = block.address, block.count, self.device_id
        calls: dict[int, Callable[[AsyncModbusTcpClient], Awaitable[ModbusPDU]]] = {
            1: lambda c: c.read_coils(address, count=count, device_id=dev),
            2: lambda c: c.read_discrete_inputs(address, count=count, device_id=dev),
            3: lambda c: c.read_holding_registers(address, count=count, device_id=dev),
            4: lambda c: c.read_input_registers(address, count=count, device_id=dev),
        }
        response = await self._request(what, fc, calls[fc], held=held)
        values: Sequence[Any] = response.bits if block.table in BIT_TABLES else response.registers
        if len(values) < count:
            self.desyncs += 1
            reason = f"answer holds {len(values)} values, asked for {count}"
            self._drop(reason)
            raise PlcDesyncError(self.plc, what, reason)
        return [int(v) for v in values[:count]]

    async def _request(
        self,
        what: str,
        function_code: int,
        call: Callable[[AsyncModbusTcpClient], Awaitable[ModbusPDU]],
        *,
        held: bool = False,
    ) -> ModbusPDU:
        """One request and its answer; waits for the link's turn unless the caller `held` it."""
        if held:
            return await self._exchange(what, function_code, call)
        async with self._turns.take(urgent=False):
            return await self._exchange(what, function_code, call)

    async def _exchange(
        self,
        what: str,
        function_code: int,
        call: Callable[[AsyncModbusTcpClient], Awaitable[ModbusPDU]],
    ) -> ModbusPDU:
        client = self._client
        if client is None or not client.connected:
            down = f"link down since {self.link.since:%H:%M:%S}"
            raise PlcLinkError(self.plc, what, f"{down}: {self.link.last_error or 'connecting'}")
        self._desync = None
        self._in_flight = True
        try:
            response = await call(client)
        except ModbusIOException as exc:
            if self._desync is not None:
                raise self._desynced(what) from exc
            reason = f"no answer within {self.timeout_s} s"
            self._drop(reason)
            raise PlcTimeoutError(self.plc, what, reason) from exc
        except (ConnectionException, ModbusException, OSError) as exc:
            reason = f"connection lost ({exc})"
            self._drop(reason)
            raise PlcLinkError(self.plc, what, reason) from exc
        finally:
            self._in_flight = False
        if self._desync is not None:
            raise self._desynced(what)
        if response.function_code & 0x7F != function_code:
            self._desync = f"answer has function code {response.function_code}"
            raise self._desynced(what)
        if response.isError():
            code = int(getattr(response, "exception_code", 0))
            name = _EXCEPTION_NAMES.get(code, "unknown exception")
            raise PlcRefusedError(
                self.plc, what, f"PLC refused: {name} (code {code})", exception_code=code
            )
        self._answered = True
        self.requests += 1
        return response

    def _desynced(self, what: str) -> PlcDesyncError:
        self.desyncs += 1
        reason = f"stale or foreign answer ({self._desync}); reconnecting"
        self._drop(reason)
        return PlcDesyncError(self.plc, what, reason)

    # connection

    def _trace_packet(self, generation: int) -> Callable[[bool, bytes], bytes]:
        def trace(sending: bool, data: bytes) -> bytes:
            if generation != self._generation or len(data) < 2:
                return data
            tid = int.from_bytes(data[0:2], "big")
            if sending:
                self._sent_tid = tid
                return data
            if not self._in_flight:
                reason = f"answer with transaction {tid} while no request was pending"
                asyncio.get_running_loop().call_soon(self._drop_if_current, generation, reason)
                self.desyncs += 1
                return data
            if tid == self._sent_tid:
                return data
            if self._desync is None:
                self._desync = f"expected transaction {self._sent_tid}, got {tid}"
            # pymodbus would skip this frame and wait out the timeout for the right one;
            # handed over under the expected id, it ends the request now and `_request`
            # refuses its content
            return self._sent_tid.to_bytes(2, "big") + data[2:]

        return trace

    def _drop_if_current(self, generation: int, reason: str) -> None:
        if generation == self._generation:
            self._drop(reason)

    def _trace_connect(self, generation: int) -> Callable[[bool], None]:
        def trace(connected: bool) -> None:
            if not connected and generation == self._generation:
                self._drop("connection closed by the PLC or the network")

        return trace

    async def _connect(self) -> str | None:
        """Open a fresh connection; None on success, else why not."""
        self._generation += 1
        generation = self._generation
        client = AsyncModbusTcpClient(
            self.host,
            port=self.port,
            name=f"plc {self.name}",
            timeout=self.timeout_s,
            retries=0,
            reconnect_delay=0,
            trace_packet=self._trace_packet(generation),
            trace_connect=self._trace_connect(generation),
        )
        try:
            ok = await client.connect()
        except (ModbusException, OSError) as exc:
            ok, error = False, str(exc)
        else:
            error = "connection refused or timed out"
        if not ok:
            client.close()
            return f"cannot connect to {self.plc}: {error}"
        self._client = client
        return None

    def _close_client(self) -> None:
        client, self._client = self._client, None
        self._generation += 1
        if client is not None:
            client.close()

    def _drop(self, reason: str) -> None:
        """Forget the connection (the supervisor opens a new one) and report the link down."""
        self._close_client()
        self._up.clear()
        self.link.mark_down(reason)
        self._lost.set()

    async def _maintain_link(self) -> None:
        backoff_s = self.reconnect_min_s
        first = True
        while True:
            error = await self._connect()
            if error is None:
                if not first:
                    self.reconnects += 1
                first = False
                self._answered = False
                self._lost.clear()
                self._reported.clear()
                self.link.mark_up()
                self._up.set()
                await self._lost.wait()
                if self._answered:
                    # a connection that worked is retried at once (a desync, a PLC restart);
                    # one that never answered backs off like a refused one
                    backoff_s = self.reconnect_min_s
                    continue
            else:
                self.link.mark_down(error)
            await asyncio.sleep(backoff_s * random.uniform(0.8, 1.2))
            backoff_s = min(backoff_s * 2, self.reconnect_max_s)

    # background loops

    def _report(self, exc: PlcLinkError | PlcRefusedError) -> None:
        """Log a background failure once per connection, not every period while it lasts."""
        text = str(exc)
        if text not in self._reported:
            if len(self._reported) > 64:
                self._reported.clear()
            self._reported.add(text)
            log.warning("%s", text)

    async def _poll(self, period_s: float, blocks: list[ReadBlock]) -> None:
        next_at = time.monotonic()
        while True:
            await self._up.wait()
            for block in blocks:
                try:
                    await self._read_block(block)
                except (PlcLinkError, PlcRefusedError) as exc:
                    self._report(exc)
                    break
            next_at += period_s
            now = time.monotonic()
            if next_at < now:
                next_at = now
            await asyncio.sleep(next_at - now)

    def poll_trigger_soon(self) -> None:
        """Poll the trigger input now instead of at its next period (a no-op while a poll is
        under way). A read that just arrived belongs to a unit only once the trigger input has
        been polled after it: asked for at once, that poll comes a round trip after the read
        rather than up to a period later. The periodic polls keep their schedule, the one due
        less than half a period after this poll moving to the next period: restarted a
        period after each read instead, the polls fell into step with the line (at 100
        units/s with a 2 ms period, the poll before each unit came just before it arrived,
        and every edge was seen 2 ms late). The period is dithered by 20% for the same
        reason."""
        waker = self._trigger_waker
        if waker is not None and not waker.done():
            waker.set_result(True)

    async def _nap(self, until_s: float) -> bool:
        """Sleep until monotonic `until_s`; True if `poll_trigger_soon` ended it earlier."""
        loop = asyncio.get_running_loop()
        waker: asyncio.Future[bool] = loop.create_future()
        self._trigger_waker = waker
        timer = loop.call_later(max(0.0, until_s - time.monotonic()), _wake, waker)
        try:
            return await waker
        finally:
            timer.cancel()
            self._trigger_waker = None

    async def _watch_trigger(self, trigger: TriggerSpec) -> None:
        spec = self._specs[trigger.register]
        block = ReadBlock(spec.table, spec.address, spec.words, (spec,))
        period_s = trigger.period_ms / 1000
        counter = self.counter
        state: bool | None = None
        seen_at: float | None = None
        generation: int | None = None
        next_at = time.monotonic()
        asked = False
        while True:
            await self._up.wait()
            self.trigger_polls += 1
            polled_on = self._generation
            try:
                sample = (await self._read_block(block))[spec.name]
            except (PlcLinkError, PlcRefusedError) as exc:
                self._report(exc)
            else:
                if counter is not None:
                    if generation is not None and polled_on != generation:
                        # A new connection: what the counter says now is a baseline.
                        counter.rebase()
                        seen_at = None
                    generation = polled_on
                    self._count_units(counter, spec, sample, seen_at)
                    seen_at = sample.monotonic_s
                else:
                    now_state = bool(sample.value)
                    if state is not None and now_state != state and _wanted(trigger, now_state):
                        self._offer_edge(spec.name, now_state, sample, seen_at)
                    state, seen_at = now_state, sample.monotonic_s
                # After the subscribers have taken the edge: a window it opens must exist
                # before the windows waiting for this poll decide which reads are theirs.
                asyncio.get_running_loop().call_soon(self.on_trigger_polled)
            now = time.monotonic()
            if not asked or next_at - now < period_s / 2:
                # Dithered: a line whose pitch is a multiple of the period would otherwise meet
                # the polls at the same phase unit after unit, at worst just after each poll.
                next_at += period_s * random.uniform(0.8, 1.2)
            if next_at < now:
                next_at = now
            asked = await self._nap(next_at)

    def _offer_edge(
        self,
        name: str,
        rising: bool,
        sample: Sample,
        seen_at: float | None,
        *,
        units_in_poll: int = 1,
        index_in_poll: int = 0,
    ) -> None:
        self._edge_seq += 1
        edge = TriggerEdge(
            name=name,
            rising=rising,
            seq=self._edge_seq,
            read_at=sample.read_at,
            monotonic_s=sample.monotonic_s,
            previous_read_monotonic_s=seen_at,
            units_in_poll=units_in_poll,
            index_in_poll=index_in_poll,
        )
        for sub in list(self._subscribers):
            sub._offer(edge)

    def _count_units(
        self, counter: UnitCounter, spec: RegisterSpec, sample: Sample, seen_at: float | None
    ) -> None:
        """An edge for each unit the counter added since the previous poll, in order."""
        value = int(sample.value)
        step = counter.step(value)
        if step.went_back_from is not None:
            self.counter_resets += 1
            log.warning(
                "PLC %s: unit counter %s went from %d to %d (a PLC restart or reset?): taken as"
                " the new baseline, no unit inferred",
                self.plc,
                spec.describe(),
                step.went_back_from,
                value,
            )
        if step.unwatched:
            self.units_unwatched += step.unwatched
            self.on_units_unwatched(step.unwatched)
        for index in range(step.units):
            self._offer_edge(
                spec.name, True, sample, seen_at, units_in_poll=step.units, index_in_poll=index
            )

    async def _beat(self, heartbeat: HeartbeatSpec) -> None:
        level = False
        while True:
            await self._up.wait()
            level = not level
            try:
                await self.write(heartbeat.register, level, verify=False)
            except (PlcLinkError, PlcRefusedError) as exc:
                self._report(exc)
            await asyncio.sleep(heartbeat.period_ms / 1000)


def _wake(waker: asyncio.Future[bool]) -> None:
    if not waker.done():
        waker.set_result(False)


def _wanted(trigger: TriggerSpec, rising: bool) -> bool:
    return trigger.edge == "both" or (trigger.edge == "rising") == rising


def _index_specs(registers: Sequence[RegisterSpec]) -> dict[str, RegisterSpec]:
    specs: dict[str, RegisterSpec] = {}
    for spec in registers:
        if spec.name in specs:
            raise RegisterMapError(f"register {spec.name!r}: defined twice in the register map")
        specs[spec.name] = spec
    return specs
