"""``codecascade measure``'s --ray and --unsafe-no-sandbox, checked without Ray."""

from __future__ import annotations

import sys

import pytest

from planner.cli import main


def _argv(wizard_dir, price_file, out) -> list[str]:
    return ["measure", str(out), "--wizardcoder", str(wizard_dir), "--wizardcoder-models", "7B",
            "--prices", str(price_file), "--no-progress"]


def test_measure_with_ray_but_without_ray_installed_is_one_line(monkeypatch, capsys, wizard_dir,
                                                               price_file, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    out = tmp_path / "p.npz"
    with pytest.raises(SystemExit) as done:
        main([*_argv(wizard_dir, price_file, out), "--ray"])
    assert done.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "error: Ray is not installed: pip install 'codecascade[ray]'")
    assert not out.exists()


def test_a_bad_ray_address_is_a_usage_error(capsys, wizard_dir, price_file, tmp_path) -> None:
    with pytest.raises(SystemExit) as done:
        main([*_argv(wizard_dir, price_file, tmp_path / "p.npz"), "--ray=head"])
    assert done.value.code == 2
    assert "--ray: 'head' is not a Ray address" in capsys.readouterr().err


def test_unsafe_no_sandbox_reaches_the_local_sandbox(monkeypatch, wizard_dir, price_file,
                                                     tmp_path) -> None:
    from measure_fakes import FakeExecutor

    made = []

    class Fake(FakeExecutor):
        def __init__(self, config, *, allow_unsafe=False, workers=None) -> None:
            super().__init__()
            self.config, self.allow_unsafe = config, allow_unsafe
            made.append(self)

    monkeypatch.setattr("planner.sandbox.grid.SandboxExecutor", Fake)
    with pytest.raises(SystemExit) as done:
        main([*_argv(wizard_dir, price_file, tmp_path / "p.npz"), "--unsafe-no-sandbox"])
    assert done.value.code == 0 and [f.allow_unsafe for f in made] == [True]


def test_an_address_where_nothing_answers_is_one_line_and_fast(capsys, wizard_dir, price_file,
                                                               tmp_path) -> None:
    import socket

    with socket.socket() as free:  # a port nothing listens on once this socket is closed
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    out = tmp_path / "p.npz"
    with pytest.raises(SystemExit) as done:
        main([*_argv(wizard_dir, price_file, out), "--ray", f"ray://127.0.0.1:{port}"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.strip() == (f"error: cannot join ray://127.0.0.1:{port}: nothing answers at "
                           f"127.0.0.1:{port} (Connection refused)")
    assert not out.exists() and not list(tmp_path.glob("*.npz*"))
