"""The Ray executor's inputs, checked before Ray is needed (these tests run without Ray)."""

from __future__ import annotations

import sys

import pytest

from planner.cli import _bare_ray
from planner.sandbox import GridConfig, SandboxExecutor
from planner.sandbox.grid import ExecutionError
from planner.sandbox.ray_executor import RayExecutor, is_address, ray_module, sandbox_digest


@pytest.mark.parametrize("text", ["local", "auto", "ray://head:10001", "10.0.0.5:6379",
                                  "head.example.org:6379", "[::1]:6379"])
def test_ray_addresses(text) -> None:
    assert is_address(text)
    assert RayExecutor(address=text).address == text


@pytest.mark.parametrize("text", ["", "out.npz", "ray://", "head", "auto:", "/tmp/x.npz",
                                  "http://head:8265 x"])
def test_not_ray_addresses_are_one_line_errors(text) -> None:
    assert not is_address(text)
    with pytest.raises(ExecutionError, match=r"--ray: .* is not a Ray address \(local, auto"):
        RayExecutor(address=text)


@pytest.mark.parametrize(("kwargs", "name"), [({"num_cpus": 0}, "num_cpus"),
                                              ({"max_retries": -1}, "max_retries"),
                                              ({"window": True}, "window")])
def test_bad_numbers_are_one_line_errors(kwargs, name) -> None:
    with pytest.raises(ExecutionError, match=f"{name} must be an integer"):
        RayExecutor(**kwargs)


def test_settings_and_cells_are_the_local_sandboxs() -> None:
    config = GridConfig(test_timeout=0.25, check_timeout=1.0, clock="cpu")
    ray, local = RayExecutor(config), SandboxExecutor(config)
    assert ray.description == local.description and ray.limits == local.limits
    assert ray.config == config and len(sandbox_digest()) == 64


def test_without_ray_the_error_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ExecutionError, match=r"^Ray is not installed: pip install "
                                             r"'codecascade\[ray\]'$"):
        ray_module()
    with pytest.raises(ExecutionError, match="Ray is not installed"):
        RayExecutor().connect()


@pytest.mark.parametrize(("argv", "want"), [
    (["measure", "o.npz", "--ray"], ["measure", "o.npz", "--ray=local"]),
    (["measure", "--ray", "o.npz"], ["measure", "--ray=local", "o.npz"]),
    (["measure", "--ray", "--limit", "2", "o.npz"], ["measure", "--ray=local", "--limit", "2",
                                                      "o.npz"]),
    (["measure", "o.npz", "--ray", "auto"], ["measure", "o.npz", "--ray", "auto"]),
    (["measure", "o.npz", "--ray", "ray://h:10001"], ["measure", "o.npz", "--ray",
                                                      "ray://h:10001"]),
    (["measure", "o.npz", "--ray=h:6379"], ["measure", "o.npz", "--ray=h:6379"]),
])
def test_a_bare_ray_option_means_a_local_instance(argv, want) -> None:
    assert _bare_ray(argv) == want



class _NoCluster:
    """A stand-in for the ``ray`` module where no cluster runs (as Ray words it)."""

    __version__ = "2.60.0"

    @staticmethod
    def is_initialized() -> bool:
        return False

    @staticmethod
    def init(**kwargs) -> None:
        raise ConnectionError("Could not find any running Ray instance. Please specify the one "
                              "to connect to by setting `--address` flag or `RAY_ADDRESS` "
                              "environment variable.")


def test_auto_without_a_cluster_says_how_to_start_one(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", _NoCluster)
    with pytest.raises(ExecutionError) as failed:
        RayExecutor(address="auto").connect()
    assert str(failed.value) == ("cannot join auto: no Ray cluster runs on this machine (start "
                                 "one with 'ray start --head', or give --ray ray://HOST:PORT)")


def test_an_address_where_nothing_answers_fails_before_ray(monkeypatch) -> None:
    import socket

    monkeypatch.setitem(sys.modules, "ray", None)  # the check needs no Ray
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}"):
        with pytest.raises(ExecutionError, match=rf"^cannot join {address}: nothing answers at "
                                                 rf"127.0.0.1:{port} \(Connection refused\)$"):
            RayExecutor(address=address).check_reachable()
    RayExecutor(address="auto").check_reachable()  # nothing to check without a host


class _ClientTimesOut(_NoCluster):
    """``ray`` where Ray Client gets no answer from a port that accepts connections (as
    with token authentication on the cluster and not on the client)."""

    @staticmethod
    def init(**kwargs) -> None:
        raise ConnectionError("ray client connection timeout")

    @staticmethod
    def shutdown() -> None:
        pass


def test_a_client_timeout_names_token_authentication(monkeypatch) -> None:
    import socket

    monkeypatch.setitem(sys.modules, "ray", _ClientTimesOut)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"ray://127.0.0.1:{server.getsockname()[1]}"
        with pytest.raises(ExecutionError) as failed:
            RayExecutor(address=address).connect()
    assert str(failed.value) == (
        f"cannot join {address}: Ray Client did not answer; if the cluster uses token "
        "authentication, set RAY_AUTH_MODE=token and its token (RAY_AUTH_TOKEN or "
        "~/.ray/auth_token) here too")
