"""The `--json` shapes of the reports: stable keys, JSON-serialisable values (colors as "blue"/"green"). Pure.

Apps are objects keyed by app name, in the order of the state files; absent values are null, never missing.
"""

from __future__ import annotations

from bluegreen.config.status_file import color_record_json
from bluegreen.core.drift import live_by_host, observed_live
from bluegreen.model import (
    AppOutcome,
    Check,
    Color,
    ColorProbe,
    Environments,
    HostAppView,
    HostInfo,
    Observation,
    Outcome,
    ServerView,
    Status,
    SwitchTraffic,
    Trigger,
)
from bluegreen.report.status import app_drift, app_names, host_names


def outcome_json(outcome: Outcome) -> dict[str, object]:
    return {
        "result": outcome.result,
        "refusal": outcome.refusal,
        "dry_run": outcome.dry_run,
        "at": outcome.at or None,
        "trigger": _trigger_json(outcome.trigger),
        "apps": {app.plan.app: _app_json(app) for app in outcome.apps},
    }


def _trigger_json(trigger: Trigger) -> dict[str, object]:
    return {
        "actor": trigger.actor,
        "pr": trigger.pr,
        "pr_url": trigger.pr_url,
        "commit": trigger.commit,
        "reverts_pr": trigger.reverts_pr,
        "also_prs": list(trigger.also_prs),
    }


def _app_json(app: AppOutcome) -> dict[str, object]:
    plan = app.plan
    return {
        "result": app.result,
        "action": plan.action,
        "kind": plan.kind,
        "from": {"color": plan.from_color.value, "version": plan.from_version, "address": plan.from_address},
        "to": {"color": plan.to_color.value, "version": plan.to_version, "address": plan.to_address},
        "switch_hosts": list(plan.hosts),
        "repair_hosts": list(plan.repairs),
        "parked": [{"host": p.host, "backend": p.backend, "server": p.server} for p in plan.parked],
        "checks": [_check_json(check) for check in plan.checks],
        "drift": list(plan.drift),
        "notes": list(plan.notes),
        "steps": [{"name": step.name, "ok": step.ok, "detail": step.detail} for step in app.steps],
        "hosts": dict(app.hosts),
        "durations_ms": dict(app.durations_ms),
        "switch_ms": app.switch_ms,
        "draining": app.draining,
        "live": color_record_json(app.live),
        "standby": color_record_json(app.standby),
        "reason": app.reason,
        "traffic": _traffic_json(app.traffic),
    }


def _traffic_json(traffic: SwitchTraffic | None) -> dict[str, object] | None:
    if traffic is None:
        return None
    return {
        "requests": traffic.requests,
        "failed": traffic.failed,
        "failed_old": traffic.failed_old,
        "by_color": {color.value: traffic.by_color.get(color, 0) for color in Color},
        "p50_ms": traffic.p50_ms,
        "p99_ms": traffic.p99_ms,
        "first_new_ms": traffic.first_new_ms,
    }


def _check_json(check: Check) -> dict[str, object]:
    return {"name": check.name, "ok": check.ok, "detail": check.detail, "about": check.about}


# --- bluegreen status -------------------------------------------------------------------------------------------


def status_json(observation: Observation, environments: Environments, status: Status) -> dict[str, object]:
    return {
        "updated_at": status.updated_at,
        "hosts": {name: _host_json(observation.hosts.get(name)) for name in host_names(observation, environments)},
        "apps": {
            name: _app_status_json(name, observation, status) for name in app_names(observation, environments, status)
        },
    }


def _host_json(info: HostInfo | None) -> dict[str, object] | None:
    if info is None:
        return None
    return {"version": info.version, "uptime_s": info.uptime_s, "pid": info.pid}


def _app_status_json(name: str, observation: Observation, status: Status) -> dict[str, object]:
    seen = observation.apps.get(name)
    recorded = status.apps.get(name)
    return {
        "recorded_live": color_record_json(recorded.live if recorded else None),
        "recorded_standby": color_record_json(recorded.standby if recorded else None),
        "observed": seen is not None,
        "observed_live": _color_json(observed_live(live_by_host(seen))) if seen else None,
        "hosts": {host: _view_json(view) for host, view in seen.hosts.items()} if seen else {},
        "colors": {color.value: _probe_json(probe) for color, probe in seen.colors.items()} if seen else {},
        "drift": list(app_drift(name, observation, status)),
    }


def _view_json(view: HostAppView) -> dict[str, object]:
    servers = {color.value: [_server_json(server) for server in views] for color, views in view.servers.items()}
    kept = view.kept
    after = {"live": _color_json(kept.live), "text": kept.text, "readable": kept.readable} if kept else None
    return {"live": _color_json(view.live), "routing": view.routing, "kept": after, "servers": servers}


def _server_json(server: ServerView) -> dict[str, object]:
    return {
        "backend": server.backend,
        "server": server.server,
        "status": server.status,
        "check_status": server.check_status,
        "sessions": server.sessions,
        "http_5xx": server.http_5xx,
        "weight": server.weight,
    }


def _probe_json(probe: ColorProbe) -> dict[str, object]:
    return {
        "address": probe.address,
        "healthy": probe.healthy,
        "passed": probe.passed,
        "asked": probe.asked,
        "version": probe.version,
        "error": probe.error,
    }


def _color_json(color: Color | None) -> str | None:
    return color.value if color else None
