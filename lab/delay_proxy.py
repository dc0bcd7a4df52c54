"""A TCP proxy that delays each direction by a fixed time: latency without netem.

Listens on 127.0.0.1 (ephemeral port) and forwards every connection to one address, holding each
chunk `delay` seconds before passing it on, so the round-trip time grows by 2 x delay. Chunks
keep their order; at most `max_pending` chunks wait per direction (the reader then stops, and
TCP pushes back on the sender).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType
from typing import Any


class DelayProxy:
    """`with DelayProxy(host, port, delay=0.025) as proxy:` then connect to proxy.address."""

    def __init__(
        self,
        host: str,
        port: int,
        delay: float,
        *,
        chunk_size: int = 65536,
        max_pending: int = 64,
    ) -> None:
        self.target = (host, port)
        self.delay = delay
        self.chunk_size = chunk_size
        self.max_pending = max_pending
        self.host = "127.0.0.1"
        self.port = 0
        self.connections = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def start(self) -> DelayProxy:
        """Start listening in a background thread; returns once the port is open."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._handle, self.host, 0)
                )
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=serve, name="delay-proxy", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        """Close the listener and every proxied connection; wait for the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            loop.stop()

        if thread.is_alive():
            asyncio.run_coroutine_threadsafe(shutdown(), loop)
            thread.join(10)
        self._loop = self._thread = None

    def __enter__(self) -> DelayProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            try:
                server_r, server_w = await asyncio.open_connection(*self.target)
            except OSError:
                return
            try:
                await asyncio.gather(
                    self._pipe(client_r, server_w),
                    self._pipe(server_r, client_w),
                )
            finally:
                server_w.close()
        except asyncio.CancelledError:
            pass  # stop(): end quietly (asyncio's server callback would log a cancelled task)
        finally:
            client_w.close()
            self._tasks.discard(task)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One direction: read now, deliver `delay` later, in order; EOF travels the same way."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(self.max_pending)

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                await asyncio.sleep(max(due - loop.time(), 0))
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()

        delivery = asyncio.ensure_future(deliver())
        try:
            while True:
                try:
                    data = await reader.read(self.chunk_size)
                except ConnectionError:
                    data = b""
                await queue.put((loop.time() + self.delay, data))
                if not data:
                    break
            await delivery
        except ConnectionError:
            pass
        finally:
            delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await delivery
