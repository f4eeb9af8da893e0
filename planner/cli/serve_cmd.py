"""``codecascade serve``: a cascade spec as an OpenAI-compatible HTTP server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import app
from .options import option_names

#: How ``serve`` spells the fields of :class:`~planner.serve.ServeOptions`.
SERVE_NAMES = {"port": "--port", "max_concurrency": "--max-concurrency",
               "deadline_s": "--deadline", "keepalive_s": "--keepalive", "grace_s": "--grace",
               "test_timeout": "--test-timeout", "sandbox_workers": "--sandbox-workers",
               "drift_min_requests": "--drift-min-requests"}


@app.command()
def serve(
    spec: Annotated[Path, typer.Argument(
        metavar="SPEC", help="Cascade spec (JSON) from `codecascade plan`.")],
    endpoints: Annotated[Path, typer.Option(
        "--endpoints", "-e", metavar="FILE", help="TOML file: base URL, model, key variable, "
        "style, sampling and prices of every spec model (as for `run`).")],
    host: Annotated[str, typer.Option(metavar="ADDRESS", help="Address to listen on.")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="Port, 0..65535 (0: any free "
                                      "port).")] = 8000,
    records: Annotated[Path, typer.Option(
        metavar="FILE", help="Records file (JSONL, appended): one line per request that ran "
        "the cascade.")] = Path("served.jsonl"),
    model_name: Annotated[str | None, typer.Option(
        metavar="NAME", help="The model name clients ask for (default: the spec file's name "
        "without .json).")] = None,
    max_concurrency: Annotated[int, typer.Option(
        metavar="N", help="Requests in flight at once (>= 1); more get 429 with "
        "Retry-After.")] = 16,
    deadline: Annotated[float, typer.Option(
        metavar="SECONDS", help="Seconds (> 0) a request may take before a 504.")] = 300.0,
    keepalive: Annotated[float, typer.Option(
        metavar="SECONDS", help="Seconds (> 0) between SSE keep-alive comments of a "
        "streamed request.")] = 15.0,
    grace: Annotated[float, typer.Option(
        metavar="SECONDS", help="Seconds (>= 0) SIGTERM waits for requests in flight.")
    ] = 30.0,
    fallback: Annotated[str, typer.Option(
        metavar="MODEL", help="Who answers a request without a Python function: 'last' (the "
        "last stage's model), a spec model, or 'reject' (400).")] = "last",
    api_key_env: Annotated[str | None, typer.Option(
        metavar="VARIABLE", help="Name of the environment variable holding the bearer token "
        "clients must send (default: no authentication).")] = None,
    unsafe_no_sandbox: Annotated[bool, typer.Option(
        "--unsafe-no-sandbox", help="Run model code below sandbox level A (even with no "
        "isolation at all).")] = False,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Sandbox: fork per (solution, test) pair instead of per solution.")
    ] = False,
    test_timeout: Annotated[float, typer.Option(
        metavar="SECONDS", help="Seconds (> 0) per (solution, test line) run.")] = 1.0,
    sandbox_workers: Annotated[int, typer.Option(
        metavar="N", help="Sandbox batches at once (0: one per CPU).")] = 0,
    profile: Annotated[str | None, typer.Option(
        metavar="PROFILE", help="Profile predicting each stage's acceptance rate for drift "
        "detection (default: the spec's).")] = None,
    drift_min_requests: Annotated[int, typer.Option(
        metavar="N", help="Decided requests (>= 1) a stage needs before drift is judged.")
    ] = 20,
    log_level: Annotated[str, typer.Option(
        metavar="LEVEL", help="critical, error, warning, info or debug.")] = "info",
) -> None:
    """Serve a cascade spec as one model behind an OpenAI-compatible API
    (/v1/chat/completions, /v1/completions, /v1/models, /health, /metrics). Each request
    runs the spec's stages exactly as `run` does and is appended to the records file."""
    import logging

    from ..errors import CodecascadeError
    from ..profile import load_profile
    from ..replay import stage_acceptance
    from ..serve import ServeOptions, bind, prepare, run
    from ..serve.server import base_url

    with option_names(SERVE_NAMES):
        options = ServeOptions(
            spec=spec, endpoints=endpoints, records=records, host=host, port=port,
            model_name=model_name, max_concurrency=max_concurrency, deadline_s=deadline,
            keepalive_s=keepalive, grace_s=grace, fallback=fallback, api_key_env=api_key_env,
            unsafe_no_sandbox=unsafe_no_sandbox, strict_sandbox=strict,
            test_timeout=test_timeout, sandbox_workers=sandbox_workers,
            drift_min_requests=drift_min_requests, log_level=log_level)
    logging.basicConfig(level=log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # one line per upstream request is the HTTP client's debug detail, not the server's log
    logging.getLogger("httpx2").setLevel(max(logging.WARNING, logging.getLogger().level))
    prepared = prepare(options)
    if profile is not None:  # named by the user, so an input: refused before the port opens
        named = load_profile(profile)
        for stage in prepared.spec.stages:
            named.model_index(stage.model)
    sock = bind(host, port)
    try:
        prepared.check_endpoints()
        try:
            prepared.watch_drift(stage_acceptance(spec, profile))
        except CodecascadeError as exc:
            note = f"drift detection is off: no prediction from the profile ({exc})"
            logging.getLogger("codecascade.serve").warning(note)
            prepared.watch_drift(None, note)
        typer.echo(f"serving {prepared.model_name} on {base_url(sock)}/v1 "
                   f"({len(prepared.spec.stages)} stages: {prepared.spec.plan.label()}; "
                   f"sandbox level {prepared.sandbox_level}; records: {records})", err=True)
        for note in prepared.price_notes:
            typer.echo(f"note: {note}", err=True)
        run(prepared, sock)
    finally:
        sock.close()
    typer.echo(f"stopped: {prepared.service.recorder.written} request(s) recorded in "
               f"{records}", err=True)
