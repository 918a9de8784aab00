"""The fault matrix's own machinery, without a lab: rows to docs/faults.md (tests/faults_table.py), and the pure
rules of tests/integration/faults.py (what a host label claims, what differs from run to run, load words)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bluegreen.model import Color
from tests import faults_table
from tests.integration import faults


def row(fault: str, **cells: str) -> dict[str, str]:
    return {"fault": fault, "where": "lb1", "did": "", "exit": "0", "traffic": "", "status": "", "said": "", **cells}


def written(folder: Path, *rows: dict[str, str]) -> Path:
    for number, each in enumerate(rows):
        (folder / f"test_{number}.jsonl").write_text(json.dumps(each) + "\n")
    return folder


def test_rows_are_sorted_by_fault_and_numbered(tmp_path: Path) -> None:
    rows = faults_table.load_rows(written(tmp_path, row("b fault"), row("A fault"), row("c fault")))
    table = faults_table.render(rows).split("| # |", 1)[1].splitlines()[2:]
    assert [line.split(" | ")[:2] for line in table] == [["| 1", "A fault"], ["| 2", "b fault"], ["| 3", "c fault"]]
    assert "3 faults" in faults_table.render(rows)


def test_a_cell_cannot_break_the_table_or_carry_html() -> None:
    assert faults_table.cell("a | b\n<!-- c -->") == "a \\| b &lt;!-- c -->"
    assert faults_table.cell("") == "—"


def test_two_rows_naming_the_same_fault_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="two rows name the same fault: A fault"):
        faults_table.load_rows(written(tmp_path, row("A fault"), row("A fault", where="lb2")))


def test_check_fails_with_a_diff_and_leaves_the_doc_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows, doc = written(tmp_path, row("A fault")), tmp_path / "faults.md"
    assert faults_table.main(["--rows", str(rows), "--doc", str(doc)]) == 0
    assert faults_table.main(["--rows", str(rows), "--doc", str(doc), "--check"]) == 0
    doc.write_text(doc.read_text().replace("A fault", "A fault edited by hand"))
    assert faults_table.main(["--rows", str(rows), "--doc", str(doc), "--check"]) == 1
    assert "-| 1 | A fault edited by hand" in capsys.readouterr().err
    assert "edited by hand" in doc.read_text()


def test_no_rows_is_an_error(tmp_path: Path) -> None:
    assert faults_table.main(["--rows", str(tmp_path), "--doc", str(tmp_path / "faults.md")]) == 1


@pytest.mark.parametrize(
    ("label", "claims"),
    [
        ("switched", Color.BLUE),
        ("restored", Color.GREEN),
        ("unchanged", Color.GREEN),
        ("failed: lb2: cannot write x; restored", Color.GREEN),
        ("failed: lb2: cannot write x; unchanged", Color.GREEN),
        ("failed: lb2: the connection broke; switched", Color.BLUE),
        ("restored at runtime, but not undone: /etc/haproxy/apps.map still holds the switch's version", Color.GREEN),
        ("failed: lb2: the connection broke; unknown (unreachable: lb2: the connection broke)", None),
        ("unknown (unreachable: lb1: cannot connect)", None),
    ],
)
def test_what_a_host_label_claims(label: str, claims: Color | None) -> None:
    assert faults._claimed(label, Color.GREEN, Color.BLUE) == claims


def test_an_unknown_host_label_must_be_taught() -> None:
    with pytest.raises(AssertionError, match=r"teach faults\._claimed"):
        faults._claimed("somewhere else", Color.GREEN, Color.BLUE)


def test_what_differs_from_run_to_run_is_named_not_shown() -> None:
    text = (
        "  /tmp/bluegreen-lab-x1_y/shared/apps.map at root@127.0.0.1:40123, [127.0.0.1]:2222 at 2026-11-24T10:00:00Z\n"
        "in 1.9 ms, commit 0123456789ab, .apps.map.bluegreen-0a1b2c3d, pid 4242"
    )
    assert faults.plain(text) == (
        "{lab}/shared/apps.map at {user}@127.0.0.1:{port}, [127.0.0.1]:{port} at {time} in {n} ms, commit {sha}, "
        ".apps.map.bluegreen-{id}, pid {n}"
    )


def test_load_is_told_as_0_or_some() -> None:
    assert faults._load_words(faults.Load(500, 0)) == "0 of 50+"
    assert faults._load_words(faults.Load(500, 37, (20, 0))) == "some of 50+; 0 once bluegreen returned"
    assert faults._load_problems(faults.Load(10, 0)) == ["only 10 requests ran under load (at least 50)"]


def routes(*colors: Color, kept: Color | None = None) -> dict[str, faults.Route | None]:
    """One app's routes on lb1, lb2, ...: each host on its color, the shared file naming `kept` (or the same)."""
    return {f"lb{n}": faults.Route(c, c.value, kept or c, True) for n, c in enumerate(colors, start=1)}


def status(live: Color) -> dict[str, object]:
    return {"apps": {"theoshift": {"live": {"color": live.value}}}}


def test_hosts_on_two_colors_break_the_rules_unless_the_run_said_act_by_hand() -> None:
    split = {"theoshift": routes(Color.GREEN, Color.BLUE, kept=Color.GREEN)}
    problems = faults._routing_problems(split, (), status(Color.GREEN))
    assert [p.split(":")[0] for p in problems] == [
        "lb2 routes theoshift to Blue, but a reload would read Green",
        "theoshift is on Blue and Green at once",
        "status.json says theoshift is LIVE on Green, HAProxy routes it to Blue and Green",
    ]
    assert faults._routing_problems(split, (), status(Color.GREEN), apart=["theoshift"]) == []


def test_a_host_the_fault_did_not_stop_must_answer() -> None:
    found = {"theoshift": {**routes(Color.GREEN), "lb2": None}}
    assert faults._routing_problems(found, ("lb2",), status(Color.GREEN)) == []
    assert faults._routing_problems(found, (), status(Color.GREEN)) == [
        "HAProxy does not answer on ['lb2']; the fault stopped []"
    ]
