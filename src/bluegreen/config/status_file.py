"""status.json <-> Status: the model from the file's data (already checked against its schema), and the file's
text from the model (keys in a fixed order, so a release changes only the lines it must)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bluegreen.model import AppStatus, Color, ColorRecord, ReleaseRecord, Status


def dump_status(status: Status) -> str:
    """status.json's text: 2-space indents, a trailing newline; config.parse_status reads it back."""
    return json.dumps(status_to_json(status), indent=2, allow_nan=False) + "\n"


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
        "live": color_record_json(app.live),
        "standby": color_record_json(app.standby),
        "last_release": _release_json(app.last_release) if app.last_release else None,
        "history": [_release_json(record) for record in app.history],
    }


def color_record_json(record: ColorRecord | None) -> dict[str, object] | None:
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
