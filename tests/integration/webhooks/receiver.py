"""A webhook receiver for tests and the benchmark: an HTTP/1.1 keep-alive server on 127.0.0.1
that records every request with its arrival time and answers what the test scripts."""

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float  # time.time() when the body had arrived


Answer = tuple[int, dict, bytes]


class Receiver:
    """Answers each request with `respond(received)` (a tuple or an awaitable of one); 204 by default."""

    def __init__(self, respond: Callable[[Received], object] | None = None):
        self.respond = respond or (lambda r: (204, {}, b""))
        self.received: list[Received] = []
        self.port = 0
        self._server = None
        self._arrived = asyncio.Condition()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def start(self) -> "Receiver":
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self._server.close()

    def to(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def wait_for(self, count: int, path: str | None = None, timeout: float = 10) -> list[Received]:
        """The first `count` requests (to `path`), waiting for them to arrive."""
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(
                lambda: len(self.to(path) if path else self.received) >= count), timeout)
        return (self.to(path) if path else self.received)[:count]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                received = Received(path, headers, body, time.time())
                async with self._arrived:
                    self.received.append(received)
                    self._arrived.notify_all()
                answer = self.respond(received)
                if asyncio.iscoroutine(answer):
                    answer = await answer
                status, extra, content = answer
                out = [f"HTTP/1.1 {status} X", f"Content-Length: {len(content)}"]
                out += [f"{k}: {v}" for k, v in extra.items()]
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode() + content)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class ThreadedReceiver:
    """A Receiver on its own event loop in a background thread, for synchronous (e2e) tests."""

    def __init__(self, respond: Callable[[Received], object] | None = None):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.receiver = asyncio.run_coroutine_threadsafe(Receiver(respond).start(), self.loop).result(5)

    @property
    def port(self) -> int:
        return self.receiver.port

    def url(self, path: str = "/hook") -> str:
        return self.receiver.url(path)

    def wait_for(self, count: int, path: str | None = None, timeout: float = 10) -> list[Received]:
        return asyncio.run_coroutine_threadsafe(self.receiver.wait_for(count, path, timeout), self.loop).result()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.receiver.stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
