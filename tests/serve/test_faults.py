"""Serving properties under trouble: upstream faults end in answers or OpenAI-style
502/504 errors (the server stays up), the per-request deadline, the concurrency limit
(429 with Retry-After, nothing else breaks) and a disconnecting client (its remaining
stages are cancelled and the record says why)."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from planner.records import read_records
from planner.runtime.replay_server import Faults

from .conftest import MODELS, Always, HashExecutor
from .test_app import raw


def wait_for(condition, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_intermittent_faults_are_retried_into_answers(replay, serving, humaneval):
    faults = Faults(rate_limit=0.15, server_error=0.15, malformed=0.1, cut_off=0.1, seed=5)
    upstream = replay(faults)
    server, client = serving(upstream.base_url, HashExecutor(),
                             endpoint_defaults={"max_retries": 8})
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(
            lambda p: client.completions.create(model="cascade", prompt=p.prompt),
            humaneval[30:38]))
    assert all(a.choices[0].text for a in answers)
    assert upstream.requests > sum(len(a.model_extra["codecascade"]["stages"])
                                   for a in answers) * 2  # retries happened
    records = list(read_records(server.prepared.options.records))
    assert len(records) == 8 and all(r.answer is not None for r in records)
    assert any(x.attempts > 1 for r in records for s in r.stages
               for x in (*s.solutions, *s.tests))


@pytest.mark.parametrize(("faults", "defaults", "status", "code", "cause"), [
    (Faults(server_error=1.0), {"max_retries": 1}, 502, "upstream_error", "HTTP 500"),
    (Faults(rate_limit=1.0), {"max_retries": 1}, 502, "upstream_error", "HTTP 429"),
    (Faults(malformed=1.0), {"max_retries": 1}, 502, "upstream_error", "malformed"),
    (Faults(cut_off=1.0), {"max_retries": 1}, 502, "upstream_error", "connection error"),
    (Faults(slow=1.0, slow_s=1.0), {"max_retries": 1, "timeout_s": 0.2}, 504,
     "upstream_timeout", "timeout"),
])
def test_persistent_upstream_faults_end_in_openai_errors(replay, serving, humaneval, faults,
                                                         defaults, status, code, cause):
    server, client = serving(replay(faults).base_url, HashExecutor(),
                             endpoint_defaults=defaults)
    p = humaneval[40]
    styles = (False, True) if status == 504 or "500" in cause else (False,)
    for stream in styles:
        with pytest.raises(openai.APIError) as info:
            if stream:
                list(client.chat.completions.create(
                    model="cascade", stream=True,
                    messages=[{"role": "user", "content": p.prompt}]))
            else:
                client.chat.completions.create(
                    model="cascade", messages=[{"role": "user", "content": p.prompt}])
        error = info.value
        if not stream:
            assert isinstance(error, openai.APIStatusError) and error.status_code == status
        assert error.body["code"] == code and cause in error.body["message"]
        assert error.body["message"].startswith("no stage produced a usable solution")
    # every model was tried, each failure recorded (not as the model's wrong answer): the
    # stages failed, the problem is unfinished
    records = list(read_records(server.prepared.options.records))
    assert len(records) == len(styles)
    for record in records:
        assert record.answer is None and record.correct is None and not record.finished
        assert [s.model for s in record.stages] == list(MODELS)
        assert all(s.decision == "failed" and s.failure for s in record.stages)
    # the server is still up and healthy
    assert raw(server, "GET", "/health")[0] == 200
    _, _, metrics = raw(server, "GET", "/metrics")
    outcome = "upstream_timeout" if status == 504 else "upstream_error"
    assert (f'codecascade_requests_total{{outcome="{outcome}",route="chat"}} '
            f'{float(len(styles))}') in metrics.decode()


def test_an_endpoint_refusing_the_servers_model_name_is_a_502(replay, serving, humaneval):
    # the first stage names a model the upstream does not serve (HTTP 404)
    server, client = serving(replay().base_url, HashExecutor(),
                             endpoint_overrides={MODELS[0]: {"model": "no-such-1B"}})
    with pytest.raises(openai.APIStatusError) as info:
        client.completions.create(model="cascade", prompt=humaneval[41].prompt)
    assert info.value.status_code == 502 and info.value.body["code"] == "upstream_refused"
    assert "no-such-1B" in info.value.body["message"]
    record = next(iter(read_records(server.prepared.options.records)))
    assert record.answer is None and "refused" in record.error
    assert raw(server, "GET", "/health")[0] == 200


def test_the_deadline_gives_a_504_and_a_partial_record(replay, serving, humaneval):
    # every stage escalates and takes >= 1 s: three stages cannot end within 1.5 s
    server, client = serving(replay(Faults(delay_s=1.0)).base_url, Always(False),
                             deadline_s=1.5)
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as info:
        client.completions.create(model="cascade", prompt=humaneval[42].prompt)
    assert time.monotonic() - started < 5
    assert info.value.status_code == 504 and info.value.body["code"] == "deadline_exceeded"
    record = next(iter(read_records(server.prepared.options.records)))
    running = len(record.stages)  # stages that finished before the deadline (1 normally)
    assert f"stage {running} of 3 was running" in info.value.body["message"]
    assert record.answer is None and record.error.startswith("deadline of 1.5 s")
    assert running < 3 and all(s.decision == "escalate" for s in record.stages)


def test_requests_beyond_the_limit_get_429_and_the_rest_are_answered(replay, serving,
                                                                     humaneval):
    upstream = replay(Faults(delay_s=1.5))
    server, client = serving(upstream.base_url, HashExecutor(pass_rate=1.0),
                             max_concurrency=2)
    results: dict[str, object] = {}

    def ask(p):
        try:
            results[p.task_id] = client.completions.create(model="cascade", prompt=p.prompt)
        except openai.APIStatusError as exc:
            results[p.task_id] = exc

    first = [threading.Thread(target=ask, args=(p,)) for p in humaneval[50:52]]
    for t in first:
        t.start()
    wait_for(lambda: server.prepared.service.in_flight == 2, what="two requests in flight")
    extra = humaneval[52:58]
    with ThreadPoolExecutor(len(extra)) as pool:
        list(pool.map(ask, extra))
    for t in first:
        t.join(20)
    for p in humaneval[50:52]:
        assert results[p.task_id].choices[0].text  # the admitted ones are answered
    for p in extra:
        error = results[p.task_id]
        assert isinstance(error, openai.RateLimitError), p.task_id
        assert error.body["code"] == "server_busy" and error.body["type"] == "rate_limit_error"
        assert int(error.response.headers["retry-after"]) >= 1
    # capacity is back: a new request is answered
    assert client.completions.create(model="cascade", prompt=humaneval[58].prompt).choices
    _, _, metrics = raw(server, "GET", "/metrics")
    assert 'codecascade_requests_total{outcome="rejected",route="completions"} 6.0' in \
        metrics.decode()
    assert len(list(read_records(server.prepared.options.records))) == 3


@pytest.mark.parametrize("stream", [False, True])
def test_a_disconnecting_client_cancels_the_remaining_stages(replay, serving, humaneval,
                                                             stream):
    upstream = replay(Faults(delay_s=0.5))
    server, client = serving(upstream.base_url, Always(False), keepalive_s=0.1,
                             client_timeout=0.8)
    p = humaneval[60]
    if stream:
        # keep-alive comments arrive every 0.1 s: the client reads for 0.8 s, then hangs up
        url = urllib.parse.urlsplit(server.base_url)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
        body = {"model": "cascade", "stream": True,
                "messages": [{"role": "user", "content": p.prompt}]}
        conn.request("POST", "/v1/chat/completions", body=json.dumps(body),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 200
        started, received = time.monotonic(), b""
        while time.monotonic() - started < 0.8:
            received += response.read1(64)
        assert received.startswith(b": keep-alive")
        conn.close()
    else:
        with pytest.raises(openai.APITimeoutError):
            client.chat.completions.create(model="cascade",
                                           messages=[{"role": "user", "content": p.prompt}])
    records = server.prepared.options.records
    record = wait_for(lambda: records.exists() and next(iter(read_records(records)), None),
                      what="the cancelled request's record")
    # cancelled during stage 1 (or, on a very slow machine, stage 0): never answered
    assert record.answer is None and "disconnected" in record.error
    assert [s.decision for s in record.stages] in (["escalate"], [])
    time.sleep(0.6)  # would be long enough for the last stage to be asked
    asked = {r.model for r in upstream.served}
    assert "34B" not in asked and "7B" in asked
    assert wait_for(lambda: server.prepared.service.in_flight == 0, what="slot released")
    health = json.loads(raw(server, "GET", "/health")[2])
    assert health["in_flight"] == 0 and health["records_written"] == 1


def _unused_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


def test_later_stages_down_degrade_to_the_first_stages_answer(replay, serving, humaneval):
    """13B and 34B down: the 7B stage's chosen solution answers, said to be degraded."""
    down = {"base_url": _unused_url()}
    server, client = serving(replay().base_url, Always(False),
                             endpoint_defaults={"max_retries": 0},
                             endpoint_overrides={MODELS[1]: down, MODELS[2]: down})
    response = client.completions.with_raw_response.create(model="cascade",
                                                           prompt=humaneval[43].prompt)
    answer = response.parse()
    assert answer.choices[0].text
    assert response.headers["X-Codecascade-Degraded"] == "true"
    assert response.headers["X-Codecascade-Decisions"] == "escalate,failed,failed"
    extension = answer.model_extra["codecascade"]
    assert extension["degraded"] and extension["answered_by"]["model"] == MODELS[0]
    assert extension["failure"].startswith(f"{MODELS[1]}: connection error")
    record = next(iter(read_records(server.prepared.options.records)))
    assert record.degraded and not record.finished and record.answer.stage == 0


def test_an_endpoint_that_keeps_failing_gets_its_circuit_opened(replay, serving, humaneval):
    """Every request to the only stage fails with 500 (after 3 retries: 4 attempts): its
    third failure opens the circuit breaker, and the next cascade is refused at once with
    503 and Retry-After."""
    from planner.options import CascadePlan, Stage, StageOption

    upstream = replay(Faults(server_error=1.0))
    plan = CascadePlan((Stage(MODELS[0], StageOption(k=0)),))  # one request per cascade
    server, client = serving(upstream.base_url, HashExecutor(), plan=plan,
                             endpoint_defaults={"max_retries": 3})
    statuses = []
    for p in humaneval[44:48]:
        with pytest.raises(openai.APIStatusError) as info:
            client.completions.create(model="cascade", prompt=p.prompt)
        statuses.append((info.value.status_code, info.value.body["code"]))
    assert statuses == [(502, "upstream_error")] * 3 + [(503, "upstream_unavailable")]
    assert info.value.response.headers["Retry-After"] == "30"
    assert "is failing: its last 3 requests failed the same way: HTTP 500" in \
        info.value.body["message"]
    assert upstream.requests == 3 * 4  # the fourth cascade was not sent upstream
    assert raw(server, "GET", "/health")[0] == 200
