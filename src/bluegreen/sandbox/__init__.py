"""The local lab for the demo and the integration tests: real HAProxy, sshd and app servers on loopback."""

from bluegreen.sandbox.lab import Sandbox
from bluegreen.sandbox.layout import AppInitial
from bluegreen.sandbox.processes import SandboxError

__all__ = ["AppInitial", "Sandbox", "SandboxError"]
