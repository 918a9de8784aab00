"""environments.json: what its schema cannot say. Each rule yields where (a JSON path), what is wrong and what to
do; `findings` locates them in the file for one error that lists them all."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from bluegreen import switching
from bluegreen.config import jsonloc
from bluegreen.config.jsonloc import Document, Finding, JsonPath, show
from bluegreen.errors import Location

_Rule = tuple[JsonPath, str, str]  # where, what is wrong, what to do


def rules(data: Mapping[str, Any]) -> Iterator[_Rule]:
    yield from _duplicate_hosts(data["haproxy"]["hosts"])
    for name, app in data["apps"].items():
        yield from _same_colors(name, app)
        yield from _tls_through_ssh(name, app)
    yield from shared_switches(data["apps"])


def _tls_through_ssh(name: str, app: Mapping[str, Any]) -> Iterator[_Rule]:
    """Requests through the SSH connection speak plain HTTP: an https URL there could only fail, after the switch."""
    public = app["public"]
    if public.get("via") == "ssh" and public["url"].startswith("https://"):
        hint = 'with "via": "ssh", give the frontend\'s http:// URL as the HAProxy host sees it, or use "via": "direct"'
        yield ("apps", name, "public", "url"), "an https:// URL cannot be checked through the SSH connection", hint


def _duplicate_hosts(hosts: list[Mapping[str, Any]]) -> Iterator[_Rule]:
    seen: set[str] = set()
    for index, host in enumerate(hosts):
        if host["name"].lower() in seen:
            hint = "give each HAProxy host its own name: reports and status.json tell them apart by it"
            yield ("haproxy", "hosts", index, "name"), f"host name {show(host['name'])} is used twice", hint
        seen.add(host["name"].lower())


def _same_colors(name: str, app: Mapping[str, Any]) -> Iterator[_Rule]:
    switch = app["switch"]
    pairs = (
        (("colors",), app["colors"], "address"),
        (("switch", "backends"), switch.get("backends"), "backend"),
        (("switch", "servers"), switch.get("servers"), "server"),
    )
    for where, pair, what in pairs:
        if pair and pair["blue"].lower() == pair["green"].lower():
            message = f"blue and green have the same {what} {show(pair['green'])}"
            yield ("apps", name, *where, "green"), message, f"give each color its own {what}"


def shared_switches(apps: Mapping[str, Any]) -> Iterator[_Rule]:
    """Two apps never switch the same map entry or backend. The map file is compared as a normal path: the schema
    takes one spelling only, and this holds even if it ever took two (`//x`, `/./x` and `/x` are one file)."""
    owners: dict[str, str] = {}
    for name, app in apps.items():
        target = switching.from_json(app["switch"]).claim
        if target in owners:
            message = f"switches the same {target} as app {show(owners[target])}"
            yield ("apps", name, "switch"), message, "each app needs its own map key or backend"
        owners.setdefault(target, name)


def findings(data: Mapping[str, Any], doc: Document, display: str) -> list[Finding]:
    """Every rule broken by environments.json's data (already checked against its schema), located in its file."""
    return _located(rules(data), doc, display)


def _located(rules: Iterator[_Rule], doc: Document, display: str) -> list[Finding]:
    findings = [
        Finding(Location(display, doc.line(path), jsonloc.dotted(path)), message, hint) for path, message, hint in rules
    ]
    return sorted(findings, key=lambda found: found.location.line or 0)
