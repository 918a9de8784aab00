"""The run's SSH credentials: the deploy key and the pinned host keys, parsed strictly and never shown.

Both may come from a file in the repository (read through a Source, so a link to a runner file is refused) or
from the Action's inputs (secrets). A known_hosts line that is not a host key is an error on its line, not a
line silently skipped: a pin that does not pin is worse than none. No message quotes a line of either: a
known_hosts path that points at the wrong file (an environment, a key) would otherwise print a secret.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass

import asyncssh

from bluegreen.config.sources import Source
from bluegreen.errors import InputError, Location
from bluegreen.model import SshSettings

_HOST_PATTERNS = re.compile(r"[A-Za-z0-9_.:\[\]*?!,|=+/-]{1,1024}")
_MARKERS = ("@cert-authority", "@revoked")
_KEY_TYPE = re.compile(r"[a-z0-9@.-]{3,64}")
_NOT_SHOWN = "the line is not shown, in case the file is not what it should be and holds a secret"


@dataclass(frozen=True)
class Credentials:
    """The client key and the pinned host keys of one run; `repr` shows neither."""

    settings: SshSettings
    known_hosts: asyncssh.SSHKnownHosts
    client_key: asyncssh.SSHKey
    pins: str  # where the pins came from, for messages: `state/known_hosts`, `the input ssh_known_hosts`

    def __repr__(self) -> str:
        return f"Credentials(pins={self.pins!r}, key=***)"


def load_credentials(
    settings: SshSettings,
    source: Source,
    environ: Mapping[str, str],
    display: str,
    *,
    known_hosts: str | None = None,
    private_key: str | None = None,
) -> Credentials:
    """The pins from `known_hosts` (an input) or the repository file environments.json names; the key from
    `private_key` (an input), `ssh.key_file` in the repository, or the variable `ssh.key_env`."""
    if known_hosts and known_hosts.strip():
        pins, pins_text = "the input ssh_known_hosts", known_hosts
    else:
        pins, pins_text = source.display(settings.known_hosts), _required_pins(source, settings, display)
    key_text, key_where = _key_text(settings, source, environ, display, private_key)
    return Credentials(settings, pinned_host_keys(pins_text, pins), client_key(key_text, key_where), pins)


def pinned_host_keys(text: str, display: str) -> asyncssh.SSHKnownHosts:
    """known_hosts text, every line checked: a comment, a blank line, or `[marker] hosts key-type base64-key`."""
    entries = 0
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if _host_key(fields[1:] if fields[0] in _MARKERS else fields) is None:
            raise InputError(
                f"{display}: line {number} is not a pinned host key; expected `host key-type base64-key` "
                f"({_NOT_SHOWN})",
                hint="pin each host with `ssh-keyscan -t ed25519 -p PORT HOST`, checked out of band",
                location=Location(display, number),
            )
        entries += 1
    if not entries:
        raise InputError(
            f"{display} pins no host key",
            hint="add each HAProxy host's key: `ssh-keyscan -t ed25519 -p PORT HOST`, checked out of band",
            location=Location(display),
        )
    return asyncssh.import_known_hosts(text)


def _host_key(fields: list[str]) -> asyncssh.SSHKey | None:
    if len(fields) < 3 or not _HOST_PATTERNS.fullmatch(fields[0]) or not _KEY_TYPE.fullmatch(fields[1]):
        return None
    try:
        key = asyncssh.import_public_key(f"{fields[1]} {fields[2]}")
    except (asyncssh.KeyImportError, ValueError, binascii.Error):
        return None
    return key if key.get_algorithm() == fields[1] else None


def client_key(text: str, where: str) -> asyncssh.SSHKey:
    # Secrets pasted into web forms arrive with CRLF line ends and without the final newline.
    text = text.replace("\r\n", "\n").strip() + "\n"
    try:
        return asyncssh.import_private_key(text)
    except (asyncssh.KeyImportError, ValueError, TypeError) as exc:
        raise InputError(
            f"the SSH private key in {where} cannot be read ({type(exc).__name__}; the key is not shown)",
            hint="use an unencrypted OpenSSH or PEM key, e.g. from `ssh-keygen -t ed25519 -N ''`",
            location=Location(where),
        ) from None


def _required_pins(source: Source, settings: SshSettings, display: str) -> str:
    text = source.read(settings.known_hosts)
    if text is None:
        raise InputError(
            f"the pinned host keys {source.display(settings.known_hosts)} do not exist",
            hint="commit the HAProxy hosts' keys (`ssh-keyscan -t ed25519 HOST`, checked by hand) to that file, "
            "or pass them in the input ssh_known_hosts",
            location=Location(display, field="ssh.known_hosts"),
        )
    return text


def _key_text(
    settings: SshSettings, source: Source, environ: Mapping[str, str], display: str, given: str | None
) -> tuple[str, str]:
    if given and given.strip():
        return given, "the input ssh_private_key"
    if settings.key_file:
        text = source.read(settings.key_file)
        if text is None:
            raise InputError(
                f"the SSH key file {source.display(settings.key_file)} does not exist",
                location=Location(display, field="ssh.key_file"),
            )
        return text, source.display(settings.key_file)
    name = settings.key_env or ""
    text = environ.get(name, "")
    if not text.strip():
        raise InputError(
            f"the SSH private key is missing: ${name} is not set",
            hint=f"pass the deploy key's private half in the environment variable {name}",
            location=Location(display, field="ssh.key_env"),
        )
    return text, f"${name}"
