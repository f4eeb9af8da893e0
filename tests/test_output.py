"""Output files: checked before the work, written atomically, never replacing what is not a
regular file (a device, a pipe), through symlinks to their targets, ``-`` to stdout."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from planner import output as output_mod
from planner.output import OutputError, atomic_write, check_output


@pytest.fixture
def guarded_replace(monkeypatch):
    """os.replace that refuses to rename over anything but a regular file or nothing, so a
    regression cannot turn the machine's /dev/null into a plain file while it is tested."""
    calls: list[str] = []
    real = os.replace

    def guard(src, dst):
        calls.append(os.fspath(dst))
        if os.path.lexists(dst) and not stat.S_ISREG(os.lstat(dst).st_mode):
            raise AssertionError(f"would replace the non-regular file {dst}")
        real(src, dst)

    monkeypatch.setattr(output_mod.os, "replace", guard)
    return calls


def test_regular_file_is_replaced_atomically(tmp_path, guarded_replace):
    target = tmp_path / "spec.json"
    target.write_text("old")
    with atomic_write(target, "w", encoding="utf-8") as fh:
        fh.write("new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["spec.json"]


def test_error_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "spec.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target, "w", encoding="utf-8") as fh:
        fh.write("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["spec.json"]


def test_dev_null_stays_a_character_device(guarded_replace):
    with atomic_write("/dev/null", "w", encoding="utf-8") as fh:
        fh.write("discarded")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert guarded_replace == []
    assert check_output("/dev/null", overwrite=False) == Path("/dev/null")


def test_fifo_is_written_through(tmp_path, guarded_replace):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    with atomic_write(fifo) as fh:
        fh.write(b"through the pipe")
    reader.join(timeout=10)
    assert received == [b"through the pipe"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_symlink_to_a_fifo_writes_through_like_dev_stdout(tmp_path, guarded_replace):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "stdout"
    link.symlink_to(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    with atomic_write(link) as fh:
        fh.write(b"spec")
    reader.join(timeout=10)
    assert received == [b"spec"] and link.is_symlink()


def test_symlink_to_a_file_replaces_the_target_and_keeps_the_link(tmp_path, guarded_replace):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    with atomic_write(link, "w", encoding="utf-8") as fh:
        fh.write("new")
    assert link.is_symlink() and real.read_text() == "new"


def test_dash_is_standard_output(capsys):
    with atomic_write("-", "w", encoding="utf-8") as fh:
        fh.write("to stdout")
    assert capsys.readouterr().out == "to stdout"
    assert check_output("-") is None


@pytest.mark.parametrize(("kind", "message"), [
    ("empty", "path is empty"),
    ("directory", "is a directory"),
    ("exists", "exists; pass --overwrite"),
    ("suffix", "must end in .npz"),
])
def test_check_output_refuses_before_any_work(tmp_path, kind, message):
    path = {"empty": "", "directory": str(tmp_path), "exists": str(tmp_path / "p.npz"),
            "suffix": str(tmp_path / "p.json")}[kind]
    (tmp_path / "p.npz").write_bytes(b"x")
    with pytest.raises(OutputError, match=message) as info:
        check_output(path, overwrite=False, suffixes=(".npz",), what="profile")
    assert "\n" not in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_check_output_refuses_an_unwritable_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="not writable"):
            check_output(folder / "out.json")
    finally:
        folder.chmod(0o700)


def test_check_output_creates_missing_folders_and_allows_overwrite(tmp_path):
    target = tmp_path / "a" / "b" / "spec.json"
    assert check_output(target) == target and target.parent.is_dir()
    target.write_text("x")
    assert check_output(target, overwrite=True) == target


def test_check_output_names_a_folder_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot create the folder"):
        check_output(blocker / "sub" / "spec.json", what="spec")


REPO = Path(__file__).resolve().parents[1]

#: Child program: a spec through atomic_write, then JSONL records through JsonlWriter, both
#: to the path given, between lines the child prints itself.
_CHILD = """
import sys
from planner.output import atomic_write, check_output
from planner.records.jsonl import JsonlWriter
path = sys.argv[1]
print("before", flush=True)
check_output(path, overwrite=False, what="spec")
with atomic_write(path, "w", encoding="utf-8") as fh:
    fh.write("spec\\n")
with JsonlWriter(path, append=False) as writer:
    writer.write({"n": 1})
    writer.write({"n": 2})
print("after")
"""


def _child(path: str, stdout, tmp_path: Path):
    import subprocess
    import sys
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", _CHILD, path], stdout=stdout,
                          stderr=subprocess.PIPE, env=env, cwd=tmp_path, timeout=60,
                          check=False)


@pytest.mark.parametrize("name", ["/dev/stdout", "/proc/self/fd/1", "/dev/fd/1", "link"])
@pytest.mark.parametrize("append", [False, True])
def test_dev_stdout_redirected_to_a_file_is_written_through(tmp_path, name, append):
    """`plan -o /dev/stdout > out.txt` (or `>>`): the spec and the records land where the
    shell's own output does; the redirect's file is neither refused as existing, replaced
    by a rename (losing what was printed before), nor truncated."""
    out = tmp_path / "out.txt"
    out.write_text("earlier\n")
    if name == "link":
        (tmp_path / "link").symlink_to("/dev/stdout")
    with open(out, "a" if append else "r+") as stdout:
        if not append:
            stdout.seek(0, os.SEEK_END)
        done = _child(name, stdout, tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    assert out.read_text() == 'earlier\nbefore\nspec\n{"n":1}\n{"n":2}\nafter\n'


def test_dev_stdout_to_a_pipe_takes_records_without_fsync(tmp_path):
    """`run -o /dev/stdout | cat`: a pipe cannot be fsynced (EINVAL); every record still
    arrives and the command ends cleanly."""
    import subprocess
    done = _child("/dev/stdout", subprocess.PIPE, tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode() == 'before\nspec\n{"n":1}\n{"n":2}\nafter\n'


def test_a_descriptor_not_open_for_writing_is_refused(tmp_path):
    with open(tmp_path / "in.txt", "w") as fh:
        fh.write("x")
    fd = os.open(tmp_path / "in.txt", os.O_RDONLY)
    try:
        with pytest.raises(OutputError, match=f"descriptor {fd} is not open for writing"):
            check_output(f"/dev/fd/{fd}", what="spec")
    finally:
        os.close(fd)
