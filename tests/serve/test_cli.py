"""``codecascade serve`` refuses to start, with one line and exit status 2, for every bad
input it can check before opening a port; units of admission and auth."""

from __future__ import annotations

import socket

import pytest
from cli_support import cli

from planner.records import RecordWriter
from planner.serve.auth import check_bearer
from planner.serve.errors import APIError
from planner.serve.limits import Admission

from .conftest import MODELS, write_endpoints, write_spec
from .test_drift import _record


@pytest.fixture
def files(tmp_path):
    spec = write_spec(tmp_path / "cascade.json")
    endpoints = write_endpoints(tmp_path / "endpoints.toml", "http://127.0.0.1:9/v1")
    return spec, endpoints, tmp_path


def _fails(capsys, *args, expect: str) -> str:
    assert cli("serve", *args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    assert expect in err, err
    return err


def test_bad_inputs_are_one_line_and_exit_2(files, capsys, monkeypatch):
    spec, endpoints, tmp = files
    base = [str(spec), "-e", str(endpoints), "--records", str(tmp / "s.jsonl")]
    _fails(capsys, str(tmp / "missing.json"), "-e", str(endpoints), expect="cannot read spec")
    partial = tmp / "partial.toml"
    partial.write_text(endpoints.read_text().split(f'[models."{MODELS[2]}"]')[0])
    _fails(capsys, str(spec), "-e", str(partial), expect="no endpoint for spec model")
    keyed = write_endpoints(tmp / "keyed.toml", "http://127.0.0.1:9/v1",
                            api_key_env="NO_SUCH_KEY_VAR")
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    _fails(capsys, str(spec), "-e", str(keyed), expect=f"{keyed}: endpoint ")
    monkeypatch.delenv("SERVE_TOKEN_UNSET", raising=False)
    _fails(capsys, *base, "--api-key-env", "SERVE_TOKEN_UNSET", expect="is not set or empty")
    err = _fails(capsys, *base, "--api-key-env", "sk-live 1234", expect="must name")
    assert "1234" not in err
    err = _fails(capsys, *base, "--api-key-env", "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
                 expect="looks like a key itself")
    assert "ghp_16C7" not in err
    _fails(capsys, *base, "--fallback", "gpt-4", expect="--fallback must be")
    _fails(capsys, *base, "--host", "bad host!", expect="--host")
    _fails(capsys, *base, "--log-level", "loud", expect="--log-level")
    _fails(capsys, str(spec), "-e", str(endpoints), "--records",
           str(tmp / "nowhere" / "s.jsonl"), expect="does not exist")
    other = tmp / "other.jsonl"
    with RecordWriter(other, append=False) as writer:
        writer.write(_record("accept"))
    _fails(capsys, str(spec), "-e", str(endpoints), "--records", str(other),
           expect="holds records of another spec")
    for option, value, message in (
            ("--max-concurrency", "0", "--max-concurrency must be a whole number >= 1, got 0"),
            ("--port", "-1", "--port must be a whole number in [0, 65535], got -1"),
            ("--deadline", "0", "--deadline must be a number > 0, got 0.0"),
            ("--keepalive", "-2", "--keepalive must be a number > 0, got -2.0"),
            ("--grace", "-1", "--grace must be a number >= 0, got -1.0"),
            ("--test-timeout", "0", "--test-timeout must be a number > 0, got 0.0"),
            ("--sandbox-workers", "-1", "--sandbox-workers must be a whole number >= 0, got -1"),
            ("--drift-min-requests", "0",
             "--drift-min-requests must be a whole number >= 1, got 0")):
        _fails(capsys, *base, option, value, expect=message)


def test_a_profile_named_with_profile_that_cannot_serve_is_refused(files, capsys):
    """Before, an unreadable --profile was a warning (drift detection off) and the server
    started; the spec's own profile may still be absent on a serving machine."""
    spec, endpoints, tmp = files
    base = [str(spec), "-e", str(endpoints), "--records", str(tmp / "s.jsonl")]
    garbage = tmp / "garbage.npz"
    garbage.write_text("not a profile")
    _fails(capsys, *base, "--profile", str(garbage),
           expect=f"{garbage}: not a readable profile")
    _fails(capsys, *base, "--profile", str(tmp / "missing.npz"),
           expect=f"profile not found: {tmp / 'missing.npz'}")
    assert not (tmp / "s.jsonl").exists()


def test_a_port_in_use_is_one_line(files, capsys):
    spec, endpoints, tmp = files
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        _fails(capsys, str(spec), "-e", str(endpoints), "--records", str(tmp / "s.jsonl"),
               "--port", str(port), expect=f"cannot listen on 127.0.0.1:{port}")
    assert not (tmp / "s.jsonl").exists()  # a server that never started writes nothing


def test_an_endpoint_that_fails_the_pre_flight_check_keeps_the_server_from_starting(
        files, capsys):
    spec, endpoints, tmp = files  # every endpoint at 127.0.0.1:9, where nothing listens
    err = _fails(capsys, str(spec), "-e", str(endpoints), "--records", str(tmp / "s.jsonl"),
                 "--port", "0", expect="pre-flight check failed: endpoint ")
    assert "cannot be reached" in err and "127.0.0.1:9" in err
    assert not (tmp / "s.jsonl").exists()


def test_below_sandbox_level_a_needs_the_unsafe_flag(files, capsys, monkeypatch):
    from planner.sandbox import IsolationLevel, IsolationReport

    spec, endpoints, tmp = files
    report = IsolationReport(level=IsolationLevel.B, interpreter="/usr/bin/python3",
                             python_version="3", interpreter_paths=(), bwrap="",
                             bwrap_detail="absent", landlock_abi=3, seccomp_detail="works",
                             uid_base=None, missing=("bubblewrap (absent)",))
    monkeypatch.setattr("planner.sandbox.probe_isolation", lambda *a, **k: report)
    _fails(capsys, str(spec), "-e", str(endpoints), "--records", str(tmp / "s.jsonl"),
           expect="sandbox level B (missing bubblewrap (absent))")
    from planner.serve import ServeOptions, prepare

    prepared = prepare(ServeOptions(spec=spec, endpoints=endpoints, records=tmp / "u.jsonl",
                                    unsafe_no_sandbox=True))
    assert prepared.sandbox_level == "B"
    assert prepared.service.runner.executor.inner.allow_unsafe


def test_admission_and_retry_after():
    admission = Admission(2)
    first, second = admission.admit(), admission.admit()
    with pytest.raises(APIError) as info:
        admission.admit()
    assert info.value.status == 429 and info.value.headers["Retry-After"] == "1"
    admission.release(first)
    third = admission.admit()
    admission._latencies.extend([30.0] * 5)  # slow requests: a later estimate
    with pytest.raises(APIError) as info:
        admission.admit()
    assert int(info.value.headers["Retry-After"]) >= 20  # mean of 0 s and 5 x 30 s, minus age
    admission.release(second)
    admission.release(third)
    assert admission.in_flight == 0 and admission.rejected == 2


@pytest.mark.parametrize(("header", "ok"), [
    ("Bearer tok", True), ("bearer tok", True), ("Bearer  tok ", True), ("Bearer tok2", False),
    ("Basic tok", False), ("tok", False), (None, False), ("", False)])
def test_bearer_check(header, ok):
    if ok:
        check_bearer(header, "tok")
    else:
        with pytest.raises(APIError) as info:
            check_bearer(header, "tok")
        assert info.value.status == 401
    check_bearer(header, None)  # auth off: anything goes
