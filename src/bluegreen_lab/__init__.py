"""The local lab for the demo and the integration tests: real HAProxy, sshd and app servers on loopback."""

from bluegreen_lab.lab import Sandbox
from bluegreen_lab.layout import AppInitial
from bluegreen_lab.processes import SandboxError

__all__ = ["AppInitial", "Sandbox", "SandboxError"]
