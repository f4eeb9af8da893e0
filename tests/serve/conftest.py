"""Fixtures of the server tests: the loopback replay server of the real recorded
WizardCoder generations, a spec and endpoints file for it, stand-in executors, and
``serving(...)``, which starts ``codecascade serve`` in a thread on an ephemeral port."""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

import pytest

from planner.options import CascadePlan, Stage, StageOption
from planner.sandbox.fake import RuleExecutor
from planner.spec import CascadeSpec, Prediction, Provenance, SolverInfo, save_spec

MODELS = ("WizardCoder-Python-7B", "WizardCoder-Python-13B", "WizardCoder-Python-34B")
PRICES = {"WizardCoder-Python-7B": 1.91, "WizardCoder-Python-13B": 6.65,
          "WizardCoder-Python-34B": 20.24}  # $ per 1M generated tokens (the paper's)

#: Greedy self-test, then a sampled stage sharing the first stage's tests (instruction
#: style), then a sampled last stage with another scoring rule.
PLAN = CascadePlan((
    Stage(MODELS[0], StageOption(k=1, t=1, l=2, theta=1.0)),
    Stage(MODELS[1], StageOption(k=3, t=3, l=4, theta=0.8, share_tests=True)),
    Stage(MODELS[2], StageOption(k=5, t=2, l=2, theta=0.5, rule="pass_fraction")),
))


class HashExecutor(RuleExecutor):
    """A deterministic stand-in for the sandbox: a (solution, test line) pair passes iff
    a hash of the pair falls below ``pass_rate`` (assert lines only; anything else fails).
    Decisions then vary from problem to problem as with real verdicts, at no cost."""

    def __init__(self, pass_rate: float = 0.75):
        super().__init__(self._passes, level="stand-in")
        self.pass_rate = pass_rate

    def _passes(self, solution: str, test: str) -> bool:
        if not test.lstrip().startswith("assert"):
            return False
        digest = hashlib.sha256(f"{solution}\x00{test}".encode()).digest()
        return int.from_bytes(digest[:4], "big") / 2**32 < self.pass_rate


class Always(RuleExecutor):
    """Every line passes (``True``) or fails (``False``)."""

    def __init__(self, verdict: bool):
        super().__init__(lambda solution, test: verdict, level="stand-in")


@pytest.fixture(scope="session")
def wizard_data(shared_data):
    from planner.runtime.replay_server import WizardCoderData

    return WizardCoderData(shared_data / "wizardcoder-python-humaneval")


@pytest.fixture(scope="session")
def humaneval():
    from planner.problems import load_problems

    return load_problems("humaneval")


@pytest.fixture
def replay(wizard_data):
    """``replay(faults=None, cls=ReplayServer)`` starts a fresh replay server."""
    from planner.runtime.replay_server import Faults, ReplayServer

    servers = []

    def start(faults: Faults | None = None, cls=ReplayServer):
        server = cls(wizard_data, faults or Faults()).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def write_spec(path: Path, plan: CascadePlan = PLAN, profile: str = "wizardcoder-humaneval"
               ) -> Path:
    spec = CascadeSpec(
        stages=plan.stages, objective="max_accuracy", budget=0.01, target_accuracy=None,
        planning=Prediction("validation", 49, 0.7, (0.6, 0.8), 0.004, (0.003, 0.005)),
        heldout=Prediction("test", 115, 0.72, (0.64, 0.8), 0.0041, (0.0035, 0.0047)),
        solver=SolverInfo("exact", "optimal", 0.0, 1.5, "enumeration", 1000),
        provenance=Provenance(profile=profile, profile_sha256="a" * 64,
                              prices_per_1m={m: PRICES[m] for m in plan.models},
                              grid="default", split="paper-seed3",
                              seeds={"split": 3, "estimator": 0}, version="0.1.0",
                              created="2026-01-01T00:00:00Z"),
    )
    return save_spec(spec, path)


def write_endpoints(path: Path, base_url: str, overrides: dict | None = None,
                    **defaults) -> Path:
    settings = {"base_url": base_url, "style": "chat", "logprobs": True, "backoff_s": 0.0,
                "backoff_max_s": 0.0, **defaults}
    lines = ["[defaults]"] + [f"{k} = {_toml(v)}" for k, v in settings.items()]
    for model in MODELS:
        table = {"model": model, "price_per_1m_generated": PRICES[model]}
        if model == MODELS[1]:
            table["style"] = "instruction"
        table.update((overrides or {}).get(model, {}))
        lines += ["", f'[models."{model}"]'] + [f"{k} = {_toml(v)}" for k, v in table.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


@pytest.fixture
def serving(tmp_path):
    """``serving(base_url, executor, plan=PLAN, endpoint_defaults={}, endpoint_overrides={},
    predict=True, **options)`` starts the server in a thread (with the stages' predicted
    acceptance rates from the bundled profile unless ``predict`` is false) and returns
    (BackgroundServer, openai client); stopped after the test."""
    import openai

    from planner.serve import BackgroundServer, ServeOptions, prepare

    stack = contextlib.ExitStack()
    count = [0]

    def start(base_url: str, executor, *, plan: CascadePlan = PLAN,
              endpoint_defaults: dict | None = None, endpoint_overrides: dict | None = None,
              records: Path | None = None, predict: bool = True,
              client_timeout: float = 60.0, **options):
        count[0] += 1
        spec = write_spec(tmp_path / f"cascade{count[0]}.json", plan)
        endpoints = write_endpoints(tmp_path / f"endpoints{count[0]}.toml", base_url,
                                    endpoint_overrides, **(endpoint_defaults or {}))
        options.setdefault("model_name", "cascade")
        serve_options = ServeOptions(spec=spec, endpoints=endpoints,
                                     records=records or tmp_path / f"served{count[0]}.jsonl",
                                     host="127.0.0.1", port=0, **options)
        prepared = prepare(serve_options, executor=executor)
        if predict:
            prepared.watch_drift(_acceptance(spec, plan))
        server = stack.enter_context(BackgroundServer(prepared))
        client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="unused",
                               max_retries=0, timeout=client_timeout)
        stack.callback(client.close)
        return server, client

    yield start
    stack.close()


_PREDICTIONS: dict[str, tuple] = {}


def _acceptance(spec: Path, plan: CascadePlan) -> tuple:
    """The stages' predicted acceptance rates (computed once per plan in a session)."""
    from planner.replay import stage_acceptance

    key = plan.label()
    if key not in _PREDICTIONS:
        _PREDICTIONS[key] = stage_acceptance(spec)
    return _PREDICTIONS[key]
