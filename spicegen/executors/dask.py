"""``dask``: Dask distributed. Without a scheduler address it starts a local cluster of ``workers``
processes with one thread each, and closes it when done; with ``tcp://HOST:PORT`` it connects to a
running scheduler (``dask scheduler`` and ``dask worker`` on machines where this project and ngspice
are installed), failing with :class:`SchedulerUnreachable` after ``connect_timeout`` seconds rather
than hanging. The function is scattered to the workers once (by cloudpickle, so closures over
graphs and arrays work), then mapped over the items. ``distributed`` is imported only when used.
"""
from __future__ import annotations

import logging
import re
import time

from ..errors import SpiceError
from .base import Executor, new_batch, register_executor, run_item, stop_batch

#: seconds to wait for a scheduler given by address
CONNECT_TIMEOUT = 10.0

_ADDRESS = re.compile(r"^(?:(tcp|tls)://)?(\[[0-9a-fA-F:.]+\]|[^\s:/\[\]]+):(\d{1,5})$")


class SchedulerUnreachable(SpiceError):
    """No Dask scheduler answered at the address within the connect timeout."""

    def __init__(self, address: str, timeout: float, detail: str = ""):
        self.address, self.timeout, self.detail = address, timeout, detail
        super().__init__(f"cannot reach the Dask scheduler at {address} within {timeout:g} s "
                         f"(connect timeout){': ' + detail if detail else ''}. Start one there "
                         f"(`dask scheduler`, then `dask worker {address}`), or give no address to "
                         f"run a local cluster")

    def __reduce__(self):
        return (type(self), (self.address, self.timeout, self.detail))


def normalise_address(address: str) -> str:
    """``tcp://HOST:PORT`` (``HOST:PORT`` means tcp); ValueError for anything else."""
    match = _ADDRESS.match(address.strip()) if isinstance(address, str) else None
    if match is None or not 0 < int(match.group(3)) < 65536:
        raise ValueError(f"a Dask scheduler address is tcp://HOST:PORT, got {address!r}")
    return f"{match.group(1) or 'tcp'}://{match.group(2)}:{match.group(3)}"


#: seconds to keep stopping the running items of a failed or interrupted map
STOP_TIMEOUT = 10.0


@register_executor
class DaskExecutor(Executor):
    name = "dask"
    description = ("Dask distributed: a local cluster of worker processes, or a running scheduler "
                   "at tcp://HOST:PORT")
    shares_process = False

    def __init__(self, workers: int = 2, scheduler: str | None = None,
                 connect_timeout: float = CONNECT_TIMEOUT):
        super().__init__(workers)
        self.scheduler = None if scheduler is None else normalise_address(scheduler)
        if isinstance(connect_timeout, bool) or not connect_timeout > 0:
            raise ValueError(f"connect_timeout must be a positive number of seconds, "
                             f"got {connect_timeout!r}")
        self.connect_timeout = float(connect_timeout)
        self._client = self._cluster = None

    def open(self) -> None:
        from distributed import Client, LocalCluster
        if self.scheduler is None:
            self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                         processes=True, dashboard_address=None,
                                         silence_logs=logging.ERROR)
            try:
                self._client = Client(self._cluster, set_as_default=False)
            except BaseException:
                self._cluster.close()
                self._cluster = None
                raise
            return
        try:
            self._client = Client(self.scheduler, timeout=self.connect_timeout,
                                  set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise SchedulerUnreachable(self.scheduler, self.connect_timeout,
                                       str(exc).splitlines()[0] if str(exc) else "") from None

    def close(self) -> None:
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        try:
            if client is not None:
                client.close()
        finally:
            if cluster is not None:
                cluster.close()

    def _map(self, fn, items, progress):
        from distributed import as_completed
        client = self._client
        token = new_batch()
        [fn_future] = client.scatter([fn], hash=False, broadcast=True)
        futures = client.map(run_item, [token] * len(items), [fn_future] * len(items), items,
                             pure=False)
        index = {future.key: i for i, future in enumerate(futures)}
        results = [None] * len(items)
        try:
            for future in as_completed(futures, loop=client.loop):
                results[index[future.key]] = future.result()
                if progress is not None:
                    progress()
        except BaseException:
            client.cancel(futures + [fn_future])
            self._stop(token)
            raise
        return results

    def _stop(self, token: str) -> None:
        """Kill the simulators of the batch's running items on every worker, until none runs (a
        worker thread cannot be interrupted, but its simulator can)."""
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline:
            try:
                running = sum(self._client.run(stop_batch, token).values())
            except Exception:  # workers gone: nothing left to stop there
                return
            if not running:
                return
            time.sleep(0.1)
