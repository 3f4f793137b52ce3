"""Moved: the team's commands are `emotionet.cli.team` (adapt, team) and `emotionet.cli.checkpoints`
(accept), registered like every other command in the one command-line package (issue 32)."""

from .cli.checkpoints import cmd_accept  # noqa: F401
from .cli.team import cmd_adapt, cmd_team  # noqa: F401
