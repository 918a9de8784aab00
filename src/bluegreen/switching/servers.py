"""`servers`: one backend with a server per color; the LIVE is the one `ready`, the STANDBY is in `drain`.

One runtime line, `set server B/new state ready; set server B/old state drain`, so there is never a moment
without a ready server; `drain` keeps established sessions. The server-state file, if any, is dumped after, and
what a reload would route to is the admin states that file holds for the two servers (`kept`). Without a
server-state file nothing is kept: a reload starts the servers as haproxy.cfg writes them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from bluegreen.model import Color, ServerView
from bluegreen.switching.base import (
    AdminState,
    Answers,
    Change,
    KeptServerStates,
    Read,
    Routing,
    SaveServerStates,
    ServerStates,
    SetServerStates,
    color_pair,
)


@dataclass(frozen=True)
class ServersSwitch:
    backend: str
    servers: Mapping[Color, str]
    state_file: str | None = None
    method: ClassVar[str] = "servers"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ServersSwitch:
        return cls(data["backend"], color_pair(data["servers"]), data.get("state_file"))

    @property
    def claim(self) -> str:
        return f"backend {json.dumps(self.backend)}"

    def reads(self) -> tuple[Read, ...]:
        return (ServerStates(self.backend),)

    def routing(self, answers: Answers) -> Routing:
        labels = self._labels(answers.states[self.backend])
        ready = [color for color, label in labels.items() if label == "ready"]
        return Routing(ready[0] if len(ready) == 1 else None, self._said(labels))

    def kept_reads(self) -> tuple[Read, ...]:
        return (KeptServerStates(self.state_file, self.backend),) if self.state_file else ()

    def kept(self, answers: Answers) -> Routing | None:
        """A server the file does not name starts as haproxy.cfg writes it on a reload: then it cannot be told."""
        if not self.state_file:
            return None
        read, where = KeptServerStates(self.state_file, self.backend), f"the server-state file {self.state_file}"
        if read in answers.unread:
            return Routing(None, f"{where} cannot be read: {answers.unread[read]}", readable=False)
        if read in answers.unkept:
            return Routing(None, f"{where} {answers.unkept[read]}")
        labels = self._labels(answers.kept_states[read])
        ready = [color for color, label in labels.items() if label == "ready"]
        known = "missing" not in labels.values()
        return Routing(ready[0] if len(ready) == 1 and known else None, f"{where}: {self._said(labels)}")

    def _labels(self, states: Mapping[str, AdminState]) -> dict[Color, str]:
        return {
            color: states[server].label if server in states else "missing" for color, server in self.servers.items()
        }

    def _said(self, labels: Mapping[Color, str]) -> str:
        return ", ".join(f"{self.backend}/{self.servers[color]} {label}" for color, label in labels.items())

    def steps(self, to: Color) -> tuple[Change, ...]:
        states = SetServerStates(self.backend, ((self.servers[to], "ready"), (self.servers[to.other], "drain")))
        return (states, SaveServerStates(self.state_file)) if self.state_file else (states,)

    def servers_of(self, color: Color, servers: Sequence[ServerView]) -> tuple[ServerView, ...]:
        return tuple(s for s in servers if s.backend == self.backend and s.server == self.servers[color])

    def served_by(self, color: Color) -> str:
        return f"{self.backend}/{self.servers[color]}"

    def target(self, color: Color) -> str:
        return self.served_by(color)
