import os
import sys

from .cli import FAST_EXIT, main

code = main()
if FAST_EXIT.get("done"):
    # `analyze` has printed and flushed everything and holds no resources: skip the interpreter's
    # teardown of torch, numba and librosa (~0.6 s of a one-file call; issue 12's fresh-process figure)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)
sys.exit(code)
