"""`python -m emotionet`: the threads are prepared before torch and numpy load (issue 31), then the
command runs and the process exits with its code."""

from __future__ import annotations

import os
import sys

from ..io import threads


def run(argv=None) -> None:
    threads.prepare()  # before torch and numpy load: their threads sleep while they wait
    from .program import main

    code = main(argv)
    if (sys.argv[1:] if argv is None else list(argv))[:1] == ["analyze"]:
        # analyze has printed (and flushed) everything and holds no database, pool or Ray: skip the
        # interpreter's teardown of torch, numba and librosa (~0.6 s of a one-file call; issue 12)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code or 0)
    sys.exit(code)
