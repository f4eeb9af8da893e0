"""A loopback OpenAI-compatible server that replays recorded generations.

It answers ``/v1/chat/completions`` and ``/v1/completions`` with real recorded generations
(:class:`~planner.runtime.replay_data.ReplayData`): WizardCoder-Python 7B/13B/34B from the
seed paper's data release (``wizardcoder-python-humaneval/``) and, given CodeT's folder,
CodeGen-Mono-16B, so a cascade spec can be run and generations collected end to end, and
the runtime tested, without a GPU:

* the model is chosen from the request's ``model`` (the size in it: ``7B``, ``13B``,
  ``34B``, ``16B``);
* the problem is the HumanEval problem whose prompt appears in the request (a request
  without one, such as a pre-flight check, is answered "OK");
* ``GET /models`` lists :func:`served_names`;
* a request is for tests when the request text outside the problem mentions ``assert``;
* temperature 0 serves the greedy generation (``p0`` files; CodeGen has none and serves
  its first sample; HTTP 400 where nothing was recorded); otherwise the next ``n`` recorded
  samples in order (loop 0 samples 0..9, then loop 1, ...), one cursor per (model,
  problem, solutions|tests), wrapping after 100;
* WizardCoder solutions are whole functions, served as recorded (fenced in chat replies);
  CodeGen solutions continue the prompt: a completion request that starts with the problem
  gets the continuation, other requests the whole function. CodeGen test generations are
  served as the ``assert`` lines the profile builder reads from them, without the first
  ``assert `` when the request ends with it (a completion-style test prompt);
* ``usage.completion_tokens`` is what the profile builder charges
  (:mod:`~planner.runtime.replay_data`): for WizardCoder the recorded ``num_ids`` of each
  solution, and for a test generation the tokens of :func:`planner.tokens.split_line_tokens`
  (first-2 and first-4 sums are the recorded ``num_ids_2`` / ``num_ids_4``; later lines at
  the same tokens-per-character rate; tokens of line positions the generation does not
  have belong to no line); for CodeGen the ``codegen-approx`` count of each solution and
  of each test line with its newline. With ``logprobs`` the answer carries synthetic tokens
  that reproduce exactly these counts per line, so the runtime keeps the tokens a profile
  charges. ``usage.prompt_tokens`` is len(prompt) / 4 (an approximation: the builder's
  prompt counts come from other sources).

Faults can be injected for robustness tests and benchmarks: HTTP 429 and 500, slow
responses, malformed JSON bodies, bodies cut off mid-way, and a fixed delay per response
plus per generated token. Every served request is logged in :attr:`ReplayServer.served`.
With ``honour_n=False`` it answers every request with one choice, as llama-cpp-python and
Ollama do; with ``refuse_n_status`` (400, or 500 as some versions do) it refuses ``n > 1``
as the llama.cpp server does ("Only one completion choice is allowed").
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ..testlines import raw_lines
from .replay_data import CODEGEN_KEY, Recorded, ReplayData, synthetic_tokens

#: The earlier name of :class:`ReplayData`, which other parts' tests and benchmarks use.
WizardCoderData = ReplayData


@dataclass
class Faults:
    """Fault injection: per-request probabilities, a response delay, and tasks that always
    get a malformed body. Probabilities are checked in the order of the fields. A response
    takes ``delay_s`` plus ``delay_per_token_s`` per token of its longest choice (the
    choices of one ``n`` request decode in parallel), plus ``slow_s`` when "slow"."""

    rate_limit: float = 0.0
    server_error: float = 0.0
    malformed: float = 0.0
    cut_off: float = 0.0
    slow: float = 0.0
    slow_s: float = 0.0
    delay_s: float = 0.0
    delay_per_token_s: float = 0.0
    always_malformed_tasks: frozenset[str] = frozenset()
    seed: int = 0

    def pick(self, rng: random.Random) -> str | None:
        for name in ("rate_limit", "server_error", "malformed", "cut_off", "slow"):
            if rng.random() < getattr(self, name):
                return name
        return None


@dataclass
class ServedRequest:
    """One request the server answered with generations."""

    model: str
    task_id: str
    kind: str
    greedy: bool
    indices: tuple[int, ...]
    fault: str | None = None


def _prompt_text(body: dict[str, Any], chat: bool) -> str:
    """A request's prompt: the completion prompt, or the chat messages' contents joined."""
    if chat:
        return "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
    return str(body.get("prompt", ""))


class _Listener(ThreadingHTTPServer):
    """A threading HTTP server whose accept queue holds a burst of connections: with the
    standard library's 5, concurrent clients (16 batches x 4 requests) overflow it and get
    connections reset, which the runtime then counts and retries as endpoint faults."""

    request_queue_size = 256


@dataclass
class ReplayServer:
    """The server; use as a context manager or call :meth:`start` / :meth:`stop`."""

    data: ReplayData
    faults: Faults = field(default_factory=Faults)
    host: str = "127.0.0.1"
    port: int = 0
    served: list[ServedRequest] = field(default_factory=list)
    requests: int = 0
    honour_n: bool = True
    refuse_n_status: int | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._cursor: dict[tuple[str, int, str], int] = {}
        self._rng = random.Random(self.faults.seed)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None
        return f"http://{self.host}:{self._httpd.server_address[1]}/v1"

    def start(self) -> ReplayServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    body = {"object": "list", "data": [
                        {"id": name, "object": "model", "owned_by": "replay"}
                        for name in served_names(server.data.keys)]}
                    self._send(200, json.dumps(body).encode())
                else:
                    self._send(404, b'{"error": {"message": "not found"}}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    self._send(400, b'{"error": {"message": "bad json"}}')
                    return
                chat = self.path.rstrip("/").endswith("/chat/completions")
                if not chat and not self.path.rstrip("/").endswith("/completions"):
                    self._send(404, b'{"error": {"message": "not found"}}')
                    return
                status, payload, fault, delay = server.respond(body, chat)
                if delay:
                    time.sleep(delay)
                if fault == "cut_off":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    try:
                        self.wfile.write(payload[: len(payload) // 2])
                        self.wfile.flush()
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    self.close_connection = True
                    return
                headers = {"Retry-After": "0"} if status == 429 else {}
                self._send(status, payload, headers)

            def _send(self, status: int, payload: bytes,
                      headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (timeout, Ctrl-C)

        self._httpd = _Listener((self.host, self.port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- answering ------------------------------------------------------------------
    def plain_reply(self, body: dict[str, Any], chat: bool, n: int) -> bytes:
        """The answer to a prompt that holds no HumanEval problem (a pre-flight request):
        "OK", one token per choice, ``n`` choices."""
        choices = [({"index": i, "finish_reason": "length",
                     "message": {"role": "assistant", "content": "OK"}} if chat else
                    {"index": i, "finish_reason": "length", "text": "OK"}) for i in range(n)]
        return json.dumps({
            "id": "replay-plain", "object": "chat.completion" if chat else "text_completion",
            "created": int(time.time()), "model": str(body.get("model")), "choices": choices,
            "usage": {"prompt_tokens": 8, "completion_tokens": n, "total_tokens": 8 + n},
        }).encode()

    def _always_malformed(self, body: dict[str, Any], chat: bool) -> bool:
        """Whether the request is about a task of ``faults.always_malformed_tasks``."""
        if not self.faults.always_malformed_tasks:
            return False
        number = self.data.find_problem(_prompt_text(body, chat))
        return (number is not None
                and self.data.task_ids[number] in self.faults.always_malformed_tasks)

    def respond(self, body: dict[str, Any], chat: bool) -> tuple[int, bytes, str | None, float]:
        """(status, payload, fault, delay) for one request body."""
        with self._lock:
            self.requests += 1
            fault = self.faults.pick(self._rng)
        if fault in ("rate_limit", "server_error") and self._always_malformed(body, chat):
            fault = "malformed"  # every reply for such a task is a malformed body
        if fault == "rate_limit":
            return 429, b'{"error": {"message": "rate limited", "type": "rate_limit"}}', fault, 0
        if fault == "server_error":
            return 500, b'{"error": {"message": "internal error"}}', fault, 0
        if self.refuse_n_status is not None and int(body.get("n", 1) or 1) > 1:
            return self.refuse_n_status, json.dumps({"error": {
                "code": self.refuse_n_status, "message": "Only one completion choice is allowed",
                "type": "invalid_request_error" if self.refuse_n_status < 500
                else "server_error"}}).encode(), None, 0
        size = _model_size(str(body.get("model", "")), self.data.keys)
        if size is None:
            return 404, json.dumps({"error": {"message": f"unknown model {body.get('model')}"}}
                                   ).encode(), None, 0
        text = _prompt_text(body, chat)
        number = self.data.find_problem(text)
        if number is None:
            n = max(1, int(body.get("n", 1) or 1)) if self.honour_n else 1
            return 200, self.plain_reply(body, chat, n), None, self.faults.delay_s
        task_id = self.data.task_ids[number]
        rest = text.replace(self.data.prompts[number], "")
        kind = "tests" if "assert" in rest else "solutions"
        n = max(1, int(body.get("n", 1) or 1)) if self.honour_n else 1
        greedy = float(body.get("temperature", 1.0) or 0.0) == 0.0
        if greedy:
            pool = self.data.greedy_test if kind == "tests" else self.data.greedy_solution
            recorded = pool[size][number]
            if recorded is None:
                message = f"no greedy generation recorded for {body.get('model')}"
                return 400, json.dumps({"error": {"message": message}}).encode(), None, 0
            chosen = [recorded] * n
            indices = tuple([-1] * n)
        else:
            pool_s = self.data.tests if kind == "tests" else self.data.solutions
            samples = pool_s[size][number]
            with self._lock:
                key = (size, number, kind)
                start = self._cursor.get(key, 0)
                self._cursor[key] = start + n
            indices = tuple((start + i) % len(samples) for i in range(n))
            chosen = [samples[i] for i in indices]
        if task_id in self.faults.always_malformed_tasks:
            fault = "malformed"
        with self._lock:
            self.served.append(ServedRequest(size, task_id, kind, greedy, indices, fault))
        want_logprobs = bool(body.get("logprobs"))
        prompt = self.data.prompts[number]
        completion = not chat and text.lstrip().startswith(prompt)
        continues = size in self.data.continuations and not completion
        strip_assert = size in self.data.continuations and text.endswith("assert ")
        choices = []
        completion_tokens = 0
        for i, rec in enumerate(chosen):
            if kind == "solutions" and continues:
                rec = Recorded(f"{prompt}\n{rec.text}", rec.line_tokens, rec.unplaced)
            content, segments = _render(rec, kind, chat, strip_assert)
            completion_tokens += rec.tokens
            choice: dict[str, Any] = {"index": i, "finish_reason": "stop"}
            tokens = synthetic_tokens(segments) if want_logprobs else None
            if chat:
                choice["message"] = {"role": "assistant", "content": content}
                if tokens is not None:
                    choice["logprobs"] = {"content": [
                        {"token": t, "logprob": -0.5, "bytes": list(t.encode()),
                         "top_logprobs": []} for t in tokens]}
            else:
                choice["text"] = content
                if tokens is not None:
                    offsets, pos = [], 0
                    for t in tokens:
                        offsets.append(pos)
                        pos += len(t)
                    choice["logprobs"] = {"tokens": tokens, "token_logprobs": [-0.5] * len(tokens),
                                          "text_offset": offsets, "top_logprobs": None}
            choices.append(choice)
        prompt_tokens = max(1, len(text) // 4)
        payload = json.dumps({
            "id": f"replay-{self.requests}",
            "object": "chat.completion" if chat else "text_completion",
            "created": int(time.time()),
            "model": str(body.get("model")),
            "choices": choices,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }).encode()
        if fault == "malformed":
            payload = payload[: max(1, len(payload) // 3)] + b"<<not json"
        longest = max((rec.tokens for rec in chosen), default=0)
        delay = self.faults.delay_s + self.faults.delay_per_token_s * longest
        if fault == "slow":
            delay += self.faults.slow_s
        return 200, payload, fault, delay


def served_names(keys: tuple[str, ...]) -> list[str]:
    """The model names ``GET /models`` lists for the model keys served: the project's name
    and the Hugging Face name of each (``WizardCoder-Python-7B`` and
    ``WizardLM/WizardCoder-Python-7B-V1.0``; ``CodeGen-Mono-16B`` and
    ``Salesforce/codegen-16B-mono``). A request is answered for any name that contains a
    key."""
    names = []
    for key in keys:
        if key == CODEGEN_KEY:
            names += [f"CodeGen-Mono-{key}", f"Salesforce/codegen-{key}-mono"]
        else:
            names += [f"WizardCoder-Python-{key}", f"WizardLM/WizardCoder-Python-{key}-V1.0"]
    return names


def _model_size(model: str, sizes: tuple[str, ...]) -> str | None:
    for match in re.finditer(r"(?<![0-9])([0-9]+)B", model):
        if match.group(0) in sizes:
            return match.group(0)
    return None


def _render(rec: Recorded, kind: str, chat: bool, strip_assert: bool = False
            ) -> tuple[str, list[tuple[str, int]]]:
    """The response text and its (segment, tokens) split: solutions come fenced in chat
    style, test lines are returned as recorded (``strip_assert``: the first line without
    the ``assert `` the prompt ended with, its tokens unchanged)."""
    if kind == "tests":
        lines = raw_lines(rec.text)
        final_newline = rec.text.endswith("\n")
        segments = [(line + ("\n" if i < len(lines) - 1 or final_newline else ""),
                     rec.line_tokens[i]) for i, line in enumerate(lines)]
        if strip_assert and segments:
            first, tokens = segments[0]
            segments[0] = (first.removeprefix("assert "), tokens)
        if rec.unplaced:
            segments.append(("", rec.unplaced))
        return "".join(text for text, _ in segments), segments
    content = f"```python\n{rec.text.rstrip()}\n```" if chat else rec.text
    return content, [(content, rec.tokens)]


def main(argv: list[str] | None = None) -> None:
    """Serve the recorded generations on a port until Ctrl-C (a dry run of a spec)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python3 -m planner.runtime.replay_server",
        description="OpenAI-compatible server replaying recorded generations of "
                    "WizardCoder-Python (and CodeGen-Mono-16B with --codet).")
    parser.add_argument("--data", type=Path, required=True,
                        help="the wizardcoder-python-humaneval folder")
    parser.add_argument("--codet", type=Path, default=None,
                        help="CodeT's folder: also serve CodeGen-Mono-16B (model name ...16B)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds per response")
    parser.add_argument("--per-token", type=float, default=0.0, help="seconds per token")
    args = parser.parse_args(argv)
    if not (args.data / "HumanEval.json").is_file():
        parser.error(f"{args.data} is not the wizardcoder-python-humaneval folder")
    server = ReplayServer(ReplayData(args.data, codet=args.codet),
                          Faults(delay_s=args.delay, delay_per_token_s=args.per_token),
                          port=args.port).start()
    print(f"serving {', '.join(server.data.keys)} on {server.base_url} (Ctrl-C stops)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
