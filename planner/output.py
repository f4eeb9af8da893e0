"""Writing output files safely: checked before the work starts, written atomically.

Every file the project writes (specs, profiles, plots, records, cache entries, benchmark
results) goes through :func:`atomic_write`, and every output path a command takes is checked
by :func:`check_output` before any work is done, so a bad path costs nothing and a finished
computation is never lost to it.

What a path may be, and what happens to it:

- ``-``: standard output (text or bytes).
- A character device, FIFO or socket (``/dev/null``, a terminal, a named pipe): written
  through in place. It is never replaced: an atomic rename over ``/dev/null`` would turn the
  machine's null device into a plain file.
- One of this process's open descriptors (``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N``,
  ``/proc/self/fd/N``, or a symlink to one): written through that descriptor, whatever it
  is open on. When the shell redirected it to a regular file (``> log.txt``, ``>> log.txt``)
  that file is neither replaced nor truncated: the output lands where the shell's own
  output does.
- A symlink: its target is replaced atomically; the link stays a link.
- A regular file: replaced atomically (a temporary file beside it, then a rename), so a reader
  or a crash never sees half a file. An existing file is replaced only when the caller allows
  it (``--overwrite`` on the command line).
- A directory, or any other kind of file: refused with :class:`OutputError`.

The result gets ordinary permissions (0666 minus the umask), not ``mkstemp``'s 0600.
"""

from __future__ import annotations

import fcntl
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .errors import CodecascadeError

#: The path that means standard output.
STDOUT = "-"


class OutputError(CodecascadeError):
    """An output path that cannot be written, named with the reason in one line."""


#: Paths that name a descriptor of the process that opens them.
_NAMED_DESCRIPTORS = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}
_DESCRIPTOR_PATH = re.compile(
    r"/(?:dev/fd|proc/(?:self|thread-self|(?P<pid>\d+))/fd)/(?P<fd>\d+)")
#: Symlink hops followed at most (the kernel's own limit).
_MAX_HOPS = 40


def open_descriptor(path: str | os.PathLike[str]) -> int | None:
    """The descriptor number when ``path`` names one of this process's open descriptors
    (``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N``, ``/proc/self/fd/N``,
    ``/proc/<this pid>/fd/N``, or a symlink leading to one of these), else None."""
    text = os.path.abspath(os.fspath(path))
    for _ in range(_MAX_HOPS):
        number = _NAMED_DESCRIPTORS.get(text)
        match = _DESCRIPTOR_PATH.fullmatch(text)
        if match and (match["pid"] is None or int(match["pid"]) == os.getpid()):
            number = int(match["fd"])
        if number is not None:
            try:
                os.fstat(number)
            except OSError:
                return None
            return number
        if not os.path.islink(text):
            return None
        text = os.path.normpath(os.path.join(os.path.dirname(text), os.readlink(text)))
    return None


def is_stream(path: str | os.PathLike[str]) -> bool:
    """True for a path written through in place, never replaced: an open descriptor of this
    process (:func:`open_descriptor`), or an existing character device, FIFO or socket
    (followed through symlinks)."""
    if open_descriptor(path) is not None:
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _writable_descriptor(number: int) -> bool:
    return (fcntl.fcntl(number, fcntl.F_GETFL) & os.O_ACCMODE) in (os.O_WRONLY, os.O_RDWR)


def _regular_target(path: Path) -> Path:
    """The file a rename must replace: the symlink's final target, else the path itself."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def check_output(path: str | os.PathLike[str], *, overwrite: bool = True,
                 suffixes: Sequence[str] = (), what: str = "output") -> Path | None:
    """Check that ``path`` can be written, before any work is done.

    Returns the path (``None`` for ``-``, standard output). ``suffixes`` (e.g. ``(".npz",)``)
    are the allowed extensions, compared case-insensitively; ``overwrite=False`` refuses an
    existing regular file. Raises :class:`OutputError` naming ``what`` and the reason: an
    empty path, a wrong extension, a directory, an existing file without ``overwrite``, a
    folder that does not exist and cannot be created, or a folder that is not writable.
    Nothing is created on disk except missing parent folders.
    """
    text = os.fspath(path)
    if text == STDOUT:
        return None
    if not text.strip():
        raise OutputError(f"the {what} path is empty")
    target = Path(text)
    number = open_descriptor(target)
    if number is not None:
        if not _writable_descriptor(number):
            raise OutputError(f"cannot write {what} {target}: descriptor {number} is not "
                              "open for writing")
        return target
    if is_stream(target):
        if not os.access(target, os.W_OK):
            raise OutputError(f"cannot write {what} {target}: permission denied")
        return target
    regular = _regular_target(target)
    if regular.is_dir():
        raise OutputError(f"the {what} {target} is a directory")
    if suffixes and target.suffix.lower() not in {s.lower() for s in suffixes}:
        raise OutputError(f"the {what} {target} must end in {' or '.join(suffixes)}")
    if regular.exists() or regular.is_symlink():
        if not regular.is_file():
            raise OutputError(f"the {what} {target} exists and is not a regular file")
        if not overwrite:
            raise OutputError(f"the {what} {target} exists; pass --overwrite to replace it")
    folder = regular.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create the folder of the {what} {target}: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {what} {target}: the folder {folder} is not writable")
    return target


@contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb",
                 encoding: str | None = None) -> Iterator[IO[Any]]:
    """Yield a file object for ``path`` (see the module docstring for what ``path`` may be).

    A regular file (or a symlink's target) is replaced only on a clean exit; on an error the
    temporary file vanishes and the old file stays. ``-`` and streams are written through.
    OSError (an unwritable folder, a full disk) propagates for the caller to turn into its
    own one-line error.
    """
    text = os.fspath(path)
    if text == STDOUT:
        stream = sys.stdout.buffer if "b" in mode else sys.stdout
        yield stream
        stream.flush()
        return
    target = Path(text)
    number = open_descriptor(target)
    if number is not None:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        with os.fdopen(os.dup(number), mode, encoding=encoding) as fh:
            yield fh
        return
    if is_stream(target):
        with open(target, mode, encoding=encoding) as fh:
            yield fh
        return
    regular = _regular_target(target)
    if regular.exists() and not regular.is_file():
        raise OSError(f"{target} exists and is not a regular file")
    regular.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=regular.parent, prefix=f".{regular.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, encoding=encoding) as fh:
            yield fh
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, regular)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
