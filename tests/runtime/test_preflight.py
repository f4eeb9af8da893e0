"""Infrastructure failures are not model failures: the pre-flight check, the circuit
breaker, typed failures and the ``n > 1`` fallback, against loopback servers that misbehave
as real ones do (all on 127.0.0.1, every wait bounded)."""

from __future__ import annotations

import asyncio

import pytest

from planner.runtime.breaker import CircuitBreaker
from planner.runtime.client import EndpointClient
from planner.runtime.endpoints import parse_endpoints
from planner.runtime.failures import (
    EndpointDown,
    Failure,
    FailureKind,
    refuses_n,
)
from planner.runtime.preflight import NSupport, PreflightError, preflight
from planner.runtime.prompts import solution_prompt

from .misbehaving import Misbehaving, unused_port


def endpoints(base_url, names=("m",), **extra):
    table = {"base_url": base_url, "backoff_s": 0.01, "backoff_max_s": 0.02,
             "timeout_s": 2.0, **extra}
    return parse_endpoints({"defaults": table,
                            "models": {n: {"model": extra.get("model", n)} for n in names}})


def fails(eps, models=("m",), probe_n=()):
    with pytest.raises(PreflightError) as info:
        preflight(eps, models, probe_n)
    message = str(info.value)
    assert "\n" not in message and message.startswith("pre-flight check failed: endpoint 'm'")
    return message


# ---- the pre-flight check, one misbehaviour at a time --------------------------------

def test_a_healthy_endpoint_passes_and_its_n_support_is_known():
    with Misbehaving("ok") as server:
        checks = preflight(endpoints(server.base_url), ["m"], probe_n=["m"])
        assert checks["m"].listed is True and checks["m"].n_support is NSupport.HONOURED
        assert server.hits["/models"] == 1 and server.hits["/chat/completions"] == 1


def test_an_unused_port():
    message = fails(endpoints(f"http://127.0.0.1:{unused_port()}/v1"))
    assert "cannot be reached (GET /models): connection error" in message


def test_a_server_answering_500_to_everything():
    with Misbehaving("http500") as server:
        message = fails(endpoints(server.base_url, max_retries=6))
    # /models failing with 500 is not held against it; the 1-token request decides, with
    # three retries (not the endpoint's six: a dead server must not cost minutes)
    assert "failed a 1-token request after 4 attempt(s): HTTP 500 Internal Server Error" \
        in message


def test_a_server_that_hangs():
    with Misbehaving("hang") as server:
        message = fails(endpoints(server.base_url, timeout_s=0.3))
    assert "cannot be reached (GET /models): timeout after 0.3 s" in message


def test_a_server_answering_html():
    with Misbehaving("not_json") as server:
        message = fails(endpoints(server.base_url, max_retries=0))
    assert "failed a 1-token request" in message
    # the page is named for what it is (it was "malformed response: no choices")
    assert "malformed response: not JSON ('<html><body>It works!</body></html>')" in message


def test_a_proxy_that_does_not_serve_the_model():
    with Misbehaving("proxy", models=("gpt-4o", "claude-3")) as server:
        eps = endpoints(server.base_url, model="gpt-4-typo", api_key_env="CC_TEST_KEY")
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("CC_TEST_KEY", "sk-right")
            message = fails(eps)
    assert ("the server does not list model 'gpt-4-typo' (it lists: gpt-4o, claude-3); "
            "check `model` in the endpoints file") in message


def test_a_proxy_refusing_the_key():
    with Misbehaving("proxy") as server:
        eps = endpoints(server.base_url, api_key_env="CC_TEST_KEY")
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("CC_TEST_KEY", "sk-wrong")
            message = fails(eps)
    assert "refused the key (GET /models): HTTP 401 Authentication Error" in message
    assert "check CC_TEST_KEY" in message


def test_a_proxy_answering_the_completion_with_400():
    """LiteLLM answers a model it cannot route with 400; a server may also list the model
    and still refuse every completion: the 1-token request finds it, without retrying."""
    with Misbehaving("refuse", refusal="litellm.BadRequestError: model not mapped") as server:
        message = fails(endpoints(server.base_url))
        assert server.hits["/chat/completions"] == 1
    assert "failed a 1-token request after 1 attempt(s): HTTP 400 litellm.BadRequestError" \
        in message


def test_every_failing_endpoint_is_named_in_one_line():
    with Misbehaving("ok") as good:
        eps = parse_endpoints({"defaults": {"timeout_s": 2.0}, "models": {
            "a": {"base_url": good.base_url, "model": "m"},
            "b": {"base_url": f"http://127.0.0.1:{unused_port()}/v1", "model": "m"},
            "c": {"base_url": good.base_url, "model": "nope"}}})
        with pytest.raises(PreflightError) as info:
            preflight(eps, ["a", "b", "c"])
    message = str(info.value)
    assert "endpoint 'b'" in message and "endpoint 'c'" in message
    assert "endpoint 'a'" not in message


# ---- n > 1 --------------------------------------------------------------------------

@pytest.mark.parametrize("status", [400, 500])
def test_preflight_finds_a_server_refusing_n(replay_server, status):
    server = replay_server()
    server.refuse_n_status = status
    eps = endpoints(server.base_url, names=("WizardCoder-Python-7B",), max_retries=6)
    checks = preflight(eps, ["WizardCoder-Python-7B"], probe_n=["WizardCoder-Python-7B"])
    assert checks["WizardCoder-Python-7B"].n_support is NSupport.REFUSED


def test_preflight_finds_a_server_ignoring_n(replay_server):
    server = replay_server()
    server.honour_n = False
    eps = endpoints(server.base_url, names=("WizardCoder-Python-7B",))
    checks = preflight(eps, ["WizardCoder-Python-7B"], probe_n=["WizardCoder-Python-7B"])
    assert checks["WizardCoder-Python-7B"].n_support is NSupport.IGNORED


@pytest.mark.parametrize("status", [400, 500])
def test_a_server_refusing_n_gets_one_request_per_sample_from_then_on(replay_server,
                                                                      wizard_data, status):
    """The llama.cpp server answers n > 1 with 400 (500 in some versions) "Only one
    completion choice is allowed": the samples still come, one request each, and the
    client remembers; a 500 saying so is not retried with backoff."""
    server = replay_server()
    server.refuse_n_status = status
    ep = endpoints(server.base_url, names=("WizardCoder-Python-13B",), max_retries=6,
                   logprobs=True)["WizardCoder-Python-13B"]

    async def go():
        client = EndpointClient(ep, seed=0)
        try:
            prompt = solution_prompt(ep, wizard_data.prompts[0], "has_close_elements")
            first = await client.generate(prompt, 3, greedy=False, max_tokens=64)
            after_first = client.requests
            second = await client.generate(prompt, 2, greedy=False, max_tokens=64)
            return first, after_first, second, client
        finally:
            await client.close()

    first, after_first, second, client = asyncio.run(go())
    assert [g.error for g in first + second] == [None] * 5
    assert after_first == 1 + 3  # the refused n request, then three single ones
    assert client.requests == after_first + 2 and client.retries == 0
    assert not client.uses_n and "Only one completion choice is allowed" in client.n_note
    assert sorted(g.completion_tokens for g in first + second) == sorted(
        r.tokens for r in wizard_data.solutions["13B"][0][:5])


def test_the_refusal_words_are_recognised():
    def refused(message, status=400):
        return refuses_n(Failure(FailureKind.REFUSED, message, status))

    assert refused("HTTP 400 Only one completion choice is allowed")
    assert refused("HTTP 500 Illegal param: only one completion choice is allowed", 500)
    assert refused("HTTP 400 'n' must be 1 for this model")
    assert not refused("HTTP 400 This model's maximum context length is 2048 tokens")
    assert not refused("HTTP 400 Invalid model name passed in model=nope")


# ---- the circuit breaker -------------------------------------------------------------

def breaker_endpoint():
    return endpoints("http://127.0.0.1:1/v1")["m"]


def test_the_breaker_opens_after_the_same_failure_three_times_in_a_row():
    breaker = CircuitBreaker(breaker_endpoint(), threshold=3)
    http500 = Failure(FailureKind.SERVER_ERROR, "HTTP 500 boom", 500)
    breaker.failure(http500)
    breaker.failure(Failure(FailureKind.TIMEOUT, "timeout after 1 s"))
    breaker.failure(http500)
    breaker.success()  # an answer in between resets the count
    breaker.failure(http500)
    breaker.failure(http500)
    for _ in range(5):  # a refusal is about one request: it neither counts nor resets
        breaker.failure(Failure(FailureKind.REFUSED, "HTTP 400 prompt too long", 400))
    assert not breaker.open
    with pytest.raises(EndpointDown) as info:
        breaker.failure(http500)
    assert str(info.value) == ("endpoint 'm' (http://127.0.0.1:1/v1, model 'm') is failing: "
                               "its last 3 requests failed the same way: HTTP 500 boom")
    assert breaker.open
    with pytest.raises(EndpointDown):
        breaker.check()


def test_an_open_breaker_lets_one_trial_through_after_its_cooldown():
    now = [0.0]
    breaker = CircuitBreaker(breaker_endpoint(), threshold=2, cooldown_s=10,
                             clock=lambda: now[0])
    down = Failure(FailureKind.CONNECTION, "connection error")
    breaker.failure(down)
    with pytest.raises(EndpointDown):
        breaker.failure(down)
    now[0] = 9.0
    with pytest.raises(EndpointDown):
        breaker.check()
    now[0] = 10.0
    breaker.check()  # the trial
    with pytest.raises(EndpointDown):
        breaker.check()  # the others wait for it
    with pytest.raises(EndpointDown):
        breaker.failure(down)  # the trial failed: open again
    now[0] = 20.0
    breaker.check()
    breaker.success()
    breaker.check()
    assert not breaker.open


def test_a_client_stops_asking_an_endpoint_that_keeps_failing():
    with Misbehaving("http500") as server:
        ep = endpoints(server.base_url, max_retries=3)["m"]

        async def go():
            client = EndpointClient(ep, seed=0)
            try:
                def prompt(name):
                    return solution_prompt(ep, f"def {name}():\n", name)

                # the n=2 request and the single one that checks n: one prompt, one count
                gens = await client.generate(prompt("f"), 2, greedy=True, max_tokens=4)
                await client.generate(prompt("g"), 1, greedy=True, max_tokens=4)
                with pytest.raises(EndpointDown, match="its last 3 requests failed the same"):
                    await client.generate(prompt("h"), 1, greedy=True, max_tokens=4)
                with pytest.raises(EndpointDown):  # open: not even sent
                    await client.generate(prompt("i"), 1, greedy=True, max_tokens=4)
                return gens
            finally:
                await client.close()

        gens = asyncio.run(go())
        # the n=2 request, the single request that checks whether n was the cause, and
        # two more prompts: four requests, each after three retries
        assert server.hits["/chat/completions"] == 4 * 4
    assert all(g.failure is FailureKind.SERVER_ERROR and g.error.startswith("HTTP 500")
               for g in gens)


def test_the_records_schema_knows_every_failure_kind():
    from planner.records import record_schema

    kinds = record_schema("codecascade-record/1")["$defs"]["failure_kind"]["enum"]
    assert kinds == [None, *(str(k) for k in FailureKind)]


def test_a_refused_half_open_trial_lets_the_next_request_be_the_trial():
    now = [0.0]
    breaker = CircuitBreaker(breaker_endpoint(), threshold=1, cooldown_s=10,
                             clock=lambda: now[0])
    with pytest.raises(EndpointDown):
        breaker.failure(Failure(FailureKind.CONNECTION, "connection error"))
    now[0] = 10.0
    breaker.check()  # the trial ...
    breaker.failure(Failure(FailureKind.REFUSED, "HTTP 400 prompt too long", 400))
    breaker.check()  # ... was refused: the next request is the trial, not refused forever
    with pytest.raises(EndpointDown):
        breaker.check()
    breaker.success()
    assert not breaker.open


def test_the_default_threshold_counts_attempts_so_a_flaky_endpoint_without_retries_stays_up():
    assert CircuitBreaker(endpoints("http://127.0.0.1:1/v1")["m"]).threshold == 3  # 6 retries
    assert CircuitBreaker(endpoints("http://127.0.0.1:1/v1",
                                    max_retries=1)["m"]).threshold == 6
    without_retries = CircuitBreaker(endpoints("http://127.0.0.1:1/v1", max_retries=0)["m"])
    assert without_retries.threshold == 12
    http500 = Failure(FailureKind.SERVER_ERROR, "HTTP 500 boom", 500)
    for _ in range(11):
        without_retries.failure(http500)
    with pytest.raises(EndpointDown):
        without_retries.failure(http500)


def test_one_prompts_failures_count_once():
    breaker = CircuitBreaker(breaker_endpoint(), threshold=3)
    malformed = Failure(FailureKind.BAD_RESPONSE, "malformed response: no choices")
    for _ in range(10):  # one problem's ten parallel samples, all answered badly
        breaker.failure(malformed, key="HumanEval/3")
    breaker.failure(malformed, key="HumanEval/4")
    assert not breaker.open
    with pytest.raises(EndpointDown):
        breaker.failure(malformed, key="HumanEval/5")
