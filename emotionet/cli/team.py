"""The team's commands: `adapt` (refit the headline on a team's ratings) and `team` (who may rate).

python -m emotionet adapt test_set/manifest.csv            # refit the headline's head, show before/after
python -m emotionet adapt test_set/manifest.csv --accept   # ... and use it, if it helps
python -m emotionet team add-coordinator "Ana"              # the first coordinator: prints her personal link
python -m emotionet team invite "Ben" [--coordinator]       # a personal link for a rater (or a new link)
python -m emotionet team list | remove "Ben" | setup         # who is on the team; take someone off; `make run`'s check
"""

from __future__ import annotations

import sys
from pathlib import Path

from .errors import Failure
from .options import CHECKPOINTS, JSON, add_command


def register(subparsers) -> None:
    adapt = add_command(
        subparsers,
        "adapt",
        cmd_adapt,
        "refit the headline's light head on a team's mean ratings (a manifest CSV)",
        [CHECKPOINTS, JSON],
    )
    adapt.add_argument("manifest", type=Path, help="manifest.csv from the Test set page's export")
    adapt.add_argument(
        "--out", type=Path, help="new folder for the adapted model (default: data/checkpoints/adapted-<time>)"
    )
    adapt.add_argument("--accept", action="store_true", help="use the adapted model from now on, if it helps")

    team = add_command(subparsers, "team", cmd_team, "who may rate: invite people, list them, take them off the team")
    actions = team.add_subparsers(dest="action", required=True)
    url = {"default": "http://localhost:8501", "help": "the app's address as the team reaches it (for the link)"}
    first = actions.add_parser("add-coordinator", help="invite a coordinator and print their personal link")
    first.add_argument("name")
    first.add_argument("--url", **url)
    invite = actions.add_parser("invite", help="invite a rater (or give someone a new link) and print it")
    invite.add_argument("name")
    invite.add_argument("--coordinator", action="store_true", help="as a coordinator")
    invite.add_argument("--url", **url)
    remove = actions.add_parser("remove", help="take someone off the team (their ratings stay)")
    remove.add_argument("name")
    actions.add_parser("list", help="who is on the team")
    actions.add_parser("setup", help="make the server key and say how to add the first coordinator")


def cmd_adapt(args) -> int:
    import json

    from ..models.checkpoints import accept, shipped_dir
    from ..predict import Predictor
    from ..team import adapt

    base = args.checkpoints or shipped_dir()  # the shipped models, never an earlier adaptation
    try:
        items = adapt.items_from_manifest(args.manifest)
    except ValueError as error:  # a manifest without its columns, or with a bad row (named)
        raise Failure(str(error)) from error

    def progress(done, total):
        print(f"\rlistening: {done}/{total}", end="" if done < total else "\n", file=sys.stderr)

    result, folder, skipped = adapt.run(
        Predictor.load(base), items, base, args.out, "python -m emotionet adapt", progress
    )  # adapt.AdaptError when it cannot adapt: one line (errors.py)
    for ident, why in skipped.items():
        print(f"skipped {ident}: {why}", file=sys.stderr)
    accepted = bool(args.accept and result.helps)
    if accepted:
        accept(folder, "python -m emotionet adapt --accept")
    if args.json:
        print(
            json.dumps(
                {**result.summary(), "folder": str(folder), "accepted": accepted, "skipped": skipped},
                allow_nan=False,
                default=str,
            )
        )
        return 0
    print(f"{result.n_tracks} tracks by {result.n_groups} artists; artist-grouped CV on the team's tracks:")
    print(f"{'':14s} {'MAE':>6s} {'r valence':>9s} {'r arousal':>9s} {'mood acc.':>9s}")
    for name, m in result.candidates.items():
        mark = " <- chosen" if name == result.chosen else ""
        print(f"{name:14s} {m['mae']:6.3f} {m['r_valence']:9.2f} {m['r_arousal']:9.2f} {m['mood_accuracy']:9.0%}{mark}")
    verdict = "helps" if result.helps else "does not help: keep the shipped model"
    print(f"adapted model ({result.chosen}) {verdict}; saved in {folder}")
    if accepted:
        print("accepted: the app and the CLI use it now (`python -m emotionet accept --shipped` goes back)")
    elif args.accept:
        print("not accepted: it does not beat the model in use on the team's tracks")
    else:
        print(f"to use it: python -m emotionet accept {folder}")
    return 0


def cmd_team(args) -> int:
    """accounts.LabellingError (a name already on the team, an unknown one) is one line (errors.py)."""
    from ..io.database import make_engine
    from ..team import accounts

    engine = make_engine()
    try:
        if args.action == "setup":
            accounts.server_key()
            if not accounts.has_coordinator(engine):
                print(
                    "No team yet: add the first coordinator with `.venv/bin/python -m emotionet team "
                    "add-coordinator NAME` (it prints their sign-in link)."
                )
            return 0
        if args.action == "list":
            for account in accounts.list_accounts(engine):
                state = "removed" if not account.active else "invited" if account.invite_hash else "signed up"
                print(f"{account.name}\t{account.role}\t{state}")
            return 0
        if args.action == "remove":
            accounts.remove(engine, args.name)
            print(f"{args.name} is off the team; their ratings stay")
            return 0
        coordinator = args.action == "add-coordinator" or args.coordinator
        member, token = accounts.invite(engine, args.name, accounts.COORDINATOR if coordinator else None)
        print(f"{member.name} ({member.role}): {accounts.invite_link(args.url, token)}")
        print(f"works once, for {accounts.INVITE_DAYS} days: send it to them alone", file=sys.stderr)
        return 0
    finally:
        engine.dispose()
