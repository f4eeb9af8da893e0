"""Running the app under uvicorn: the listening socket, graceful shutdown, a background
server for tests and benchmarks.

SIGTERM (or Ctrl-C) starts the shutdown: uvicorn stops accepting connections and closes
idle ones, the service refuses new requests and gives those in flight ``grace_s`` seconds
to finish; then it stops them, each answered with an OpenAI-style 503 and recorded. A
second signal exits at once. The process then exits with status 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import socket
import threading
import time
from collections.abc import Iterator
from types import FrameType

import uvicorn

from .app import Prepared, create_app
from .config import ServeError

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: an ephemeral port); ServeError
    naming the address when it cannot be had. Clients may connect at once: they wait in
    the backlog until the app has started."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)  # connections wait in the backlog until uvicorn accepts
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}"


class GracefulServer(uvicorn.Server):
    """uvicorn's server with the service's drain on the first signal and an exit status
    of 0 after a signalled shutdown (uvicorn re-raises the signal)."""

    def __init__(self, config: uvicorn.Config, prepared: Prepared):
        super().__init__(config)
        self.prepared = prepared
        self._loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets=sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in _SIGNALS}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit:
            self.force_exit = True
            return
        self.request_shutdown()

    def request_shutdown(self) -> None:
        """Start the graceful shutdown (safe from a signal handler or another thread)."""
        self.should_exit = True
        if self._loop is not None and not self._loop.is_closed():
            service = self.prepared.service
            self._loop.call_soon_threadsafe(service.begin_drain, self.prepared.options.grace_s)


def make_server(prepared: Prepared) -> GracefulServer:
    """The uvicorn server for ``prepared`` (logging left to the caller's configuration)."""
    options = prepared.options
    config = uvicorn.Config(
        create_app(prepared), log_config=None, log_level=options.log_level,
        timeout_graceful_shutdown=math.ceil(options.grace_s) + 5, lifespan="on",
        server_header=False, timeout_keep_alive=5)
    return GracefulServer(config, prepared)


def run(prepared: Prepared, sock: socket.socket) -> None:
    """Serve on ``sock`` until a signal ends the graceful shutdown."""
    make_server(prepared).run(sockets=[sock])


class BackgroundServer:
    """The server in a thread of this process, on an ephemeral port of ``host``: a context
    manager giving ``base_url`` (``http://127.0.0.1:PORT``); :meth:`shutdown` is what SIGTERM
    does. For tests and benchmarks."""

    def __init__(self, prepared: Prepared, *, start_timeout_s: float = 30.0):
        self.prepared = prepared
        self.sock = bind(prepared.options.host, 0)
        self.base_url = base_url(self.sock)
        self.server = make_server(prepared)
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                        daemon=True, name="codecascade-serve")
        self._start_timeout_s = start_timeout_s

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout_s
        while (not self.server.started and self._thread.is_alive()
               and time.monotonic() < deadline):
            time.sleep(0.02)
        if not self.server.started:
            raise ServeError("the background server did not start")
        return self

    def shutdown(self) -> None:
        self.server.request_shutdown()

    def join(self, timeout: float) -> bool:
        """Wait for the server to stop; True when it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def __exit__(self, *exc: object) -> None:
        self.server.request_shutdown()
        if not self.join(self.prepared.options.grace_s + 10):
            self.server.force_exit = True
            self.join(10)
        self.sock.close()
