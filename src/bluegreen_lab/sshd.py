"""The lab's sshd: keys generated in-process, a config that allows exactly what bluegreen needs, and the
known_hosts line that pins the host key."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"
USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
PRIVSEP_DIR = Path("/run/sshd")


@dataclass(frozen=True)
class KeyPair:
    private: str  # OpenSSH format
    public: str  # `ssh-ed25519 AAAA...`, no comment


def generate_key() -> KeyPair:
    """A fresh ed25519 key pair (asyncssh, imported here: the app servers import this package and start fast)."""
    import asyncssh

    key = asyncssh.generate_private_key("ssh-ed25519")
    public = " ".join(key.export_public_key("openssh").decode().split()[:2])
    return KeyPair(key.export_private_key("openssh").decode(), public)


def write_secret(path: Path, text: str) -> None:
    """Create the file mode 600 from the start: a key is never readable by others, not even for a moment."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text)


def known_hosts_line(port: int, public: str) -> str:
    return f"[127.0.0.1]:{port} {public}\n"


def render_sshd_config(*, port: int, folder: Path, user: str) -> str:
    """sshd_config for one lab host: loopback only, public keys only, forwarding to the runtime socket allowed."""
    if not USER.fullmatch(user):
        raise ValueError(f"unusable user name {user!r}")
    return f"""ListenAddress 127.0.0.1:{port}
HostKey {folder}/ssh_host_ed25519_key
PidFile {folder}/sshd.pid
AuthorizedKeysFile {folder}/authorized_keys
AllowUsers {user}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
Subsystem sftp internal-sftp
PrintMotd no
# Remote commands (the release lock) must not depend on the user's shell start-up files: a shell's ~/.bashrc
# (pyenv's rehash, say) can take seconds or hang. bash reads ~/.bashrc from $HOME, which is the lab's folder.
SetEnv HOME={folder}
LogLevel VERBOSE
"""


def prepare_privsep_dir() -> None:
    """sshd started as root refuses to run without its privilege separation directory."""
    if os.geteuid() == 0:
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)


def sshd_argv(config: Path) -> list[str]:
    return [SSHD, "-D", "-e", "-f", str(config)]
