"""A ser2net-style RFC 2217 server in front of a pty, so `rfc2217://` ports meet a real peer.

pyserial's own `PortManager` speaks the Telnet/RFC 2217 side; the serial side is the pty
the simulated scanner writes to. Line settings the client asks for are accepted and
ignored: a pty has no baud rate.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import tty
from typing import Any

from serial.rfc2217 import PortManager


class _AnyLine:
    """Stands in for the serial port whose settings PortManager reads and writes."""

    def __init__(self) -> None:
        self.baudrate = 9600
        self.bytesize = 8
        self.parity = "N"
        self.stopbits = 1
        self.rts = self.dtr = self.break_condition = False
        self.xonxoff = self.rtscts = False
        self.cts = self.dsr = self.ri = self.cd = False
        self.name = "pty"

    def reset_input_buffer(self) -> None: ...

    def reset_output_buffer(self) -> None: ...


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            self._sock.sendall(data)


class Rfc2217Relay:
    """Serves one client at a time on 127.0.0.1; `url` is what the adapter opens."""

    def __init__(self, device: str) -> None:
        self.device = device
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"rfc2217://127.0.0.1:{self._server.getsockname()[1]}"
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="rfc2217-relay")

    def __enter__(self) -> Rfc2217Relay:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        self._server.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            ready, _, _ = select.select([self._server], [], [], 0.02)
            if ready:
                conn, _ = self._server.accept()
                with conn:
                    self._relay(conn)

    def _relay(self, conn: socket.socket) -> None:
        fd = os.open(self.device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            tty.setraw(fd)
            manager = PortManager(_AnyLine(), _Connection(conn))
            while not self._stopping.is_set():
                ready, _, _ = select.select([conn.fileno(), fd], [], [], 0.02)
                if fd in ready:
                    data = os.read(fd, 4096)
                    conn.sendall(b"".join(manager.escape(data)))
                if conn.fileno() in ready:
                    data = conn.recv(4096)
                    if not data:
                        return
                    for _ in manager.filter(data):
                        pass  # what the client writes to the scanner goes nowhere
        except OSError:
            return
        finally:
            os.close(fd)
