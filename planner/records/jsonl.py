"""Durable JSON-lines files: one record per line, appended with one write and an fsync.

Every records file of the project (run records, and any later record format) is JSONL
written by :class:`JsonlWriter`: each record is a single ``os.write`` of the whole line,
flushed to disk, so a reader never sees half a record except possibly the very last line
after a hard kill. :func:`read_jsonl` skips such a final line (it has no newline) and
reports it; :func:`drop_partial_tail` cuts it off before appending.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import CodecascadeError
from ..output import open_descriptor


class RecordError(CodecascadeError, ValueError):
    """A records file or line is malformed; the message names the file and line."""


def read_jsonl(path: str | os.PathLike[str], *, what: str = "records",
               on_partial: Callable[[int], None] | None = None
               ) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, parsed JSON)`` for every complete, non-blank line of ``path``.

    A final line without its newline (a writer killed mid-line) is not yielded;
    ``on_partial(line number)`` is called for it. A complete line that is not JSON raises
    :class:`RecordError` naming the file and line; so does an unreadable file.
    """
    path = Path(path)
    try:
        fh = open(path, "rb")  # noqa: SIM115  (closed below; a generator holds it)
    except OSError as exc:
        raise RecordError(f"cannot read {what} {path}: {exc.strerror}") from None
    with fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.endswith(b"\n"):
                if on_partial is not None and raw.strip():
                    on_partial(number)
                return
            if not raw.strip():
                continue
            try:
                yield number, json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise RecordError(f"{path}:{number}: not JSON ({exc})") from None


def drop_partial_tail(path: str | os.PathLike[str]) -> int:
    """Cut a trailing partial line (a crash mid-write) off ``path``; return bytes removed."""
    path = Path(path)
    with open(path, "rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        pos = size
        block = 1 << 16
        while pos > 0:
            start = max(0, pos - block)
            fh.seek(start)
            chunk = fh.read(pos - start)
            idx = chunk.rfind(b"\n")
            if idx >= 0:
                keep = start + idx + 1
                break
            pos = start
        else:
            keep = 0
        if keep < size:
            fh.truncate(keep)
        return size - keep


def dumps_line(obj: Any) -> str:
    """One line of ASCII JSON (newlines and odd characters inside strings are escaped)."""
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":"))


class JsonlWriter:
    """Append records to a JSONL file, one durable line per record.

    ``append=False`` starts the file afresh; ``append=True`` first drops a partial last line
    left by a killed writer. A path naming one of this process's descriptors
    (``/dev/stdout``) is written through that descriptor, neither truncated nor cut; lines
    are fsynced only to a regular file (a pipe or a terminal cannot be). :meth:`write` takes
    a JSON-ready dict or an object with a ``to_json()`` method.
    """

    def __init__(self, path: str | os.PathLike[str], *, append: bool, fsync: bool = True,
                 what: str = "records"):
        self.path = Path(path)
        self._fsync = fsync
        self._what = what
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        number = open_descriptor(self.path)
        try:
            if number is not None:
                self._fd: int | None = os.dup(number)
            else:
                if append and self.path.is_file():
                    drop_partial_tail(self.path)
                self._fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            raise RecordError(f"cannot write {what} {self.path}: {exc.strerror}") from None
        self._regular = stat.S_ISREG(os.fstat(self._fd).st_mode)

    def write(self, record: Any) -> None:
        if self._fd is None:
            raise RecordError(f"{self._what} file {self.path} is closed")
        obj = record.to_json() if hasattr(record, "to_json") else record
        view = memoryview((dumps_line(obj) + "\n").encode("ascii"))
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        if self._fsync and self._regular:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
