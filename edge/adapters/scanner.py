"""Barcode scanners on a serial line or streaming over TCP (pyserial is imported only here).

One reader thread per scanner owns the port: it opens it (a device path, or a pyserial
URL such as `socket://10.0.0.21:23` for a fixed-mount reader), cuts the bytes into lines,
turns each line into a `CodeRead` and hands it to the event loop with
`call_soon_threadsafe`; the loop never blocks on the port. A port that fails (a USB
scanner unplugged, a TCP reader that closes or restarts) marks the link down and is
reopened with capped exponential backoff and jitter. Stopping wakes the thread through a
pipe, so `stop()` returns within milliseconds and leaves no thread behind.

Bytes that are not a read (bad encoding, control characters, an overlong or unfinished
line) become reads with a `problem`: the checkpoint holds the unit and says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import random
import select
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol, Self

import serial

from edge.adapters.aim import describe_symbology_id
from edge.adapters.backoff import ReconnectBackoff
from edge.adapters.framing import STX, Framing, LineSplitter, RawLine
from edge.adapters.scanner_text import LineDecoder
from edge.links import LinkState
from edge.reads import CodeRead

if TYPE_CHECKING:
    from protocols.config.sources import ScannerConfig

log = logging.getLogger(__name__)

Parity = Literal["none", "even", "odd", "mark", "space"]
_PARITY: dict[str, str] = {
    "none": serial.PARITY_NONE,
    "even": serial.PARITY_EVEN,
    "odd": serial.PARITY_ODD,
    "mark": serial.PARITY_MARK,
    "space": serial.PARITY_SPACE,
}
_URL_SCHEMES = ("socket", "rfc2217")

# rfc2217 ports have no file descriptor to wait on: they are polled at this interval.
_POLL_S = 0.05
_CHUNK_BYTES = 4096


class ScanSource(Protocol):
    """Anything that reports code reads: a serial or TCP scanner, a camera."""

    link: LinkState

    def reads(self) -> AsyncIterator[CodeRead]: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class ScannerError(Exception):
    """A scanner port could not be opened, read or configured."""

    def __init__(self, name: str, port: str, detail: str) -> None:
        super().__init__(f"Scanner {name!r} ({port}): {detail}")
        self.name = name
        self.port = port
        self.detail = detail


@dataclass(slots=True)
class ScannerStats:
    """Counters for the heartbeat and for finding a bad cable or a wrong framing."""

    connects: int = 0
    disconnects: int = 0
    bytes_received: int = 0
    reads: int = 0
    problem_reads: int = 0
    empty_lines: int = 0
    dropped_reads: int = 0
    """Reads thrown away (oldest first) because nobody consumed them."""


def enable_tcp_keepalive(fd: int, *, idle_s: float) -> None:
    """Let the kernel probe an idle TCP connection after `idle_s` and give up after three
    unanswered probes: a reader whose cable was pulled sends no FIN, and without probes the
    link would look up forever."""
    sock = socket.socket(fileno=os.dup(fd))
    try:
        idle = max(1, round(idle_s))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, max(1, idle // 3))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
    finally:
        sock.close()


def _check_port(name: str, port: str) -> None:
    if "://" in port:
        scheme = port.split("://", 1)[0]
        if scheme not in _URL_SCHEMES:
            raise ScannerError(
                name,
                port,
                f"expected a serial device path or a socket:// or rfc2217:// URL, "
                f"found the scheme {scheme!r}",
            )
    elif not port:
        raise ScannerError(name, port, "expected a serial device path or URL, found ''")


class SerialScanner:
    """A scanner on a serial port or a pyserial URL, as an async stream of `CodeRead`s.

    Use `async with SerialScanner(...) as scanner: async for read in scanner.reads(): ...`
    or `start()` / `stop()`. `start()` does not wait for the port: a scanner unplugged at
    boot is a link that is down (and retried), not an error.
    """

    def __init__(
        self,
        *,
        name: str,
        port: str,
        baud: int = 9600,
        bytesize: Literal[5, 6, 7, 8] = 8,
        parity: Parity = "none",
        stopbits: float = 1,
        framing: Framing | None = None,
        encoding: str = "utf-8",
        symbology_ids: Collection[str] | None = None,
        gs_substitutes: str = "",
        no_read_texts: Collection[str] = (),
        read_timeout_s: float = 1.0,
        reconnect_backoff_min_s: float = 0.5,
        reconnect_backoff_max_s: float = 30.0,
        reconnect_jitter: float = 0.2,
        tcp_keepalive_s: float | None = 10.0,
        max_queued_reads: int = 1000,
        rng: random.Random | None = None,
    ) -> None:
        _check_port(name, port)
        if read_timeout_s <= 0:
            raise ScannerError(name, port, f"read_timeout_s: expected > 0, got {read_timeout_s}")
        if max_queued_reads < 1:
            raise ScannerError(
                name, port, f"max_queued_reads: expected >= 1, got {max_queued_reads}"
            )
        try:
            "".encode(encoding)
        except LookupError:
            raise ScannerError(name, port, f"unknown text encoding {encoding!r}") from None
        if parity not in _PARITY:
            raise ScannerError(
                name, port, f"parity: expected one of {', '.join(_PARITY)}, got {parity!r}"
            )
        self.name = name
        self.port = port
        self.framing = framing or Framing.named("cr")
        self.read_timeout_s = read_timeout_s
        self.tcp_keepalive_s = tcp_keepalive_s
        self.max_queued_reads = max_queued_reads
        self._serial_options: dict[str, Any] = {
            "baudrate": baud,
            "bytesize": bytesize,
            "parity": _PARITY[parity],
            "stopbits": stopbits,
        }
        self.decoder = LineDecoder(
            prefix=self.framing.prefix,
            encoding=encoding,
            symbology_ids=frozenset(symbology_ids) if symbology_ids else None,
            gs_substitutes=gs_substitutes,
            no_read_texts=frozenset(no_read_texts),
        )
        try:
            self._backoff = ReconnectBackoff(
                min_s=reconnect_backoff_min_s,
                max_s=reconnect_backoff_max_s,
                jitter=reconnect_jitter,
                rng=rng,
            )
        except ValueError as exc:
            raise ScannerError(name, port, str(exc)) from None
        self.link = LinkState(name=name, kind="scanner")
        self.stats = ScannerStats()
        self._queue: asyncio.Queue[CodeRead | None] = asyncio.Queue()
        self._up = asyncio.Event()
        self._exited = asyncio.Event()
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._wake_r = self._wake_w = -1

    @classmethod
    def from_config(cls, config: ScannerConfig, **options: Any) -> SerialScanner:
        """The scanner a device config describes; `options` add or override keyword options
        (`max_queued_reads=`, `rng=`)."""
        framing = Framing(
            terminator=config.terminator, prefix=STX if config.framing == "etx" else b""
        )
        settings: dict[str, Any] = {
            "name": config.name,
            "port": config.port,
            "baud": config.baud,
            "bytesize": config.bytesize,
            "parity": config.parity,
            "stopbits": config.stopbits,
            "framing": framing,
            "symbology_ids": config.symbology_prefixes or None,
            "gs_substitutes": "".join(config.gs_substitutes),
            "read_timeout_s": config.read_timeout_s,
            "reconnect_backoff_min_s": config.reconnect_backoff_min_s,
            "reconnect_backoff_max_s": config.reconnect_backoff_max_s,
        }
        settings.update(options)
        return cls(**settings)

    # --- asyncio side -------------------------------------------------------------------

    async def start(self) -> None:
        """Start the reader thread; returns at once, the link comes up when the port opens."""
        if self._thread is not None:
            raise RuntimeError(f"Scanner {self.name!r} ({self.port}): already started")
        self._loop = asyncio.get_running_loop()
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name=f"scanner-{self.name}", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        """Close the port, end the thread and end `reads()` once what was read is consumed."""
        thread = self._thread
        if thread is None or self._stopping.is_set():
            return
        self._stopping.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        # The thread only blocks in select (woken by the pipe) or in pyserial's TCP connect,
        # which pyserial bounds at 5 s for an unreachable host.
        await self._exited.wait()
        thread.join()
        os.close(self._wake_r)
        os.close(self._wake_w)
        self.link.mark_down("stopped")
        self._up.clear()
        self._queue.put_nowait(None)

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

    async def reads(self) -> AsyncIterator[CodeRead]:
        """Reads in arrival order, until `stop()`."""
        while True:
            read = await self._queue.get()
            if read is None:
                self._queue.put_nowait(None)  # every other reader ends too
                return
            yield read

    async def wait_up(self, *, timeout_s: float) -> None:
        """Return once the port is open; raise `ScannerError` naming the last failure if it
        is not open within `timeout_s`."""
        try:
            await asyncio.wait_for(self._up.wait(), timeout_s)
        except TimeoutError:
            raise ScannerError(
                self.name,
                self.port,
                f"link not up within {timeout_s:g} s (last error: {self.link.last_error})",
            ) from None

    def _on_up(self) -> None:
        self.stats.connects += 1
        self.link.mark_up()
        self._up.set()
        log.info("scanner %s (%s): link up", self.name, self.port)

    def _on_down(self, error: str, was_up: bool) -> None:
        if was_up:
            self.stats.disconnects += 1
        if was_up or self.link.status != "down":
            log.warning("%s", error)
        self.link.mark_down(error)
        self._up.clear()

    def _on_read(self, read: CodeRead) -> None:
        self.stats.reads += 1
        if read.problem is not None:
            self.stats.problem_reads += 1
        if self._queue.qsize() >= self.max_queued_reads:
            dropped = self._queue.get_nowait()
            self.stats.dropped_reads += 1
            log.warning(
                "scanner %s: %d reads queued and none consumed; dropped the oldest %r",
                self.name,
                self.max_queued_reads,
                dropped,
            )
        self._queue.put_nowait(read)

    def _post(self, callback: Callable[..., None], *args: object) -> None:
        assert self._loop is not None
        # A loop closed under a running thread has nobody left to tell.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(callback, *args)

    # --- reader thread ------------------------------------------------------------------

    def _run(self) -> None:
        splitter = LineSplitter(self.framing)
        try:
            delay_s = 0.0
            while not self._stopping.wait(delay_s):
                try:
                    port = self._open()
                except ScannerError as exc:
                    self._post(self._on_down, str(exc), False)
                    delay_s = self._backoff.next_delay_s()
                    continue
                self._backoff.reset()
                self._post(self._on_up)
                try:
                    self._pump(port, splitter)
                except ScannerError as exc:
                    # Down first: closing a socket:// port sleeps 0.3 s inside pyserial.
                    self._post(self._on_down, str(exc), True)
                    self._emit(splitter.flush(reason="the link was lost"), time.monotonic())
                    self._close(port)
                    delay_s = self._backoff.next_delay_s()
                    continue
                self._emit(splitter.flush(reason="the scanner was stopped"), time.monotonic())
                self._close(port)
                return
        except Exception:  # a bug here must not leave the loop waiting on a dead thread
            log.exception("scanner %s (%s): reader thread failed", self.name, self.port)
            self._post(self._on_down, f"Scanner {self.name!r} ({self.port}): reader failed", True)
        finally:
            self._post(self._exited.set)

    def _open(self) -> serial.SerialBase:
        is_url = "://" in self.port
        try:
            port = serial.serial_for_url(
                self.port,
                do_not_open=True,
                timeout=0 if not self.port.startswith("rfc2217://") else _POLL_S,
                # Two agents reading one scanner would each get half the reads.
                exclusive=None if is_url else True,
                **self._serial_options,
            )
            port.open()
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ScannerError(self.name, self.port, f"cannot open the port: {exc}") from exc
        if self.port.startswith("socket://") and self.tcp_keepalive_s is not None:
            with contextlib.suppress(OSError):
                enable_tcp_keepalive(port.fileno(), idle_s=self.tcp_keepalive_s)
        return port

    def _close(self, port: serial.SerialBase) -> None:
        try:
            port.close()
        except (serial.SerialException, OSError) as exc:
            log.debug("scanner %s (%s): close failed: %s", self.name, self.port, exc)

    def _pump(self, port: serial.SerialBase, splitter: LineSplitter) -> None:
        """Read until stopped (return) or the port fails (raise `ScannerError`)."""
        try:
            fd: int | None = port.fileno()
        except (AttributeError, OSError, io.UnsupportedOperation):
            fd = None
        while not self._stopping.is_set():
            since = splitter.pending_since_s
            wait_s = (
                None if since is None else max(0.0, since + self.read_timeout_s - time.monotonic())
            )
            try:
                if fd is None:
                    data = self._poll(port)
                else:
                    ready, _, _ = select.select([fd, self._wake_r], [], [], wait_s)
                    if self._wake_r in ready:
                        return
                    data = port.read(_CHUNK_BYTES) if fd in ready else b""
            except (serial.SerialException, OSError) as exc:
                raise ScannerError(self.name, self.port, f"link lost: {exc}") from exc
            now_s = time.monotonic()
            lines: list[RawLine] = []
            if data:
                self.stats.bytes_received += len(data)
                lines = splitter.feed(data, now_s=now_s)
            lines += splitter.expire(now_s=now_s, timeout_s=self.read_timeout_s)
            self._emit(lines, now_s)

    def _poll(self, port: serial.SerialBase) -> bytes:
        data: bytes = port.read(1)
        waiting = port.in_waiting if data else 0
        if waiting:
            data += port.read(waiting)
        return data

    def _emit(self, lines: Sequence[RawLine], now_s: float) -> None:
        if not lines:
            return
        read_at = datetime.now(UTC)
        for line in lines:
            text = self.decoder.decode(line)
            if text is None:
                self.stats.empty_lines += 1
                continue
            code_format, gs1 = describe_symbology_id(text.symbology_id)
            self._post(
                self._on_read,
                CodeRead(
                    text=text.text,
                    symbology_id=text.symbology_id,
                    source_kind="scanner",
                    source_name=self.name,
                    read_at=read_at,
                    monotonic_s=now_s,
                    code_format=code_format,
                    gs1=gs1,
                    problem=text.problem,
                ),
            )
