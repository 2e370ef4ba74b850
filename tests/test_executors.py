"""Executors as plug-ins: same results in input order whichever runs them, progress once per item,
clear errors, and interrupted batches that leave no simulator or temp folder behind."""
import os
import signal
import socket
import subprocess
import sys
import time

import networkx as nx
import numpy as np
import pytest

from spicegen import SpiceError, run_many
from spicegen.executors import EXECUTORS, SchedulerUnreachable, get_executor
from spicegen.executors.serial import SerialExecutor

from .conftest import requires_ngspice
from .test_backends import RC, SLOW, alive, fake_ngspice, leftovers  # noqa: F401


def _closure():
    """A function like cosim's run_piece: a closure over a graph and arrays, mapped over slices."""
    g = nx.DiGraph()
    g.add_edge("a", "b", weight=2.0)
    X = np.arange(12.0).reshape(6, 2)

    def piece(sl: slice) -> list[np.ndarray]:
        w = g.edges["a", "b"]["weight"]
        time.sleep(0.01 * (sl.start % 2))  # finish out of order
        return [w * X[sl], np.array([sl.start])]
    return piece, [slice(i, i + 2) for i in range(0, 6, 2)]


def _same(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for p, q in zip(a, b) for x, y in zip(p, q))


def test_registry_and_validation():
    assert list(EXECUTORS) == ["serial", "threads", "processes", "dask"]
    assert all(cls.description for cls in EXECUTORS.values())
    with pytest.raises(ValueError, match="unknown executor 'mpi'; registered: serial, threads, "
                                         "processes, dask"):
        get_executor("mpi")
    with pytest.raises(ValueError, match="workers"):
        get_executor("threads", workers=0)
    with pytest.raises(ValueError, match="dask executor only"):
        get_executor("threads", scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(ValueError, match="tcp://HOST:PORT"):
        get_executor("dask", scheduler="http://somewhere")
    assert get_executor("dask", scheduler="localhost:8786").scheduler == "tcp://localhost:8786"


def test_a_backend_that_is_not_parallel_safe_runs_serially_in_one_process():
    assert isinstance(get_executor("threads", 2, backend="shared"), SerialExecutor)
    assert get_executor("threads", 2, backend="subprocess").name == "threads"
    assert get_executor("processes", 2, backend="shared").name == "processes"


@pytest.mark.parametrize("name", ["serial", "threads", "processes"])
def test_local_executors_keep_input_order_and_report_progress(name):
    piece, items = _closure()
    ticks = []
    got = get_executor(name, workers=2).map(piece, items, progress=lambda: ticks.append(1))
    assert _same(got, [piece(i) for i in items]) and len(ticks) == len(items)
    assert get_executor(name).map(piece, []) == []


@pytest.mark.parametrize("name", ["serial", "threads", "processes"])
def test_the_first_failure_raises(name):
    def fn(i):
        if i == 2:
            raise SpiceError("item 2 failed")
        return i
    with pytest.raises(SpiceError, match="item 2 failed"):
        get_executor(name, workers=2).map(fn, range(5))


def test_dask_local_cluster_gives_the_serial_results():
    """A closure over a networkx graph and numpy arrays through a LocalCluster of 2 worker
    processes (cloudpickle), and whole ngspice runs (SimResult) back from them."""
    piece, items = _closure()
    ticks = []
    with get_executor("dask", workers=2) as ex:
        got = ex.map(piece, items, progress=lambda: ticks.append(1))
        assert _same(got, SerialExecutor().map(piece, items)) and len(ticks) == len(items)
        with pytest.raises(ZeroDivisionError):
            ex.map(lambda i: 1 / i, [1, 0])
        if subprocess.run(["sh", "-c", "command -v ngspice"], capture_output=True).returncode == 0:
            a, b = run_many([RC, RC.replace("1k", "2k")], executor=ex)
            assert a["out"][-1] > b["out"][-1] > 0.9
    assert ex._cluster is None and ex._client is None


def test_unreachable_scheduler_is_one_clear_error_not_a_hang():
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    start = time.monotonic()
    with pytest.raises(SchedulerUnreachable) as err:
        get_executor("dask", scheduler=address, connect_timeout=1).map(abs, [1])
    assert time.monotonic() - start < 15
    assert address in str(err.value) and "1 s" in str(err.value)
    assert isinstance(err.value, SpiceError)


@requires_ngspice
@pytest.mark.parametrize("executor", ["serial", "threads"])
@pytest.mark.parametrize("backend", ["subprocess", "shared"])
def test_run_many_matches_run_netlist(backend, executor):
    decks = [RC.replace("1k", f"{k}k") for k in (1, 2, 3)]
    ticks = []
    results = run_many(decks, backend, executor, workers=2, progress=lambda: ticks.append(1))
    finals = [r["out"][-1] for r in results]
    assert finals == sorted(finals, reverse=True) and len(ticks) == 3


CHILD = """
import sys
from spicegen import run_many
from spicegen.signals import install_signal_handlers
install_signal_handlers()
try:
    run_many([{deck!r}] * 3, executor={executor!r}, workers=2, timeout=None)
except KeyboardInterrupt as exc:
    print("unwound", type(exc).__name__, flush=True)
    sys.exit(3)
"""


@pytest.mark.parametrize("executor", ["threads", "processes", "dask"])
def test_sigterm_during_a_batch_leaves_nothing_behind(fake_ngspice, tmp_path, executor):
    _, tmp = fake_ngspice(SLOW)
    piddir = tmp_path / "pids"
    piddir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp), "FAKE_PIDDIR": str(piddir)}
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(deck=RC, executor=executor)],
                             env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 30
        while len(os.listdir(piddir)) < 2:  # both workers' ngspice running
            assert time.monotonic() < end, "the fake ngspice never started twice"
            time.sleep(0.02)
        pids = [int(p) for p in os.listdir(piddir)]
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 3 and "unwound Terminated" in out, out + err
    # the third deck never started; the two running were killed and cleaned up
    assert leftovers(tmp) == [] and not any(alive(p) for p in pids)
    assert len(os.listdir(piddir)) == 2
