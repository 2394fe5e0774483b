"""How emgkit executes independent work (``run``'s participants, ``multiverse``'s participants
and specifications, ``power``'s simulations): in this process, in worker processes, or on
Dask — with the same guarantees everywhere: a participant whose worker raises or dies fails
alone, Ctrl-C/SIGTERM cancel the work (checked between tasks, :mod:`emgkit._interrupts`), and
workers never outlive their parent: every process pool is made by :func:`worker_pool`."""

from __future__ import annotations

import os
import re
import signal
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager

from .. import _interrupts
from ..errors import ConfigError


def run_tasks(tasks, func, done, *, jobs=1, scheduler=None):
    """Run ``func(task)`` for every task and pass each result record to ``done``.

    Parameters
    ----------
    tasks : list
        Picklable tasks with ``key``, ``folder`` and ``recording`` attributes.
    func : callable
        The per-task function (returns a result record); must be picklable.
    done : callable
        Called with each result record, in completion order.
    jobs : int
        Worker processes (1: in this process).
    scheduler : str | None
        Dask scheduler address or ``"local"``.
    """
    if scheduler:
        _run_dask(tasks, scheduler, func, done)
    elif jobs > 1 and len(tasks) > 1:
        _run_pool(tasks, jobs, func, done)
    else:
        for t in tasks:
            _interrupts.check()
            done(func(t))


def map_ordered(func, tasks, *, jobs=1, scheduler=None):
    """Yield ``func(task)`` for every task, in task order: in this process, in ``jobs``
    worker processes, or on Dask (``scheduler``: an address or ``"local"``). For work
    whose tasks are independent computations (power simulations); a task that raises stops
    the map."""
    tasks = list(tasks)
    if scheduler:
        cluster, client = _client(scheduler)
        try:
            for fut in client.map(func, tasks, pure=False):
                yield fut.result()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    elif jobs > 1 and len(tasks) > 1:
        with worker_pool(jobs, len(tasks)) as pool:
            # not pool.map: its clean-up cancels futures the pool's thread then fails on
            futures = [pool.submit(func, t) for t in tasks]
            for fut in futures:
                result = fut.result()
                _interrupts.check()
                yield result
    else:
        for t in tasks:
            _interrupts.check()
            yield func(t)


def failure(task, exc):
    """The result record of a participant whose worker raised or died."""
    name = type(exc).__name__
    why = (" (its worker process died, e.g. out of memory or killed)"
           if name in ("KilledWorker", "BrokenProcessPool") else "")
    return dict(participant=task.key, folder=task.folder, recording=task.recording,
                status="failed", sha256=None, inputs={}, emgkit=None,
                message=f"{name}: {exc}{why}", seconds=0.0)


def _worker_init(threads=1, parent=None):
    """Workers ignore Ctrl-C (the parent cancels them), die with their parent and use
    ``threads`` threads each (blockwise passes, BLAS, numexpr): ``jobs`` workers already
    keep the cores busy, and more threads than cores only add switching.

    ``parent`` is the pool owner's pid, taken in the parent: a worker that asked
    ``os.getppid()`` itself would, when the parent had died before the worker ran, get
    init's pid and then wait for tasks forever. The death signal is asked for before
    anything that takes time.
    """
    parent = os.getppid() if parent is None else parent
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:  # Linux: the kernel kills the worker when the parent dies
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - other systems: poll
        import threading

        def watch():
            while os.getppid() == parent:
                time.sleep(1.0)
            os._exit(1)

        threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:  # the parent died before the death signal was set
        os._exit(1)
    _interrupts.forget()
    _limit_threads(threads)


def _limit_threads(threads):
    """Cap this process's compute threads: emgkit's blockwise passes
    (:func:`emgkit.signal.chunked.thread_limit`) and, through the usual environment
    variables, libraries loaded from now on; threadpoolctl, when installed, also caps
    BLAS/OpenMP pools already loaded (a forked worker inherits its parent's)."""
    from ..signal.chunked import THREADS_ENV

    for name in (THREADS_ENV, "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                 "NUMEXPR_NUM_THREADS"):
        os.environ[name] = str(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return
    threadpool_limits(threads)


@contextmanager
def blas_threads(threads):
    """Run the block with at most ``threads`` BLAS threads (threadpoolctl, when installed;
    otherwise unchanged).

    For work made of many small matrix products, such as the group step's mixed models
    (a few thousand rows, a few dozen columns): OpenBLAS splits such products over every
    core and its threads then spin while Python works between calls, so two threads cost
    twice the CPU seconds of one and finish no sooner (measured on the 8-participant
    study of issue 30: 1.4 → 0.75 CPU s, 0.9–1.4 → 0.75 s wall). Every table of that
    study's group step came out byte for byte the same with one thread as with two.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        yield
        return
    with threadpool_limits(threads, user_api="blas"):
        yield


def worker_threads(workers):
    """Threads per worker process: the cores shared among ``workers`` (at least 1)."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


@contextmanager
def worker_pool(jobs, n_tasks):
    """A process pool of ``min(jobs, n_tasks)`` workers that die with this process.

    Each worker computes in :func:`worker_threads` threads (the cores shared among them).
    Workers ignore Ctrl-C (this process cancels them) and are killed by the kernel when
    this process dies, even by SIGKILL (Linux ``PR_SET_PDEATHSIG``; elsewhere they poll
    their parent). When the block ends by an exception (Ctrl-C, SIGTERM, an error) the
    workers are killed and pending tasks dropped rather than waited for; otherwise
    the pool is shut down normally. Every pool emgkit starts comes from here.
    """
    workers = min(jobs, n_tasks)
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_init,
                               initargs=(worker_threads(workers), os.getpid()))
    try:
        yield pool
    except BaseException:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            proc.kill()
        # no cancelled futures: the pool's own thread marks the pending ones broken when it
        # sees the workers gone, and fails (a traceback on stderr) on a cancelled one
        pool.shutdown(wait=False)
        raise
    pool.shutdown(wait=True)


def _run_pool(tasks, jobs, func, done):
    with worker_pool(jobs, len(tasks)) as pool:
        futures = {pool.submit(func, t): t for t in tasks}
        for fut in as_completed(futures):
            try:
                info = fut.result()
            except Exception as exc:  # the worker died (BrokenProcessPool)
                info = failure(futures[fut], exc)
            done(info)
            _interrupts.check()


_ADDRESS = re.compile(r"^(tcp|tls|inproc|ucx|ws|wss)://\S+$")


def _client(scheduler):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("--scheduler needs Dask: pip install 'emgkit[dask]'.") from None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=":0", host="127.0.0.1")
        return cluster, Client(cluster)
    if not _ADDRESS.match(str(scheduler)):
        raise ConfigError(f"--scheduler {scheduler!r} is not a Dask scheduler address; use "
                          f"tcp://host:port (or --dask for a local cluster).")
    try:
        return None, Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"Cannot reach the Dask scheduler at {scheduler} "
                          f"({type(exc).__name__}); check the address and that the scheduler "
                          f"is running.") from None


def _run_dask(tasks, scheduler, func, done):
    from distributed import as_completed as dask_completed

    cluster, client = _client(scheduler)
    try:
        stamp = time.time()
        futures = {client.submit(func, t, key=f"emgkit-{t.folder}-{stamp}",
                                 pure=False): t for t in tasks}
        for fut in dask_completed(list(futures)):
            try:
                info = fut.result()
            except Exception as exc:  # KilledWorker: the participant crashed its workers
                info = failure(futures[fut], exc)
            done(info)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
