"""The files of a run folder, read and written without ever following a link.

An archive is handed to other people: any name in it may be a symbolic link (to ~/.bashrc), a FIFO (a read
that never returns) or a folder. Every read here opens the name itself (O_NOFOLLOW) and checks it is a
regular file; every write goes to a fresh temporary file in the run folder, then replaces the name
(os.replace replaces a link, it never writes through one), after refusing a target that is not a regular file.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import stat
from pathlib import Path
from typing import IO, Callable, TypeVar

from roadtest.errors import AlteredArchive

T = TypeVar("T")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_KINDS = {stat.S_IFDIR: "a folder", stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFSOCK: "a socket",
          stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device", stat.S_IFLNK: "a symbolic link"}


def kind_of(mode: int) -> str:
    return "a regular file" if stat.S_ISREG(mode) else _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def not_regular(path: Path, what: str) -> AlteredArchive:
    return AlteredArchive(
        f"{path.name} in {path.parent} is {what}, not a regular file: a run writes only regular files, so this "
        "archive was changed after the run, and roadtest does not read or write through it",
        f"replace {path.name} with the real file from the archive's origin (or delete it if it is a derived file: "
        "scores, metrics, verdicts, reports), then run the command again")


def entry_problems(folder: Path, ignore: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(name, what it is) for every entry of the run folder that is not a regular file."""
    out = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name in ignore:
                continue
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                try:
                    where = os.readlink(entry.path)
                except OSError:
                    where = "?"
                out.append((entry.name, f"a symbolic link (to {where})"))
            elif not stat.S_ISREG(st.st_mode):
                out.append((entry.name, kind_of(st.st_mode)))
    return sorted(out)


def check_regular(path: Path) -> None:
    """Refuse a name that exists and is not a regular file (a link, a folder, a FIFO)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise not_regular(path, kind_of(st.st_mode) if not stat.S_ISLNK(st.st_mode)
                          else f"a symbolic link (to {os.readlink(path)})")


def open_regular(path: Path, mode: str = "rb") -> IO[bytes]:
    """The regular file at `path` opened for reading ("rb") or updating ("rb+"), never through a link.

    FileNotFoundError passes through; anything but a regular file is refused (AlteredArchive) before a
    byte is read, a FIFO included (opened without blocking, then refused).
    """
    flags = (os.O_RDWR if mode == "rb+" else os.O_RDONLY) | _NOFOLLOW | os.O_NONBLOCK
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
            check_regular(path)   # a link, a folder or a socket: say so
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise not_regular(path, kind_of(st.st_mode))
    os.set_blocking(fd, True)
    return os.fdopen(fd, mode)


def open_append(path: Path) -> int:
    """A raw file descriptor appending to the regular file at `path` (created if missing), never through a link."""
    check_regular(path)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | os.O_NONBLOCK, 0o666)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise not_regular(path, kind_of(mode))
    os.set_blocking(fd, True)
    return fd


def read_bytes(path: Path, limit: int) -> bytes:
    """The whole file, refused (ValueError) when larger than `limit` bytes."""
    with open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        if size > limit:
            raise ValueError(f"{size:,} bytes, more than the {limit:,} roadtest reads from such a file")
        return f.read(limit + 1)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open_regular(path) as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def replace_file(target: Path, write: Callable[[IO[bytes]], T], durable: bool = False) -> T:
    """Write `target` whole or not at all: `write(f)` fills a new temporary file beside it, which then
    replaces it. With `durable`, the data and the rename reach the disk (fsync) before this returns."""
    check_regular(target)
    while True:
        tmp = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            result = write(f)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if durable:
        sync_folder(target.parent)
    return result


def sync_folder(folder: Path) -> None:
    """fsync a folder, so that a rename in it survives a crash (where the platform allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


REMEDIES = {errno.ENOSPC: "free some space", errno.EDQUOT: "free some space (the disk quota is full)",
            errno.EROFS: "make the disk writable (it is mounted read-only)",
            errno.EACCES: "make the run folder writable", errno.EPERM: "make the run folder writable",
            errno.EIO: "check the disk (it reported an I/O error)"}


def remedy(exc: OSError) -> str:
    fallback = "fix the cause above"
    return REMEDIES.get(exc.errno, fallback) if exc.errno is not None else fallback


def reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__
