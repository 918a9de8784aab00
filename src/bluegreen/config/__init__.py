"""The state files: strict loading with line numbers (live.json, environments.json, status.json), their schemas,
and status.json's text. Pure: files are read through a `Source` (the working tree, or git objects)."""

from bluegreen.config.state import (
    DEFAULT_KEY_ENV,
    DEFAULT_LOCK_PATH,
    DEFAULT_SOCKET,
    DEFAULT_SSH_PORT,
    State,
    check_apps,
    checked,
    desired_value_problem,
    environments_from,
    load_state,
    load_status,
    parse_desired,
    parse_environments,
    parse_status,
    recorded_value_problem,
    state_paths,
    validator,
)
from bluegreen.config.status_file import dump_status

__all__ = [
    "DEFAULT_KEY_ENV",
    "DEFAULT_LOCK_PATH",
    "DEFAULT_SOCKET",
    "DEFAULT_SSH_PORT",
    "State",
    "check_apps",
    "checked",
    "desired_value_problem",
    "dump_status",
    "environments_from",
    "load_state",
    "load_status",
    "parse_desired",
    "parse_environments",
    "parse_status",
    "recorded_value_problem",
    "state_paths",
    "validator",
]
