"""The team server's queue (emotionet.app.queue, issue 31): every session's analyses go through one
bounded pool, first come first served, each session sees its place and its progress, and no more
run at once than there are free cores."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from emotionet.app.queue import AnalysisQueue, Loading, Queued, QueueFull, Status, ordinal
from emotionet.io.audio import AudioError

WAIT_S = 30  # generous: other engineers' tests share the cores


class Gate:
    """Jobs that start, report, and finish only when told: what ran, in which order, how many at once."""

    def __init__(self):
        self.lock = threading.Lock()
        self.started: list[str] = []
        self.running = 0
        self.most = 0
        self.release: dict[str, threading.Event] = {}

    def job(self, name: str, result=None, error: BaseException | None = None):
        self.release[name] = threading.Event()

        def run(progress):
            with self.lock:
                self.started.append(name)
                self.running += 1
                self.most = max(self.most, self.running)
            progress(0.5, f"{name}: half way")
            assert self.release[name].wait(WAIT_S)
            with self.lock:
                self.running -= 1
            if error is not None:
                raise error
            return result if result is not None else name

        return run

    def until_started(self, *names: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while not set(names) <= set(self.started):
            assert time.monotonic() < deadline, f"{names} did not start; started: {self.started}"
            time.sleep(0.01)


def watched(queue: AnalysisQueue, job):
    """Hold a watcher on `job` (a session waiting for it), as AnalysisQueue.wait does."""
    context = queue.watching(job)
    context.__enter__()
    return context


def test_songs_start_in_the_order_they_came_and_each_knows_its_place():
    gate, queue = Gate(), AnalysisQueue(workers=1, capacity=lambda: 1)
    jobs = {name: queue.submit(name, gate.job(name)) for name in "abcd"}
    holds = [watched(queue, job) for job in jobs.values()]
    gate.until_started("a")
    assert [queue.status(jobs[n]).place for n in "abcd"] == [0, 1, 2, 3]
    assert queue.status(jobs["a"]).state == "running" and queue.status(jobs["c"]).state == "queued"
    assert (
        queue.status(jobs["c"]).text()
        == "Waiting in the queue: your song is 2nd in line (1 running, 1 waiting before yours)…"
    )
    for name in "abcd":
        gate.release[name].set()
    assert [queue.wait(jobs[n]) for n in "abcd"] == list("abcd")
    assert gate.started == list("abcd")
    assert gate.most == 1
    for hold in holds:
        hold.__exit__(None, None, None)


def test_no_more_run_at_once_than_the_free_cores_allow():
    free = [2]
    gate, queue = Gate(), AnalysisQueue(workers=4, capacity=lambda: free[0])
    jobs = [queue.submit(n, gate.job(n)) for n in "abcdef"]
    holds = [watched(queue, job) for job in jobs]
    gate.until_started("a", "b")
    time.sleep(0.3)
    assert gate.started == ["a", "b"] and gate.most == 2  # four workers, but two free cores
    assert [queue.status(j).place for j in jobs] == [0, 0, 1, 2, 3, 4]
    free[0] = 1  # another process now keeps a core busy: one at a time from here
    gate.release["a"].set()
    gate.release["b"].set()
    gate.until_started("c")
    time.sleep(0.3)
    assert gate.started == ["a", "b", "c"]
    for name in "cdef":
        gate.release[name].set()
    assert [queue.wait(j) for j in jobs] == list("abcdef")
    for hold in holds:
        hold.__exit__(None, None, None)


def test_a_running_song_shows_its_progress_and_the_same_clip_is_analysed_once():
    gate, queue = Gate(), AnalysisQueue(workers=2, capacity=lambda: 2)
    first = queue.submit(("hash", "song.mp3"), gate.job("song"))
    again = queue.submit(("hash", "song.mp3"), gate.job("song twice"))  # a second session, the same clip
    assert again is first
    gate.until_started("song")
    deadline = time.monotonic() + WAIT_S
    while queue.status(first).fraction < 0.5 and time.monotonic() < deadline:
        time.sleep(0.01)
    status = queue.status(first)
    assert (status.state, status.place, status.fraction, status.text()) == ("running", 0, 0.5, "song: half way")
    seen: list[Status] = []
    threading.Timer(0.3, gate.release["song"].set).start()
    assert queue.wait(first, show=seen.append, every_s=0.05) == "song"
    assert seen and all(s.message == "song: half way" for s in seen)  # the waiting session saw the progress
    assert gate.started == ["song"]
    assert queue.status(first).state == "done"


def test_a_failed_analysis_raises_in_its_session_and_the_queue_goes_on():
    gate, queue = Gate(), AnalysisQueue(workers=1, capacity=lambda: 1)
    bad = queue.submit("bad", gate.job("bad", error=AudioError("not audio")))
    good = queue.submit("good", gate.job("good"))
    hold = watched(queue, good)
    gate.release["bad"].set()
    with pytest.raises(AudioError, match="not audio"):
        queue.wait(bad)
    gate.release["good"].set()
    assert queue.wait(good) == "good"
    assert queue.status(bad).state == "failed"
    hold.__exit__(None, None, None)


def test_a_queued_song_nobody_waits_for_is_dropped_before_it_starts():
    gate, queue = Gate(), AnalysisQueue(workers=1, capacity=lambda: 1, abandoned_s=0.2)
    first = queue.submit("first", gate.job("first"))
    hold = watched(queue, first)
    gate.until_started("first")
    left = queue.submit("left", gate.job("left"))  # its session chose another clip: nobody watches it
    kept = queue.submit("kept", gate.job("kept"))
    kept_hold = watched(queue, kept)
    time.sleep(0.4)
    gate.release["first"].set()
    gate.release["kept"].set()
    assert queue.wait(kept) == "kept"
    assert gate.started == ["first", "kept"]
    assert left.state == "dropped" and left.done.is_set()
    again = queue.submit("left", gate.job("left again"))  # coming back to it queues it anew
    assert again is not left
    gate.release["left again"].set()
    assert queue.wait(again) == "left again"
    hold.__exit__(None, None, None)
    kept_hold.__exit__(None, None, None)


def test_a_full_queue_refuses_one_more_song_with_a_reason():
    gate, queue = Gate(), AnalysisQueue(workers=1, capacity=lambda: 1, max_waiting=2)
    jobs = [queue.submit("a", gate.job("a"))]
    gate.until_started("a")
    jobs += [queue.submit(n, gate.job(n)) for n in "bc"]
    holds = [watched(queue, job) for job in jobs]
    with pytest.raises(QueueFull, match="2 songs are waiting"):
        queue.submit("d", gate.job("d"))
    for name in "abc":
        gate.release[name].set()
    for job in jobs:
        queue.wait(job)
    for hold in holds:
        hold.__exit__(None, None, None)


def test_each_analysis_runs_on_its_share_of_the_free_cores(monkeypatch):
    """One song alone gets both free cores' threads; when a second starts, each goes down to one
    (at its next progress report); EMOTIONET_THREADS fixes the number."""
    monkeypatch.delenv("EMOTIONET_THREADS", raising=False)
    seen: dict[str, list[int]] = {"a": [], "b": []}
    go = {n: threading.Event() for n in "ab"}
    b_started = threading.Event()

    def job(name):
        def run(progress):
            seen[name].append(torch.get_num_threads())
            if name == "b":
                b_started.set()
            else:
                assert b_started.wait(WAIT_S)
                progress(0.5, "half way")
                seen[name].append(torch.get_num_threads())
            assert go[name].wait(WAIT_S)
            return name

        return run

    queue = AnalysisQueue(workers=2, capacity=lambda: 2)
    a = queue.submit("a", job("a"))
    hold = watched(queue, a)
    while not seen["a"]:
        time.sleep(0.01)
    b = queue.submit("b", job("b"))
    hold_b = watched(queue, b)
    deadline = time.monotonic() + WAIT_S
    while len(seen["a"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    go["a"].set(), go["b"].set()
    queue.wait(a), queue.wait(b)
    assert seen == {"a": [2, 1], "b": [1]}
    monkeypatch.setenv("EMOTIONET_THREADS", "3")
    assert AnalysisQueue(workers=2, capacity=lambda: 2).share() == 3
    hold.__exit__(None, None, None)
    hold_b.__exit__(None, None, None)


def test_loading_runs_in_the_background_and_hands_over_its_result_or_error():
    release = threading.Event()
    loading = Loading(lambda: release.wait(WAIT_S) and "models")
    assert not loading.ready
    with pytest.raises(TimeoutError):
        loading.result(timeout=0.05)
    release.set()
    assert loading.result(timeout=WAIT_S) == "models" and loading.ready and not loading.failed

    def broken():
        raise ValueError("a damaged checkpoint")

    failed = Loading(broken)
    assert failed.wait(WAIT_S) and failed.failed
    with pytest.raises(ValueError, match="damaged"):
        failed.result()


def test_ordinals_read_as_words_do():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"
    ]  # fmt: skip


def test_the_models_other_callers_wait_in_the_same_queue():
    """Label and Test set get the models as queue.Queued: their analyses run on the queue's workers,
    after the songs already waiting; everything else is the models' own."""

    class Models:
        thresholds = (0.6, 0.58)

        def analyze(self, path, name=None):
            return (path, name, threading.current_thread().name)

    gate, queue = Gate(), AnalysisQueue(workers=1, capacity=lambda: 1)
    upload = queue.submit("upload", gate.job("upload"))
    hold = watched(queue, upload)
    gate.until_started("upload")
    models = Queued(Models(), queue)
    assert models.thresholds == (0.6, 0.58)
    found = []
    caller = threading.Thread(target=lambda: found.append(models.analyze("track.wav", name="a track")))
    caller.start()
    time.sleep(0.3)
    assert not found  # waiting behind the upload
    gate.release["upload"].set()
    caller.join(WAIT_S)
    assert found and found[0][:2] == ("track.wav", "a track")
    assert found[0][2].startswith("emotionet-analysis")
    hold.__exit__(None, None, None)


def test_a_wrong_thread_setting_fails_the_song_with_its_reason_and_the_queue_goes_on(monkeypatch):
    monkeypatch.setenv("EMOTIONET_THREADS", "many")
    gate, queue = Gate(), AnalysisQueue(workers=1, capacity=lambda: 1)
    with pytest.raises(ValueError, match="EMOTIONET_THREADS"):
        queue.wait(queue.submit("a", gate.job("a")))
    monkeypatch.setenv("EMOTIONET_THREADS", "1")
    job = queue.submit("b", gate.job("b"))
    gate.release["b"].set()
    assert queue.wait(job) == "b"
