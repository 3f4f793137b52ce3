"""How many threads an analysis may use, and how they wait: the share of the machine that is free.

One other CPU-bound process beside an analysis made it 3.5x slower and burn 3x the CPU (issue 31):
torch's OpenMP threads (two on two cores) busy-wait for each other at every parallel region, and
one of them shares its core with the other process, so both spin through its time slices.
Measured on a 4-minute song (bench/thread_choice.py): with threads that sleep while they wait
(`prepare`) and no more threads than free cores (`free_cores`), an analysis beside a busy process
runs at the speed of the one core left to it instead.

- `prepare()`, before torch or numpy is imported: OpenMP's threads wait passively
  (OMP_WAIT_POLICY=PASSIVE, and KMP_BLOCKTIME=0 for Intel's runtime), numpy's OpenBLAS pool has
  one thread (numpy's BLAS calls here are small). A variable already set is kept.
- `Load()`: what other processes use of this process's cores, from /proc/stat less this process's
  own CPU time, since it was made (or since the last reading): an import or model loading in
  between makes the reading free.
- `free_cores()`: the cores this process may use (affinity, cgroup quota) less those others keep busy.
- `use(threads)`: torch's intra-op threads for the calling thread (OpenMP sets them per thread) and
  one BLAS thread; `configure()` does all of it once for a process that analyses one thing at a
  time (the CLI, a scan worker, a Ray actor), with one inter-op thread (the analysis runs none).
"""

from __future__ import annotations

import math
import os
import sys
import time

WAIT = {"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0"}
ONE_BLAS_THREAD = {"OPENBLAS_NUM_THREADS": "1"}  # numpy's and scipy's OpenBLAS (torch sets its MKL itself)
THREADS_ENV = "EMOTIONET_THREADS"  # a fixed number of threads per analysis; unset or "auto": the free cores
MIN_WINDOW_S = 0.1  # a Load reading over less than this waits for the rest (jiffies are 10 ms)


_since_prepare: "Load | None" = None  # what others used since `prepare` (read by the first free_cores)


def prepare() -> None:
    """Set the waiting policy and the BLAS pools' size in the environment, where a runtime reads them
    as it loads: call it before importing torch or numpy (later, `use` still sets the BLAS pools).
    Child processes (scan workers, Ray workers) inherit it. It also starts measuring what other
    processes use, so that the first `free_cores` reads it over the imports in between, at no wait."""
    global _since_prepare
    for key, value in {**WAIT, **ONE_BLAS_THREAD}.items():
        os.environ.setdefault(key, value)
    if _since_prepare is None:
        _since_prepare = Load()


def cores() -> int:
    """The cores this process may run on: its CPU affinity, capped by a cgroup CPU quota (a container)."""
    try:
        allowed = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        allowed = os.cpu_count() or 1
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()[:2]
        if quota != "max":
            allowed = min(allowed, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, allowed)


def _busy_seconds(cpus: set[int] | None) -> float | None:
    """CPU seconds every process together has used on `cpus` (all when None) since boot; None off Linux."""
    try:
        lines = open("/proc/stat").read().splitlines()
    except OSError:
        return None
    busy = 0
    for line in lines:
        name, _, rest = line.partition(" ")
        if not name.startswith("cpu") or name == "cpu" or (cpus is not None and int(name[3:]) not in cpus):
            continue
        # user nice system idle iowait irq softirq steal: all but idle and iowait are busy (steal:
        # another virtual machine had the core)
        fields = [int(x) for x in rest.split()[:8]]
        busy += sum(fields) - fields[3] - fields[4]
    return busy / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    """CPU seconds this process (every thread, not its children) has used."""
    times = os.times()
    return times.user + times.system


class Load:
    """What other processes keep busy of this process's cores: made now, read later (`others`)."""

    def __init__(self):
        try:
            self.cpus = set(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            self.cpus = None
        self._mark()

    def _mark(self) -> None:
        self._at, self._busy, self._own = time.monotonic(), _busy_seconds(self.cpus), _own_seconds()

    def others(self) -> float:
        """Cores' worth of CPU other processes used since this Load was made or last read (0 to
        `cores()`); where /proc/stat is missing, the 1-minute load average."""
        if self._busy is None:
            try:
                return min(float(os.getloadavg()[0]), cores())
            except (AttributeError, OSError):
                return 0.0
        if (wait := MIN_WINDOW_S - (time.monotonic() - self._at)) > 0:
            time.sleep(wait)
        at, busy, own = self._at, self._busy, self._own
        self._mark()
        window = self._at - at
        others = ((self._busy or busy) - busy - (self._own - own)) / window
        return min(max(others, 0.0), float(cores()))


def free_cores(load: Load | None = None) -> int:
    """The cores no other process keeps busy (at least 1): `cores()` less the others' use, a core
    counted as taken from half of it up. `load` made earlier (by default, at `prepare`, once) reads
    without waiting; otherwise this measures for MIN_WINDOW_S."""
    global _since_prepare
    if load is None:
        load, _since_prepare = _since_prepare or Load(), None
    others = load.others()
    return max(1, cores() - math.floor(others + 0.5))


def fixed_threads() -> int | None:
    """EMOTIONET_THREADS as a number of threads, or None for the automatic choice."""
    value = os.environ.get(THREADS_ENV, "auto").strip().lower()
    if value in ("", "auto"):
        return None
    try:
        threads = int(value)
    except ValueError:
        threads = 0
    if threads < 1:
        raise ValueError(f"{THREADS_ENV}={value!r}: give a whole number of threads (1, 2, ...) or auto")
    return threads


_blas_set = False


def use(threads: int) -> int:
    """Run the calling thread's torch work on `threads` intra-op threads (OpenMP keeps this per
    calling thread, so a worker thread sets its own) and numpy's BLAS on one (once per process: numpy
    may have loaded before `prepare`). Returns `threads`."""
    global _blas_set
    threads = max(1, int(threads))
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    if not _blas_set and "numpy" in sys.modules:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1, user_api="blas")
        _blas_set = True
    return threads


def one_interop_thread() -> None:
    """torch's inter-op pool to one thread (the analysis starts no inter-op work); possible only
    before that pool has started, so a later call is left as it is."""
    import torch

    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass


def configure(load: Load | None = None, at_most: int | None = None) -> int:
    """A process that analyses one thing at a time (the CLI, a scan worker, a Ray actor): passive
    waiting, one inter-op thread, and as many intra-op threads as cores are free (EMOTIONET_THREADS
    fixes it; `at_most` caps it, e.g. 1 for each of several workers). Returns the threads chosen."""
    prepare()
    one_interop_thread()
    threads = fixed_threads() or (1 if at_most == 1 else free_cores(load))
    return use(min(threads, at_most) if at_most else threads)
