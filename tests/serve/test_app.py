"""``codecascade serve`` with the real ``openai`` client in front of the loopback replay
server: chat and completion styles, streamed and not, the extension object and headers,
models/health/metrics, bad requests in OpenAI's error shape, the fallback, bearer auth,
and answers from the real sandbox."""

from __future__ import annotations

import http.client
import json
import urllib.parse

import openai
import pytest

from planner.records import read_records
from planner.serve.continuation import continuation

from .conftest import MODELS, PRICES, Always, HashExecutor


def records_of(server) -> dict:
    return {r.task_id: r for r in read_records(server.prepared.options.records)}


def raw(server, method: str, path: str, body: bytes | None = None,
        headers: dict | None = None, timeout: float = 30.0):
    """One HTTP request with the standard library: (status, headers, body bytes)."""
    url = urllib.parse.urlsplit(server.base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json",
                                                       **(headers or {})})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_chat_and_completion_answers(replay, serving, humaneval):
    server, client = serving(replay().base_url, HashExecutor())
    p0, p2 = humaneval[0], humaneval[2]
    chat = client.chat.completions.with_raw_response.create(
        model="cascade", extra_headers={"X-Codecascade-Task-Id": p0.task_id},
        messages=[{"role": "system", "content": "You are a careful programmer."},
                  {"role": "user", "content": f"Complete:\n```python\n{p0.prompt}```"}])
    completion = client.completions.with_raw_response.create(
        model="cascade", prompt=p2.prompt,
        extra_headers={"X-Codecascade-Task-Id": p2.task_id})
    records = records_of(server)
    assert sorted(records) == sorted([p0.task_id, p2.task_id])
    for raw_response, problem in ((chat, p0), (completion, p2)):
        response = raw_response.parse()
        record = records[problem.task_id]
        assert record.entry_point == problem.entry_point and record.correct is None
        assert response.model == "cascade" and len(response.choices) == 1
        if problem is p0:
            assert response.object == "chat.completion"
            assert response.choices[0].message.role == "assistant"
            assert response.choices[0].message.content == (
                f"```python\n{record.answer.text.rstrip()}\n```")
        else:
            assert response.object == "text_completion"
            assert record.prompt == problem.prompt
            assert response.choices[0].text == continuation(problem.prompt, record.answer.text,
                                                            problem.entry_point)
        assert response.choices[0].finish_reason == "stop"
        # usage sums every request of every stage tried
        gens = [x for s in record.stages for x in (*s.solutions, *s.tests)]
        assert response.usage.prompt_tokens == sum(x.prompt_tokens for x in gens) > 0
        assert response.usage.completion_tokens == sum(x.completion_tokens for x in gens) > 0
        assert response.usage.total_tokens == (response.usage.prompt_tokens
                                               + response.usage.completion_tokens)
        ext = response.model_extra["codecascade"]
        assert [s["decision"] for s in ext["stages"]] == [s.decision for s in record.stages]
        assert [s["score"] for s in ext["stages"]] == [s.score for s in record.stages]
        assert [s["model"] for s in ext["stages"]] == [s.model for s in record.stages]
        assert ext["answered_by"] == {"stage": record.answer.stage,
                                      "model": record.answer.model}
        assert ext["cost"] == pytest.approx(record.cost) and ext["cost"] > 0
        assert ext["task_id"] == problem.task_id
        headers = raw_response.headers
        assert headers["x-codecascade-stage"] == str(record.answer.stage)
        assert headers["x-codecascade-model"] == record.answer.model
        assert float(headers["x-codecascade-cost"]) == pytest.approx(record.cost)
        assert headers["x-codecascade-decisions"].split(",") == [
            s.decision for s in record.stages]
        assert headers["x-request-id"].startswith(
            "chatcmpl-" if problem is p0 else "cmpl-")


def test_streamed_chat_and_completion(replay, serving, humaneval):
    server, client = serving(replay().base_url, HashExecutor())
    p3, p4 = humaneval[3], humaneval[4]
    chunks = list(client.chat.completions.create(
        model="cascade", stream=True, stream_options={"include_usage": True},
        extra_headers={"X-Codecascade-Task-Id": p3.task_id},
        messages=[{"role": "user", "content": p3.prompt}]))
    pieces = list(client.completions.create(
        model="cascade", prompt=p4.prompt, stream=True,
        extra_headers={"X-Codecascade-Task-Id": p4.task_id}))
    records = records_of(server)
    chat_record, completion_record = records[p3.task_id], records[p4.task_id]
    assert chunks[0].object == "chat.completion.chunk"
    assert chunks[0].choices[0].delta.role == "assistant"
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == f"```python\n{chat_record.answer.text.rstrip()}\n```"
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finals) == 1 and finals[0].choices[0].finish_reason == "stop"
    assert finals[0].model_extra["codecascade"]["answered_by"]["stage"] == \
        chat_record.answer.stage
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    assert len({c.id for c in chunks}) == 1
    text = "".join(c.choices[0].text for c in pieces)
    assert text == continuation(p4.prompt, completion_record.answer.text, p4.entry_point)
    assert pieces[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in pieces)


def test_keepalive_comments_while_the_stages_run(replay, serving, humaneval):
    from planner.runtime.replay_server import Faults

    server, _ = serving(replay(Faults(delay_s=0.3)).base_url, Always(False),
                        keepalive_s=0.05)
    body = json.dumps({"model": "cascade", "stream": True,
                       "messages": [{"role": "user", "content": humaneval[5].prompt}]})
    status, headers, data = raw(server, "POST", "/v1/chat/completions", body.encode())
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    text = data.decode()
    assert text.startswith(": keep-alive\n\n")
    assert text.count(": keep-alive") >= 5  # three stages of >= 0.3 s each
    assert text.endswith("data: [DONE]\n\n")
    events = [json.loads(line[6:]) for line in text.splitlines()
              if line.startswith("data: {")]
    assert [s["decision"] for s in events[-1]["codecascade"]["stages"]] == [
        "escalate", "escalate", "answer"]


def test_models_health_and_metrics(replay, serving, humaneval):
    server, client = serving(replay().base_url, HashExecutor(), max_concurrency=3)
    assert [m.id for m in client.models.list().data] == ["cascade"]
    assert client.models.retrieve("cascade").owned_by == "codecascade"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4")
    client.completions.create(model="cascade", prompt=humaneval[7].prompt)
    status, _, body = raw(server, "GET", "/health")
    health = json.loads(body)
    assert status == 200 and health["status"] == "ok" and health["model"] == "cascade"
    assert health["stages"] == list(MODELS) and health["records_written"] == 1
    assert health["max_concurrency"] == 3 and health["sandbox_level"] == "stand-in"
    assert [d["stage"] for d in health["drift"]] == [0, 1]
    status, headers, body = raw(server, "GET", "/metrics")
    text = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert 'codecascade_requests_total{outcome="answered",route="completions"} 1.0' in text
    assert 'codecascade_stage_reached_total{model="WizardCoder-Python-7B",stage="0"} 1.0' \
        in text
    for name in ("codecascade_cost_dollars_total", "codecascade_generation_seconds_bucket",
                 "codecascade_sandbox_seconds_bucket", "codecascade_overhead_seconds_count",
                 "codecascade_stage_escalation_rate", "codecascade_requests_in_flight 0.0",
                 "codecascade_stage_acceptance_predicted", "codecascade_max_concurrency 3.0",
                 "codecascade_tokens_total"):
        assert name in text, name
    status, _, body = raw(server, "GET", "/nowhere")
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found"


BAD_CHAT = [
    ({"messages": []}, "messages", None),
    ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role", None),
    ({"messages": [{"role": "assistant", "content": "hi"}]}, "messages", None),
    ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
     "messages[0].content[0]", None),
    ({"model": "gpt-4o"}, "model", "model_not_found"),
    ({"n": 2}, "n", None),
    ({"n": 0}, "n", None),
    ({"logprobs": True}, "logprobs", None),
    ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools", None),
    ({"temperature": 7}, "temperature", None),
    ({"max_tokens": 0}, "max_tokens", None),
    ({"response_format": {"type": "json_object"}}, "response_format", None),
]


def test_bad_chat_requests_get_a_400_in_openai_shape(replay, serving):
    server, client = serving(replay().base_url, HashExecutor())
    for kwargs, param, code in BAD_CHAT:
        request = {"model": "cascade",
                   "messages": [{"role": "user", "content": "def f(x):\n"}]}
        request.update(kwargs)
        with pytest.raises(openai.BadRequestError) as info:
            client.chat.completions.create(**request)
        assert info.value.status_code == 400
        body = info.value.body
        assert body["type"] == "invalid_request_error" and body["message"], kwargs
        assert (body["param"], body["code"]) == (param, code), kwargs
    assert not server.prepared.options.records.exists() or not records_of(server)
    _, _, metrics = raw(server, "GET", "/metrics")
    assert (f'codecascade_requests_total{{outcome="bad_request",route="chat"}} '
            f'{float(len(BAD_CHAT))}') in metrics.decode()


def test_bad_bodies_and_prompts(replay, serving):
    server, client = serving(replay().base_url, HashExecutor(), fallback="reject")
    for body, param in ((b"{not json", None), (b"[1, 2]", None),
                        (b'{"model": "cascade"}', "messages"),
                        (b'{"model": "cascade", "messages": "hi"}', "messages"),
                        (b'{"model": "cascade", "stream": "yes", "messages": '
                         b'[{"role": "user", "content": "x"}]}', "stream")):
        status, _, data = raw(server, "POST", "/v1/chat/completions", body)
        error = json.loads(data)["error"]
        assert status == 400 and error["param"] == param, body
        assert error["type"] == "invalid_request_error"
    for prompt, param in ((["a", "b"], "prompt"), ([[1, 2, 3]], "prompt"), ("  ", "prompt")):
        with pytest.raises(openai.BadRequestError) as info:
            client.completions.create(model="cascade", prompt=prompt)
        assert info.value.body["param"] == param
    # no function in the request and --fallback reject: a 400 that says so
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="cascade", messages=[{"role": "user", "content": "What is a closure?"}])
    assert info.value.body["code"] == "no_function"
    with pytest.raises(openai.BadRequestError) as info:
        client.completions.create(model="cascade", prompt="# a file with no function\n")
    assert info.value.body["code"] == "no_function" and info.value.body["param"] == "prompt"
    _, _, metrics = raw(server, "GET", "/metrics")
    assert 'codecascade_fallback_total{reason="rejected"} 2.0' in metrics.decode()


def test_requests_without_a_function_go_to_the_fallback_model(replay, serving):
    from planner.runtime.replay_server import ReplayServer

    class AnswersAnything(ReplayServer):
        """The replay server, also answering prompts that are no HumanEval problem."""

        def plain_reply(self, body, chat, n):
            text = "A closure keeps the variables of the scope it was made in."
            choice = ({"index": 0, "message": {"role": "assistant", "content": text},
                       "finish_reason": "stop"} if chat else
                      {"index": 0, "text": text, "finish_reason": "stop"})
            self.fallback_bodies = [*getattr(self, "fallback_bodies", []), body]
            return json.dumps({"id": "x", "object": "chat.completion", "created": 0,
                               "model": body["model"], "choices": [choice],
                               "usage": {"prompt_tokens": 12, "completion_tokens": 11,
                                         "total_tokens": 23}}).encode()

    upstream = replay(cls=AnswersAnything)
    server, client = serving(upstream.base_url, HashExecutor())
    response = client.chat.completions.with_raw_response.create(
        model="cascade", temperature=0, max_tokens=50,
        messages=[{"role": "developer", "content": "Be brief."},
                  {"role": "user", "content": "What is a closure?"}])
    parsed = response.parse()
    assert parsed.choices[0].message.content.startswith("A closure keeps")
    assert (parsed.usage.prompt_tokens, parsed.usage.completion_tokens) == (12, 11)
    ext = parsed.model_extra["codecascade"]
    assert ext["fallback"] == {"reason": "no_function", "model": MODELS[-1]}
    assert ext["stages"] == [] and ext["cost"] == pytest.approx(11 * PRICES[MODELS[-1]] / 1e6)
    assert response.headers["x-codecascade-fallback"] == "no_function"
    sent = upstream.fallback_bodies[-1]
    assert sent["model"] == MODELS[-1] and sent["temperature"] == 0
    assert sent["max_tokens"] == 50
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    streamed = list(client.completions.create(model="cascade", prompt="Once upon a time",
                                              stream=True))
    assert "".join(c.choices[0].text for c in streamed).startswith("A closure")
    _, _, metrics = raw(server, "GET", "/metrics")
    assert 'codecascade_fallback_total{reason="no_function"} 2.0' in metrics.decode()
    assert 'codecascade_requests_total{outcome="fallback",route="chat"} 1.0' in \
        metrics.decode()
    assert not server.prepared.options.records.exists() or not records_of(server)


def test_bearer_token_auth(replay, serving, humaneval, monkeypatch):
    monkeypatch.setenv("CASCADE_TOKEN", "s3cret-token")
    server, client = serving(replay().base_url, HashExecutor(), api_key_env="CASCADE_TOKEN")
    for key in ("unused", "s3cret-token-but-longer"):
        with pytest.raises(openai.AuthenticationError) as info:
            client.with_options(api_key=key).models.list()
        assert info.value.body["code"] == "invalid_api_key"
    status, headers, body = raw(server, "POST", "/v1/completions",
                                json.dumps({"model": "cascade", "prompt": "x"}).encode())
    assert status == 401 and headers["www-authenticate"] == "Bearer"
    assert "missing bearer token" in json.loads(body)["error"]["message"]
    good = client.with_options(api_key="s3cret-token")
    assert [m.id for m in good.models.list().data] == ["cascade"]
    answer = good.completions.create(model="cascade", prompt=humaneval[8].prompt)
    assert answer.choices[0].text
    assert raw(server, "GET", "/health")[0] == 200
    assert raw(server, "GET", "/metrics")[0] == 200


@pytest.mark.slow
def test_real_sandbox_answers_keep_their_ground_truth(replay, serving, humaneval):
    """With the real sandbox: each served completion, appended to its prompt, passes the
    HumanEval check exactly when the cascade's chosen program does; chat answers are the
    chosen programs."""
    from planner.sandbox import BatchJob, GridConfig, Limits, SandboxExecutor, run_batches
    from planner.serve.execution import BoundedExecutor

    executor = BoundedExecutor(SandboxExecutor(GridConfig(test_timeout=2.0), workers=1), 2)
    server, client = serving(replay().base_url, executor)
    problems = humaneval[10:14]
    texts = {}
    for i, p in enumerate(problems):
        headers = {"X-Codecascade-Task-Id": p.task_id}
        if i % 2:
            r = client.chat.completions.create(
                model="cascade", messages=[{"role": "user", "content": p.prompt}],
                extra_headers=headers)
            texts[p.task_id] = r.choices[0].message.content
        else:
            r = client.completions.create(model="cascade", prompt=p.prompt,
                                          extra_headers=headers)
            texts[p.task_id] = p.prompt + r.choices[0].text
    records = records_of(server)
    jobs = []
    for i, p in enumerate(problems):
        record = records[p.task_id]
        assert record.stages[0].sandbox_level == "A"
        if i % 2:
            assert texts[p.task_id] == f"```python\n{record.answer.text.rstrip()}\n```"
        jobs.append(BatchJob(solutions=(record.answer.text, texts[p.task_id]),
                             tests=(p.ground_truth_test,), preamble=p.preamble,
                             limits=Limits(test_timeout=5.0)))
    for index, result in run_batches(jobs):
        if index % 2 == 0:
            assert result.passed[0, 0] == result.passed[1, 0], problems[index].task_id
