"""The GitHub Action: the run's context and inputs, what to do for an event, the plan, release and status jobs,
and the workflow commands (outputs, summary, annotations)."""
