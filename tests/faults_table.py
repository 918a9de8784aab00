"""docs/faults.md from the fault matrix's rows (tests/integration/faults.py writes them, one JSON-lines file per
test, into $BLUEGREEN_FAULT_ROWS). Run by scripts/faults:

    python -m tests.faults_table --rows DIR            write docs/faults.md
    python -m tests.faults_table --rows DIR --check    fail with a diff if docs/faults.md is not this
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "faults.md"
COLUMNS = (
    ("fault", "Fault"),
    ("where", "Injected"),
    ("did", "What bluegreen recorded"),
    ("exit", "Exit"),
    ("traffic", "Traffic afterwards (HAProxy)"),
    ("status", "status.json"),
    ("said", "What the report said"),
    ("load", "Failed requests under load"),
)

INTRO = """\
# The fault matrix

What bluegreen does when something breaks, observed: {count} faults, each injected by an integration test against
the real sandbox (HAProxy 2.6 and OpenSSH on loopback, real app servers and files; GitHub is the fake REST API of
`tests/fakegithub.py`). **This file is generated: do not edit it.** `scripts/faults` runs the matrix
(`pytest -m faults`: every test that asks for the `fault` fixture of `tests/integration/faults.py`) and writes
it; `scripts/faults --check` fails with a diff if the file is not what the tests produce. The test command,
`scripts/test` (and so `.ci/run`), runs the matrix once, with the whole suite, then makes that check on the rows
the run wrote.

Only the first two columns are a test's own words. The rest was observed after the fault, and a row is here only
because its test passed, which it does only if, there and then:

- every HAProxy host that answers routes each app to exactly one color, and the file HAProxy reads on a reload
  (the map file, the server-state file) names the same color: a reload would not move the traffic;
- every host is on the same color, and status.json names it as LIVE;
- the exit code means what the README's table says, given what moved (2, 3 and 6: nothing; 4: what was rolled
  back is back on the old LIVE; 5: some host is on the new color, or cannot be read; 130: only what switched);
- each app's recorded result, and each host's label in it (`switched`, `restored`, ...), is true of HAProxy;
- the report holds the words quoted.

Columns:

- *What bluegreen recorded*: each app's result and host labels in the status.json the run wrote (for the Action,
  the copy published on the branch); "recorded nothing" when the run left it as it was.
- *Exit*: the process's exit code (several processes: in order); for a fault injected at a host's port inside
  the test's process, the code `core.outcome.exit_code` gives the outcome, as both faces do.
- *Traffic afterwards*: each app's color, read from HAProxy's runtime API on every host (not through bluegreen).
- *status.json*: whether it agrees with HAProxy, and whether the run rewrote it.
- *What the report said*: the headline of what the user was shown (the terminal report, the error, or the PR
  comment), then the clause of its line that tells what happened.
- *Failed requests under load*: where keep-alive clients ran through the public entry during the fault (3 per
  app, at least 50 requests): 0, or "some" (how many varies from run to run); and of the requests started once
  bluegreen had returned, where that was measured.

Values that differ from run to run are shown as `{{port}}`, `{{lab}}` (the lab's folder), `{{tmp}}`, `{{time}}`,
`{{n}} ms`, `{{sha}}`, `{{id}}`.

"""


def load_rows(folder: Path) -> list[dict[str, str]]:
    rows = [json.loads(line) for path in sorted(folder.glob("*.jsonl")) for line in path.read_text().splitlines()]
    names = [row["fault"] for row in rows]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise SystemExit(f"faults: two rows name the same fault: {', '.join(twice)}")
    return sorted(rows, key=lambda row: (row["fault"].lower(), row["where"]))


def render(rows: Sequence[dict[str, str]]) -> str:
    head = "| # | " + " | ".join(title for _, title in COLUMNS) + " |\n"
    rule = "|---|" + "|".join("---" for _ in COLUMNS) + "|\n"
    body = "".join(
        f"| {number} | " + " | ".join(cell(row.get(key, "")) for key, _ in COLUMNS) + " |\n"
        for number, row in enumerate(rows, start=1)
    )
    return INTRO.format(count=len(rows)) + head + rule + body


def cell(text: str) -> str:
    """One table cell: one line, no column break, no HTML."""
    return " ".join(text.split()).replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;") or "—"


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="faults", description="docs/faults.md from the fault matrix's rows")
    parser.add_argument("--rows", type=Path, required=True, help="the folder the matrix wrote its rows to")
    parser.add_argument("--check", action="store_true", help="compare with docs/faults.md instead of writing it")
    parser.add_argument("--doc", type=Path, default=DOC, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    rows = load_rows(args.rows)
    if not rows:
        print(f"faults: no rows in {args.rows}: did the matrix run (pytest -m faults)?", file=sys.stderr)
        return 1
    text = render(rows)
    if not args.check:
        args.doc.parent.mkdir(parents=True, exist_ok=True)
        args.doc.write_text(text, encoding="utf-8")
        print(f"faults: wrote {len(rows)} rows to {args.doc}", file=sys.stderr)
        return 0
    return _compare(args.doc, text)


def _compare(doc: Path, text: str) -> int:
    """Rendered aside (docs/faults.md is left as it is), then held against the file."""
    old = doc.read_text(encoding="utf-8").splitlines(True) if doc.exists() else []
    new = text.splitlines(True)
    if old == new:
        return 0
    sys.stderr.writelines(difflib.unified_diff(old, new, str(doc), "what the fault matrix produces"))
    print("\nfaults: docs/faults.md is not what the tests produce: run scripts/faults", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
