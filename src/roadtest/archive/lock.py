"""One writer per run folder: an exclusive, non-blocking flock on `.lock` in the folder.

Two `run --resume` of one run at once would both send the trials neither has finished (paying twice)
and interleave their records. The kernel drops a flock when its process dies, however it dies, so a
lock that is held always has a live holder; the file itself stays (removing it would race a new locker).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path
from typing import IO

from roadtest.archive.files import check_regular, open_regular
from roadtest.errors import RoadtestError

LOCK = ".lock"


class RunLocked(RoadtestError):
    """Another process writes to this run folder now."""

    exit_code = 2


class RunLock:
    """The lock of one run folder; `acquire` refuses at once when another process (or another RunArchive
    of the same folder in this process) holds it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / LOCK
        self._file: IO[bytes] | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def acquire(self) -> None:
        """Take the lock (OSError when the folder is not writable; RunLocked when someone else holds it)."""
        if self._file is not None:
            return
        check_regular(self.path)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0),
                     0o666)
        f = os.fdopen(fd, "rb+")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            raise self._refusal() from None
        except BaseException:
            f.close()
            raise
        self._file = f
        try:   # who holds it, for the message a second writer gets (best effort: the lock is what counts)
            f.truncate(0)
            f.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode() + b"\n")
            f.flush()
        except OSError:
            pass

    def release(self) -> None:
        f, self._file = self._file, None
        if f is None:
            return
        try:
            f.truncate(0)
        except OSError:
            pass
        finally:
            f.close()   # closing the descriptor releases the flock

    def holder(self) -> dict[str, object]:
        try:
            with open_regular(self.path) as f:
                data = json.loads(f.read(4096) or b"{}")
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError, RoadtestError):
            return {}

    def _refusal(self) -> RunLocked:
        who = self.holder()
        pid, host = who.get("pid"), who.get("host")
        if isinstance(pid, int):
            here = host == socket.gethostname()
            by = f"roadtest process {pid}" + ("" if here or not host else f" on {host}")
            if pid == os.getpid() and here:
                by = "this process (another RunArchive of the same folder)"
        else:
            by = "another roadtest process"
        run_id = self.folder.name
        return RunLocked(
            f"run {run_id} is being written by {by}: two writers at once would send the same calls twice "
            "and mix their records",
            f"wait until it ends (or stop it), then run the command again, e.g. `roadtest run --resume {run_id}`")
