"""A three-node Ray cluster on this machine (``ray.cluster_utils.Cluster``, one CPU per
node): a node below sandbox level A (no bubblewrap on its PATH) is refused and never runs a
task; a node that leaves mid-build costs only its tasks, which run again elsewhere, and the
verdicts are the local sandbox's; ``codecascade measure --ray ray://HOST:PORT`` joins the
cluster through Ray Client and builds the same profile as a local build."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray", reason="Ray is not installed (pip install 'codecascade[ray]')")

from ray_faults import Recording, attempts
from ray_support import ray_tmpdir

from planner.sandbox import GridConfig, GridJob, IsolationLevel, SandboxExecutor, probe_isolation
from planner.sandbox.ray_executor import RayExecutor

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # a Ray test never hangs CI

CONFIG = GridConfig(test_timeout=0.5, check_timeout=1.0, clock="cpu")
TESTS = tuple(f"assert add({i}, 1) == {i + 1}" for i in range(4))


@pytest.fixture(scope="module")
def cluster():
    """Head and two more nodes; the second sees no bubblewrap (level B)."""
    import ray
    from ray.cluster_utils import Cluster

    if probe_isolation().level is not IsolationLevel.A:
        pytest.skip("needs sandbox level A")
    with ray_tmpdir("rc") as root:
        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            port = free.getsockname()[1]
        made = Cluster(initialize_head=True,
                       head_node_args={"num_cpus": 1, "ray_client_server_port": port})
        made.client_port = port
        try:
            path = os.environ["PATH"]
            tools = root / "bin-without-bwrap"  # Ray's worker setup needs bash on the PATH
            tools.mkdir()
            (tools / "bash").symlink_to(shutil.which("bash"))
            os.environ["PATH"] = str(tools)  # the node's processes inherit it
            try:
                weak = made.add_node(num_cpus=1)
            finally:
                os.environ["PATH"] = path
            leaving = made.add_node(num_cpus=1)
            made.wait_for_nodes()
            ray.init(address=made.address, logging_level="warning")
            yield made, weak, leaving
        finally:
            ray.shutdown()
            made.shutdown()


def test_a_weak_node_is_refused_and_a_leaving_node_costs_only_its_tasks(cluster, tmp_path,
                                                                       capfd) -> None:
    made, weak, leaving = cluster
    slow = tuple(f"def add(a, b):\n    for _ in range(1_500_000 + {k}):\n        pass\n"
                 f"    return a + b - {k % 2}\n" for k in range(8))
    jobs = [GridJob(slow, TESTS), GridJob(slow[2:5], TESTS[:2])]
    removed: list[str] = []

    def remove_leaving_node_once_busy() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if any(f"-{leaving.node_id}-" in a for a in attempts(tmp_path)):
                time.sleep(0.5)
                made.remove_node(leaving, allow_graceful=False)
                removed.append(leaving.node_id)
                return
            time.sleep(0.05)

    remover = threading.Thread(target=remove_leaving_node_once_busy, daemon=True)
    remover.start()
    executor = RayExecutor(CONFIG, min_shard_s=0.0, waves=1e6, max_retries=3,
                           node_executor=Recording(tmp_path, hold_on_node=leaving.node_id))
    got = dict(executor.run(jobs))
    remover.join(timeout=5)
    assert removed, "no task ran on the node that was to leave"
    local = dict(SandboxExecutor(CONFIG, workers=2).run(jobs))
    for index in local:
        assert np.array_equal(local[index].codes, got[index].codes)
        assert np.array_equal(local[index].verdicts, got[index].verdicts)
    runs = attempts(tmp_path)
    assert not any(f"-{weak.node_id}-" in a for a in runs)  # refused: never scheduled there
    assert len(runs) > executor.transport["shards"]         # the leaving node's task ran again
    nodes = {n["id"]: n for n in executor.transport["nodes"]}
    assert not nodes[weak.node_id[:12]]["accepted"]
    assert nodes[weak.node_id[:12]]["level"] == "B" and nodes[weak.node_id[:12]]["shards_done"] == 0
    assert "bubblewrap" in nodes[weak.node_id[:12]]["reason"]
    err = capfd.readouterr().err
    assert f"WARNING ray: node {weak.node_ip_address} ({weak.node_id[:12]}): sandbox level B" in err


def test_measure_joins_the_cluster_through_ray_client(cluster, tmp_path) -> None:
    made, weak, _ = cluster
    spec = importlib.util.spec_from_file_location(
        "measure_fakes", Path(__file__).parents[1] / "measure" / "measure_fakes.py")
    fakes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fakes)
    wizard = fakes.write_wizardcoder(tmp_path / "wizard", sizes=("7B",))
    prices = tmp_path / "prices.json"
    prices.write_text('{"models": {"WizardCoder-Python-7B": {"generated_per_1k": 1, '
                      '"prompt_per_1k": 1, "source": "t", "date": "2024"}}}')
    root = Path(__file__).resolve().parents[2]
    argv = [sys.executable, "-m", "planner", "measure", "--wizardcoder", str(wizard),
            "--wizardcoder-models", "7B", "--prices", str(prices), "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(root)}
    remote = subprocess.run([*argv, str(tmp_path / "ray.npz"), "--ray",
                             f"ray://127.0.0.1:{made.client_port}"], env=env,
                            capture_output=True, text=True, timeout=600)
    assert remote.returncode == 0, remote.stderr[-2000:]
    assert "sandbox level B" in remote.stderr and weak.node_id[:12] in remote.stderr
    local = subprocess.run([*argv, str(tmp_path / "local.npz")], env=env, capture_output=True,
                           text=True, timeout=600)
    assert local.returncode == 0, local.stderr[-2000:]

    def fingerprint(out: str) -> str:
        return out.split("fingerprint ")[1].split()[0]

    assert fingerprint(remote.stdout) == fingerprint(local.stdout)
    assert "on Ray: 1 nodes, 1 CPUs" in remote.stdout  # the head; the other node has left
