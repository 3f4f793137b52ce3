"""The library scan as a Ray Data pipeline: the same analysis and database as `library.scan_files`.

    list files (driver) -> read bytes + content hash (Ray tasks) -> analyse in batches (a pool of
    Ray actors, each loading the models once) -> write (driver: the library database)

The driver plans like the local scan: a file whose size and modification time match its
`library_files` row has a known hash, and a known hash already analysed (or failed) with these
models is not read at all. Every other file goes through the pipeline; its hash is computed
where it is read, and an actor skips it when that hash is already in the library (a moved,
copied or touched file) without decoding it. Results are written as they arrive, one batch at a
time, each song in its own transaction: a killed run loses at most the batches in flight, and the
next run skips what was written. A file that cannot be analysed is remembered with its error
(`library_failures`) and the run goes on; a file whose batch never came back (a worker that
crashed) is reported but not remembered, so the next scan tries it again.

On a cluster (`address`) the folder must be at the same path on every node (a shared file
system) and the nodes need the same environment (requirements-scale.txt and the musicnn wheel);
the emotionet package itself is shipped with the job, and the models travel to the actors as
objects, so the checkpoints folder need only exist on the driver.

`device`: "cpu" (one core per actor), "cuda" (actors share each GPU, `GPU_SHARE` each, and run
the networks there: each song's CNN windows and musicnn patches go through as one batch), or
"auto" (cuda when the cluster has GPUs).
"""

from __future__ import annotations

import logging
import os
import pickle
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Iterable

from ..io import database
from ..io.audio import AudioError
from ..library import songs as library
from ..library.songs import ScanResult
from ..models.checkpoints import ModelBundle
from ..team import storage

REPO_DIR = Path(__file__).resolve().parents[2]
PACKAGE_DIR = Path(__file__).resolve().parents[1]
GPU_SHARE = 0.25  # four actors per GPU: while one decodes on its CPU core, the others use the GPU
LOCAL_OBJECT_STORE_MB = 512  # plenty for a few batches of songs in flight; Ray spills beyond it
LOST = "no result: the Ray worker analysing it failed; the next scan tries it again"


# --- Ray --------------------------------------------------------------------------------------


def init_ray(address: str | None = None, num_cpus: int | None = None, object_store_mb: int | None = None):
    """Start a local Ray instance (or connect to the cluster at `address`) able to run this package.

    Returns (ray, started): `started` is False when Ray was already initialised by the caller.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    import ray

    from ..io.threads import WAIT

    waiting = {key: os.environ.get(key, value) for key, value in WAIT.items()}  # threads sleep while they wait

    if ray.is_initialized():
        return ray, False
    quiet = {"include_dashboard": False, "logging_level": logging.WARNING, "log_to_driver": False}
    if address:  # the package travels with the job; the cluster provides the environment
        ray.init(address=address, runtime_env={"py_modules": [str(PACKAGE_DIR)], "env_vars": waiting}, **quiet)
    else:
        path = os.pathsep.join(filter(None, [str(REPO_DIR), os.environ.get("PYTHONPATH")]))
        ray.init(
            num_cpus=num_cpus,
            object_store_memory=(object_store_mb or LOCAL_OBJECT_STORE_MB) << 20,
            runtime_env={"env_vars": {"PYTHONPATH": path, **waiting}},
            **quiet,
        )
    return ray, True


def actor_options(ray, device: str = "auto", actors: int | None = None) -> tuple[str, int, dict]:
    """(device the actors use, how many, their Ray resources) for the cluster Ray is connected to."""
    resources = ray.cluster_resources()
    cpus, gpus = int(resources.get("CPU", 1)), resources.get("GPU", 0)
    if device == "auto":
        device = "cuda" if gpus else "cpu"
    if device == "cuda":
        if not gpus:
            raise RuntimeError("--device cuda, but the Ray cluster has no GPU (use --device auto or cpu)")
        most = max(1, min(cpus, int(gpus / GPU_SHARE)))
        return device, min(actors or most, most), {"num_cpus": 1, "num_gpus": GPU_SHARE}
    if device != "cpu":
        raise ValueError(f"unknown device {device!r}: auto, cpu or cuda")
    most = max(1, cpus)  # more actors than the cluster has cores would wait forever for a slot
    return device, min(actors or most, most), {"num_cpus": 1}


# --- the pipeline's stages (run on Ray workers) ------------------------------------------------


def read_files(batch):
    """Read stage: each file's bytes, content hash, size and modification time (or why not)."""
    import pyarrow as pa

    out = {k: [] for k in ("path", "data", "hash", "size", "mtime_ns", "error")}
    for path in batch.column("path").to_pylist():
        data, digest, size, mtime, error = b"", "", 0, 0, ""
        try:
            stat = os.stat(path)
            data = Path(path).read_bytes()
            digest, size, mtime = storage.content_hash(data), stat.st_size, stat.st_mtime_ns
        except OSError as exc:
            error = f"Could not read {Path(path).name}: {exc.strerror or exc}"
        for key, value in zip(out, (path, data, digest, size, mtime, error)):
            out[key].append(value)
    return pa.table({**out, "data": pa.array(out["data"], pa.binary())})


class Analyser:
    """Analyse stage: an actor with the models loaded once; a song already in the library is skipped."""

    def __init__(self, bundle, thresholds, device: str, pretrained: bool, seconds, done: frozenset):
        self.options = (bundle, thresholds, pretrained, device)
        self.seconds, self.done = seconds, done
        self._predictor = None

    @property
    def predictor(self):
        """Loaded on the first song to analyse: an actor that only skips known songs never pays for it."""
        if self._predictor is None:
            import torch

            from ..io import threads
            from ..predict import Predictor

            threads.configure(at_most=1)  # one core per actor, as batch.py's workers
            bundle, thresholds, pretrained, device = self.options
            if device == "cuda" and not torch.cuda.is_available():
                raise RuntimeError("this Ray worker was given a GPU but torch sees none (a CPU-only torch?)")
            self._predictor = Predictor(bundle, thresholds, pretrained, device=device)
        return self._predictor

    def __call__(self, batch):
        import pyarrow as pa

        rows = batch.to_pylist()
        status, errors, analyses = [], [], []
        for row in rows:
            state, error, blob = self.analyse(row)
            status.append(state)
            errors.append(error)
            analyses.append(blob)
        return pa.table(
            {
                "path": [r["path"] for r in rows],
                "hash": [r["hash"] for r in rows],
                "size": pa.array([r["size"] for r in rows], pa.int64()),
                "mtime_ns": pa.array([r["mtime_ns"] for r in rows], pa.int64()),
                "status": status,
                "error": errors,
                "analysis": pa.array(analyses, pa.binary()),
            }
        )

    def analyse(self, row) -> tuple[str, str, bytes]:
        """(status, error, pickled Analysis): status is ok, failed, known or unread."""
        if row["error"]:
            return "unread", row["error"], b""
        if bytes.fromhex(row["hash"]) in self.done:
            return "known", "", b""
        name, predictor = Path(row["path"]).name, self.predictor  # a setup error ends the run, not one file
        try:  # the same messages as batch._analyze gives the local scan
            analysis = predictor.analyze(row["data"], name=name, seconds=self.seconds)
        except AudioError as error:
            return "failed", str(error), b""
        except Exception as error:  # an unexpected failure on one file must not end the batch
            return "failed", f"Could not analyse {name}: {type(error).__name__}: {error}", b""
        analysis.file, analysis.features = row["path"], {}
        return "ok", "", pickle.dumps(analysis)


# --- the driver -------------------------------------------------------------------------------


def scan_folder_ray(folder: str | Path, engine=None, **options) -> ScanResult:
    """`scan_files_ray` over the audio files under `folder` (recursively)."""
    return scan_files_ray(library.audio_files(folder), engine, **options)


def scan_files_ray(
    paths: Iterable[str | Path],
    engine=None,
    checkpoints=None,
    thresholds=None,
    address: str | None = None,
    device: str = "auto",
    actors: int | None = None,
    batch_size: int = 8,
    force: bool = False,
    pretrained: bool = True,
    seconds: float | None = None,
    progress_bar: bool = False,
) -> ScanResult:
    """Add files to the library with Ray; returns the same summary as `library.scan_files`.

    Ray starts only when something needs analysing (a rescan of a known folder never starts it);
    a Ray instance the caller started is used and left running.
    """
    started = time.perf_counter()
    engine = engine or database.make_engine()
    fingerprint = library.models_fingerprint(checkpoints, thresholds, seconds)
    result = ScanResult()
    hash_of, todo, settled = _plan(engine, paths, fingerprint, force, result)
    if todo:
        bundle = ModelBundle.load(checkpoints)
        done = frozenset() if force or all(hash_of.get(p) for p in todo) else _analysed(engine, fingerprint)
        ray, started_here = init_ray(address)
        returned = set()
        try:
            rows = _run(
                ray, todo, bundle, thresholds, device, actors, batch_size, pretrained, seconds, done, progress_bar
            )
            with closing(rows):  # interrupted: stop the pipeline now, its actors hold the cores
                for row in rows:
                    _write(engine, row, fingerprint, hash_of, settled, result)
                    returned.add(row["path"])
        finally:
            if started_here:
                ray.shutdown()
        result.failed.update({path: LOST for path in todo if path not in returned})
    order = list(dict.fromkeys(h for h in hash_of.values() if h))
    result.songs = library.load_songs(engine, order)
    result.seconds = time.perf_counter() - started
    return result


def _plan(engine, paths, fingerprint: str, force: bool, result: ScanResult):
    """(path -> content hash, "" where unknown, in file order; paths to send through the pipeline;
    hashes settled without analysis). Like the local scan: known songs are counted, songs that
    failed before are reported, moved files get their new path; no file is read.
    """
    stats: dict[str, tuple[int, int]] = {}
    for p in paths:
        path = str(Path(p).resolve())
        try:
            stat = os.stat(path)
        except OSError as error:
            result.failed[str(p)] = f"Could not read {Path(p).name}: {error.strerror or error}"
            continue
        stats[path] = (stat.st_size, stat.st_mtime_ns)
    hash_of = dict.fromkeys(stats, "")
    hash_of.update(library.unchanged_file_hashes(engine, stats))
    first: dict[str, str] = {}  # known hash -> its first path
    todo = [path for path, digest in hash_of.items() if not digest]
    for path, digest in hash_of.items():
        if digest and digest not in first:
            first[digest] = path
    analyse = library.settle_known(engine, first, fingerprint, force, result)
    todo += [first[digest] for digest in analyse]
    settled = set(first) - set(analyse)
    order = {path: i for i, path in enumerate(hash_of)}
    return hash_of, sorted(todo, key=order.get), settled


def _analysed(engine, fingerprint: str) -> frozenset:
    """Digests (32 bytes each) of every song analysed or failed with these models: actors skip them."""
    return frozenset(bytes.fromhex(h) for h in library.analysed_hashes(engine, fingerprint))


def _run(ray, todo, bundle, thresholds, device, actors, batch_size, pretrained, seconds, done, bar):
    """Yield the pipeline's output rows as their batches finish."""
    import ray.data
    from tqdm import tqdm

    device, count, resources = actor_options(ray, device, actors)
    count = min(count, len(todo))
    batch_size = max(1, min(batch_size, -(-len(todo) // count)))  # a few songs: every actor still gets some
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the bar below counts songs
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # failures still raise here
    ds = ray.data.from_items([{"path": p} for p in todo], override_num_blocks=-(-len(todo) // batch_size))
    # reading is I/O: it takes no CPU slot, or actors holding every core would starve it
    ds = ds.map_batches(read_files, batch_size=batch_size, batch_format="pyarrow", num_cpus=0)
    ds = ds.map_batches(
        Analyser,
        batch_size=batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=count),
        fn_constructor_args=(bundle, thresholds and tuple(thresholds), device, pretrained, seconds, done),
        **resources,
    )
    with tqdm(
        total=len(todo),
        unit="song",
        desc=f"Analysing on Ray ({count} {device} actors)",
        file=sys.stderr,
        disable=not bar,
    ) as progress:
        batches = iter(ds.iter_batches(batch_size=None, batch_format="pyarrow"))
        try:
            for batch in batches:
                rows = batch.to_pylist()
                yield from rows
                progress.update(len(rows))
        finally:
            getattr(batches, "close", lambda: None)()


def _write(engine, row: dict, fingerprint: str, hash_of: dict, settled: set, result: ScanResult) -> None:
    """Store one pipeline row; each song is committed on its own, so nothing written is lost.

    `settled` holds the hashes this scan has already counted: a second file with the same
    content is, as in the local scan, one song.
    """
    path, digest, status = row["path"], row["hash"], row["status"]
    name = Path(path).name
    if status == "unread":
        result.failed[path] = row["error"]
        return
    hash_of[path] = digest
    duplicate = digest in settled
    settled.add(digest)
    if status == "ok" and not duplicate:
        library.store_analysis(engine, digest, path, name, pickle.loads(row["analysis"]), fingerprint)
        result.added += 1
    elif status == "failed":
        result.failed[path] = row["error"]
        if not duplicate:
            library.remember_failure(engine, digest, name, row["error"], fingerprint)
    if status == "known":
        library.settle_skipped(engine, digest, path, fingerprint, result, count=not duplicate)
    library.remember_file(engine, path, row["size"], row["mtime_ns"], digest)
