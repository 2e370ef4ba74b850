"""Output files that are never half written, and run folders that one run holds at a time.

The neutral layer for output files, used by training and spicegen alike (imports nothing of the
project).

* :func:`atomic_write_bytes`, :func:`atomic_write_text`, :func:`atomic_json` write a temporary
  file in the target's folder, fsync it and ``os.replace`` it over the target: a reader sees the
  old content or the new, never a mix, and an exception (KeyboardInterrupt included) raised
  mid-write leaves the old content and no temporary file. The result has mode
  ``0o666 & ~umask``, as ``open(path, "w")`` would give.
* :class:`OutputLock` / :func:`output_folder` create a run folder and hold an exclusive
  ``flock`` on ``.spicegen.lock`` inside it; a second run that asks for the same folder gets a
  :class:`FolderBusyError` naming the first (pid and command line). The lock is released and its
  file removed on exit, exception or interrupt; a lock file left by a killed run holds no
  ``flock`` and is simply taken over.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import secrets
import shlex
import sys
import time
from typing import Any, Iterator

LOCK_NAME = ".spicegen.lock"


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks (OSError when it cannot be read)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (temp file in the same folder, fsync, replace).

    On any failure, KeyboardInterrupt included, the temporary file is removed and ``path`` keeps
    its previous content (or stays absent). A symlink at ``path`` is replaced, not followed.
    """
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    data = memoryview(data).cast("B")
    tmp = None
    fd = -1
    try:
        while True:
            tmp = os.path.join(folder, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
            try:
                # 0o666 through the umask, as open(path, "w") gives (mkstemp would give 0o600)
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
                fd = os.open(tmp, flags, 0o666)
                break
            except FileExistsError:
                continue
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
        tmp = None
    except BaseException:
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: str) -> None:
    """Make the rename durable; best effort (not every file system lets a folder be fsynced)."""
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


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """:func:`atomic_write_bytes` of ``text`` encoded (no newline translation, as on POSIX)."""
    atomic_write_bytes(path, text.encode(encoding))


def atomic_json(path: str | os.PathLike, obj: Any, *, indent: int | None = 1,
                sort_keys: bool = False, end: str = "\n", **kwargs: Any) -> None:
    """Write ``obj`` as JSON followed by ``end`` (a newline; ``end=""`` gives what
    ``json.dump`` writes), atomically.

    ``indent``, ``sort_keys`` and any other keyword go to :func:`json.dumps`; the object is
    serialised before the file is touched, so an unserialisable object leaves ``path`` as it was.
    """
    text = json.dumps(obj, indent=indent, sort_keys=sort_keys, **kwargs) + end
    atomic_write_text(path, text)


class FolderBusyError(ValueError):
    """Another run holds the output folder."""


def _command_line() -> str:
    argv = sys.argv if sys.argv and any(sys.argv) else [sys.executable]
    return shlex.join(argv)


def _describe_holder(text: str) -> str:
    try:
        info = json.loads(text)
        return f"pid {int(info['pid'])}: {info['command']}"
    except (ValueError, KeyError, TypeError):
        return "a process that has not yet written its pid"


class OutputLock:
    """An exclusive, non-blocking lock on a run folder (``.spicegen.lock`` inside it).

    ``acquire`` creates the folder, takes ``fcntl.flock`` on the lock file and writes the
    holder's pid and command line into it (one JSON line); it raises :class:`FolderBusyError`
    naming the holder when another process has it. ``release`` removes the lock file and drops
    the lock. Use as a context manager, or through :func:`output_folder`.

    The lock belongs to an open file, so a second ``OutputLock`` on the same folder in the same
    process is refused too; a process forked while holding it does not release it.
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = os.fspath(folder)
        self.path = os.path.join(self.folder, LOCK_NAME)
        self._fd = -1
        self._owner = None

    @property
    def held(self) -> bool:
        return self._fd >= 0 and self._owner == os.getpid()

    def acquire(self) -> "OutputLock":
        if self._fd >= 0:
            raise RuntimeError(f"{self.path} is already held by this OutputLock")
        os.makedirs(self.folder, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as exc:
                    if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        raise
                    holder = _describe_holder(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
                    raise FolderBusyError(
                        f"output folder {self.folder} is in use by another run ({holder}); wait "
                        f"for it to finish or choose another folder") from None
                # the holder we waited on may have removed the file after we opened it: the lock
                # is then on a dead inode, and whoever creates the path anew would hold it too
                try:
                    same = os.path.samestat(os.fstat(fd), os.stat(self.path))
                except FileNotFoundError:
                    same = False
                if not same:
                    os.close(fd)
                    continue
                record = json.dumps({"pid": os.getpid(), "command": _command_line(),
                                     "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
                os.ftruncate(fd, 0)
                os.pwrite(fd, (record + "\n").encode("utf-8"), 0)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.close(fd)
                raise
            self._fd, self._owner = fd, os.getpid()
            return self

    def release(self) -> None:
        """Remove the lock file and drop the lock (a no-op when not held by this process)."""
        if self._fd < 0:
            return
        fd, owner = self._fd, self._owner
        self._fd, self._owner = -1, None
        try:
            if owner == os.getpid():
                # unlink while still locked, so that a waiter who opened this inode sees it is gone
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path)
        finally:
            os.close(fd)

    def __enter__(self) -> "OutputLock":
        return self.acquire()

    def __exit__(self, *exc_info) -> None:
        self.release()

    def __del__(self):  # a lock dropped without release must not keep its file descriptor
        with contextlib.suppress(Exception):
            if self._fd >= 0 and self._owner == os.getpid():
                self.release()


@contextlib.contextmanager
def output_folder(path: str | os.PathLike) -> Iterator[str]:
    """Create the run folder ``path``, hold it for the ``with`` block, and yield it as a str.

    Raises :class:`FolderBusyError` (a ValueError) naming the other run when one holds it. A
    folder this run created is removed again when the run fails or is interrupted before writing
    anything into it (only then: whatever was written stays).
    """
    created, done = not os.path.exists(path), False
    try:
        with OutputLock(path) as lock:
            yield lock.folder
        done = True
    finally:
        if created and not done:
            with contextlib.suppress(OSError):     # not empty, or already gone
                os.rmdir(path)
