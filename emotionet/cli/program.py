"""The program: one parser from every command group, and the one error policy (errors.py).

A command group is a module with `register(subparsers)`, which adds its commands with
`options.add_command` (each command's `run(args)` returns its exit code). A new group is one line
in GROUPS.
"""

from __future__ import annotations

import argparse

from . import analyze, checkpoints, errors, library, team

GROUPS = (analyze, library, team, checkpoints)  # the order `--help` lists them in


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m emotionet", description="Music mood from audio.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(subparsers)
    return parser


def main(argv=None) -> int:
    """Run one command; its exit code: 0 done, 1 a runtime failure (one `error:` line), 2 a command
    line that does not fit (argparse's own, or a command's UsageError)."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except errors.UsageError as error:
        errors.say(str(error))
        return errors.USAGE
    except errors.Failure as error:
        errors.say(str(error))
        return errors.FAILED
    except Exception as error:
        line = errors.message(error)
        if line is None:
            raise  # a bug: its traceback
        errors.say(line)
        return errors.FAILED
