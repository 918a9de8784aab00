"""What state/status.json records, pure: a release's outcome folded into the recorded status, kept small
enough to be read back. Its JSON form is config/status_file.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bluegreen.config.status_file import dump_status
from bluegreen.model import AppOutcome, AppStatus, Outcome, ReleaseRecord, Status

HISTORY_LIMIT = 20
SIZE_LIMIT = 512 * 1024  # status.json's text at most; the state files are read up to 1 MiB


def record_outcome(status: Status, outcome: Outcome, *, history_limit: int = HISTORY_LIMIT) -> Status:
    """The status after `outcome`: a noop only refreshes what was observed; anything else is also recorded as
    the app's last release, and what switched (or tried to) at the head of its history (newest first). A repair
    (the switch made again where a reload would not have kept the LIVE) moves no traffic: it is never history,
    which the rollback rule reads; one that worked is recorded as a noop is, one that did not as the last word. A
    dry run changes nothing."""
    if outcome.dry_run:
        return status
    apps = dict(status.apps)
    for app in outcome.apps:
        apps[app.plan.app] = _record_app(apps.get(app.plan.app, AppStatus()), app, outcome, history_limit)
    return Status(apps=apps, updated_at=outcome.at)


def fitted(status: Status, size: Callable[[Status], int], limit: int = SIZE_LIMIT) -> Status:
    """`status` small enough that `size` of it is at most `limit`, however many apps and hosts there are: first the
    oldest history goes (one entry from each of the apps with the longest history at a time), then every record's
    free text is cut short. What the next run reads is always readable."""
    while size(status) > limit:
        longest = max((len(app.history) for app in status.apps.values()), default=0)
        if not longest:
            return _shortened(status)
        apps = {name: replace(app, history=app.history[:-1]) if len(app.history) == longest else app
                for name, app in status.apps.items()}  # fmt: skip
        status = replace(status, apps=apps)
    return status


def _shortened(status: Status, limit: int = 200) -> Status:
    def short(record: ReleaseRecord | None) -> ReleaseRecord | None:
        if record is None:
            return None
        hosts = {host: clean_text(text, limit) for host, text in record.hosts.items()}
        return replace(record, hosts=hosts, reason=clean_text(record.reason, limit) if record.reason else None)

    return replace(
        status, apps={name: replace(app, last_release=short(app.last_release)) for name, app in status.apps.items()}
    )


def _record_app(current: AppStatus, app: AppOutcome, outcome: Outcome, history_limit: int) -> AppStatus:
    observed = replace(current, live=app.live or current.live, standby=app.standby or current.standby)
    repair = app.plan.repair_only
    if app.result == "noop" or (repair and app.result == "success"):
        return observed
    record = _release_record(app, outcome)
    if app.result == "refused" or repair:  # nothing moved: it is the last word, but not history (which twenty
        return replace(observed, last_release=record)  # refused re-runs would otherwise wash out)
    history = (record, *current.history)[: max(history_limit, 0)]
    return replace(observed, last_release=record, history=history)


def _release_record(app: AppOutcome, outcome: Outcome) -> ReleaseRecord:
    plan, trigger = app.plan, outcome.trigger
    return ReleaseRecord(
        result=app.result,
        kind=plan.kind,
        at=outcome.at,
        from_color=plan.from_color,
        to_color=plan.to_color,
        from_version=plan.from_version,
        to_version=plan.to_version,
        durations_ms=dict(app.durations_ms),
        switch_ms=app.switch_ms,
        hosts={host: clean_text(result) for host, result in app.hosts.items()},
        actor=trigger.actor,
        pr=trigger.pr,
        commit=trigger.commit,
        reason=clean_text(app.reason) if app.reason else None,
    )


def clean_text(text: str, limit: int = 1000) -> str:
    """Free text as status.json's schema allows it: no control characters (an error message may quote a
    server's answer) and at most 1000 characters (the schema reads 4096), so what one run records can never make
    the file unreadable for the next."""
    text = "".join(char if char.isprintable() else " " for char in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def recorded(status: Status, outcome: Outcome) -> Status:
    """status.json's content after `outcome`, kept small enough to be read back (`fitted`)."""
    return fitted(record_outcome(status, outcome), lambda fitted: len(dump_status(fitted)))
