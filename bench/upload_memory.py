"""What uploads that are never analysed cost the server: its resident memory before and after.

    .venv/bin/python bench/upload_memory.py [--files 3] [--mb 150]

Starts the app (`streamlit run streamlit_app.py`) on an empty data folder, opens the Playlists page in
Debian's chromium (Playwright) and drops --files WAV files of --mb megabytes each into its uploader,
as a visitor would, without pressing "Analyse and add". The figures are the server process's resident
memory (VmRSS from /proc) before the upload, its peak while the files arrive (sampled every 0.1 s) and
after they have settled, with the number of files the server kept (the uploader's rows without an
error). Issue 26 measured 474 → 1,381 MB for 3 × 150 MB before uploads were counted as they arrive.
Prints the result and writes bench/results/upload_memory.json.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from bench.common import machine, write_result  # noqa: E402

OUT = ROOT / "bench" / "results" / "upload_memory.json"
CHROMIUM = "/usr/bin/chromium"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def silent_wav(path: Path, mb: float) -> Path:
    """A WAV header and `mb` megabytes of zeros (a sparse file: cheap to make; never decoded here)."""
    size = int(mb * 1e6)
    header = b"RIFF" + (size - 8).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
    header += (1).to_bytes(2, "little") * 2 + (44100).to_bytes(4, "little") + (88200).to_bytes(4, "little")
    header += (2).to_bytes(2, "little") + (16).to_bytes(2, "little") + b"data" + (size - 44).to_bytes(4, "little")
    with open(path, "wb") as f:
        f.write(header)
        f.truncate(size)
    return path


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=3)
    parser.add_argument("--mb", type=float, default=150.0)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = [str(silent_wav(tmp / f"never analysed {i}.wav", args.mb)) for i in range(args.files)]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "EMOTIONET_DATA_DIR": str(tmp / "data")}
        env.pop("EMOTIONET_DB_URL", None)
        command = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port)]
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(120):
                try:
                    if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                        break
                except OSError:
                    time.sleep(0.5)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
                page = browser.new_page()
                page.goto(f"{url}/playlists")
                page.get_by_text("Audio files").first.wait_for(timeout=90_000)
                page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=90_000)
                time.sleep(2.0)
                before = rss_mb(server.pid)
                peak, done = [before], threading.Event()

                def sample():
                    while not done.is_set():
                        peak.append(rss_mb(server.pid))
                        time.sleep(0.1)

                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
                started = time.perf_counter()
                page.locator("input[type=file]").first.set_input_files(files)
                chips = page.locator('[data-testid="stFileChip"]')
                deadline = time.time() + 300
                while time.time() < deadline:  # every file either arrived or was refused
                    busy = page.locator('[data-testid="stFileChipIconSpinner"]').count()
                    if chips.count() == args.files and not busy:
                        break
                    time.sleep(0.5)
                page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=90_000)
                seconds = time.perf_counter() - started
                time.sleep(3.0)
                after = rss_mb(server.pid)
                done.set()
                sampler.join()
                refused = sum("Error" in chip.inner_text() for chip in chips.all())
                errors = [e.inner_text() for e in page.locator('[data-testid="stAlertContentError"]').all()]
                page.screenshot(path=str(tmp / "shot.png"), full_page=True)
                (ROOT / "test-artifacts").mkdir(exist_ok=True)
                (ROOT / "test-artifacts" / "upload_memory.png").write_bytes((tmp / "shot.png").read_bytes())
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=20)
    return write_result(
        OUT,
        {
            "files": args.files,
            "mb_each": args.mb,
            "rss_before_mb": round(before),
            "rss_peak_mb": round(max(peak)),
            "rss_after_mb": round(after),
            "kept_files": args.files - refused,
            "refused_files": refused,
            "page_errors": errors,
            "seconds": round(seconds, 1),
            "limits": {
                "server.maxUploadSize_mb": 200,
                "EMOTIONET_PERSON_UPLOAD_MB": os.environ.get("EMOTIONET_PERSON_UPLOAD_MB", "default (2000)"),
                "EMOTIONET_UPLOAD_MEMORY_MB": os.environ.get("EMOTIONET_UPLOAD_MEMORY_MB", "default (400)"),
            },
            "machine": machine(),
        },
    )


if __name__ == "__main__":
    main()
