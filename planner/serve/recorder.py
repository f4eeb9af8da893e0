"""The served records file: one durable ``codecascade-record/1`` line per cascade run.

Every request that ran the cascade is appended when it ends - answered, failed upstream,
cut by the deadline, by a disconnecting client or by shutdown (then ``error`` says why and
``stages`` holds the stages that finished) - with the writer of
:mod:`planner.records` (one ``write`` per line, fsynced), so ``codecascade measure
--records`` reads the file as it reads ``run``'s. Requests answered by the fallback ran no
cascade and are not records (they are counted in ``/metrics``). A restarted server appends
to the file, after cutting a partial last line; a file whose last record comes from another
spec is refused, so one file never mixes plans unnoticed.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from pathlib import Path

from ..output import check_output, is_stream
from ..records import ProblemRecord, RecordError, RecordWriter
from .config import ServeError


class Recorder:
    """Appends records; :meth:`write` from the event loop (in a worker thread) and
    :meth:`write_now` (blocking) where the loop cannot wait (a cancelled request)."""

    def __init__(self, path: Path, spec_hash: str):
        self.path = Path(path)
        self.spec_hash = spec_hash
        self.written = 0
        if not self.path.parent.is_dir():
            raise ServeError(f"records folder {self.path.parent} does not exist")
        check_output(self.path, what="records file")
        if not is_stream(self.path) and self.path.is_file() and self.path.stat().st_size:
            try:
                last = last_record(self.path)
            except (RecordError, OSError) as exc:
                raise ServeError(f"cannot append to {self.path}: {exc}") from None
            if last is not None and last.spec_hash != spec_hash:
                raise ServeError(f"{self.path} holds records of another spec (task "
                                 f"{last.task_id}); serve this spec into another file")
        self._lock = threading.Lock()
        self._writer: RecordWriter | None = None

    def open(self) -> None:
        """Open the file for appending (when the server starts, so that a server that never
        starts leaves no file behind)."""
        with self._lock:
            if self._writer is None:
                self._writer = RecordWriter(self.path, append=True)

    def write_now(self, record: ProblemRecord) -> None:
        with self._lock:
            if self._writer is None:
                raise ServeError(f"records file {self.path} is closed")
            self._writer.write(record)
            self.written += 1

    async def write(self, record: ProblemRecord) -> None:
        await asyncio.to_thread(self.write_now, record)

    def close(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None


def last_record(path: Path, block: int = 1 << 16) -> ProblemRecord | None:
    """The last complete record of a records file (a partial last line is skipped), read
    from the end of the file."""
    with open(path, "rb") as fh:
        end = fh.seek(0, os.SEEK_END)
        tail = b""
        pos = end
        while pos > 0:
            start = max(0, pos - block)
            fh.seek(start)
            tail = fh.read(pos - start) + tail
            pos = start
            complete = tail[:tail.rfind(b"\n") + 1] if b"\n" in tail else b""
            lines = complete.splitlines()
            if len(lines) >= 2 or (lines and pos == 0):
                break
        lines = [line for line in tail[:tail.rfind(b"\n") + 1].splitlines() if line.strip()]
    if not lines:
        return None
    try:
        return ProblemRecord.from_json(json.loads(lines[-1]))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path}: the last line is not JSON ({exc})") from None
