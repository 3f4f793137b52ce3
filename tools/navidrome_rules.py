"""Extract Navidrome's smart-playlist criteria rules from its source into tests/data/navidrome_criteria.json.

    python tools/navidrome_rules.py /path/to/navidrome-checkout [COMMIT]

The tests (tests/test_players.py) check every .nsp EmotioNet writes against these rules as
Navidrome's source states them, without needing Navidrome or its source at test time:

- `operators`: the expression keys `unmarshalExpression` accepts (model/criteria/json.go), and the
  conjunctions `all`/`any`;
- `column_fields`: the fields of `fieldMap` (model/criteria/fields.go) that are not tags, with
  whether they are numeric;
- `tags`: the tag names of resources/mappings.yaml (each becomes a tag field, `AddTagNames`), with
  their aliases (how Navidrome finds a file's tag; lower-case);
- the rules of persistence/criteria_sql.go that a tag field must obey: a tag criterion names exactly
  one field (`singleField`), a range operator is refused on a tag ("range operator not supported for
  tag/role field"), and a tag compares as a number only once declared `int`/`float` in the
  configuration (`numericTagNames`, model/tag_mappings.go; `AddNumericTags`).

Nothing here is run by the package or the tests; rerun it after reading a newer Navidrome.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "navidrome_criteria.json"


def show(repo: Path, commit: str, path: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(repo), "show", f"{commit}:{path}"], check=True, capture_output=True, text=True
    ).stdout


def main(argv: list[str]) -> int:
    repo = Path(argv[0])
    commit = argv[1] if len(argv) > 1 else "HEAD"
    full = subprocess.run(
        ["git", "--git-dir", str(repo), "rev-parse", commit], check=True, capture_output=True, text=True
    ).stdout.strip()
    described = subprocess.run(
        ["git", "--git-dir", str(repo), "describe", "--tags", full], capture_output=True, text=True
    ).stdout.strip()

    json_go = show(repo, full, "model/criteria/json.go")
    body = json_go.split("func unmarshalExpression", 1)[1].split("\n}\n", 1)[0]
    operators = sorted(set(re.findall(r'case "(\w+)":', body)))

    fields_go = show(repo, full, "model/criteria/fields.go")
    table = fields_go.split("var fieldMap = map[string]FieldInfo{", 1)[1].split("\n}\n", 1)[0]
    columns = {}
    for name, info in re.findall(r'^\s*"(\w+)":\s*\{(.*?)\},?\s*$', table, re.M):
        if "IsTag: true" in info or "Alias:" in info:
            continue
        columns[name] = {"numeric": "Numeric: true" in info}

    mappings = show(repo, full, "resources/mappings.yaml")
    tags, current = {}, None
    for line in mappings.splitlines():
        if m := re.match(r"^  (\w+):\s*$", line):
            current = m.group(1)
            tags[current] = []
        elif current and (m := re.match(r"^    aliases:\s*\[(.*)\]", line)):
            tags[current] = [a.strip().lower() for a in m.group(1).split(",") if a.strip()]
        elif not line.startswith("  "):
            current = None

    sql = show(repo, full, "persistence/criteria_sql.go")
    assert "range operator not supported for tag/role field" in sql, "criteria_sql.go changed: read it again"
    assert "tag and role criteria must contain exactly one field" in sql

    result = {
        "source": "https://github.com/navidrome/navidrome",
        "commit": full,
        "describe": described,
        "files": [
            "model/criteria/json.go",
            "model/criteria/fields.go",
            "resources/mappings.yaml",
            "persistence/criteria_sql.go",
            "model/tag_mappings.go",
        ],
        "operators": operators,
        "conjunctions": ["all", "any"],
        "range_operators": ["intherange"],
        "column_fields": columns,
        "tags": {name: aliases for name, aliases in tags.items() if aliases},
        "declarable_tag_types": ["int", "float"],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"{len(operators)} operators, {len(columns)} column fields, {len(result['tags'])} tags -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
