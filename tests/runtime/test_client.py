"""The generation client against the loopback replay server: n-sampling, token accounting,
retries on faults, and failures that become recorded errors instead of exceptions."""

from __future__ import annotations

import asyncio
import socket

import pytest

from planner.runtime.client import EndpointClient
from planner.runtime.endpoints import EndpointError, parse_endpoints
from planner.runtime.prompts import solution_prompt, test_prompt
from planner.runtime.replay_server import Faults


def endpoint(base_url, **extra):
    table = {"base_url": base_url, "model": "WizardCoder-Python-13B", "backoff_s": 0.0,
             "backoff_max_s": 0.0, **extra}
    return parse_endpoints({"models": {"m": table}})["m"]


def generate(ep, problem_prompt, n, *, greedy=False, tests=False, entry="has_close_elements"):
    async def go():
        client = EndpointClient(ep, seed=0)
        try:
            prompt = (test_prompt(ep, problem_prompt, entry, 4) if tests
                      else solution_prompt(ep, problem_prompt, entry))
            gens = await client.generate(prompt, n, greedy=greedy, max_tokens=64)
            return gens, client
        finally:
            await client.close()
    return asyncio.run(go())


def test_n_samples_in_one_request_with_exact_tokens(replay_server, wizard_data):
    server = replay_server()
    ep = endpoint(server.base_url, logprobs=True)
    gens, client = generate(ep, wizard_data.prompts[0], 3)
    assert client.requests == 1 and len(gens) == 3
    recorded = wizard_data.solutions["13B"][0][:3]
    assert [g.completion_tokens for g in gens] == [r.tokens for r in recorded]
    assert not any(g.tokens_estimated for g in gens)
    assert gens[0].prompt_tokens > 0 and gens[1].prompt_tokens == gens[2].prompt_tokens == 0
    assert recorded[0].text.strip() in gens[0].text
    assert server.served[0].indices == (0, 1, 2) and not server.served[0].greedy


def test_without_n_support_each_sample_is_its_own_request(replay_server, wizard_data):
    server = replay_server()
    ep = endpoint(server.base_url, supports_n=False, style="instruction")
    gens, client = generate(ep, wizard_data.prompts[1], 3, entry="separate_paren_groups")
    assert client.requests == 3 and len(gens) == 3
    assert sorted(g.completion_tokens for g in gens) == sorted(
        r.tokens for r in wizard_data.solutions["13B"][1][:3])
    assert all(g.prompt_tokens > 0 and not g.tokens_estimated for g in gens)


def test_a_server_ignoring_n_gets_the_rest_one_by_one(replay_server, wizard_data):
    server = replay_server()
    server.honour_n = False
    ep = endpoint(server.base_url, logprobs=True)

    async def go():
        client = EndpointClient(ep, seed=0)
        try:
            prompt = solution_prompt(ep, wizard_data.prompts[0], "has_close_elements")
            first = await client.generate(prompt, 3, greedy=False, max_tokens=64)
            requests_first = client.requests
            second = await client.generate(prompt, 2, greedy=False, max_tokens=64)
            return first, requests_first, second, client.requests
        finally:
            await client.close()

    first, requests_first, second, requests = asyncio.run(go())
    assert len(first) == 3 and all(g.error is None for g in first) and requests_first == 3
    assert len(second) == 2 and requests == 5  # no more n requests after the first miss
    assert sorted(g.completion_tokens for g in first + second) == sorted(
        r.tokens for r in wizard_data.solutions["13B"][0][:5])


def test_total_only_usage_is_apportioned_and_flagged(replay_server, wizard_data):
    server = replay_server()
    gens, _ = generate(endpoint(server.base_url), wizard_data.prompts[2], 4)
    assert sum(g.completion_tokens for g in gens) == sum(
        r.tokens for r in wizard_data.solutions["13B"][2][:4])
    assert all(g.tokens_estimated for g in gens)


def test_greedy_tests_request(replay_server, wizard_data):
    server = replay_server()
    gens, _ = generate(endpoint(server.base_url, logprobs=True), wizard_data.prompts[0], 1,
                       greedy=True, tests=True)
    assert gens[0].text == wizard_data.greedy_test["13B"][0].text
    assert server.served[0].kind == "tests" and server.served[0].greedy


def test_faults_are_retried_until_the_answer_arrives(replay_server, wizard_data):
    faults = Faults(rate_limit=0.2, server_error=0.2, malformed=0.2, cut_off=0.2, seed=3)
    server = replay_server(faults)
    ep = endpoint(server.base_url, max_retries=30, logprobs=True)
    attempts = retries = 0
    for number in range(4):
        gens, client = generate(ep, wizard_data.prompts[number], 2)
        assert all(g.error is None for g in gens)
        assert all(g.completion_tokens > 0 for g in gens)
        attempts += client.requests
        retries += client.retries
    assert retries > 0 and attempts == 4 + retries == server.requests


def test_a_persistently_malformed_answer_is_a_recorded_error(replay_server, wizard_data):
    task = wizard_data.task_ids[0]
    server = replay_server(Faults(always_malformed_tasks=frozenset({task})))
    gens, client = generate(endpoint(server.base_url, max_retries=2), wizard_data.prompts[0], 2)
    assert len(gens) == 2 and client.requests == 3
    assert all(g.error.startswith("malformed response") and g.attempts == 3 for g in gens)
    assert all(g.text == "" and g.completion_tokens == 0 for g in gens)


def test_slow_responses_time_out_into_an_error(replay_server, wizard_data):
    server = replay_server(Faults(delay_s=1.0))
    ep = endpoint(server.base_url, timeout_s=0.2, max_retries=1)
    gens, client = generate(ep, wizard_data.prompts[0], 1)
    assert gens[0].error.startswith("timeout") and client.requests == 2


def test_connection_refused_is_an_error_not_a_crash():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gens, _ = generate(endpoint(f"http://127.0.0.1:{port}/v1", max_retries=1),
                       "def has_close_elements(x):\n", 2)
    assert all(g.error.startswith("connection error") for g in gens)


def test_unknown_model_stops_the_run_with_a_clear_error(replay_server, wizard_data):
    server = replay_server()
    ep = endpoint(server.base_url, model="no-such-model")
    with pytest.raises(EndpointError, match="refused the request: HTTP 404"):
        generate(ep, wizard_data.prompts[0], 1)
