"""``codecascade serve`` throughput and overhead, and the cascade against the largest model.

Three processes, as in production: the loopback replay server of the real WizardCoder-Python
generations (../shared/data) with realistic delays (``--delay`` s + ``--per-token`` s per
token of a response's longest choice; defaults 0.25 s + 10 ms/token, a hosted endpoint
decoding ~100 tokens/s per sequence), ``codecascade serve`` (the real CLI, real sandbox) in
front of it with the ``plan --budget 0.01`` spec of the bundled profile, and this
script as the client (``openai.AsyncOpenAI``) sending all 164 HumanEval prompts as
completion requests with at most ``c`` in flight, for each ``c`` in ``--concurrency``.
Both servers are restarted for every ``c``, so every run sees the same recorded samples.

Per run: requests per minute; the latency the server adds beyond waiting for generations
and executing in the sandbox (client-measured latency minus the generation and sandbox
seconds the response's ``codecascade`` object reports; it includes queueing for the
sandbox, which grows with ``c`` on a 2-core machine), with the part spent outside the
cascade (HTTP, parsing, answer building: client latency minus the record's latency);
cost per request (the method's and the billed) and accuracy (what the client received,
prompt + completion, run against the HumanEval tests in the sandbox). The baseline asks the
largest model (34B, greedy) directly, through the same replay server, once per prompt;
further ``--budgets`` give more specs, served at one concurrency, for cost and accuracy.

Usage: ``nice -n 10 python3 benchmarks/bench_serve.py [--concurrency 1 8 32]
[--problems 164] [--budgets 0.01 0.003]``; prints a table and writes
``benchmarks/results/bench_serve.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from planner.measure.prices import load_prices

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "wizardcoder-python-humaneval"
RESULT = ROOT / "benchmarks" / "results" / "bench_serve.json"
MODELS = ("WizardCoder-Python-7B", "WizardCoder-Python-13B", "WizardCoder-Python-34B")


def _reader(stream, out: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        out.put(line)
    out.put(None)


class Process:
    """A child process whose output lines are read in the background; ``url(prefix)``
    waits (bounded) for the line announcing where it listens."""

    def __init__(self, args: list[str], cwd: Path, stream: str):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.lines: queue.Queue = queue.Queue()
        for name in ("stdout", "stderr"):
            target = self.lines if name == stream else queue.Queue()
            threading.Thread(target=_reader, args=(getattr(self.proc, name), target),
                             daemon=True).start()

    def url(self, marker: str, timeout: float = 120.0) -> str:
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                break
            seen.append(line)
            if marker in line:
                return next(w for w in line.split() if w.startswith("http://"))
        self.stop()
        raise SystemExit("error: a server did not start:\n" + "".join(seen[-20:]))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 120.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait(10)


def write_files(tmp: Path, replay_url: str, budget: float) -> tuple[Path, Path]:
    from planner import plan
    from planner.spec import save_spec

    spec = save_spec(plan(budget=budget), tmp / "cascade.json")
    prices = load_prices(ROOT / "planner" / "data" / "prices.json")
    lines = ["[defaults]", f'base_url = "{replay_url}"', 'style = "chat"', "logprobs = true",
             "timeout_s = 120"]
    for model in MODELS:
        lines += ["", f'[models."{model}"]', f'model = "{model}"',
                  f"price_per_1m_generated = {prices[model].per_1m_generated}",
                  f"price_per_1m_prompt = {prices[model].per_1m_prompt}"]
    endpoints = tmp / "endpoints.toml"
    endpoints.write_text("\n".join(lines) + "\n")
    return spec, endpoints


def start_replay(tmp: Path, delay: float, per_token: float) -> tuple[Process, str]:
    replay = Process([sys.executable, "-m", "planner.runtime.replay_server", "--data",
                      str(DATA), "--port", "0", "--delay", str(delay), "--per-token",
                      str(per_token)], tmp, "stdout")
    return replay, replay.url("serving ")


async def _send(problems, base_url: str, concurrency: int, direct_model: str | None
                ) -> list[dict]:
    import openai

    client = openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0,
                                timeout=600)
    slots = asyncio.Semaphore(concurrency)
    await client.models.list()  # the client's first request imports and connects: not timed

    async def one(p) -> dict:
        async with slots:
            started = time.perf_counter()
            if direct_model is None:
                r = await client.completions.create(
                    model="cascade", prompt=p.prompt,
                    extra_headers={"X-Codecascade-Task-Id": p.task_id})
                text = p.prompt + r.choices[0].text
                ext = r.model_extra["codecascade"]
            else:
                content = ("Complete the following Python function. Reply with the complete "
                           f"function, signature included, in a single ```python code block."
                           f"\n\n```python\n{p.prompt.rstrip()}\n```")
                r = await client.chat.completions.create(
                    model=direct_model, temperature=0, max_tokens=1024,
                    messages=[{"role": "user", "content": content}])
                from planner.runtime.extract import extract_code

                text = extract_code(r.choices[0].message.content, p.prompt, p.entry_point,
                                    "chat")
                ext = None
            return {"task_id": p.task_id, "latency_s": time.perf_counter() - started,
                    "text": text, "ext": ext,
                    "completion_tokens": r.usage.completion_tokens,
                    "prompt_tokens": r.usage.prompt_tokens}

    try:
        return list(await asyncio.gather(*(one(p) for p in problems)))
    finally:
        await client.close()


def check(problems, results) -> list[bool]:
    """Ground truth: each received program against the problem's HumanEval tests."""
    from planner.sandbox import BatchJob, Limits, run_batches

    by_id = {p.task_id: p for p in problems}
    jobs = [BatchJob(solutions=(r["text"],), tests=(by_id[r["task_id"]].ground_truth_test,),
                     preamble=by_id[r["task_id"]].preamble, limits=Limits(test_timeout=10.0))
            for r in results]
    passed = [False] * len(jobs)
    for index, result in run_batches(jobs):
        passed[index] = bool(result.passed[0, 0])
    return passed


def _pct(values, q) -> float:
    return round(float(np.percentile(values, q)), 4) if len(values) else float("nan")


def serve_run(tmp: Path, problems, concurrency: int, args, budget: float) -> dict:
    from planner.records import read_records
    from planner.spec import load_spec

    replay, replay_url = start_replay(tmp, args.delay, args.per_token)
    spec, endpoints = write_files(tmp, replay_url, budget)
    cascade = load_spec(spec)
    records = tmp / f"served-c{concurrency}.jsonl"
    records.unlink(missing_ok=True)
    server = Process([sys.executable, "-m", "planner", "serve", str(spec), "-e",
                      str(endpoints), "--port", "0", "--records", str(records),
                      "--model-name", "cascade", "--max-concurrency", "64",
                      "--log-level", "warning"], tmp, "stderr")
    try:
        url = server.url("serving cascade on ")
        load_before = os.getloadavg()
        started = time.perf_counter()
        results = asyncio.run(_send(problems, url, concurrency, None))
        wall = time.perf_counter() - started
        load_after = os.getloadavg()
    finally:
        status = server.stop()
        replay.stop()
    recorded = {r.task_id: r for r in read_records(records)}
    passed = check(problems, results)
    overhead = [r["latency_s"] - r["ext"]["generation_s"] - r["ext"]["sandbox_s"]
                for r in results]
    outside = [r["latency_s"] - recorded[r["task_id"]].latency_s for r in results]
    answered = [r["ext"]["answered_by"]["stage"] for r in results]
    return {
        "budget": budget,
        "plan": cascade.plan.label(),
        "predicted_heldout": {"accuracy": cascade.heldout.accuracy,
                              "cost": cascade.heldout.cost} if cascade.heldout else None,
        "concurrency": concurrency,
        "requests": len(results),
        "wall_s": round(wall, 1),
        "requests_per_min": round(60 * len(results) / wall, 1),
        "latency_p50_s": _pct([r["latency_s"] for r in results], 50),
        "latency_p95_s": _pct([r["latency_s"] for r in results], 95),
        "overhead_p50_s": _pct(overhead, 50),
        "overhead_p95_s": _pct(overhead, 95),
        "outside_cascade_p50_s": _pct(outside, 50),
        "outside_cascade_p95_s": _pct(outside, 95),
        "accuracy": round(sum(passed) / len(passed), 4),
        "cost_per_request": float(np.mean([r["ext"]["cost"] for r in results])),
        "billed_cost_per_request": float(np.mean([r["ext"]["billed_cost"] for r in results])),
        "answered_by_stage": [answered.count(i) for i in range(len(MODELS))],
        "server_exit_status": status,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
    }


def direct_run(tmp: Path, problems, args) -> dict:
    price = load_prices(ROOT / "planner" / "data" / "prices.json")[MODELS[-1]]
    replay, url = start_replay(tmp, args.delay, args.per_token)
    try:
        started = time.perf_counter()
        results = asyncio.run(_send(problems, url, 8, MODELS[-1]))
        wall = time.perf_counter() - started
    finally:
        replay.stop()
    passed = check(problems, results)
    costs = [r["completion_tokens"] * price.generated_per_token
             + r["prompt_tokens"] * price.prompt_per_token for r in results]
    return {
        "model": MODELS[-1], "decoding": "greedy", "concurrency": 8,
        "requests": len(results), "requests_per_min": round(60 * len(results) / wall, 1),
        "latency_p50_s": _pct([r["latency_s"] for r in results], 50),
        "latency_p95_s": _pct([r["latency_s"] for r in results], 95),
        "accuracy": round(sum(passed) / len(passed), 4),
        "cost_per_request": float(np.mean(costs)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=164)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--budgets", type=float, nargs="+", default=[0.01, 0.003],
                        help="specs planned for these budgets ($ per problem); the first is "
                        "served at every concurrency, the others at the second one")
    parser.add_argument("--delay", type=float, default=0.25)
    parser.add_argument("--per-token", type=float, default=0.01)
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"error: the replay data {DATA} is absent")
    from planner.problems import load_problems

    problems = load_problems("humaneval", limit=args.problems)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        direct = direct_run(tmp, problems, args)
        runs = [(args.budgets[0], c) for c in args.concurrency]
        middle = args.concurrency[min(1, len(args.concurrency) - 1)]
        runs += [(b, middle) for b in args.budgets[1:]]
        rows = []
        for budget, c in runs:
            rows.append(serve_run(tmp, problems, c, args, budget))
            print(f"budget {budget}, c={c}: {rows[-1]['requests_per_min']} requests/min",
                  file=sys.stderr)
    columns = ["budget", "concurrency", "requests", "wall_s", "requests_per_min",
               "latency_p50_s",
               "overhead_p50_s", "overhead_p95_s", "outside_cascade_p50_s",
               "outside_cascade_p95_s", "accuracy", "cost_per_request"]
    widths = [max(len(c), 10) for c in columns]
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)))
    for row in rows:
        print("  ".join((f"{row[c]:.6f}" if c == "cost_per_request" else str(row[c])).rjust(w)
                        for c, w in zip(columns, widths, strict=True)))
    print(f"largest model directly ({direct['model']}, greedy): accuracy "
          f"{direct['accuracy']}, ${direct['cost_per_request']:.6f} per request, "
          f"{direct['requests_per_min']} requests/min at concurrency 8")
    result = {
        "benchmark": "bench_serve",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "nice": os.nice(0)},
        "settings": {"problems": len(problems), "delay_s": args.delay,
                     "per_token_s": args.per_token, "specs": "plan --budget B on the bundled "
                     "default profile", "requests": "completions, not streamed",
                     "sandbox": "level A, 2 workers",
                     "data": "wizardcoder-python-humaneval (Chen et al., arXiv 2405.15842)"},
        "rows": rows,
        "largest_model_directly": direct,
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    tmp_file = RESULT.with_suffix(".json.tmp")
    tmp_file.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp_file, RESULT)
    print(f"wrote {RESULT}")


if __name__ == "__main__":
    main()
