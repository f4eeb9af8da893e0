"""Loopback servers that misbehave the ways real endpoints do, for the failure tests.

:class:`Misbehaving` answers on 127.0.0.1 according to its ``behaviour``, which a test may
change while it runs (an endpoint that goes down mid-run):

* ``ok``: an OpenAI-compatible server answering every completion "OK" (``/models`` lists
  ``models``);
* ``forward``: relays every request to ``upstream`` (the replay server) unchanged;
* ``http500``: 500 to everything, ``/models`` included;
* ``hang``: accepts the request and never answers (until ``hang_s`` or the server stops);
* ``not_json``: 200 with an HTML page;
* ``proxy``: as LiteLLM's proxy does: 401 without the right key, ``/models`` lists
  ``models``, and a model it does not serve gets 400 "Invalid model name passed in
  model=...";
* ``refuse``: a completion request gets 400 (the ``refusal`` message), ``/models`` works.

``override(body)`` may name another behaviour for one request (by its body; ``None`` keeps
``behaviour``). Requests are counted per path in :attr:`Misbehaving.hits`.
:func:`unused_port` is a port nobody listens on.
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Misbehaving:
    """See the module docstring; a context manager (or :meth:`start` / :meth:`stop`)."""

    def __init__(self, behaviour: str = "ok", *, models: tuple[str, ...] = ("m",),
                 upstream: str | None = None, key: str = "sk-right", hang_s: float = 10.0,
                 refusal: str = "This model's maximum context length is 2048 tokens",
                 override: Callable[[bytes], str | None] | None = None):
        self.behaviour = behaviour
        self.models = models
        self.upstream = upstream
        self.key = key
        self.hang_s = hang_s
        self.refusal = refusal
        self.override = override
        self.hits: Counter[str] = Counter()
        self._released = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> Misbehaving:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                owner.answer(self, None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                owner.answer(self, self.rfile.read(length))

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._released.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Misbehaving:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- answering -----------------------------------------------------------------
    def answer(self, handler: BaseHTTPRequestHandler, raw: bytes | None) -> None:
        path = handler.path.rstrip("/")
        self.hits[path.rsplit("/v1", 1)[-1]] += 1
        behaviour = self.behaviour
        if self.override is not None and raw is not None:
            behaviour = self.override(raw) or behaviour
        if behaviour == "forward":
            self._forward(handler, raw)
        elif behaviour == "http500":
            _send(handler, 500, {"error": {"message": "Internal Server Error",
                                           "type": "server_error"}})
        elif behaviour == "hang":
            self._released.wait(self.hang_s)
            handler.close_connection = True
        elif behaviour == "not_json":
            _send(handler, 200, b"<html><body>It works!</body></html>", "text/html")
        elif behaviour == "proxy" and handler.headers.get("Authorization") != (
                f"Bearer {self.key}"):
            _send(handler, 401, {"error": {
                "message": "Authentication Error, Invalid proxy server token passed.",
                "type": "auth_error", "param": "None", "code": "401"}})
        elif path.endswith("/models"):
            _send(handler, 200, {"object": "list", "data": [
                {"id": m, "object": "model", "owned_by": "test"} for m in self.models]})
        elif behaviour == "refuse":
            _send(handler, 400, {"error": {"message": self.refusal,
                                           "type": "invalid_request_error"}})
        else:
            body = json.loads(raw or b"{}")
            model = str(body.get("model"))
            if behaviour == "proxy" and model not in self.models:
                _send(handler, 400, {"error": {
                    "message": f"/chat/completions: Invalid model name passed in model={model}."
                               " Call `/v1/models` to view available models for your key.",
                    "type": "None", "param": "None", "code": "400"}})
                return
            _send(handler, 200, _ok(body, path.endswith("/chat/completions")))

    def _forward(self, handler: BaseHTTPRequestHandler, raw: bytes | None) -> None:
        assert self.upstream is not None
        url = self.upstream.rsplit("/v1", 1)[0] + handler.path
        request = urllib.request.Request(url, data=raw, method="POST" if raw is not None
                                         else "GET",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        _send(handler, status, payload)


def _ok(body: dict[str, Any], chat: bool) -> dict[str, Any]:
    n = max(1, int(body.get("n", 1) or 1))
    choice = ({"message": {"role": "assistant", "content": "OK"}} if chat else {"text": "OK"})
    return {"id": "x", "object": "chat.completion" if chat else "text_completion",
            "created": 0, "model": body.get("model"),
            "choices": [{"index": i, "finish_reason": "length", **choice} for i in range(n)],
            "usage": {"prompt_tokens": 5, "completion_tokens": n, "total_tokens": 5 + n}}


def _send(handler: BaseHTTPRequestHandler, status: int, payload: Any,
          content_type: str = "application/json") -> None:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    try:
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        handler.close_connection = True
