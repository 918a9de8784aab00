"""Hostile and mistaken input at the command line, against the real lab: every case is exit 2 with a located
message, nothing switched, nothing written, and nothing quoted from outside the repository."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from bluegreen_lab import Sandbox
from tests.integration.conftest import Consumer, Ran
from tests.integration.test_release import ldc_states, theoshift_route

pytestmark = pytest.mark.integration

TOKEN = "ghs_TopSecretRunnerToken0123456789"


def unchanged(consumer: Consumer, sandbox: Sandbox, status_before: str) -> None:
    assert theoshift_route(sandbox) == "theoshift_green"
    assert ldc_states(sandbox) == {"blue": "0", "green": "8"}
    assert (consumer.path / "state" / "status.json").read_text() == status_before


def refused(ran: Ran, *words: str) -> None:
    assert ran.code == 2, ran.err + ran.out
    for word in words:
        assert word in ran.err, ran.err
    assert TOKEN not in ran.err + ran.out
    assert "PRIVATE KEY" not in ran.err + ran.out


@pytest.fixture
def status_before(consumer: Consumer) -> str:
    return (consumer.path / "state" / "status.json").read_text()


@pytest.mark.parametrize("target", ["/proc/self/environ", "/etc/hostname", "../../outside"])
def test_a_known_hosts_link_is_refused_and_never_quoted(
    consumer: Consumer, sandbox: Sandbox, status_before: str, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)  # so /proc/self/environ would hold it
    pins = consumer.path / "state" / "known_hosts"
    pins.unlink()
    pins.symlink_to(target)
    refused(consumer.run("release"), "`state/known_hosts` is a symbolic link")
    unchanged(consumer, sandbox, status_before)


@pytest.mark.parametrize("name", ["live.json", "environments.json", "status.json"])
def test_a_linked_state_file_is_refused(consumer: Consumer, sandbox: Sandbox, status_before: str, name: str) -> None:
    path = consumer.path / "state" / name
    copy = consumer.path / f"{name}.elsewhere"
    copy.write_text(path.read_text())
    path.unlink()
    path.symlink_to(copy)
    refused(consumer.run("release"), f"`state/{name}` is a symbolic link")
    path.unlink()
    copy.rename(path)
    unchanged(consumer, sandbox, status_before)


def test_dev_zero_behind_a_link_is_refused_before_a_byte_is_read(consumer: Consumer, sandbox: Sandbox) -> None:
    live = consumer.path / "state" / "live.json"
    live.unlink()
    live.symlink_to("/dev/zero")
    refused(consumer.run("plan"), "`state/live.json` is a symbolic link")


def test_a_fifo_status_file_is_refused_without_waiting_for_a_writer(consumer: Consumer, sandbox: Sandbox) -> None:
    status = consumer.path / "state" / "status.json"
    status.unlink()
    os.mkfifo(status)
    done: list[Ran] = []
    runner = threading.Thread(target=lambda: done.append(consumer.run("release")), daemon=True)
    runner.start()
    runner.join(timeout=60)
    assert done, "reading a FIFO as status.json hung"
    refused(done[0], "`state/status.json` is a FIFO, not a regular file")
    assert theoshift_route(sandbox) == "theoshift_green"


def test_whole_numbers_written_as_floats_release_and_verify(consumer: Consumer, sandbox: Sandbox) -> None:
    path = consumer.path / "state" / "environments.json"
    document = json.loads(path.read_text())
    document["apps"]["theoshift"]["verify"].update(requests=5.0, healthy_probes=3.0)
    path.write_text(json.dumps(document, indent=2))
    ran = consumer.run("release", "--app", "theoshift")
    assert ran.code == 0, ran.err + ran.out
    assert "5/5 requests through the public entry" in ran.out
    assert theoshift_route(sandbox) == "theoshift_blue"
    assert consumer.status()["apps"]["theoshift"]["last_release"]["result"] == "success"


@pytest.mark.parametrize(
    ("argument", "value", "words"),
    [
        ("--pr", "0", "argument --pr: got 0; expected the pull request"),
        ("--pr", "many", 'argument --pr: got "many"'),
        ("--commit", "a\nb", 'argument --commit: got "a\\nb"; expected the commit'),
        ("--commit", "HEAD", "expected the commit that asked for it: 7 to 64 lowercase hex digits"),
        ("--actor", "x" * 5000, "argument --actor: got"),
        ("--actor", "alice\u202e", "expected who merged or ran it"),
        ("--state-dir", "../x", "is not a path inside the repository"),
        ("--state-dir", "/etc", "is not a path inside the repository"),
    ],
)
def test_arguments_that_would_be_recorded_are_checked_before_anything(
    consumer: Consumer, sandbox: Sandbox, status_before: str, argument: str, value: str, words: str
) -> None:
    refused(consumer.run("release", argument, value), words)
    unchanged(consumer, sandbox, status_before)


def test_a_version_pin_of_ten_thousand_digits(consumer: Consumer, sandbox: Sandbox, status_before: str) -> None:
    consumer.pin("theoshift", "1" * 10_000)
    refused(consumer.run("release"), "state/live.json:", "(apps.theoshift.version)", "at most 64 character")
    unchanged(consumer, sandbox, status_before)


def test_pinned_keys_that_are_not_utf8_or_not_keys(consumer: Consumer, sandbox: Sandbox, status_before: str) -> None:
    pins = consumer.path / "state" / "known_hosts"
    good = pins.read_bytes()
    pins.write_bytes(good + TOKEN.encode() + b"\xff\n")
    refused(consumer.run("release"), "state/known_hosts is not UTF-8 text (line 2,")
    pins.write_bytes(good + f"# ok\n{TOKEN}\n".encode())
    refused(consumer.run("release"), "state/known_hosts: line 3 is not a pinned host key")
    unchanged(consumer, sandbox, status_before)


def test_a_key_file_that_is_not_utf8(consumer: Consumer, sandbox: Sandbox, status_before: str) -> None:
    path = consumer.path / "state" / "environments.json"
    document = json.loads(path.read_text())
    document["ssh"] = {"known_hosts": document["ssh"]["known_hosts"], "key_file": "state/deploy_key"}
    path.write_text(json.dumps(document, indent=2))
    (consumer.path / "state" / "deploy_key").write_bytes(b"-----BEGIN OPENSSH PRIVATE KEY-----\n\xfe\xff\n")
    refused(consumer.run("release"), "state/deploy_key is not UTF-8 text (line 2, byte 37)")
    unchanged(consumer, sandbox, status_before)


def test_a_link_planted_at_the_old_temporary_name_is_not_written_through(
    consumer: Consumer, sandbox: Sandbox, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("untouched\n")
    (consumer.path / "state" / ".status.json.tmp").symlink_to(outside)
    ran = consumer.run("release", "--app", "theoshift")
    assert ran.code == 0, ran.err + ran.out
    assert outside.read_text() == "untouched\n"
    assert consumer.status()["apps"]["theoshift"]["live"]["color"] == "blue"
