"""The command line, `python -m emotionet COMMAND ...` (README's list of commands is the contract).

program      the parser from every group and the one error policy: `main(argv) -> exit code`
entry        `python -m emotionet`: threads prepared before torch loads, then `main`, then exit
options      every option more than one command takes, defined once, and `add_command`
errors       exit codes (0 done, 1 a runtime failure, 2 a command line that does not fit)
analyze      analyze, evaluate
library      scan, playlist, tag, export
team         adapt, team
checkpoints  accept, rehash-checkpoints

Names load on first use: `python -m emotionet` prepares the threads before numpy is imported.
"""

import importlib

PUBLIC = {
    "main": "program",
    "build_parser": "program",
    "run": "entry",
    "UsageError": "errors",
    "Failure": "errors",
    "to_json": "analyze",
    "plain_answer": "analyze",
    "evaluate_manifest": "analyze",
    "scan_settings": "library",
    "PLAYLIST_FORMATS": "library",
}
__all__ = list(PUBLIC)


def __getattr__(name):
    if name not in PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{PUBLIC[name]}"), name)
