"""Helpers of the Ray tests that do not need Ray: finding an instance's processes."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def ray_processes(root: Path) -> list[str]:
    """Command lines of the processes that belong to the Ray instance whose temporary
    folder is ``root`` (its raylet, GCS and helpers name their session folder in it)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(root) in cmdline:
            found.append(f"{proc.name}: {cmdline[:120]}")
    return found


def wait_for_no_ray_processes(root: Path, timeout: float = 30.0) -> None:
    """Fail unless every process of the Ray instance under ``root`` is gone in time."""
    import time

    deadline = time.monotonic() + timeout
    while (left := ray_processes(root)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, f"Ray processes left behind: {left}"


@contextmanager
def ray_tmpdir(prefix: str) -> Iterator[Path]:
    """A fresh, short RAY_TMPDIR (Ray's socket paths must stay short) for the Ray instance
    started inside the block; afterwards the variable is restored, every process of that
    instance is checked gone and the folder removed."""
    root = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    old = os.environ.get("RAY_TMPDIR")
    os.environ["RAY_TMPDIR"] = str(root)
    try:
        yield root
    finally:
        if old is None:
            os.environ.pop("RAY_TMPDIR", None)
        else:
            os.environ["RAY_TMPDIR"] = old
        wait_for_no_ray_processes(root)
        shutil.rmtree(root, ignore_errors=True)
