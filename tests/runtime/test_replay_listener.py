"""The replay server's listening socket holds a burst of connections: a collection or run at
concurrency 16 opens dozens at once, and with the standard library's accept queue of 5 the
rest were dropped or reset and then counted and retried as endpoint faults."""

from __future__ import annotations

import socket
from http.server import BaseHTTPRequestHandler

from planner.runtime.replay_server import _Listener


def test_64_connections_are_queued_before_any_is_accepted():
    # Nothing accepts here (no serve_forever): every connection must wait in the queue.
    listener = _Listener(("127.0.0.1", 0), BaseHTTPRequestHandler)
    connected = []
    try:
        for _ in range(64):
            try:
                connected.append(socket.create_connection(listener.server_address,
                                                          timeout=0.5))
            except OSError:
                break
        assert len(connected) == 64
    finally:
        for sock in connected:
            sock.close()
        listener.server_close()
