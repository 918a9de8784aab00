"""What the Action does for each decision: plan on a PR, release on a merge, status on demand.

Every path ends the same way: the report goes to the PR's sticky comment (when there is a PR and commenting is
on), the job summary and the step outputs; then the exit code says how it went.
"""

from __future__ import annotations

import asyncio
from typing import TextIO

from bluegreen.action import drift, workflow
from bluegreen.action.context import Context, Inputs, decide
from bluegreen.action.plan import plan
from bluegreen.action.release import release
from bluegreen.action.run import (
    Run,
    connector,
    failed,
    ledger,
    no_release,
    reported,
    status_outputs,
    with_overrides,
)
from bluegreen.action.trust import proposal
from bluegreen.adapters.git import Checkout, GitTree
from bluegreen.adapters.github import GitHub
from bluegreen.core.drift import basis
from bluegreen.engine.jobs import status_job
from bluegreen.errors import BluegreenError, InputError, Location
from bluegreen.report import action as reports


def status(run: Run) -> int:
    """What HAProxy routes now, against bluegreen's record (the one the hosts remember, as a release reads it);
    then the drift issue follows what was seen (action/drift.py), or says that nothing could be seen."""
    try:
        with Checkout.open(run.context.workspace) as checkout:
            head, checked_out = proposal(checkout, run.context, run.inputs, with_status=False)
            state = with_overrides(checked_out, run.inputs)
            ssh = connector(run, state, GitTree(checkout, head))
            published = drift.published(GitTree(checkout, head), state.status_path)
        record = ledger(run, state.status_path)
        observation, recorded, releasing = asyncio.run(status_job(state, run.inputs.apps, ssh, record))
    except BluegreenError as error:
        return drift.unchecked(run, error, failed(run, error))
    notes = [*record.notes, record.refused]  # a history that cannot be told is worth saying here too
    markdown = reports.status_markdown(observation, state.environments, recorded, notes)
    code = run.finish(markdown, status_outputs(observation), 0)
    held = basis(record.refused, record.memory.status if record.memory else None, published)
    return drift.keep_issue(run, observation, state.environments, held, releasing) or code


# --- the entry point ------------------------------------------------------------------------------------------

JOBS = {"plan": plan, "release": release, "status": status}


def run_action(environ: dict[str, str], out: TextIO) -> int:
    """`python -m bluegreen action`, as GitHub runs the container: every error ends in a report, not a traceback."""
    # The key and the token come from `secrets.*` and `github.token`, which the runner masks itself; they are
    # never printed here (not even in `::add-mask::`, which would put them in any log not read by a runner).
    try:
        context, inputs = Context.read(environ), Inputs.read(environ)
        decision = decide(context, inputs)
    except BluegreenError as error:
        return _failed_early(environ, out, error)
    if decision.mode is None:
        print(f"bluegreen: nothing to do: {decision.why}", file=out)
        workflow.write_outputs(context.output_file, {**no_release("noop"), "report": ""})
        return 0
    print(f"bluegreen: {decision.mode}, because of {decision.why}", file=out, flush=True)
    try:
        github = GitHub(
            inputs.github_token.reveal(), context.api_url, context.repository, write_interval_s=_write_interval(environ)
        )
    except BluegreenError as error:
        return _failed_early(environ, out, error)
    run = Run(context, inputs, decision, github, out, environ, pr=decision.pr)
    job = JOBS[decision.mode]
    return reported(run, lambda: job(run))


WRITE_INTERVAL = "BLUEGREEN_GITHUB_WRITE_INTERVAL_S"


def _write_interval(environ: dict[str, str]) -> float:
    """Seconds between GitHub writes: 1 (GitHub asks that of content-creating requests), or what the variable
    BLUEGREEN_GITHUB_WRITE_INTERVAL_S says (0 to 10: the tests' fake GitHub has no secondary rate limit)."""
    given = environ.get(WRITE_INTERVAL, "")
    try:
        seconds = float(given) if given else 1.0
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 10:
        raise InputError(
            f"{WRITE_INTERVAL} must be a number of seconds from 0 to 10", location=Location(WRITE_INTERVAL)
        )
    return seconds


def _failed_early(environ: dict[str, str], out: TextIO, error: BluegreenError) -> int:
    """An input or the event is wrong: no job started. Still the annotation, the summary and the outputs."""
    workflow.annotate_error(out, error)
    markdown = reports.failure_markdown("run", error)
    workflow.append_summary(environ.get("GITHUB_STEP_SUMMARY"), markdown)
    workflow.write_outputs(environ.get("GITHUB_OUTPUT"), {**no_release("failed"), "report": markdown})
    return error.exit_code
