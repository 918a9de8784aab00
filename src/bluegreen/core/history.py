"""What state/status.json records, pure: a release's outcome folded into the recorded status, and its JSON form.

config.parse_status checks the file against its schema before `status_from_json` reads it, and
config.dump_status writes `status_to_json` out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from bluegreen.model import AppOutcome, AppStatus, Color, ColorRecord, Outcome, ReleaseRecord, Status

HISTORY_LIMIT = 20
SIZE_LIMIT = 512 * 1024  # status.json's text at most; the state files are read up to 1 MiB


def record_outcome(status: Status, outcome: Outcome, *, history_limit: int = HISTORY_LIMIT) -> Status:
    """The status after `outcome`: a noop only refreshes what was observed; anything else is also recorded as
    the app's last release, and what switched (or tried to) at the head of its history (newest first). A dry run
    changes nothing."""
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
    if app.result == "noop":
        return observed
    record = _release_record(app, outcome)
    if app.result == "refused":  # nothing moved: it is the last word, but not history (which twenty refused
        return replace(observed, last_release=record)  # re-runs would otherwise wash out)
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


# --- status.json <-> Status ------------------------------------------------------------------------------------


def status_from_json(data: Mapping[str, Any]) -> Status:
    """A Status from status.json's data, already checked against schemas/status.schema.json."""
    apps = {name: _app_status(app) for name, app in data.get("apps", {}).items()}
    return Status(apps=apps, updated_at=data.get("updated_at"))


def _app_status(app: Mapping[str, Any]) -> AppStatus:
    last = app.get("last_release")
    return AppStatus(
        live=_color_record(app.get("live")),
        standby=_color_record(app.get("standby")),
        last_release=_release(last) if last else None,
        history=tuple(_release(record) for record in app.get("history", [])),
    )


def _color_record(record: Mapping[str, Any] | None) -> ColorRecord | None:
    return ColorRecord(Color(record["color"]), record.get("version"), record["address"]) if record else None


def _release(record: Mapping[str, Any]) -> ReleaseRecord:
    switch_ms = record.get("switch_ms")
    return ReleaseRecord(
        result=record["result"],
        kind=record["kind"],
        at=record["at"],
        from_color=Color(record["from"]),
        to_color=Color(record["to"]),
        from_version=record.get("from_version"),
        to_version=record.get("to_version"),
        durations_ms={phase: float(ms) for phase, ms in record.get("durations_ms", {}).items()},
        switch_ms=None if switch_ms is None else float(switch_ms),
        hosts=dict(record.get("hosts", {})),
        actor=record.get("actor"),
        pr=None if record.get("pr") is None else int(record["pr"]),
        commit=record.get("commit"),
        reason=record.get("reason"),
    )


def status_to_json(status: Status) -> dict[str, object]:
    """status.json's data, every key present, in a fixed order."""
    apps = {name: _app_status_json(app) for name, app in status.apps.items()}
    return {"apps": apps, "updated_at": status.updated_at}


def _app_status_json(app: AppStatus) -> dict[str, object]:
    return {
        "live": _color_json(app.live),
        "standby": _color_json(app.standby),
        "last_release": _release_json(app.last_release) if app.last_release else None,
        "history": [_release_json(record) for record in app.history],
    }


def _color_json(record: ColorRecord | None) -> dict[str, object] | None:
    if record is None:
        return None
    return {"color": record.color.value, "version": record.version, "address": record.address}


def _release_json(record: ReleaseRecord) -> dict[str, object]:
    return {
        "result": record.result,
        "kind": record.kind,
        "at": record.at,
        "from": record.from_color.value,
        "to": record.to_color.value,
        "from_version": record.from_version,
        "to_version": record.to_version,
        "durations_ms": dict(record.durations_ms),
        "switch_ms": record.switch_ms,
        "hosts": dict(record.hosts),
        "actor": record.actor,
        "pr": record.pr,
        "commit": record.commit,
        "reason": record.reason,
    }


def clean_text(text: str, limit: int = 1000) -> str:
    """Free text as status.json's schema allows it: no control characters (an error message may quote a
    server's answer) and at most 1000 characters (the schema reads 4096), so what one run records can never make
    the file unreadable for the next."""
    text = "".join(char if char.isprintable() else " " for char in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
