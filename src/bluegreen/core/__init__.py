"""The pure rules, no I/O: the planner, versions, the record of releases, HAProxy's runtime text and answers."""
