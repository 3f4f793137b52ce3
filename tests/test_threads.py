"""How many threads an analysis uses and how they wait (emotionet.io.threads, issue 31): no more
threads than cores free of other processes' work, threads that sleep while they wait, and the
same choice in the CLI, scan workers and the app's queue."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest
import torch

from emotionet.io import threads
from tests.conftest import REPO


class FakeMachine:
    """/proc/stat and this process's CPU time as a test sets them (seconds since boot)."""

    def __init__(self, monkeypatch, cpus: int = 2):
        self.busy, self.own = 100.0, 10.0
        monkeypatch.setattr(threads, "_busy_seconds", lambda _cpus: self.busy)
        monkeypatch.setattr(threads, "_own_seconds", lambda: self.own)
        monkeypatch.setattr(threads, "cores", lambda: cpus)
        self.clock = [1000.0]
        monkeypatch.setattr(threads.time, "monotonic", lambda: self.clock[0])
        monkeypatch.setattr(threads.time, "sleep", lambda s: self.clock.__setitem__(0, self.clock[0] + s))

    def run(self, seconds: float, others: float, own: float) -> None:
        """`seconds` pass while other processes keep `others` cores busy and this one `own`."""
        self.clock[0] += seconds
        self.busy += (others + own) * seconds
        self.own += own * seconds


def test_a_core_another_process_keeps_busy_is_not_free(monkeypatch):
    machine = FakeMachine(monkeypatch, cpus=2)
    load = threads.Load()
    machine.run(2.0, others=0.0, own=0.0)
    assert load.others() == 0.0 and threads.free_cores(threads.Load()) == 2  # quiet: both cores
    load = threads.Load()
    machine.run(2.0, others=1.0, own=0.0)  # `python -c 'while 1: pass'` beside it
    assert load.others() == pytest.approx(1.0)
    load = threads.Load()
    machine.run(2.0, others=1.0, own=0.0)
    assert threads.free_cores(load) == 1
    load = threads.Load()
    machine.run(2.0, others=3.0, own=0.0)  # three busy processes on two cores: still one thread
    assert threads.free_cores(load) == 1


def test_this_process_own_work_is_not_counted_as_others(monkeypatch):
    """Importing torch and loading the models between the reading's start and end keeps a core busy:
    that is this process, which the threads are for, not another one."""
    machine = FakeMachine(monkeypatch, cpus=2)
    load = threads.Load()
    machine.run(1.5, others=0.0, own=1.0)
    assert threads.free_cores(load) == 2
    load = threads.Load()
    machine.run(1.5, others=0.3, own=1.0)  # a browser redrawing: less than half a core
    assert threads.free_cores(load) == 2
    load = threads.Load()
    machine.run(1.5, others=0.7, own=1.0)
    assert threads.free_cores(load) == 1


def test_a_short_reading_waits_for_a_meaningful_window(monkeypatch):
    machine = FakeMachine(monkeypatch, cpus=2)
    load = threads.Load()
    start = machine.clock[0]
    load.others()
    assert machine.clock[0] - start >= threads.MIN_WINDOW_S


def test_the_real_machine_reading_is_within_its_cores():
    others = threads.Load().others()
    assert 0.0 <= others <= threads.cores()
    assert 1 <= threads.free_cores() <= threads.cores() <= (os.cpu_count() or 1)


def test_emotionet_threads_fixes_the_number_or_says_what_is_wrong(monkeypatch):
    monkeypatch.setenv(threads.THREADS_ENV, "auto")
    assert threads.fixed_threads() is None
    monkeypatch.setenv(threads.THREADS_ENV, "3")
    assert threads.fixed_threads() == 3
    for bad in ("0", "-1", "two"):
        monkeypatch.setenv(threads.THREADS_ENV, bad)
        with pytest.raises(ValueError, match="EMOTIONET_THREADS"):
            threads.fixed_threads()


def test_each_worker_thread_sets_its_own_torch_threads():
    """OpenMP keeps the number per calling thread: the queue's workers each set theirs."""
    seen = {}

    def worker(name, n):
        threads.use(n)
        seen[name] = torch.get_num_threads()

    for name, n in (("one", 1), ("two", 2)):
        thread = threading.Thread(target=worker, args=(name, n))
        thread.start()
        thread.join()
    assert seen == {"one": 1, "two": 2}


def run_python(code: str, env: dict | None = None) -> dict:
    environ = {
        k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "KMP_BLOCKTIME", "OPENBLAS_NUM_THREADS")
    }
    environ.update(env or {})
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=environ, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


CONFIGURE = """
import json, os, sys
from emotionet.io import threads
threads.prepare()
import numpy, torch
from threadpoolctl import threadpool_info
chosen = threads.configure()
print(json.dumps({
    "chosen": chosen, "torch": torch.get_num_threads(), "interop": torch.get_num_interop_threads(),
    "wait": os.environ.get("OMP_WAIT_POLICY"), "blocktime": os.environ.get("KMP_BLOCKTIME"),
    "blas": sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}),
    "cores": threads.cores(),
}))
"""


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux's")
def test_a_process_on_one_core_uses_one_thread_that_sleeps_while_it_waits():
    """What the CLI, a scan worker and a Ray actor do first (threads.configure): a process allowed one
    core (taskset, a container) runs one torch thread, whatever torch's default; threads wait
    passively; numpy's BLAS runs on one thread; one inter-op thread."""
    code = "import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})\n" + CONFIGURE
    found = run_python(code)
    assert found == {
        "chosen": 1,
        "torch": 1,
        "interop": 1,
        "wait": "PASSIVE",
        "blocktime": "0",
        "blas": [1],
        "cores": 1,
    }


def test_a_setting_someone_made_is_kept():
    found = run_python(CONFIGURE, {"OMP_WAIT_POLICY": "ACTIVE", threads.THREADS_ENV: "1"})
    assert found["wait"] == "ACTIVE" and found["chosen"] == found["torch"] == 1


def test_the_command_line_prepares_the_threads_before_torch_loads():
    """`python -m emotionet` sets the waiting policy first: torch is not loaded when it is set."""
    code = (
        "import json, os, sys, runpy\n"
        "from emotionet.io import threads\n"
        "seen = {}\n"
        "prepare = threads.prepare\n"
        "def spy():\n"
        "    seen['torch_loaded'] = 'torch' in sys.modules\n"
        "    prepare()\n"
        "threads.prepare = spy\n"
        "sys.argv = ['emotionet', '--help']\n"
        "try:\n"
        "    runpy.run_module('emotionet', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps({**seen, 'wait': os.environ.get('OMP_WAIT_POLICY')}))\n"
    )
    assert run_python(code) == {"torch_loaded": False, "wait": "PASSIVE"}


def test_the_servers_queue_counts_only_other_processes_work(monkeypatch):
    """The app's queue (queue.FreeCores) runs as many analyses as cores are free: a scan beside the
    server takes one; the server's own analyses do not."""
    from emotionet.app.queue import FreeCores

    machine = FakeMachine(monkeypatch, cpus=2)
    free = FreeCores(readings=1)
    machine.run(1.0, others=1.0, own=0.3)  # a scan beside the server
    assert free() == 1
    machine.run(1.0, others=0.0, own=2.0)  # the server's own two analyses
    assert free() == 2
    machine.run(0.5, others=2.0, own=0.0)  # read at most once a second: the last reading holds
    assert free() == 2
