"""Interruption: SIGTERM unwinds like Ctrl-C, and simulator children and temp folders never outlive
the run that made them.

:func:`install_signal_handlers` (called by the CLI's main) turns SIGTERM into a :class:`Terminated`
exception, a KeyboardInterrupt, so the ``finally`` blocks of every run kill its simulator process
group and remove its temp folder, as they do on Ctrl-C. Back ends register their children and temp
folders here; :func:`kill_children` stops them all (executors call it when interrupted), and an
``atexit`` hook (:func:`cleanup`) does both for a process that exits with runs still going (a worker process closed
while a task runs in one of its daemon threads).
"""
from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Collection


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM (or another signal given to install_signal_handlers)."""

    def __init__(self, signum: int = signal.SIGTERM):
        self.signum = signum
        super().__init__(f"terminated by {signal.Signals(signum).name}")


def _raise_terminated(signum, frame):
    raise Terminated(signum)


def install_signal_handlers(signals: tuple[int, ...] = (signal.SIGTERM,)) -> bool:
    """Raise :class:`Terminated` in the main thread when one of ``signals`` arrives, so that the
    run in progress unwinds and cleans up. Returns False (and does nothing) outside the main
    thread, where Python cannot set handlers."""
    if threading.current_thread() is not threading.main_thread():
        return False
    for signum in signals:
        signal.signal(signum, _raise_terminated)
    return True


_lock = threading.Lock()
_children: dict[int, tuple[subprocess.Popen, int]] = {}  # pid -> (child, thread that started it)
_tempdirs: set[str] = set()


def register_child(proc: subprocess.Popen) -> None:
    """Track a child started with ``start_new_session=True`` (it leads its own process group) by
    the calling thread."""
    with _lock:
        _children[proc.pid] = (proc, threading.get_ident())


def unregister_child(proc: subprocess.Popen) -> None:
    with _lock:
        _children.pop(proc.pid, None)


def _kill(proc: subprocess.Popen) -> bool:
    """SIGKILL a running child's process group (it and anything it started); False if the child
    had already exited."""
    if proc.poll() is not None:
        return False
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    return True


def kill_group(proc: subprocess.Popen) -> None:
    """Kill the child's process group if it still runs, then reap the child."""
    _kill(proc)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not ignorable
        pass


def kill_children(threads: Collection[int] | None = None) -> int:
    """Kill every tracked child process group (those started by ``threads``, thread idents, when
    given); returns how many were running. The runs they belong to then fail and clean up their own
    temp folders."""
    with _lock:
        procs = [p for p, ident in _children.values() if threads is None or ident in threads]
    return sum(_kill(proc) for proc in procs)


def register_tempdir(path: str) -> None:
    with _lock:
        _tempdirs.add(path)


def remove_tempdir(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
    with _lock:
        _tempdirs.discard(path)


@atexit.register
def cleanup() -> None:
    """Kill every tracked child and remove every tracked temp folder (at exit, or before a worker
    process leaves with ``os._exit``)."""
    with _lock:
        procs = [p for p, _ in _children.values()]
        dirs = list(_tempdirs)
    for proc in procs:
        kill_group(proc)
    for path in dirs:
        shutil.rmtree(path, ignore_errors=True)
