"""The command line's face: what it prints after a release, whatever the rollback change finds."""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from bluegreen import cli
from bluegreen.adapters.files import WorkingTree
from bluegreen.config import parse_desired
from bluegreen.model import Outcome
from tests.unit.report.test_outcome import done, plan

LIVE = {"apps": {"theoshift": {"live": "blue", "version": "2.4.1"}}}


def test_a_live_json_edited_meanwhile_is_a_warning_after_the_report(tmp_path: Path) -> None:
    """live.json is read again for the change: broken since the release read it, the change is a warning."""
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "live.json").write_text("{not json")
    state: Any = SimpleNamespace(live_path="state/live.json", desired=parse_desired(json.dumps(LIVE), "live.json"))
    outcome = Outcome((done(plan(), "rolled_back", restored=True),))
    console = cli.Console(io.StringIO(), io.StringIO(), 0.0)
    cli._print_rollback_change(WorkingTree(tmp_path), state, outcome, console)
    assert cast(io.StringIO, console.out).getvalue() == ""
    assert "warning: the change that records the rollback was not made" in cast(io.StringIO, console.err).getvalue()
