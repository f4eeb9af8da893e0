"""Graceful shutdown: SIGTERM to a real ``codecascade serve`` process lets the requests in
flight finish, refuses new connections and exits 0; past the grace period the requests
still running are answered with an OpenAI-style 503 and recorded."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import openai
import pytest

from planner.options import CascadePlan, Stage, StageOption
from planner.records import read_records
from planner.runtime.replay_server import Faults
from planner.serve.service import SHUTDOWN

from .conftest import MODELS, Always, write_endpoints, write_spec
from .test_faults import wait_for

ROOT = Path(__file__).resolve().parents[2]
TWO_STAGES = CascadePlan((Stage(MODELS[0], StageOption(k=1, t=1, l=2, theta=1.0)),
                          Stage(MODELS[2], StageOption(k=0))))


def _lines(stream, out: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        out.put(line)
    out.put(None)


@pytest.mark.slow
def test_sigterm_finishes_the_requests_in_flight_and_exits_0(replay, humaneval, tmp_path):
    upstream = replay(Faults(delay_s=0.6))
    spec = write_spec(tmp_path / "cascade.json", TWO_STAGES)
    endpoints = write_endpoints(tmp_path / "endpoints.toml", upstream.base_url)
    records = tmp_path / "served.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "planner", "serve", str(spec), "-e", str(endpoints),
         "--port", "0", "--records", str(records), "--grace", "30", "--log-level",
         "warning"], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(process.stderr, lines), daemon=True).start()
    try:
        url = None
        deadline = time.monotonic() + 60
        seen = []
        while url is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                break
            seen.append(line)
            if line.startswith("serving cascade on "):
                url = line.split()[3]
        assert url is not None, "".join(seen)
        client = openai.OpenAI(base_url=url, api_key="x", max_retries=0, timeout=60)
        results: dict[int, object] = {}

        def ask(i: int) -> None:
            try:
                results[i] = client.completions.create(model="cascade",
                                                       prompt=humaneval[70 + i].prompt)
            except Exception as exc:  # reported by the assertion below
                results[i] = exc

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        wait_for(lambda: upstream.requests >= 6, 30, "three requests at the upstream")
        process.send_signal(signal.SIGTERM)
        # new connections are refused once the server has stopped listening
        address = urllib.parse.urlsplit(url)

        def refused() -> bool:
            try:
                socket.create_connection((address.hostname, address.port), timeout=1).close()
            except ConnectionRefusedError:
                return True
            return False

        wait_for(refused, 10, "the listener to close")
        for t in threads:
            t.join(60)
        for i in range(3):
            assert not isinstance(results[i], Exception), results[i]
            assert results[i].choices[0].text
        assert process.wait(60) == 0
        rest = []
        while (line := lines.get(timeout=10)) is not None:
            rest.append(line)
        assert any("stopped: 3 request(s) recorded" in line for line in rest), rest
        assert len(list(read_records(records))) == 3
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_past_the_grace_period_requests_in_flight_get_503(replay, serving, humaneval):
    upstream = replay(Faults(delay_s=1.0))
    server, client = serving(upstream.base_url, Always(False), grace_s=0.3, keepalive_s=0.1)
    results: dict[str, object] = {}

    def ask(stream: bool) -> None:
        messages = [{"role": "user", "content": humaneval[80 + stream].prompt}]
        try:
            if stream:
                results["stream"] = list(client.chat.completions.create(
                    model="cascade", stream=True, messages=messages))
            else:
                results["plain"] = client.chat.completions.create(model="cascade",
                                                                  messages=messages)
        except openai.APIError as exc:
            results["stream" if stream else "plain"] = exc

    threads = [threading.Thread(target=ask, args=(s,)) for s in (False, True)]
    for t in threads:
        t.start()
    wait_for(lambda: server.prepared.service.in_flight == 2, 10, "two requests in flight")
    time.sleep(0.2)  # the streamed one has started its keep-alive stream
    server.shutdown()
    for t in threads:
        t.join(20)
    plain, streamed = results["plain"], results["stream"]
    assert isinstance(plain, openai.APIStatusError) and plain.status_code == 503
    assert plain.body["code"] == "shutting_down" and plain.body["type"] == "server_error"
    assert isinstance(streamed, openai.APIError) and streamed.body["code"] == "shutting_down"
    assert server.join(20)
    records = list(read_records(server.prepared.options.records))
    assert len(records) == 2 and all(r.error == SHUTDOWN for r in records)
