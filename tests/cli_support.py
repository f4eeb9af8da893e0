"""The command line as tests call it: ``cli("plan", "--budget", "0.01")`` runs
``codecascade`` in this process and returns its exit code (0, 2 for a usage error, ...)."""

from __future__ import annotations


def cli(*args: str) -> int:
    """Run ``codecascade ARGS...`` as its console script does; the exit code."""
    import typer

    from planner.cli import _register_commands, app, run_command

    _register_commands()
    return run_command(typer.main.get_command(app), list(args), "codecascade")


def saved_profile(tmp_path_factory, profile=None, *, seed: int = 2) -> str:
    """``profile`` saved as a .npz file in a fresh temporary folder (default: the synthetic
    profile the command-line tests plan on, 3 models × 40 problems × 20 samples and 20 test
    generations, drawn with ``seed``); its path as a string."""
    from planner.profile import save_profile
    from planner.synthetic import synthetic_profile

    if profile is None:
        profile = synthetic_profile(n_models=3, n_problems=40, n_samples=20, n_tests=20,
                                    seed=seed)
    path = tmp_path_factory.mktemp("profiles") / "syn.npz"
    save_profile(profile, path)
    return str(path)
