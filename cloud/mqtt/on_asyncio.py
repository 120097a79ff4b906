"""Drive a paho client's socket from the running asyncio loop instead of paho's own thread.

Measured reason: with paho's network thread and the ingest's batch processing in
one process, the two threads fight over the GIL and every acknowledgement wakes
the other thread through a socket pair. On the loop, reads, callbacks, batch
processing and PUBACKs share one thread, acknowledgements of a batch go out in
one write, and nothing waits on a lock (aiomqtt is built the same way).
Only the blocking TCP connect runs in an executor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from typing import Any

import paho.mqtt.client as mqtt

log = logging.getLogger(__name__)

_MAX_PACKETS_PER_WAKEUP = 256


class PahoOnAsyncio:
    """Keeps `client` connected and its socket served until `run`'s stop event is set."""

    def __init__(
        self,
        client: mqtt.Client,
        *,
        host: str,
        port: int,
        keepalive_s: int,
        connect_options: dict[str, Any],
        reconnect_max_s: float = 10.0,
    ) -> None:
        self.client = client
        self.host = host
        self.port = port
        self.keepalive_s = keepalive_s
        self.connect_options = connect_options
        self.reconnect_max_s = reconnect_max_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._progress = 0
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write

    def count_progress(self) -> None:
        """Called from a packet callback: lets the reader know a packet was handled."""
        self._progress += 1

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        delay_s = 0.5
        try:
            while not stop.is_set():
                if self.client.socket() is None:
                    try:
                        await self._loop.run_in_executor(None, self._connect)
                        delay_s = 0.5
                    except (OSError, mqtt.WebsocketConnectionError) as exc:
                        log.warning("broker %s:%d unreachable: %s", self.host, self.port, exc)
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(delay_s):
                                await stop.wait()
                        delay_s = min(delay_s * 2, self.reconnect_max_s)
                        continue
                self.client.loop_misc()  # keepalive pings, and notices a silent broker
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await stop.wait()
        finally:
            if self.client.socket() is not None:
                self.client.disconnect()
                # Let the DISCONNECT packet leave before the socket closes.
                self.client.loop_write()

    def _connect(self) -> None:
        self.client.connect(
            self.host, self.port, keepalive=self.keepalive_s, **self.connect_options
        )

    def _read(self) -> None:
        # paho reads one packet per call; keep reading while packets keep coming.
        for _ in range(_MAX_PACKETS_PER_WAKEUP):
            before = self._progress
            if self.client.loop_read() != mqtt.MQTT_ERR_SUCCESS or self._progress == before:
                return

    def _in_loop(self, action: Any, *args: Any) -> None:
        assert self._loop is not None
        if threading.get_ident() == self._loop_thread:
            action(*args)
        else:
            self._loop.call_soon_threadsafe(action, *args)

    def _on_socket_open(self, client: mqtt.Client, userdata: object, sock: Any) -> None:
        assert self._loop is not None
        self._in_loop(self._loop.add_reader, sock, self._read)

    def _on_socket_close(self, client: mqtt.Client, userdata: object, sock: Any) -> None:
        assert self._loop is not None
        self._in_loop(self._forget, sock)

    def _forget(self, sock: socket.socket) -> None:
        assert self._loop is not None
        self._loop.remove_reader(sock)
        self._loop.remove_writer(sock)

    def _on_register_write(self, client: mqtt.Client, userdata: object, sock: Any) -> None:
        assert self._loop is not None
        self._in_loop(self._loop.add_writer, sock, client.loop_write)

    def _on_unregister_write(self, client: mqtt.Client, userdata: object, sock: Any) -> None:
        assert self._loop is not None
        self._in_loop(self._loop.remove_writer, sock)
