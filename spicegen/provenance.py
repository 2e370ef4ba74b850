"""What a report records about how it was made: the command, the inputs (with digests), the
settings and the versions of everything that computed it.

``cosim``, ``sneak``, ``crosstalk`` and ``twins`` put :func:`record` in their report.json so that
a figure can be traced to a graph file, a data set, a simulator and a commit. Collecting never
fails a run: what cannot be found is recorded as such.
"""
from __future__ import annotations

import datetime
import functools
import os
import platform
import subprocess
import sys
import time

#: the distribution name of this toolkit (pyproject.toml)
DISTRIBUTION = "spintronic-spice"


def file_sha256(path: str) -> str | None:
    """sha256 of a file's bytes, or None when it cannot be read."""
    from spintronic.graph.files import file_sha256 as sha256
    try:
        return sha256(path)
    except OSError:
        return None


@functools.lru_cache(maxsize=1)
def toolkit_version() -> dict:
    """The installed version of this toolkit and, inside a git checkout, its commit (with
    ``dirty`` when tracked files differ from it); outside one, commit None."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version(DISTRIBUTION)
    except PackageNotFoundError:
        installed = None
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    commit = dirty = None
    try:
        out = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10, stdin=subprocess.DEVNULL)
        if out.returncode == 0:
            commit = out.stdout.strip() or None
            status = subprocess.run(["git", "-C", root, "status", "--porcelain",
                                     "--untracked-files=no"], capture_output=True, text=True,
                                    timeout=10, stdin=subprocess.DEVNULL)
            dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):    # no git, or not a checkout
        pass
    return {"version": installed, "git_commit": commit, "git_dirty": dirty}


def _module_version(name: str) -> str | None:
    try:
        module = __import__(name)
    except ImportError:
        return None
    return str(getattr(module, "__version__", "unknown"))


def versions(backend: str | None = "subprocess") -> dict:
    """Versions of the toolkit, the simulator of ``backend`` (None: no simulator used), torch,
    numpy and Python."""
    out = {DISTRIBUTION: toolkit_version()}
    if backend is not None:
        from .backends import get_backend

        try:
            out["ngspice"] = get_backend(backend).version()
        except Exception as exc:     # an unknown back end: record why, never fail the report
            out["ngspice"] = f"unavailable ({exc})"
    out.update(torch=_module_version("torch"), numpy=_module_version("numpy"),
               python=platform.python_version())
    return out


def record(*, started: float, graph: str | None = None, data_source: dict | None = None,
           settings: dict | None = None, backend: str | None = "subprocess",
           argv: list[str] | None = None) -> dict:
    """The provenance block of a report.

    started: ``time.time()`` when the command began (the duration runs to now); graph: the graph
    file read (its absolute path and sha256 are recorded); data_source: the data set as
    ``training.datasets`` records it; settings: fidelity, window, executor, seeds... as the
    command used them; backend: the simulator asked for its version (None if none ran);
    argv: the command line (default ``sys.argv``).
    """
    out = {"command": list(sys.argv if argv is None else argv),
           "cwd": os.getcwd(),
           "started": datetime.datetime.fromtimestamp(started, datetime.timezone.utc)
           .isoformat(timespec="seconds"),
           "seconds": round(time.time() - started, 3)}
    if graph is not None:
        out["graph"] = {"path": os.path.abspath(graph), "sha256": file_sha256(graph)}
    out["data"] = data_source
    out["settings"] = dict(settings or {})
    out["versions"] = versions(backend)
    return out


def command_settings(args) -> dict:
    """A command's options as it ran, for a report: every plain value of the namespace."""
    def plain(v) -> bool:
        return v is None or isinstance(v, (str, int, float, bool)) or (
            isinstance(v, (list, tuple)) and all(isinstance(x, (str, int, float)) for x in v))
    return {k: v for k, v in sorted(vars(args).items()) if k != "argv" and plain(v)}


def for_command(args, *, started: float, settings: dict | None = None, **more) -> dict:
    """:func:`record` for a ``spicegen`` command: its options (plus ``settings``) and its
    command line as given (``args.argv``), with ``more`` (graph, data_source, backend)."""
    return record(started=started, settings={**command_settings(args), **(settings or {})},
                  argv=getattr(args, "argv", None), **more)


__all__ = ["DISTRIBUTION", "file_sha256", "toolkit_version", "versions", "record",
           "command_settings", "for_command"]
