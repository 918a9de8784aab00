"""The deploy key and the pinned host keys: parsed strictly, every bad line located, no line ever quoted."""

from __future__ import annotations

import asyncssh
import pytest

from bluegreen.adapters.sshkeys import client_key, load_credentials, pinned_host_keys
from bluegreen.errors import InputError, Location
from bluegreen.model import SshSettings

HOST_KEY = asyncssh.generate_private_key("ssh-ed25519")
PIN = "[127.0.0.1]:2222 " + " ".join(HOST_KEY.export_public_key().decode().split()[:2])
CLIENT = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
SECRET = "GITHUB_TOKEN=ghs_0123456789abcdef"
SETTINGS = SshSettings("state/known_hosts", None, "BLUEGREEN_SSH_KEY")


class Texts:
    """A Source of files given in memory: path -> text."""

    def __init__(self, files: dict[str, str], label: str = "") -> None:
        self.files, self.label = files, label

    def read(self, path: str) -> str | None:
        return self.files.get(path)

    def display(self, path: str) -> str:
        return f"{path} ({self.label})" if self.label else path


def test_a_pin_file_with_comments_and_markers_is_read() -> None:
    text = f"# lb1, checked by phone\n\n{PIN}\n@revoked * {PIN.split(' ', 1)[1]}\n"
    known = pinned_host_keys(text, "state/known_hosts")
    assert known.match("127.0.0.1", "127.0.0.1", 2222)[0]  # trusted host keys for that host and port


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (SECRET, "an environment line"),
        ("garbage", "one word"),
        ("lb1 ssh-ed25519", "no key"),
        ("lb1 ssh-ed25519 !!!notbase64", "not base64"),
        ("lb1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb", "a truncated key, which asyncssh skips silently"),
        (f"lb1 ssh-rsa {PIN.split()[2]}", "a key of another type than it says"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----", "a private key"),
    ],
)
def test_a_line_that_is_not_a_host_key_is_an_error_on_its_line(line: str, why: str) -> None:
    with pytest.raises(InputError, match="line 2 is not a pinned host key") as caught:
        pinned_host_keys(f"{PIN}\n{line}\n", "state/known_hosts")
    assert caught.value.location == Location("state/known_hosts", 2), why
    assert line not in str(caught.value)
    assert "ghs_" not in str(caught.value)


def test_a_pin_file_that_pins_nothing() -> None:
    with pytest.raises(InputError, match="pins no host key"):
        pinned_host_keys("# nothing yet\n", "the input ssh_known_hosts")


def test_a_private_key_that_cannot_be_read_is_never_quoted() -> None:
    broken = CLIENT.replace("A", "B", 5)
    with pytest.raises(InputError, match=r"cannot be read \(KeyImportError; the key is not shown\)") as caught:
        client_key(broken, "$BLUEGREEN_SSH_KEY")
    assert all(line not in str(caught.value) for line in broken.splitlines()[1:-1])


def test_a_pasted_key_with_crlf_and_no_final_newline_is_read() -> None:
    assert client_key(CLIENT.replace("\n", "\r\n").strip(), "input").get_algorithm() == "ssh-ed25519"


def test_credentials_from_the_repository_and_the_environment() -> None:
    source = Texts({"state/known_hosts": PIN + "\n"})
    credentials = load_credentials(SETTINGS, source, {"BLUEGREEN_SSH_KEY": CLIENT}, "state/environments.json")
    assert credentials.pins == "state/known_hosts"
    assert "PRIVATE" not in repr(credentials)
    assert "ssh-ed25519" not in repr(credentials)


def test_the_inputs_take_precedence_over_the_repository() -> None:
    source = Texts({"state/known_hosts": SECRET + "\n"})  # would be an error if it were read
    credentials = load_credentials(SETTINGS, source, {}, "state/environments.json", known_hosts=PIN, private_key=CLIENT)
    assert credentials.pins == "the input ssh_known_hosts"


def test_a_missing_pin_file_or_key_names_the_field() -> None:
    with pytest.raises(InputError, match="do not exist") as pins:
        load_credentials(SETTINGS, Texts({}), {"BLUEGREEN_SSH_KEY": CLIENT}, "state/environments.json")
    assert pins.value.location == Location("state/environments.json", field="ssh.known_hosts")
    with pytest.raises(InputError, match=r"\$BLUEGREEN_SSH_KEY is not set") as key:
        load_credentials(SETTINGS, Texts({"state/known_hosts": PIN}), {}, "state/environments.json")
    assert key.value.location == Location("state/environments.json", field="ssh.key_env")


def test_a_key_file_in_the_repository_is_read_through_the_source() -> None:
    settings = SshSettings("state/known_hosts", "secrets/deploy_key", None)
    source = Texts({"state/known_hosts": PIN, "secrets/deploy_key": CLIENT}, "base branch 1234")
    credentials = load_credentials(settings, source, {}, "state/environments.json")
    assert credentials.pins == "state/known_hosts (base branch 1234)"
    with pytest.raises(InputError, match=r"secrets/other \(base branch 1234\) does not exist"):
        load_credentials(SshSettings("state/known_hosts", "secrets/other", None), source, {}, "env")
