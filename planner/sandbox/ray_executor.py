"""The grid executor on a Ray cluster: the project's sandbox on every node, Ray as transport.

:class:`RayExecutor` implements :class:`~planner.sandbox.grid.Executor`. Pre-process: each
job is de-duplicated and cut into row shards (:mod:`.shards`), costliest first. Execute:
each shard is one Ray task that runs the project's sandbox (:class:`SandboxExecutor`, one
sandbox per task's CPU) on whichever node Ray gives it; at most ``window`` shards are in
flight, so the costliest-first order holds on the cluster. Post-process: a job's shards
are merged and expanded back to its duplicates (:func:`.shards.merge_parts`,
:func:`.grid.expand`), so a job's result is the same compact arrays a local run gives.

Isolation: before anything runs, a probe task on every node reports its sandbox level and
the digest of its sandbox code; a node below level A (unless ``allow_unsafe``) or with other
sandbox code than the driver's is refused, named in a warning, and kept out of every task's
label selector. A node that joins later is checked by the task itself, which then refuses
to run and is sent elsewhere. By default the driver's ``planner`` package is shipped to the
workers (``runtime_env`` ``py_modules``), so every node runs the driver's code.

Faults: a task whose worker dies or whose node leaves is re-run by Ray (``max_retries``,
bounded; an exception raised in a task is retried too). A job one of whose shards still
fails is given up (its other shards are cancelled), the others go on, and after the last
result :class:`~planner.sandbox.grid.JobsFailed` names each failed job with its reason.
Results go back to the caller only (the driver writes any cache); tasks write nothing.

Ray is optional (``pip install 'codecascade[ray]'``) and imported only when an executor
connects. Sources: Ray's documentation, "Task fault tolerance" (``max_retries``,
``retry_exceptions``), "Starting Ray" (``ray.init`` addresses) and "Labels" (node label
selectors on ``ray.io/node-id``).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import socket
import sys
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CodecascadeError
from .grid import (
    ExecutionError,
    Executor,
    GridConfig,
    GridJob,
    GridResult,
    JobsFailed,
    SandboxExecutor,
    expand,
    run_one,
)
from .shards import (
    DEFAULT_COST,
    MIN_SHARD_S,
    WAVES,
    CostModel,
    Shard,
    merge_parts,
    plan_shards,
)

#: ``--ray`` without an address: start a Ray instance on this machine for this build.
LOCAL = "local"
_HOST_PORT = re.compile(r"^[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")
_NODE_LABEL = "ray.io/node-id"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: Seconds every node has to answer the isolation probe (a worker's first start, with the
#: shipped code; about 15 s on a loaded 2-core machine).
PROBE_TIMEOUT_S = 120.0
#: Seconds a cluster's address has to accept a TCP connection before ``ray.init``.
REACH_TIMEOUT_S = 10.0
#: A node-side executor for one task: (config, allow_unsafe) -> Executor.
NodeExecutor = Callable[[GridConfig, bool], Executor]


def is_address(text: str) -> bool:
    """True for what ``--ray`` accepts: ``local``, ``auto``, ``ray://HOST:PORT`` (Ray
    Client) or ``HOST:PORT`` (the cluster's GCS address)."""
    return (text in (LOCAL, "auto") or (text.startswith("ray://") and len(text) > 6)
            or bool(_HOST_PORT.match(text)))


def ray_module() -> Any:
    """The ``ray`` package, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ExecutionError("Ray is not installed: pip install 'codecascade[ray]'") from None
    return ray


def sandbox_digest() -> str:
    """sha256 of the sandbox's code (every ``planner/sandbox/*.py``): what decides a verdict
    besides the settings, compared between the driver and each node."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


@dataclass(frozen=True)
class NodeReport:
    """One node as the driver sees it: its Ray node id and address, CPUs, the sandbox
    level its probe found (or ``""`` with the error in ``detail``), the sandbox Python's
    version, and whether builds use it (``reason`` says why not)."""

    node_id: str
    address: str
    cpus: int
    level: str
    sandbox_python: str
    detail: str
    accepted: bool
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"node": self.address, "id": self.node_id[:12], "cpus": self.cpus,
                "level": self.level, "sandbox_python": self.sandbox_python,
                "accepted": self.accepted, **({"reason": self.reason} if self.reason else {})}


def node_facts(allow_unsafe: bool, digest: str) -> dict[str, Any]:
    """Run on a node (in a Ray task): its probe, and why it must not run builds ("" if it
    may)."""
    from .probe import probe_isolation

    facts: dict[str, Any] = {"level": "", "sandbox_python": "", "detail": "", "refusal": ""}
    try:
        report = probe_isolation()
    except Exception as exc:
        facts["detail"] = facts["refusal"] = f"the sandbox probe failed: {_line(exc)}"
        return facts
    facts.update(level=report.level.value, sandbox_python=report.python_version,
                 detail=report.summary())
    if report.level.value != "A" and not allow_unsafe:
        facts["refusal"] = (f"sandbox level {report.level.value} (missing "
                            f"{'; '.join(report.missing)})")
    elif sandbox_digest() != digest:
        facts["refusal"] = "its sandbox code differs from the driver's (install the same version)"
    return facts


def _probe_task(allow_unsafe: bool, digest: str) -> dict[str, Any]:
    import ray

    return {**node_facts(allow_unsafe, digest), "node_id": ray.get_runtime_context().get_node_id()}


def _shard_task(solutions: tuple[str, ...], shared: tuple[tuple[str, ...], str, bool],
                config: GridConfig, allow_unsafe: bool, digest: str,
                node_executor: NodeExecutor | None) -> tuple[str, GridResult | str]:
    """One shard on a node: ``(node id, result)``, or ``(node id, refusal)`` when this node
    must not run builds (a node that joined after the probe)."""
    import ray

    node = ray.get_runtime_context().get_node_id()
    refusal = node_facts(allow_unsafe, digest)["refusal"]
    if refusal:
        return node, refusal
    tests, preamble, check = shared
    executor = (node_executor(config, allow_unsafe) if node_executor is not None
                else SandboxExecutor(config, workers=1, allow_unsafe=allow_unsafe))
    return node, run_one(executor, GridJob(solutions, tests, preamble, check))


#: The logger of Ray's "token authentication is enabled" notice (Ray 2.59+, local instances).
_TOKEN_LOGGER = "ray._private.authentication.authentication_token_setup"


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Warnings of the logger ``name`` kept off the terminal (errors still show)."""
    import logging

    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _check_reachable(address: str, timeout: float = REACH_TIMEOUT_S) -> None:
    """Fail fast, in one line, when nothing answers at a cluster's ``HOST:PORT`` (Ray
    itself waits minutes, or for ever, logging retries)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    host = host.strip("[]")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or \
            type(exc).__name__
        raise ExecutionError(f"cannot join {address}: nothing answers at {host}:{port} "
                             f"({why})") from None


def _cancel(ray: Any, refs: Sequence[Any], force: bool = True) -> None:
    """Cancel the tasks of ``refs`` that have not finished (``force`` kills their workers).

    A task that has finished is left alone: Ray 2.60 aborts the driver ("Tried to complete
    task that was not pending") when a force-cancelled task's result arrives."""
    if not refs:
        return
    _, pending = ray.wait(list(refs), num_returns=len(refs), timeout=0)
    for ref in pending:
        with contextlib.suppress(Exception):
            ray.cancel(ref, force=force)


def _call(work: Callable[[Any], Any], item: Any) -> Any:
    """A task of :meth:`RayExecutor.map`."""
    return work(item)


def _line(exc: BaseException, limit: int = 200) -> str:
    """An exception as one short line; for an exception raised in a task, the original
    one (Ray's ``cause``)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException) and cause is not exc:
        return _line(cause, limit)
    lines = [ln.strip() for ln in _ANSI.sub("", str(exc)).splitlines() if ln.strip()]
    text = " ".join(lines[:1] + lines[-1:] if len(lines) > 1 and lines[0].endswith(":")
                    else lines[:1])  # "X failed:" says more with its last line
    return f"{type(exc).__name__}: {text}"[:limit]


class RayExecutor:
    """The project's sandbox on a Ray cluster, behind :class:`Executor`.

    ``address``: ``None`` uses this process's Ray connection if there is one, else starts a
    local instance like ``"local"``; ``"local"`` starts a Ray instance on this machine
    (``num_cpus`` CPUs, default all) and stops it on :meth:`close`; ``"auto"``,
    ``"ray://HOST:PORT"`` or ``"HOST:PORT"`` join an existing cluster (:meth:`close`
    disconnects). ``allow_unsafe`` lets nodes below level A run (level C too).
    ``max_retries`` bounds Ray's re-runs of a task (worker or node lost, or an exception);
    ``cost``, ``waves`` and ``min_shard_s`` cut the work (:func:`.shards.plan_shards`);
    ``window`` is the number of shards in flight (default twice the accepted CPUs).
    ``ship_code`` sends the driver's ``planner`` package to the workers.
    ``node_executor`` replaces the sandbox on the nodes (tests only: it must be picklable).

    ``description`` is the local sandbox's (the same settings give the same verdicts, so
    local and Ray builds share cached cells); ``transport`` describes the last run (nodes,
    levels, shards) for provenance. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, config: GridConfig | None = None, *, address: str | None = None,
                 allow_unsafe: bool = False, num_cpus: int | None = None,
                 max_retries: int = 3, cost: CostModel = DEFAULT_COST, waves: float = WAVES,
                 min_shard_s: float = MIN_SHARD_S, window: int | None = None,
                 ship_code: bool = True,
                 node_executor: NodeExecutor | None = None) -> None:
        if address is not None and not is_address(address):
            raise ExecutionError(f"--ray: {address!r} is not a Ray address (local, auto, "
                                 "ray://HOST:PORT or HOST:PORT)")
        for name, value, low in (("num_cpus", num_cpus, 1), ("max_retries", max_retries, 0),
                                 ("window", window, 1)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < low):
                raise ExecutionError(f"{name} must be an integer >= {low}, got {value!r}")
        local = SandboxExecutor(config)
        self.config = local.config
        self.description: dict[str, Any] = local.description
        self.limits: dict[str, Any] = local.limits
        self.address = address
        self.allow_unsafe = allow_unsafe
        self.num_cpus = num_cpus
        self.max_retries = max_retries
        self.cost = cost
        self.waves = waves
        self.min_shard_s = min_shard_s
        self.window = window
        self.ship_code = ship_code
        self.node_executor = node_executor
        self.nodes: tuple[NodeReport, ...] = ()
        #: per finished shard of the last run: (job, part, rows, tests, node id, seconds the
        #: node-side executor reported)
        self.timings: list[tuple[int, int, int, int, str, float]] = []
        self.transport: dict[str, Any] = {"executor": "ray", "address": address or LOCAL}
        self._owned = False
        self._connected = False
        self._refused: dict[str, str] = {}
        self._digest = ""

    # ---- connection ---------------------------------------------------------------------
    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        """Connect to (or start) Ray; idempotent."""
        if self._connected:
            return
        ray = ray_module()
        # the sandbox code the nodes must run: read once, when the driver's package is
        # shipped, so an edit of the files during a build does not refuse every node
        self._digest = sandbox_digest()
        if ray.is_initialized():
            self._connected = True
            return
        import logging

        import planner

        package = str(Path(planner.__file__).parent)  # a path: Ray Client cannot pickle modules
        runtime_env = ({"py_modules": [package], "excludes": ["__pycache__", "*.npz"]}
                       if self.ship_code else None)
        kwargs: dict[str, Any] = {"runtime_env": runtime_env, "logging_level": logging.WARNING,
                                  "log_to_driver": False}
        address = self.address or LOCAL
        where = "start a local Ray instance" if address == LOCAL else f"join {address}"
        self.check_reachable()
        # Ray Client's proxy starts a server per client; under load that start can fail
        # once (an empty "Initialization failure from server"): one more attempt
        attempts = 2 if address.startswith("ray://") else 1
        for attempt in range(attempts):
            try:
                with warnings.catch_warnings():  # Ray's own warnings: the error says it
                    warnings.simplefilter("ignore")
                    if address == LOCAL:
                        # the instance is this build's own: that Ray turned its token
                        # authentication on is no news for the user
                        with _quiet(_TOKEN_LOGGER):
                            ray.init(address=LOCAL, num_cpus=self.num_cpus,
                                     include_dashboard=False, **kwargs)
                    else:
                        ray.init(address=address, **kwargs)
                break
            except Exception as exc:
                if (attempt + 1 < attempts and isinstance(exc, ConnectionError)
                        and "timeout" not in str(exc)):
                    ray.shutdown()
                    time.sleep(5.0)
                    continue
                if "client connection timeout" in str(exc):  # the port answered (checked)
                    raise ExecutionError(
                        f"cannot join {address}: Ray Client did not answer; if the cluster "
                        "uses token authentication, set RAY_AUTH_MODE=token and its token "
                        "(RAY_AUTH_TOKEN or ~/.ray/auth_token) here too") from None
                if address == "auto" and "Could not find any running Ray" in str(exc):
                    raise ExecutionError("cannot join auto: no Ray cluster runs on this machine "
                                         "(start one with 'ray start --head', or give --ray "
                                         "ray://HOST:PORT)") from None
                raise ExecutionError(f"cannot {where}: {_line(exc)}") from None
        self._owned = self._connected = True

    def map(self, work: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Any]:
        """``work(item)`` for every item as Ray tasks (one CPU each), the results yielded in
        the items' order. For work that runs no model code, so no sandbox level is asked of
        the nodes: ``evaluate``'s splits (``work`` must be picklable; it is shipped once).
        A task whose worker or node is lost is re-run (``max_retries``); an error raised by
        ``work`` itself is raised here as it was (a one-line CodecascadeError stays one)."""
        ray = ray_module()
        self.connect()
        task = ray.remote(num_cpus=1, max_retries=self.max_retries)(_call)
        shared = ray.put(work)
        refs = [task.remote(shared, item) for item in items]
        taken = 0
        try:
            for ref in refs:
                try:
                    result = ray.get(ref)
                    taken += 1
                    yield result
                except ray.exceptions.RayTaskError as exc:
                    cause = getattr(exc, "cause", None)
                    if isinstance(cause, CodecascadeError):
                        raise cause from None
                    raise ExecutionError(f"a Ray task failed: {_line(exc)}") from None
                except ray.exceptions.RayError as exc:
                    raise ExecutionError(f"a Ray task failed: {_line(exc)} (after up to "
                                         f"{self.max_retries} retries)") from None
        finally:  # stopped early: the splits not yet back are not needed
            _cancel(ray, refs[taken:], force=False)

    def check_reachable(self) -> None:
        """Raise :class:`ExecutionError` (in seconds, not minutes) when the cluster address
        given accepts no TCP connection; nothing to check for ``local`` and ``auto``."""
        if self.address not in (None, LOCAL, "auto"):
            _check_reachable(self.address)

    def close(self) -> None:
        """Stop the Ray instance this executor started, or disconnect from the cluster it
        joined; a connection it found is left alone."""
        if self._owned:
            ray_module().shutdown()
        self._owned = self._connected = False

    # ---- nodes --------------------------------------------------------------------------
    def probe_nodes(self) -> tuple[NodeReport, ...]:
        """Probe every alive node with CPUs (one task pinned to each), accept or refuse it,
        and warn once on stderr for each refused node. Raises :class:`ExecutionError` when no
        node is accepted."""
        ray = ray_module()
        self.connect()
        digest = self._digest
        nodes = [n for n in ray.nodes() if n.get("Alive") and n["Resources"].get("CPU", 0) > 0]
        if not nodes:
            raise ExecutionError("the Ray cluster has no alive node with CPUs")
        probe = ray.remote(num_cpus=0, max_retries=1)(_probe_task)
        refs = {n["NodeID"]: probe.options(label_selector={_NODE_LABEL: n["NodeID"]}).remote(
            self.allow_unsafe, digest) for n in nodes}
        ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=PROBE_TIMEOUT_S)
        reports = []
        for n in nodes:
            ref = refs[n["NodeID"]]
            facts: dict[str, Any] = {"level": "", "sandbox_python": "", "detail": ""}
            if ref not in ready:
                _cancel(ray, [ref])
                facts["refusal"] = f"no answer to the sandbox probe in {PROBE_TIMEOUT_S:.0f} s"
            else:
                try:
                    facts = ray.get(ref)
                except Exception as exc:
                    facts["refusal"] = f"the probe task failed: {_line(exc)}"
            reports.append(NodeReport(n["NodeID"], n.get("NodeManagerAddress", "?"),
                                      int(n["Resources"]["CPU"]), facts["level"],
                                      facts["sandbox_python"], facts["detail"],
                                      not facts["refusal"], facts["refusal"]))
        self.nodes = tuple(reports)
        for report in reports:
            if not report.accepted:
                self._refuse(report.node_id, f"{report.address} ({report.node_id[:12]}): "
                                             f"{report.reason}")
        accepted = [r for r in reports if r.accepted]
        if not accepted:
            raise ExecutionError("no Ray node may run the sandbox: " + "; ".join(
                f"{r.address} {r.reason}" for r in reports))
        versions = sorted({r.sandbox_python for r in accepted})
        if len(versions) > 1:
            print(f"WARNING ray: nodes run different sandbox Pythons ({', '.join(versions)}); "
                  "verdicts can differ between them", file=sys.stderr, flush=True)
        return self.nodes

    def _refuse(self, node_id: str, why: str) -> None:
        if node_id not in self._refused:
            self._refused[node_id] = why
            print(f"WARNING ray: node {why}; not used", file=sys.stderr, flush=True)

    def _selector(self) -> dict[str, str]:
        return {_NODE_LABEL: f"!in({','.join(sorted(self._refused))})"} if self._refused else {}

    # ---- running ------------------------------------------------------------------------
    def run(self, jobs: Sequence[GridJob]) -> Iterator[tuple[int, GridResult]]:
        """Yield ``(job index, GridResult)`` as each job's shards are all back; raise
        :class:`JobsFailed` at the end if any job could not be run."""
        ray = ray_module()
        started = time.perf_counter()
        jobs = list(jobs)
        if not any(job.solutions and job.tests for job in jobs):
            for index, job in enumerate(jobs):
                yield index, GridResult.empty(len(job.solutions), len(job.tests))
            return
        self.probe_nodes()
        self.timings = []
        cpus = sum(r.cpus for r in self.nodes if r.accepted)
        plan = plan_shards(jobs, cpus, self.cost, waves=self.waves, min_shard_s=self.min_shard_s)
        self.transport = {"executor": "ray", "address": self.address or LOCAL,
                          "ray_version": ray.__version__, "cpus": cpus,
                          "nodes": [r.to_json() for r in self.nodes],
                          "shards": len(plan.shards), "max_retries": self.max_retries}
        for index, job in enumerate(plan.unique):
            if job is None:
                yield index, GridResult.empty(len(jobs[index].solutions), len(jobs[index].tests))
        task = ray.remote(num_cpus=1, max_retries=self.max_retries,
                          retry_exceptions=True)(_shard_task)
        digest = self._digest
        shared: dict[int, Any] = {}
        parts: dict[int, list[GridResult | None]] = {}
        failures: dict[int, str] = {}
        queue: deque[Shard] = deque(plan.shards)
        inflight: dict[Any, Shard] = {}
        window = self.window or max(2, 2 * cpus)
        done_on: dict[str, int] = {}
        last_progress = time.monotonic()

        def submit(shard: Shard) -> None:
            if shard.job not in shared:
                job = plan.unique[shard.job]
                assert job is not None
                shared[shard.job] = ray.put((job.tests, job.preamble, job.check))
                parts[shard.job] = [None] * shard.parts
            remote = task.options(label_selector=self._selector()) if self._refused else task
            ref = remote.remote(plan.shard_job(shard).solutions, shared[shard.job], self.config,
                                self.allow_unsafe, digest, self.node_executor)
            inflight[ref] = shard

        def give_up(job: int, reason: str) -> None:
            failures.setdefault(job, reason)
            mine = [ref for ref, other in inflight.items() if other.job == job]
            _cancel(ray, mine)
            for ref in mine:
                del inflight[ref]
            queue_left = [s for s in queue if s.job != job]
            queue.clear()
            queue.extend(queue_left)
            shared.pop(job, None)

        try:
            while queue or inflight:
                while queue and len(inflight) < window:
                    submit(queue.popleft())
                ready, _ = ray.wait(list(inflight), num_returns=1, timeout=10.0)
                if not ready:
                    if time.monotonic() - last_progress > 30.0 and not self._alive_nodes(ray):
                        for job in {s.job for s in (*inflight.values(), *queue)}:
                            give_up(job, "no accepted Ray node is alive")
                    continue
                last_progress = time.monotonic()
                shard = inflight.pop(ready[0])
                try:
                    node, outcome = ray.get(ready[0])
                except Exception as exc:
                    give_up(shard.job, f"{_line(exc)} (after up to {self.max_retries} "
                                       "retries)")
                    continue
                if isinstance(outcome, str):  # a node that joined later refused: elsewhere
                    self._refuse(node, f"({node[:12]}): {outcome}")
                    if shard.job not in failures:
                        queue.appendleft(shard)
                    continue
                done_on[node] = done_on.get(node, 0) + 1
                self.timings.append((shard.job, shard.part, shard.rows, outcome.shape[1], node,
                                     float(outcome.seconds)))
                job_parts = parts[shard.job]
                job_parts[shard.part] = outcome
                if all(p is not None for p in job_parts):
                    merged = merge_parts([p for p in job_parts if p is not None],
                                         time.perf_counter() - started)
                    del parts[shard.job]
                    shared.pop(shard.job, None)
                    yield shard.job, expand(merged, plan.rows[shard.job], plan.cols[shard.job])
        finally:
            _cancel(ray, list(inflight))
            for entry, report in zip(self.transport["nodes"], self.nodes, strict=True):
                entry["shards_done"] = done_on.pop(report.node_id, 0)
            if done_on:
                self.transport["nodes_joined_later"] = {k[:12]: v for k, v in done_on.items()}
            self.transport["failed_jobs"] = len(failures)
        if failures:
            raise JobsFailed(failures)

    def _alive_nodes(self, ray: Any) -> int:
        """Alive nodes with CPUs that are not refused."""
        return sum(1 for n in ray.nodes() if n.get("Alive") and n["NodeID"] not in self._refused
                   and n["Resources"].get("CPU", 0) > 0)

