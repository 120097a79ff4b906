"""Misbehaving Modbus TCP peers, for the failures a pymodbus server will not produce.

Both are real TCP servers on loopback, speaking just enough Modbus TCP (MBAP header,
function code 3) to play a PLC that goes wrong:

- `SilentPeer` accepts connections and reads requests but never answers (a PLC whose
  Modbus task hangs, or a gateway with its serial side unplugged).
- `DesyncPeer` answers holding-register reads from a table, but its first answers are
  wrong: sent with another transaction id (a stale answer), or late (after the client's
  timeout), or both.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from typing import Literal, Self

DesyncMode = Literal["wrong_tid", "late"]


class _Peer:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.connections = 0
        """Connections accepted so far."""
        self.requests = 0
        """Requests received so far."""
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        server, self._server = self._server, None
        for writer in list(self._writers):
            writer.close()
        if server is not None:
            server.close()
            await server.wait_closed()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        try:
            while True:
                header = await reader.readexactly(7)
                tid, _pid, length, unit = struct.unpack(">HHHB", header)
                pdu = await reader.readexactly(length - 1)
                self.requests += 1
                await self._answer(writer, tid, unit, pdu)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _answer(self, writer: asyncio.StreamWriter, tid: int, unit: int, pdu: bytes) -> None:
        raise NotImplementedError


class SilentPeer(_Peer):
    """Accepts and reads, never answers."""

    async def _answer(self, writer: asyncio.StreamWriter, tid: int, unit: int, pdu: bytes) -> None:
        return None


class DesyncPeer(_Peer):
    """Answers function 3 from `registers`; the first `bad_answers` answers go wrong.

    `wrong_tid`: the answer carries transaction id + 1000 and the value 0xDEAD in every
    register, as a stale answer to an older request would. `late`: the right answer is
    sent `late_s` after the request, when the client has given up on it.
    """

    def __init__(
        self,
        *,
        registers: dict[int, int],
        mode: DesyncMode = "wrong_tid",
        bad_answers: int = 1,
        late_s: float = 0.5,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.registers = registers
        self.mode = mode
        self.bad_answers_left = bad_answers
        self.late_s = late_s
        self._late_tasks: set[asyncio.Task[None]] = set()

    async def _answer(self, writer: asyncio.StreamWriter, tid: int, unit: int, pdu: bytes) -> None:
        if pdu[0] != 3 or len(pdu) != 5:
            writer.write(_frame(tid, unit, bytes([pdu[0] | 0x80, 1])))
            return
        address, count = struct.unpack(">HH", pdu[1:5])
        values = [self.registers.get(address + i, 0) for i in range(count)]
        bad = self.bad_answers_left > 0
        self.bad_answers_left -= bad
        if bad and self.mode == "wrong_tid":
            writer.write(_frame((tid + 1000) & 0xFFFF, unit, _read_answer([0xDEAD] * count)))
            return
        if bad and self.mode == "late":
            task = asyncio.create_task(self._send_late(writer, tid, unit, _read_answer(values)))
            self._late_tasks.add(task)
            task.add_done_callback(self._late_tasks.discard)
            return
        writer.write(_frame(tid, unit, _read_answer(values)))

    async def _send_late(
        self, writer: asyncio.StreamWriter, tid: int, unit: int, pdu: bytes
    ) -> None:
        await asyncio.sleep(self.late_s)
        with contextlib.suppress(ConnectionError, RuntimeError):
            if not writer.is_closing():
                writer.write(_frame(tid, unit, pdu))


def _read_answer(values: list[int]) -> bytes:
    return bytes([3, 2 * len(values)]) + b"".join(v.to_bytes(2, "big") for v in values)


def _frame(tid: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu
