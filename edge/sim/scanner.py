"""A simulated barcode scanner: framed reads written to a pty pair or served over TCP.

Over a pty the adapter opens a symlink (as it would open `/dev/serial/by-id/...`) that
points at the pty's slave; `unplug()` removes the link and closes the pty, `replug()`
makes a new pty behind the same link. Over TCP the scanner is a server on 127.0.0.1
that writes every read to every connected client, as fixed-mount readers do;
`unplug()` closes the server and its connections, `replug()` listens again on the
same port.

Reads are sent by explicit calls (`await sim.emit(text)`), from a list of texts
(`play`), or following a `SimLine` (`follow`: each unit's read at its arrival, with the
no-reads, misreads and double reads the line plans). A `FaultPlan` adds faults to
`emit` by read number or at random rates; `sent` records every write so a test can
ask what the scanner said about unit 17.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import os
import random
import shutil
import struct
import tempfile
import termios
import time
import tty
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Protocol, Self

from edge.adapters.framing import Framing
from edge.sim.units import Fault, LineClock, corrupt_gs1, corrupt_hibcc

if TYPE_CHECKING:
    from edge.sim.units import SimLine

SimFault = Literal["no_read", "misread", "duplicate", "garbage"]
Outcome = Literal["read", "no_read", "misread", "duplicate", "garbage", "raw"]

_FAULT_ORDER: tuple[SimFault, ...] = ("no_read", "misread", "duplicate", "garbage")
# Line noise: C0 controls that are not separators, and bytes that never start UTF-8.
_NOISE = bytes([*range(0x00, 0x04), *range(0x05, 0x1C), 0x7F, *range(0x80, 0x100)])
_DIGITS = "0123456789"
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class SimScannerError(Exception):
    """The simulated scanner was used wrongly (not started, not a TCP scanner)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultPlan:
    """Faults the simulated scanner adds to `emit` calls that name none.

    `at` maps a read number (from 1, counting `emit` calls) to its fault; the rates are
    probabilities per read, drawn in a fixed order from `seed`.
    """

    at: Mapping[int, SimFault] = field(default_factory=dict)
    no_read_rate: float = 0.0
    misread_rate: float = 0.0
    duplicate_rate: float = 0.0
    garbage_rate: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for fault in _FAULT_ORDER:
            rate = getattr(self, f"{fault}_rate")
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"FaultPlan {fault}_rate: expected 0 to 1, got {rate}")

    def draw(self, number: int, rng: random.Random) -> SimFault | None:
        """The fault of read `number`; consumes `rng` the same way whatever the outcome."""
        drawn = [f for f in _FAULT_ORDER if rng.random() < getattr(self, f"{f}_rate")]
        if number in self.at:
            return self.at[number]
        return drawn[0] if drawn else None


@dataclass(frozen=True, slots=True, kw_only=True)
class SentRead:
    """One thing the simulated scanner put on the wire (or, for a silent no-read, did not)."""

    number: int
    """Count of reads so far, from 1 (`emit`, `emit_raw` and `emit_garbage` each count one)."""
    text: str | None
    """The text the scanner meant to report (without identifier); None for raw bytes."""
    outcome: Outcome
    wire: bytes
    """Every byte written for this read (both copies for a duplicate)."""
    receivers: int
    """Clients that got the bytes (TCP), or 1 when written to the pty, 0 when nobody did."""
    monotonic_s: float
    unit_index: int | None = None
    """The `SimLine` unit the read belongs to, when following a line."""


def misread_text(text: str, rng: random.Random) -> str:
    """`text` with one character changed, as a scanner's misread reports it: a GTIN digit
    for GS1, a product character for HIBCC, any letter or digit otherwise.

    >>> misread_text("ABC", random.Random(3)) != "ABC"
    True
    """
    if len(text) >= 16 and text.startswith("01") and text[2:16].isdigit():
        return corrupt_gs1(text, rng)
    if text.startswith("+") and text.find("/") > 6:
        return corrupt_hibcc(text, rng)
    positions = [i for i, c in enumerate(text) if c in _ALNUM]
    if not positions:
        return text + rng.choice(_DIGITS)
    pos = rng.choice(positions)
    old = text[pos]
    pool = _DIGITS if old in _DIGITS else _ALNUM
    return text[:pos] + rng.choice([c for c in pool if c != old]) + text[pos + 1 :]


def garbage_bytes(rng: random.Random, *, framing: Framing, length: int | None = None) -> bytes:
    """Line noise holding no terminator or prefix byte and at least one byte (0xFF) that is
    never valid UTF-8."""
    banned = set(framing.terminator) | set(framing.prefix)
    pool = [b for b in _NOISE if b not in banned]
    count = length if length is not None else rng.randint(4, 12)
    noise = bytearray(rng.choice(pool) for _ in range(max(0, count - 1)))
    noise.insert(rng.randrange(len(noise) + 1), 0xFF)
    return bytes(noise)


class _Transport(Protocol):
    url: str

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def write(self, data: bytes) -> int: ...


class _PtyTransport:
    """A pty pair behind a symlink; the simulated scanner writes to the master."""

    def __init__(self, *, link_path: Path | None, write_timeout_s: float) -> None:
        self._link_path = link_path
        self._own_dir: Path | None = None
        self._write_timeout_s = write_timeout_s
        self._master = self._slave = -1
        self.url = str(link_path) if link_path is not None else ""

    @property
    def link_path(self) -> Path:
        if self._link_path is None:
            self._own_dir = Path(tempfile.mkdtemp(prefix="tracegate-sim-scanner-"))
            self._link_path = self._own_dir / "scanner"
            self.url = str(self._link_path)
        return self._link_path

    async def open(self) -> None:
        master, slave = os.openpty()
        # Raw and without echo, so the line discipline neither rewrites CR nor sends our own
        # bytes back to us before the adapter configures the port.
        tty.setraw(slave)
        os.set_blocking(master, False)
        link = self.link_path
        staging = link.with_name(link.name + ".new")
        staging.unlink(missing_ok=True)
        staging.symlink_to(os.ttyname(slave))
        staging.replace(link)
        self._master, self._slave = master, slave

    async def close(self) -> None:
        if self._master < 0:
            return
        # The link goes first, as udev removes /dev/serial/by-id/... on unplug: the adapter
        # must not reopen a pts number another pty may get next.
        self.link_path.unlink(missing_ok=True)
        os.close(self._master)
        os.close(self._slave)
        self._master = self._slave = -1

    async def remove(self) -> None:
        await self._drain(timeout_s=0.5)
        await self.close()
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)

    async def _drain(self, *, timeout_s: float) -> None:
        """Give the reader time to take what was written: closing the master discards the
        bytes still queued at the slave. The kernel moves bytes from master to slave in a
        deferred work item, so an empty queue counts only when it stays empty a while."""
        deadline = time.monotonic() + timeout_s
        quiet = 0
        while self._slave >= 0 and quiet < 3 and time.monotonic() < deadline:
            queued = fcntl.ioctl(self._slave, termios.FIONREAD, b"\0\0\0\0")
            quiet = quiet + 1 if struct.unpack("i", queued)[0] == 0 else 0
            await asyncio.sleep(0.01)

    async def write(self, data: bytes) -> int:
        if self._master < 0:
            return 0
        loop = asyncio.get_running_loop()
        view = memoryview(data)
        deadline = loop.time() + self._write_timeout_s
        while view:
            try:
                view = view[os.write(self._master, view) :]
            except BlockingIOError:
                # Nobody is reading the port and its buffer is full: like a serial line
                # without a listener, the rest is lost after a while.
                if loop.time() >= deadline:
                    return 0
                await asyncio.sleep(0.005)
        return 1


class _TcpTransport:
    """A TCP server on `host`; every read goes to every connected client."""

    def __init__(self, *, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._changed = asyncio.Event()
        self.url = ""

    @property
    def clients(self) -> int:
        return len(self._writers)

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._serve, self._host, self._port)
        self._port = self._server.sockets[0].getsockname()[1]
        self.url = f"socket://{self._host}:{self._port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self._changed.set()
        try:
            while await reader.read(1024):
                pass  # a reader's commands are not simulated; the client closed at EOF
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            self._changed.set()
            writer.close()

    async def wait_for_clients(self, count: int, *, timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            while len(self._writers) < count:
                self._changed.clear()
                await self._changed.wait()

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._writers):
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
        await self._server.wait_closed()
        self._server = None

    async def remove(self) -> None:
        await self.close()

    async def write(self, data: bytes) -> int:
        receivers = 0
        for writer in list(self._writers):
            try:
                writer.write(data)
                await writer.drain()
            except (ConnectionError, OSError):
                self._writers.discard(writer)
                continue
            receivers += 1
        return receivers


class SimScanner:
    """A scanner that says what the test tells it to, over a pty or TCP."""

    def __init__(
        self,
        transport: _PtyTransport | _TcpTransport,
        *,
        framing: Framing | None = None,
        symbology_id: str | None = None,
        no_read_text: str | None = None,
        faults: FaultPlan | None = None,
        encoding: str = "utf-8",
        on_sent: Callable[[SentRead], None] | None = None,
    ) -> None:
        self._transport = transport
        self._on_sent = on_sent
        self.framing = framing or Framing.named("cr")
        self.symbology_id = symbology_id
        self.no_read_text = no_read_text
        self.faults = faults or FaultPlan()
        self.encoding = encoding
        self.sent: list[SentRead] = []
        self._rng = random.Random(f"tracegate-sim-scanner:{self.faults.seed}")
        self._started = False

    @classmethod
    def over_pty(
        cls,
        *,
        link_path: Path | None = None,
        write_timeout_s: float = 1.0,
        framing: Framing | None = None,
        symbology_id: str | None = None,
        no_read_text: str | None = None,
        faults: FaultPlan | None = None,
        on_sent: Callable[[SentRead], None] | None = None,
    ) -> SimScanner:
        """A serial scanner; the adapter opens `url`, a symlink to the pty (in a temporary
        directory unless `link_path` is given)."""
        return cls(
            _PtyTransport(link_path=link_path, write_timeout_s=write_timeout_s),
            framing=framing,
            symbology_id=symbology_id,
            no_read_text=no_read_text,
            faults=faults,
            on_sent=on_sent,
        )

    @classmethod
    def over_tcp(
        cls,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        framing: Framing | None = None,
        symbology_id: str | None = None,
        no_read_text: str | None = None,
        faults: FaultPlan | None = None,
        on_sent: Callable[[SentRead], None] | None = None,
    ) -> SimScanner:
        """A network reader listening on `host:port` (0: any free port); the adapter opens
        `url` (`socket://host:port`)."""
        return cls(
            _TcpTransport(host=host, port=port),
            framing=framing,
            symbology_id=symbology_id,
            no_read_text=no_read_text,
            faults=faults,
            on_sent=on_sent,
        )

    @property
    def url(self) -> str:
        """What the adapter opens: the pty's symlink path or `socket://host:port`."""
        if not self._started:
            raise SimScannerError("The simulated scanner has no address before start()")
        return self._transport.url

    @property
    def clients(self) -> int:
        """Connected clients (TCP only)."""
        return self._tcp().clients

    async def start(self) -> None:
        await self._transport.open()
        self._started = True

    async def stop(self) -> None:
        await self._transport.remove()
        self._started = False

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def unplug(self) -> None:
        """The scanner goes away: pty closed and its link removed, or TCP server closed."""
        await self._transport.close()

    async def replug(self) -> None:
        """The scanner comes back at the same address."""
        await self._transport.open()

    async def wait_for_clients(self, count: int = 1, *, timeout_s: float = 5.0) -> None:
        """Wait until `count` clients are connected (TCP only)."""
        await self._tcp().wait_for_clients(count, timeout_s=timeout_s)

    def _tcp(self) -> _TcpTransport:
        if not isinstance(self._transport, _TcpTransport):
            raise SimScannerError("Only a TCP scanner knows its clients; this one is a pty")
        return self._transport

    # --- what the scanner says ----------------------------------------------------------

    def _payload(self, text: str, symbology_id: str | None) -> bytes:
        prefix = (self.symbology_id or "") if symbology_id is None else symbology_id
        return self.framing.frame((prefix + text).encode(self.encoding))

    async def _send(
        self,
        text: str | None,
        outcome: Outcome,
        wire: bytes,
        *,
        copies: int = 1,
        unit_index: int | None = None,
    ) -> SentRead:
        receivers = 0
        for _ in range(copies):
            receivers = await self._transport.write(wire) if wire else 0
        sent = SentRead(
            number=len(self.sent) + 1,
            text=text,
            outcome=outcome,
            wire=wire * copies,
            receivers=receivers,
            monotonic_s=time.monotonic(),
            unit_index=unit_index,
        )
        self.sent.append(sent)
        if self._on_sent is not None:
            self._on_sent(sent)
        return sent

    async def emit(
        self,
        text: str,
        *,
        symbology_id: str | None = None,
        fault: SimFault | None = None,
        unit_index: int | None = None,
    ) -> SentRead:
        """Report `text` as read, framed and prefixed with `symbology_id` (None: the
        scanner's default, `""`: none), with `fault` or the plan's fault for this read."""
        if fault is None:
            fault = self.faults.draw(len(self.sent) + 1, self._rng)
        if fault == "no_read":
            return await self.emit_no_read(text=text, unit_index=unit_index)
        if fault == "garbage":
            return await self.emit_garbage(unit_index=unit_index)
        outcome: Outcome = "read"
        copies = 1
        if fault == "misread":
            text, outcome = misread_text(text, self._rng), "misread"
        elif fault == "duplicate":
            outcome, copies = "duplicate", 2
        return await self._send(
            text,
            outcome,
            self._payload(text, symbology_id),
            copies=copies,
            unit_index=unit_index,
        )

    async def emit_no_read(
        self, *, text: str | None = None, unit_index: int | None = None
    ) -> SentRead:
        """Read nothing: send the no-read message if the scanner has one, else stay silent."""
        wire = b""
        if self.no_read_text is not None:
            wire = self.framing.frame(self.no_read_text.encode(self.encoding))
        return await self._send(text, "no_read", wire, unit_index=unit_index)

    async def emit_garbage(
        self, *, length: int | None = None, terminated: bool = True, unit_index: int | None = None
    ) -> SentRead:
        """Line noise (invalid UTF-8 and control bytes), ended by the terminator unless
        `terminated` is False (then it spoils the next read)."""
        noise = garbage_bytes(self._rng, framing=self.framing, length=length)
        wire = noise + self.framing.terminator if terminated else noise
        return await self._send(None, "garbage", wire, unit_index=unit_index)

    async def emit_raw(self, data: bytes) -> SentRead:
        """Put `data` on the wire exactly as given."""
        return await self._send(None, "raw", data)

    async def play(self, texts: Iterable[str], *, interval_s: float = 0.0) -> list[SentRead]:
        """`emit` each text in turn, `interval_s` apart."""
        sent: list[SentRead] = []
        for i, text in enumerate(texts):
            if i and interval_s > 0:
                await asyncio.sleep(interval_s)
            sent.append(await self.emit(text))
        return sent

    async def follow(
        self,
        line: SimLine,
        *,
        clock: LineClock | None = None,
        read_delay_ms: float = 20.0,
        units: int | None = None,
        with_symbology_ids: bool = True,
    ) -> list[SentRead]:
        """Read each unit of `line` that passes the photo-eye, `read_delay_ms` after its
        arrival in line time (`clock`, shared with the other simulators; default: a line
        starting now), for `units` units or to the line's end: its reader text, a silence or
        the no-read message when it has none, twice for a double read."""
        clock = clock or LineClock()
        sent: list[SentRead] = []
        for count, unit in enumerate(line.seen_units()):
            if units is not None and count >= units:
                break
            await _until(clock, unit.arrival_s + read_delay_ms / 1000)
            if unit.reader_text is None:
                sent.append(await self.emit_no_read(unit_index=unit.index))
                continue
            fault: SimFault | None = "duplicate" if Fault.DOUBLE_READ in unit.faults else None
            prefix = unit.aim_prefix if with_symbology_ids else ""
            read = await self.emit(
                unit.reader_text, symbology_id=prefix, fault=fault, unit_index=unit.index
            )
            if Fault.MISREAD in unit.faults and read.outcome == "read":
                # The line already corrupted the unit's text; the record says so.
                read = dataclasses.replace(read, outcome="misread")
                self.sent[-1] = read
            sent.append(read)
        return sent


async def _until(clock: LineClock, line_s: float) -> None:
    """Sleep until line time `line_s`; a stopped line holds the scanner too."""
    while True:
        remaining_s = line_s - clock.now_s()
        if not clock.paused and remaining_s <= 0:
            return
        await asyncio.sleep(0.01 if clock.paused else remaining_s)
