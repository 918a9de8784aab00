"""`servers`: one backend with a server per color; the LIVE is the one `ready`, the STANDBY is in `drain`.

One runtime line, `set server B/new state ready; set server B/old state drain`, so there is never a moment
without a ready server; `drain` keeps established sessions. The server-state file, if any, is dumped after.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from bluegreen.model import Color, ServerView
from bluegreen.switching.base import (
    Answers,
    Change,
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
        states = answers.states[self.backend]
        labels = {
            color: states[server].label if server in states else "missing" for color, server in self.servers.items()
        }
        ready = [color for color, label in labels.items() if label == "ready"]
        text = ", ".join(f"{self.backend}/{self.servers[color]} {label}" for color, label in labels.items())
        return Routing(ready[0] if len(ready) == 1 else None, text)

    def steps(self, to: Color) -> tuple[Change, ...]:
        states = SetServerStates(self.backend, ((self.servers[to], "ready"), (self.servers[to.other], "drain")))
        return (states, SaveServerStates(self.state_file)) if self.state_file else (states,)

    def servers_of(self, color: Color, servers: Sequence[ServerView]) -> tuple[ServerView, ...]:
        return tuple(s for s in servers if s.backend == self.backend and s.server == self.servers[color])

    def served_by(self, color: Color) -> str:
        return f"{self.backend}/{self.servers[color]}"

    def target(self, color: Color) -> str:
        return self.served_by(color)
