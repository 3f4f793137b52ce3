import os
import sys

from .io import threads

threads.prepare()  # before torch and numpy load: their threads sleep while they wait (issue 31)
from .cli import main  # noqa: E402

code = main()
if sys.argv[1:2] == ["analyze"]:
    # analyze has printed (and flushed) everything and holds no database, pool or Ray: skip the
    # interpreter's teardown of torch, numba and librosa (~0.6 s of a one-file call; issue 12)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)
sys.exit(code)
